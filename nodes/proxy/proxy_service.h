#pragma once
// tb-proxy: bridges raw-TCP game clients onto the bus (docs/ARCHITECTURE.md "A player's path").
// It owns the client sockets and their sessions: a session exists from accept, speaks the
// connection's encoding (fixed by its first frame), is kept alive or dropped per the protocol,
// is rate limited, and has a bounded output queue. Client requests become bus requests to the
// login service or to the game node the user is seated at; game pushes (single or multicast)
// become client frames.
//
// Client sockets are non-blocking and watched by one epoll instance, whose fd sits in the event
// loop beside the bus sockets: one thread, no locks, and O(ready) work per wake-up however many
// connections are idle.
//
// Threading: construct, start and destroy on the loop thread (or before the loop runs).

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>
#include <zmq.hpp>

#include "bus/event_loop.h"
#include "bus/node.h"
#include "codec/frame.h"
#include "nodes/proxy/client_rules.h"
#include "nodes/proxy/proxy_config.h"

namespace tb::proxy {

class ProxyService {
public:
    // Binds the client port; throws std::system_error naming the address when it cannot.
    ProxyService(zmq::context_t& ctx, bus::EventLoop& loop, const ProxyConfig& cfg);
    ~ProxyService();
    ProxyService(const ProxyService&) = delete;
    ProxyService& operator=(const ProxyService&) = delete;

    void start();
    // SIGTERM: stop accepting, tell every client (NotifyKick, Errno 17), close them all.
    void shutdown();

    bus::Node& node() noexcept { return node_; }
    uint16_t port() const noexcept { return port_; }
    std::size_t sessions() const noexcept { return sessions_.size(); }
    // The session cap in force: proxy.max_connections, lowered to leave proxy.reserved_fds of
    // the process's open-files limit free.
    std::size_t session_cap() const noexcept { return session_cap_; }

private:
    struct Session {
        uint64_t id = 0;
        int fd = -1;
        std::string ip;
        codec::FrameDecoder decoder;
        KeepAlive keepalive;
        TokenBucket bucket;
        int strikes = 0;
        std::string out;       // bytes not yet written
        bool writing = false;  // EPOLLOUT armed
        bool closing = false;  // close once `out` is flushed
        bool queued = false;   // in unflushed_: written at the end of the loop's pass
        uint64_t user = 0;
        std::string game;  // bus identity of the game node the user is seated at
        int32_t game_id = 0;
        int32_t game_type = 0;
        int32_t game_level = 0;

        Session(uint64_t i, int f, std::string addr, const ProxyConfig& cfg)
            : id(i),
              fd(f),
              ip(std::move(addr)),
              bucket(cfg.rate_per_s, cfg.rate_burst, Clock::now()) {}
    };

    void on_epoll();
    void accept_all();
    // Out of file descriptors (EMFILE/ENFILE): refuses the waiting connection through the spare
    // fd, or else stops accepting for a moment. Never exits, never spins. False when accepting
    // should stop for this wake-up (the backlog is empty, or the listener rests).
    bool on_fd_exhaustion(int err);
    void pause_accepting();
    void watch_listener();  // the listener into epoll (at start, and when a rest ends)
    void note_refused(const char* why);
    void on_readable(Session& s);
    void on_frame(Session& s, codec::Frame& f);
    void forward_login(Session& s, uint32_t type, std::string body);
    void forward_fast_login(Session& s, uint32_t type, const std::string& body);
    void forward_seated(Session& s, uint32_t type, std::string body);
    void deliver(uint64_t session_id, uint32_t type, bus::Reply&& r);
    void on_push(const codec::Envelope& env, std::string_view body);
    void on_session_check(bus::Request& r);
    void kick(Session& s, int32_t errno_code, std::string_view text);
    // Game nodes gone from the service table: their players get NotifyGameLost, at once, or
    // after a grace when the node was only missing from a new manager's snapshot.
    void on_table_change(const bus::TableDelta& d);
    void game_lost(const std::string& node);
    void notice_all(std::string_view body);
    void keepalive_tick();

    // Sends a client frame with a msgpack body (converted for JSON connections).
    void send(Session& s, uint32_t type, std::string_view msgpack_body);
    void send_error(Session& s, uint32_t type, int32_t code, std::string_view text);
    void send_raw(Session& s, std::string_view bytes);
    void flush(Session& s);
    // The end of a loop pass: one write per session for everything the pass queued for it.
    void flush_queued();
    void close(uint64_t id, std::string_view why);
    Session* find(uint64_t id);
    std::string body_to_msgpack(const Session& s, const std::string& body, bool& ok) const;

    const ProxyConfig& cfg_;  // owned by main, outlives the service
    bus::EventLoop& loop_;
    bus::Node node_;
    int epoll_fd_ = -1;
    int listen_fd_ = -1;
    uint16_t port_ = 0;
    bool accepting_ = true;
    int spare_fd_ = -1;            // /dev/null, closed to make room to refuse at EMFILE
    std::size_t session_cap_ = 0;  // see session_cap()
    uint64_t refused_ = 0;         // connections refused since the last log line
    Clock::time_point refused_logged_{};
    bus::TimerId accept_resume_timer_ = 0;  // non-zero: the listener rests out of epoll
    uint64_t next_session_;
    std::unordered_map<uint64_t, std::unique_ptr<Session>> sessions_;
    std::unordered_map<uint64_t, uint64_t> session_of_user_;
    std::unordered_map<std::string, int> per_ip_;
    bus::TimerId keepalive_timer_ = 0;
    uint64_t pass_end_task_ = 0;
    // Sessions with frames queued in this pass (Session::queued), written at its end: a client
    // that gets several frames in one pass (a game's last move, its end and the next deal) gets
    // them in one write, so the proxy and the client each make one system call, not several.
    std::vector<uint64_t> unflushed_;
    std::vector<uint64_t> flushing_;  // unflushed_ while flush_queued() works through it
    std::unordered_map<std::string, bus::TimerId> lost_pending_;  // game node -> grace timer
};

}  // namespace tb::proxy
