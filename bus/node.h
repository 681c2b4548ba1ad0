#pragma once
// The node runtime: what every tablebus process uses to be on the bus. One DEALER to the
// manager (routing id = bus identity + a per-connection suffix, so a restarted node never
// collides with its own ghost), READY with metadata, heartbeats carrying the node's load,
// detection of a silent manager with reconnect and backoff, handlers by message type, async
// requests with correlation ids and deadlines, pushes (single and multicast), and an optional
// replica of the service table kept from the manager's announcements.
//
// Threading: a Node lives on one EventLoop; construct it before run() or on the loop thread,
// and call its methods only from the loop thread (post() work from other threads). Callbacks
// run on the loop thread. Nothing here throws after construction: failures are codes.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>
#include <zmq.hpp>

#include "bus/event_loop.h"
#include "bus/message.h"
#include "bus/protocol.h"
#include "codec/envelope.h"
#include "codec/errors.h"

namespace tb::bus {

struct NodeOptions {
    std::string kind;     // "login", "game", "db", "proxy", or a tool's name
    int32_t id = 0;       // cluster-unique per kind; identity "<kind>-<id>"
    std::string service;  // served service; empty = client only (tools never READY)
    std::string manager = "tcp://127.0.0.1:5555";
    std::string announce;     // PUB endpoint; set to keep a replica of the service table
    int64_t capacity = 0;     // most load this node takes (0 = no limit)
    bool idempotent = false;  // the broker may requeue a request once if this node dies
    std::string version = "0.1.0";
    // Until registered: the manager's answer to READY replaces both with its own settings.
    std::chrono::milliseconds heartbeat{1000};
    int liveness = 3;
    std::chrono::milliseconds default_timeout{5000};
    std::chrono::milliseconds max_backoff{8000};
    std::size_t max_pending = 100000;  // outstanding requests before request() fails fast
    // CURVE (all three set = on): this node's keys and the manager's public key, Z85.
    std::string curve_public_key;
    std::string curve_secret_key;
    std::string curve_server_key;
};

// The answer to a request: a reply body, or an error code (codec::Errno from the serving node,
// codec::BusCode from the bus) with short text.
struct Reply {
    int32_t code = 0;
    std::string text;
    codec::Envelope env;
    std::string body;
    bool ok() const noexcept { return code == 0; }
};

// The Reply an answer on the bus carries (an ERROR without a code counts as Errno 1).
Reply reply_from(Incoming&& answer);

struct CallOptions {
    std::chrono::milliseconds timeout{0};  // 0 = the node's default
    uint64_t session = 0;
    uint64_t user = 0;
};

// A request as a handler sees it. Answer it with Node::reply / Node::fail, now or later (the
// envelope is all the node needs to route the answer back).
struct Request {
    codec::Envelope env;
    std::string body;
};

enum class NodeState : uint8_t { kDisconnected, kRegistering, kRegistered, kRefused, kStopped };

class Node {
public:
    using RequestHandler = std::function<void(Request&)>;
    using PushHandler = std::function<void(const codec::Envelope&, std::string_view body)>;
    using ReplyCallback = std::function<void(Reply&&)>;

    // Connects at construction; registers on start(). Throws on a bad endpoint.
    Node(zmq::context_t& ctx, EventLoop& loop, NodeOptions options);
    ~Node();
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;

    // Bus identity, "<kind>-<id>".
    const std::string& name() const noexcept { return name_; }
    NodeState state() const noexcept { return state_; }
    bool registered() const noexcept { return state_ == NodeState::kRegistered; }
    // Open unless shut by tb-ctl or by shut(); a shut node gets no service-routed work.
    bool open() const noexcept { return open_; }

    // Handlers by message type. A request of a type with no handler is answered with
    // Errno 3 (unknown command); a handler that throws is logged and answered Errno 1.
    void on_request(uint32_t msg_type, RequestHandler h);
    void on_push(uint32_t msg_type, PushHandler h);
    // Fallbacks for any type without its own handler (e.g. the proxy forwards everything).
    void on_any_request(RequestHandler h);
    void on_any_push(PushHandler h);

    // The heartbeat timing in force: the options' until the manager's took over.
    std::chrono::milliseconds heartbeat() const noexcept { return options_.heartbeat; }
    int liveness() const noexcept { return options_.liveness; }

    // Lifecycle events.
    void on_registered(std::function<void()> fn) { on_registered_ = std::move(fn); }
    void on_drain(std::function<void(bool open)> fn) { on_drain_ = std::move(fn); }
    // Fatal: the manager refused this node (id in use, bad READY). The node stops; main exits.
    void on_fatal(std::function<void(const std::string&)> fn) { on_fatal_ = std::move(fn); }
    void on_table_change(std::function<void(const TableDelta&)> fn) { on_table_ = std::move(fn); }
    void on_announcement(std::function<void(std::string_view topic, std::string_view body)> fn) {
        on_announcement_ = std::move(fn);
    }

