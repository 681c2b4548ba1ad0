#pragma once
// The broker at the centre of the bus (runs inside tb-manager). Shaped like ZeroMQ's Majordomo
// (7/MDP) with what a game backend needs on top: caller-chosen correlation ids, addressed
// delivery (@identity), pushes and multicast pushes, load-aware selection (least / pack),
// open/shut per worker, bounded queues, and a PUB socket announcing the service table.
//
// The broker reads only the routing header of each message (codec/envelope.h); bodies move
// from socket to socket as zmq messages, never decoded, never copied (except a request to an
// idempotent service, kept until answered so it can be requeued once).
//
// Threading: everything runs on the EventLoop given to the constructor; construct the broker
// on that loop's thread (or before run()) and touch it only from there.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>
#include <zmq.hpp>

#include "bus/event_loop.h"
#include "bus/message.h"
#include "bus/protocol.h"
#include "bus/stats.h"

namespace tb::bus {

enum class Policy : uint8_t {
    kLeast,  // lowest (load + in flight), ties by least recently used: login, db
    kPack,   // fullest worker still under capacity, else least loaded: game services
};

std::string_view policy_name(Policy p) noexcept;

struct BrokerOptions {
    std::string bus_endpoint = "tcp://*:5555";
    std::string announce_endpoint = "tcp://*:5556";
    std::chrono::milliseconds heartbeat{1000};
    int liveness = 3;
    std::chrono::milliseconds queue_deadline{2000};
    std::size_t queue_cap = 10000;    // per service
    std::size_t inflight_cap = 1000;  // per worker
    // Per connection, in messages. A node that sends faster than the broker reads is
    // back-pressured over TCP past rcvhwm, so one flooding peer holds at most rcvhwm messages
    // here; sndhwm is larger because past it a message to that node is dropped.
    int sndhwm = 100000;
    int rcvhwm = 10000;
    // A peer that sends a larger frame is disconnected before libzmq allocates it; together with
    // rcvhwm this bounds what one connection can make the broker hold. Bus frames are a few KiB
    // (a client frame is at most 8 KiB; a settlement's result at most 60,000 bytes).
    int64_t max_message_bytes = 4 << 20;
    // Services whose names start with one of these prefixes use kPack; all others kLeast.
    std::vector<std::string> pack_prefixes = {"game."};
    // CURVE: the server's secret key (Z85) turns it on; allowed_keys are the node public keys.
    std::string curve_secret_key;
    std::vector<std::string> allowed_keys;
};

class ZapHandler;
class SocketMonitor;

class Broker {
public:
    // Binds both sockets; throws zmq::error_t / std::runtime_error when it cannot.
    Broker(zmq::context_t& ctx, EventLoop& loop, BrokerOptions options);
    ~Broker();
    Broker(const Broker&) = delete;
    Broker& operator=(const Broker&) = delete;

    // Actual endpoints (with the port chosen when bound to :*), connectable from loopback.
    std::string bus_endpoint() const;
    std::string announce_endpoint() const;

    // Prometheus text for GET /metrics.
    std::string render_metrics() const;
    const BusStats& stats() const noexcept { return stats_; }
    std::size_t worker_count() const noexcept { return workers_.size(); }
    uint64_t table_seq() const noexcept { return seq_; }
    Snapshot snapshot() const;

private:
    struct Worker {
        std::string rid;  // routing id of the connection
        ReadyBody info;
        bool idempotent = false;
        bool open = true;
        bool degraded = false;
        int64_t load = 0;
        Clock::time_point last_seen;
        Clock::time_point last_used;
        int64_t since_ms = 0;
        uint64_t requests = 0;
        std::unordered_set<uint64_t> inflight;  // broker request ids
    };
    struct Request {
        std::string caller;  // routing id to answer
        std::string caller_name;
        codec::Envelope env;  // as received; correlation is the caller's
        zmq::message_t body;  // moved to the worker on dispatch; kept when idempotent
        Clock::time_point received;
        Clock::time_point queue_deadline;
        int attempts = 0;
    };
    struct InFlight {
        Request req;
        std::string worker_rid;
        std::string service;  // empty for addressed requests
        Clock::time_point sent;
    };
    struct Service {
        std::string name;
        Policy policy = Policy::kLeast;
        std::vector<std::string> workers;  // routing ids, registration order
        std::deque<Request> queue;
    };

    void on_bus_readable();
    void handle(Incoming& in);
    void on_ready(Incoming& in);
    void on_heartbeat(Worker& w, Incoming& in);
    void on_request(Incoming& in);
    void on_answer(Worker& w, Incoming& in);
    void on_push(Incoming& in);
    void on_drain(Worker& w, Incoming& in);
    void on_mmi(Incoming& in);

    Service& service(const std::string& name);
    Worker* pick(Service& s);
    Worker* pick_among(Service& s, bool allow_degraded);
    void dispatch(Service& s);
    void send_to_worker(Worker& w, Request&& req, const std::string& service);
    void answer_error(const Request& req, codec::BusCode code, std::string_view text);
    void answer_error(const std::string& rid, const codec::Envelope& env, int32_t code,
                      std::string_view text);
    void reply_body(const std::string& rid, const codec::Envelope& req, std::string_view body);
    void send_command(const std::string& rid, codec::Command cmd, uint16_t flags = 0,
                      int32_t code = 0, std::string_view text = {}, std::string_view body = {});
    // READY's answer, with the heartbeat timing the node is to adopt.
    void send_ready_ack(const std::string& rid);
    bool send(const std::string& rid, const codec::Envelope& env, zmq::message_t& body);

    void remove_worker(const std::string& rid, std::string_view reason);
    void set_open(Worker& w, bool open, bool tell_node);
    void tick();
    void expire_queues();
    void announce(std::string_view topic, const std::string& body);
    void announce_delta(std::string_view op, const Worker& w, std::string_view reason);
    void announce_stats();
    StatsReply stats_reply() const;
    void on_socket_event(std::string_view socket, std::string_view event, std::string_view endpoint,
                         std::string_view detail);

    WorkerInfo info_of(const Worker& w) const;
    ServiceStatus status_of(const Service& s) const;
    Worker* worker_by_name(std::string_view name);
    std::string name_of(const std::string& rid) const;
    Policy policy_for(const std::string& service) const;

    BrokerOptions options_;
    EventLoop& loop_;  // owned by the caller, outlives the broker
    zmq::socket_t router_;
    zmq::socket_t pub_;
    std::unique_ptr<ZapHandler> zap_;
    std::unique_ptr<SocketMonitor> bus_monitor_;
    std::unique_ptr<SocketMonitor> pub_monitor_;

    std::unordered_map<std::string, Worker> workers_;           // by routing id
    std::unordered_map<std::string, std::string> rid_by_name_;  // bus identity -> routing id
    std::map<std::string, Service> services_;
    std::unordered_map<uint64_t, InFlight> inflight_;
    uint64_t next_request_id_ = 1;
    uint64_t seq_ = 0;
    BusStats stats_;
    Clock::time_point started_;
    std::vector<TimerId> timers_;
};

}  // namespace tb::bus
