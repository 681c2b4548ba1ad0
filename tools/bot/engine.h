#pragma once
// The connection engine: one epoll loop driving many non-blocking client sockets, each a bot.
// The engine owns everything every bot does the same way: connecting, frame reassembly, writing
// in the connection's encoding, answering the server's (0,0) probes, matching replies to
// requests by (mcmd, scmd), timeouts, timers, and the counters. What a bot *does* is a Mode: a
// class the engine calls back (connected, reply, frame, closed, timer), which acts through the
// engine's methods. Idle, login and chaos are modes; the game modes (game_modes.h) plug in the
// same way.
//
// Single-threaded by design: a run with several threads has one Engine (and one Mode instance)
// per thread, sharing only the atomic Counters.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <queue>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "codec/frame.h"
#include "tools/bot/stats.h"

namespace tb::bot {

using Clock = std::chrono::steady_clock;

class Engine;

enum class RequestKind : uint8_t {
    kLogin,  // FastRegister: its round trips are the "login" percentiles
    kOther,
};

enum class CloseCause : uint8_t {
    kConnectFailed,  // refused, unreachable, no descriptors, or not connected within the timeout
    kPeerClosed,     // the server closed (FIN)
    kReset,          // reset or another socket error
    kBadFrame,       // the server sent bytes that are not frames (a protocol violation)
};

std::string_view close_cause_name(CloseCause c) noexcept;

// A request sent and not yet answered.
struct Pending {
    uint32_t type = 0;  // codec::msg_type(mcmd, scmd)
    RequestKind kind = RequestKind::kOther;
    Clock::time_point sent;
    Clock::time_point deadline;
};

// A frame that answered a pending request.
struct Reply {
    uint32_t type = 0;
    RequestKind kind = RequestKind::kOther;
    int32_t err_no = 0;  // 0: success
    double rtt_ms = 0;
    std::string body;  // msgpack, whatever the connection's encoding
};

// One bot: its identity and its current connection. Modes keep their own per-bot state indexed
// by slot().
class Client {
public:
    enum class State : uint8_t { kIdle, kQueued, kConnecting, kOpen };

    std::size_t slot() const noexcept { return slot_; }  // 0..engine.size()-1
    uint32_t index() const noexcept { return index_; }   // the bot number in the whole run
    const std::string& account() const noexcept { return account_; }
    const std::string& machine() const noexcept { return machine_; }
    State state() const noexcept { return state_; }
    bool open() const noexcept { return state_ == State::kOpen; }
    bool busy() const noexcept { return state_ != State::kIdle; }
    bool logged_in() const noexcept { return logged_in_; }
    int64_t user_id() const noexcept { return user_id_; }
    std::size_t pending() const noexcept { return pending_.size(); }
    codec::Magic encoding() const noexcept { return encoding_; }
    // Connections made so far (1 during the first).
    uint32_t connections() const noexcept { return connections_; }

private:
    friend class Engine;
    std::size_t slot_ = 0;
    uint32_t index_ = 0;
    std::string account_;
    std::string machine_;
    codec::Magic encoding_ = codec::Magic::kJson;
    State state_ = State::kIdle;
    int fd_ = -1;
    uint32_t gen_ = 0;  // changes on every close so stale events and timers are ignored
    uint32_t timer_gen_ = 0;
    uint32_t connections_ = 0;
    bool logged_in_ = false;
    int64_t user_id_ = 0;
    bool reading_ = true;
    bool answer_probes_ = true;
    bool want_out_ = false;  // EPOLLOUT registered
    int rcvbuf_ = 0;         // SO_RCVBUF for the next connection; 0: the default
    Clock::time_point connect_start_;
    codec::FrameDecoder decoder_;
    std::string out_;
    std::size_t out_pos_ = 0;
    std::vector<Pending> pending_;
};

// What a bot does. Every callback may call back into the engine (send, close, connect, timers).
class Mode {
public:
    virtual ~Mode() = default;
    virtual std::string_view name() const = 0;
    // The round trip this mode is measured by (p50_ms / p99_ms).
    virtual MainStat main_stat() const { return MainStat::kLogin; }
    // Once, before start, with the engine and how many bots it drives.
    virtual void attach(Engine& engine, std::size_t bots) {
        engine_ = &engine;
        (void)bots;
    }
    // The run begins for this bot.
    virtual void on_start(Client& c) = 0;
    virtual void on_connected(Client& c) = 0;
    virtual void on_reply(Client& c, const Reply& r) = 0;
    // Any other frame except (0,0), its body converted to msgpack; err_no is its Errno field
    // (0 if none).
    virtual void on_frame(Client& c, const codec::Frame& f, int32_t err_no) {
        (void)c, (void)f, (void)err_no;
    }
    // The connection ended without close() being called; the client is idle again.
    virtual void on_closed(Client& c, CloseCause cause, bool was_logged_in) = 0;
    // A request went unanswered past its deadline (already counted as an error). The connection
    // is left open; the mode decides.
    virtual void on_timeout(Client& c, const Pending& p) { (void)c, (void)p; }
    virtual void on_timer(Client& c) { (void)c; }
    // The run ended (with the client still connected or not); for final bookkeeping.
    virtual void on_end(Client& c) { (void)c; }

protected:
    Engine* engine_ = nullptr;
};

// Spaces events `1/rate` seconds apart (rate 0: no spacing). Slots are handed out in order, so a
// burst of callers is spread out rather than refused.
class Pacer {
public:
    explicit Pacer(double rate) noexcept;
    // The time of the next free slot at or after `earliest`, and takes it.
    Clock::time_point next(Clock::time_point earliest) noexcept;

private:
    Clock::duration interval_{};
    Clock::time_point next_{};
};

// Returns a socket whose connect has started (non-blocking), or -1 with errno set.
using Connector = std::function<int()>;

struct EngineConfig {
    std::vector<uint32_t> indices;  // the bots this engine drives (global numbers)
    std::string account_prefix;
    std::string run_id;
    codec::Magic encoding = codec::Magic::kJson;
    int timeout_ms = 10000;
    int think_ms = 0;
    double rate = 0;    // for the modes' pacer
    int inflight = 64;  // connecting + logging in at once
    uint64_t seed = 1;
    Connector connector;
};

class Engine {
public:
    Engine(EngineConfig cfg, std::unique_ptr<Mode> mode, Counters& counters);
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    // Calls the mode's on_start for every bot.
    void start();
    // One turn of the loop: waits up to `max_wait_ms` for socket events, then runs due timers,
    // timeouts and queued connects.
    void poll(int max_wait_ms);
    // From now on modes should start nothing new; the engine finishes once no request is
    // outstanding, or when the grace period (the request timeout) is over.
    void begin_stop();
    bool stopping() const noexcept { return stopping_; }
    bool finished() const noexcept { return finished_; }
    // start(), poll until `stop_at` or `stop_now`, begin_stop(), poll until finished.
    void run(Clock::time_point stop_at, const std::atomic<bool>& stop_now);

