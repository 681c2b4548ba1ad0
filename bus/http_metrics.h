#pragma once
// GET /metrics (and GET /health) for Prometheus, served from the process's own event loop over a
// ZMQ_STREAM socket instead of an HTTP library: the render callback then runs on the loop thread
// and reads the broker's counters without a lock, and no extra thread or dependency is needed.
//
// It is deliberately tiny: one request per connection, answered with Connection: close and the
// connection closed after it. Memory is bounded: at most max_request_bytes buffered per
// connection (past that: 431 and close), at most max_connections buffering at once (past that:
// 503 and close), and connections that stall mid-request are closed after idle_timeout.
// Sends never block the loop: a failed send is dropped and counted.
//
// ZMQ_STREAM framing: every message is [connection id][data]; an empty data frame is a connect
// or disconnect notification (ZMQ_STREAM_NOTIFY, on by default); sending [id][empty] closes.
//
// Threading: construct before the loop runs or on the loop thread, and destroy the same way
// (it unregisters from the loop). endpoint() and counters() may be called from any thread.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <zmq.hpp>

#include "bus/event_loop.h"

namespace tb::bus {

struct HttpMetricsOptions {
    // Request line and headers, per connection.
    std::size_t max_request_bytes = 8 * 1024;
    // Connections with a partial request buffered at once.
    std::size_t max_connections = 64;
    // How long a request may take to arrive in full, from its first byte.
    std::chrono::milliseconds idle_timeout{10'000};
};

class HttpMetricsServer {
public:
    using Render = std::function<std::string()>;

    // What the server has done, for tests and its own metrics. Plain values, read atomically.
    struct Counters {
        uint64_t responses = 0;       // answers sent, any status
        uint64_t metrics_served = 0;  // 200s for /metrics
        uint64_t client_errors = 0;   // 400, 404, 405, 408, 431, 503
        uint64_t oversized = 0;       // 431s
        uint64_t rejected = 0;        // 503s: max_connections reached
        uint64_t timed_out = 0;       // 408s: idle_timeout passed mid-request
        uint64_t send_failures = 0;   // a response or close that could not be queued
        uint64_t open = 0;            // connections with a partial request buffered now
        uint64_t max_buffered = 0;    // the most bytes ever buffered for one connection
    };

    // Binds a ZMQ_STREAM socket to `endpoint` (tcp://*:9100, or tcp://127.0.0.1:* for an
    // ephemeral port) and registers it on `loop`. `render` is called on the loop thread for each
    // GET /metrics; if it throws, the scrape gets a 500. Throws zmq::error_t if the bind fails.
    HttpMetricsServer(zmq::context_t& ctx, EventLoop& loop, const std::string& endpoint,
                      Render render, HttpMetricsOptions options = {});
    ~HttpMetricsServer();
    HttpMetricsServer(const HttpMetricsServer&) = delete;
    HttpMetricsServer& operator=(const HttpMetricsServer&) = delete;

    // Any thread: the bound endpoint with the real port (ZMQ_LAST_ENDPOINT, read at bind time).
    std::string endpoint() const { return endpoint_; }
    // Any thread.
    Counters counters() const noexcept;

private:
    struct Connection {
        std::string buffer;         // the request so far, at most max_request_bytes
        std::size_t scanned = 0;    // bytes already searched for the end of the headers
        Clock::time_point started;  // first byte, for idle_timeout
    };
    struct Response {
        int status;
        std::string_view content_type;
        std::string body;
        bool head_only;     // HEAD: headers with the body's length, but no body
        bool allow_header;  // 405: say which methods are
    };

    void on_readable();
    void on_data(const std::string& id, std::string_view data);
    Response handle_request(std::string_view head);
    // Sends `response` then closes the connection; counts failures, never blocks.
    void respond(const std::string& id, const Response& response);
    bool send_frames(const std::string& id, std::string_view payload);
    void sweep_idle();
    bool recently_closed(const std::string& id) const;
    void update_open() noexcept;

    EventLoop& loop_;
    zmq::socket_t socket_;
    std::string endpoint_;
    Render render_;
    HttpMetricsOptions options_;
    TimerId sweep_timer_ = 0;

    std::unordered_map<std::string, Connection> connections_;
    // Connections we closed, newest last: data already queued from them is ignored rather than
    // starting a new request (STREAM ids are never reused, so a short memory is enough).
    std::deque<std::string> closed_;

    // Written on the loop thread, read from any (counters()).
    std::atomic<uint64_t> responses_{0};
    std::atomic<uint64_t> metrics_served_{0};
    std::atomic<uint64_t> client_errors_{0};
    std::atomic<uint64_t> oversized_{0};
    std::atomic<uint64_t> rejected_{0};
    std::atomic<uint64_t> timed_out_{0};
    std::atomic<uint64_t> send_failures_{0};
    std::atomic<uint64_t> open_{0};
    std::atomic<uint64_t> max_buffered_{0};
};

}  // namespace tb::bus