    // Sends READY (service nodes) and starts heartbeats, the replica and reconnects.
    void start();
    // Leaves the bus: DISCONNECT to the broker, fails every pending request, stops timers.
    void stop();

    // Sends a request; `cb` is called exactly once, with the reply or an error (deadline:
    // BusCode::kTimeout; too many pending: kOverloaded; send failure: kWorkerLost). Returns
    // the correlation id.
    uint64_t request(std::string_view target, uint32_t msg_type, std::string body, ReplyCallback cb,
                     CallOptions opts = {});
    // One-way message to "@identity" or a service. False when it could not be queued.
    bool push(std::string_view target, uint32_t msg_type, std::string_view body,
              uint64_t session = 0, uint64_t user = 0);
    // One push per proxy carrying every session it should reach (multicast).
    bool multicast(std::string_view proxy_identity, uint32_t msg_type, std::string_view body,
                   const std::vector<uint64_t>& sessions);

    void reply(const codec::Envelope& req, std::string_view body);
    void fail(const codec::Envelope& req, int32_t code, std::string_view text);

    // Load and health reported in the next heartbeat (which the broker uses to pick workers).
    void set_load(int64_t load) noexcept { load_ = load; }
    int64_t load() const noexcept { return load_; }
    void set_degraded(bool degraded);
    // Shut (no new service-routed work) or reopen this node, as on SIGTERM drain.
    void set_open(bool open);

    // The service table replica (empty without `announce`); in sync when synced().
    const std::map<std::string, WorkerInfo>& table() const noexcept { return table_; }
    bool synced() const noexcept { return synced_; }
    uint64_t table_seq() const noexcept { return table_seq_; }

    std::size_t pending() const noexcept { return pending_.size(); }

private:
    struct Pending {
        ReplyCallback cb;
        TimerId timer;
    };

    void connect();
    void send_ready();
    // Takes the heartbeat timing from the broker's answer to READY (see ReadyAckBody).
    void adopt_timing(std::string_view ack_body);
    void tick();
    void send_heartbeat();
    void on_readable();
    void dispatch(Incoming& in);
    void on_answer(Incoming& in);
    void on_sub_readable();
    void on_manager_lost();
    void resync();
    void apply_delta(const TableDelta& d);
    void complete(uint64_t id, Reply&& r);
    bool send(const codec::Envelope& env, std::string_view body);

    zmq::context_t& ctx_;  // owned by main, outlives every node
    EventLoop& loop_;      // owned by main, outlives the node
    NodeOptions options_;
    std::string name_;
    std::string host_;
    uint64_t instance_ = 0;
    std::unique_ptr<zmq::socket_t> dealer_;
    std::unique_ptr<zmq::socket_t> sub_;
    NodeState state_ = NodeState::kDisconnected;
    bool started_ = false;
    bool open_ = true;
    bool degraded_ = false;
    int64_t load_ = 0;
    Clock::time_point last_heard_;
    std::chrono::milliseconds backoff_{0};
    Clock::time_point next_attempt_;
    Clock::time_point refused_since_;
    std::string refused_reason_;
    TimerId heartbeat_timer_ = 0;

    std::unordered_map<uint32_t, RequestHandler> request_handlers_;
    std::unordered_map<uint32_t, PushHandler> push_handlers_;
    RequestHandler any_request_;
    PushHandler any_push_;
    std::function<void()> on_registered_;
    std::function<void(bool)> on_drain_;
    std::function<void(const std::string&)> on_fatal_;
    std::function<void(const TableDelta&)> on_table_;
    std::function<void(std::string_view, std::string_view)> on_announcement_;

    std::unordered_map<uint64_t, Pending> pending_;
    uint64_t next_correlation_ = 1;

    std::map<std::string, WorkerInfo> table_;
    uint64_t table_seq_ = 0;
    bool synced_ = false;
    bool syncing_ = false;
    std::vector<TableDelta> buffered_;
};

// The bus identity ("<kind>-<id>") a message came from. The broker names a registered sender by
// its identity, but an unregistered one by its raw routing id "<identity>.<suffix>" (Node's
// connections): e.g. a node's old connection that reached a restarted manager before the node
// noticed and registered again. Identities never contain a dot.
inline std::string_view identity_of(std::string_view source) noexcept {
    return source.substr(0, source.find('.'));
}

// When the caller of a request gives up, counted from now (the request's arrival): its
// timeout_ms, or never when it gave none. The broker forwards the caller's timeout as it was
// sent, so this is the latest the caller can still be waiting, never earlier.
inline Clock::time_point deadline_of(const codec::Envelope& env) noexcept {
    if (env.timeout_ms == 0) return Clock::time_point::max();
    return Clock::now() + std::chrono::milliseconds(env.timeout_ms);
}

}  // namespace tb::bus