    // --- for modes -----------------------------------------------------------------------
    // Starts connecting (or queues the connect while too many are in flight). No-op unless idle.
    void connect(Client& c);
    // Sends a frame in the connection's encoding; `body` is msgpack (converted for JSON).
    void send(Client& c, uint16_t mcmd, uint16_t scmd, std::string_view body);
    // send() and track the round trip until a frame on the same (mcmd, scmd) comes back.
    void request(Client& c, uint16_t mcmd, uint16_t scmd, std::string_view body,
                 RequestKind kind = RequestKind::kOther);
    // Bytes as they are, for deliberately broken frames.
    void send_raw(Client& c, std::string_view bytes);
    // Expects an answer on (mcmd, scmd), for a request sent with send_raw().
    void track(Client& c, uint16_t mcmd, uint16_t scmd, RequestKind kind = RequestKind::kOther);
    // Closes our end; no callbacks follow. Outstanding requests are forgotten.
    void close(Client& c);
    // One timer per bot: a new one replaces the old; it survives close() and reconnects.
    void wake_at(Client& c, Clock::time_point at);
    void wake_after(Client& c, int ms) { wake_at(c, now() + std::chrono::milliseconds(ms)); }
    void cancel_timer(Client& c) noexcept { ++c.timer_gen_; }
    // A bot that stops reading (slow reader) leaves everything in the socket buffers.
    void set_reading(Client& c, bool reading);
    void set_answer_probes(Client& c, bool answer) noexcept { c.answer_probes_ = answer; }
    // SO_RCVBUF for the bot's next connection (0: the default).
    void set_receive_buffer(Client& c, int bytes) noexcept { c.rcvbuf_ = bytes; }
    void set_logged_in(Client& c, bool logged_in, int64_t user_id = 0);

    Client& client(std::size_t slot) { return clients_[slot]; }
    std::size_t size() const noexcept { return clients_.size(); }
    // When this loop turn woke (what arrived was there by then).
    Clock::time_point now() const noexcept { return now_; }
    // When the last frame was handed to the kernel (read just before the write): the start of a
    // round trip, exact where now() would count the frames handled earlier in the same turn.
    Clock::time_point last_send_at() const noexcept { return last_send_at_; }
    std::mt19937_64& rng() noexcept { return rng_; }
    Pacer& pacer() noexcept { return pacer_; }
    const EngineConfig& config() const noexcept { return cfg_; }
    Counters& counters() noexcept { return counters_; }
    LoopStats& stats() noexcept { return stats_; }
    Mode& mode() noexcept { return *mode_; }

private:
    struct Timer {
        Clock::time_point at;
        std::size_t slot;
        uint32_t gen;
        bool operator>(const Timer& o) const noexcept { return at > o.at; }
    };

    void start_connect(Client& c);
    void on_event(std::size_t slot, uint32_t gen, uint32_t events);
    void on_connect_done(Client& c);
    void read_all(Client& c);
    void handle_frame(Client& c, codec::Frame& f);
    void flush(Client& c);
    void update_interest(Client& c);
    // Ends the connection (ours or theirs) and resets the client to idle.
    void teardown(Client& c);
    void closed_by_server(Client& c, CloseCause cause);
    void fire_timers();
    void check_deadlines();
    void admit_queued();
    void finish();

    EngineConfig cfg_;
    std::unique_ptr<Mode> mode_;
    Counters& counters_;
    LoopStats stats_;
    std::vector<Client> clients_;
    int epoll_fd_ = -1;
    Clock::time_point now_;
    Clock::time_point last_send_at_;
    Clock::time_point next_scan_;
    Clock::time_point grace_end_;
    std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
    std::deque<std::pair<std::size_t, uint32_t>> queued_;  // slot, gen at queueing
    int inflight_ = 0;                                     // connecting + pending logins
    std::size_t pending_total_ = 0;
    bool started_ = false;
    bool stopping_ = false;
    bool finished_ = false;
    std::mt19937_64 rng_;
    Pacer pacer_;
    std::string read_buf_;
};

// A connector for a TCP address (resolved once): non-blocking connect with TCP_NODELAY.
// Throws std::runtime_error when the host does not resolve.
Connector tcp_connector(const std::string& host, uint16_t port);

// The Errno of a body in the given encoding; 0 when it has none or is not a map. `msgpack_out`
// (if given) receives the body as msgpack.
int32_t body_errno(codec::Magic encoding, const std::string& body, std::string* msgpack_out);

}  // namespace tb::bot
