#pragma once
// Connection events for one ZeroMQ socket (a node connected, dropped, failed its CURVE handshake)
// delivered as callbacks on an EventLoop. The broker turns them into log lines, metrics and
// "handshake refused" announcements.
//
// Built on zmq_socket_monitor() with the version-1 event format, because the draft API
// (zmq_socket_monitor_versioned, ZMQ_EVENT_PIPES_STATS) is not in the libzmq we ship with. libzmq
// publishes events on an inproc PAIR that it binds; the monitor connects its own PAIR to that and
// polls it on the loop.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <zmq.hpp>

#include "bus/event_loop.h"

namespace tb::bus {

struct SocketEvent {
    enum class Kind {
        kListening,
        kAccepted,
        kConnected,
        kDisconnected,
        kClosed,
        kHandshakeSucceeded,
        kHandshakeFailed,  // NO_DETAIL, PROTOCOL or AUTH: raw_event says which
        kOther,            // retries, bind/accept failures, monitor stopped...
    };
    Kind kind = Kind::kOther;
    uint16_t raw_event = 0;  // the ZMQ_EVENT_* bit
    // Event-specific: an fd for accepted/connected/disconnected, an errno for failures, the ZAP
    // status code (300/400/500) for an auth failure, a ZMQ_PROTOCOL_ERROR_* for a protocol one.
    uint32_t value = 0;
    std::string endpoint;  // the local endpoint for a listener's events, the peer's otherwise

    bool is_auth_failure() const noexcept { return raw_event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH; }
};

// Stable snake_case names for logs and announcements: "accepted", "handshake_failed", "other".
std::string_view event_name(SocketEvent::Kind kind) noexcept;
// The same for the raw bit, finer-grained: "handshake_failed_auth", "connect_retried"; "unknown"
// for a bit this build does not know.
std::string_view raw_event_name(uint16_t raw_event) noexcept;

// Decodes one version-1 monitor message: `header` is frame 1 (u16 event then u32 value, native
// byte order, 6 bytes), `endpoint` frame 2. nullopt when the header has the wrong size.
std::optional<SocketEvent> decode_socket_event(std::string_view header, std::string_view endpoint);

// Monitors one socket for as long as it lives. One monitor per socket: libzmq keeps a single
// monitor endpoint per socket, so a second SocketMonitor on the same socket silently takes
// over from the first.
//
// Threading: construct and destroy on the thread that uses the monitored socket, which must be
// the loop's thread once the loop runs (zmq_socket_monitor touches the socket, and sockets are
// not thread-safe). Construct before the socket binds or connects to see every event: events
// raised before the monitor's PAIR connects are dropped by libzmq.
//
// Lifetime: the monitored socket and the loop must outlive the monitor (the destructor calls
// zmq_socket_monitor on the socket to stop it), and its context must outlive both.
class SocketMonitor {
public:
    using Callback = std::function<void(const SocketEvent&)>;

    // Starts monitoring `events` (a ZMQ_EVENT_* mask) on `socket` and registers on `loop`;
    // `on_event` runs on the loop thread. Throws std::runtime_error when libzmq refuses the
    // monitor (a closed socket, an unsupported event bit) or the PAIR cannot connect.
    SocketMonitor(zmq::context_t& context, zmq::socket_t& socket, EventLoop& loop,
                  Callback on_event, int events = ZMQ_EVENT_ALL);
    // Stops monitoring (zmq_socket_monitor(socket, nullptr, 0)) and closes the PAIR; events
    // still queued are dropped.
    ~SocketMonitor();
    SocketMonitor(const SocketMonitor&) = delete;
    SocketMonitor& operator=(const SocketMonitor&) = delete;

    const std::string& endpoint() const noexcept { return endpoint_; }

private:
    void on_readable();

    zmq::socket_t& socket_;  // monitored; not owned
    EventLoop& loop_;        // not owned
    Callback on_event_;
    std::string endpoint_;  // inproc://monitor-<n>, unique in the process
    zmq::socket_t pair_;
};

}  // namespace tb::bus
