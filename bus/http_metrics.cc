#include "bus/http_metrics.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <vector>

namespace tb::bus {

namespace {

// Messages handled per loop pass, so a flood of connections cannot starve the loop's other
// sockets (the loop is level-triggered and calls us again for the rest).
constexpr int kMaxMessagesPerPass = 256;

constexpr std::string_view kMetricsType = "text/plain; version=0.0.4";
constexpr std::string_view kTextType = "text/plain; charset=utf-8";

std::string_view reason(int status) {
    switch (status) {
        case 200: return "OK";
        case 400: return "Bad Request";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 408: return "Request Timeout";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 503: return "Service Unavailable";
        default: return "Unknown";
    }
}

// Offset just past the empty line that ends the header block, or npos. Bare LF line ends are
// accepted too (printf 'GET /metrics HTTP/1.0\n\n' | nc works). Searching starts at `from`.
std::size_t find_head_end(std::string_view buf, std::size_t from) {
    for (std::size_t i = from; i < buf.size(); ++i) {
        if (buf[i] != '\n') continue;
        if (i + 1 < buf.size() && buf[i + 1] == '\n') return i + 2;
        if (i + 2 < buf.size() && buf[i + 1] == '\r' && buf[i + 2] == '\n') return i + 3;
    }
    return std::string_view::npos;
}

// The lines of a header block without their CR LF (or LF); the empty last line is dropped.
std::vector<std::string_view> split_lines(std::string_view head) {
    std::vector<std::string_view> lines;
    while (!head.empty()) {
        const std::size_t nl = head.find('\n');
        std::string_view line = head.substr(0, nl);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        lines.push_back(line);
        if (nl == std::string_view::npos) break;
        head.remove_prefix(nl + 1);
    }
    while (!lines.empty() && lines.back().empty()) lines.pop_back();
    return lines;
}

bool is_tchar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

// No control bytes but horizontal tab anywhere in the head.
bool clean_line(std::string_view line) {
    return std::none_of(line.begin(), line.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return (u < 0x20 && c != '\t') || u == 0x7f;
    });
}

}  // namespace

HttpMetricsServer::HttpMetricsServer(zmq::context_t& ctx, EventLoop& loop,
                                     const std::string& endpoint, Render render,
                                     HttpMetricsOptions options)
    : loop_(loop),
      socket_(ctx, zmq::socket_type::stream),
      render_(std::move(render)),
      options_(options) {
    // A scrape in flight must not hold up process exit.
    socket_.set(zmq::sockopt::linger, 0);
    socket_.bind(endpoint);
    endpoint_ = socket_.get(zmq::sockopt::last_endpoint);
    loop_.add_socket(socket_, [this] { on_readable(); });
    const auto every = std::clamp(options_.idle_timeout / 2, std::chrono::milliseconds(5),
                                  std::chrono::milliseconds(1000));
    sweep_timer_ = loop_.add_repeating(every, [this] { sweep_idle(); });
}

HttpMetricsServer::~HttpMetricsServer() {
    loop_.cancel(sweep_timer_);
    loop_.remove_socket(socket_);
}

HttpMetricsServer::Counters HttpMetricsServer::counters() const noexcept {
    Counters c;
    c.responses = responses_.load(std::memory_order_relaxed);
    c.metrics_served = metrics_served_.load(std::memory_order_relaxed);
    c.client_errors = client_errors_.load(std::memory_order_relaxed);
    c.oversized = oversized_.load(std::memory_order_relaxed);
    c.rejected = rejected_.load(std::memory_order_relaxed);
    c.timed_out = timed_out_.load(std::memory_order_relaxed);
    c.send_failures = send_failures_.load(std::memory_order_relaxed);
    c.open = open_.load(std::memory_order_relaxed);
    c.max_buffered = max_buffered_.load(std::memory_order_relaxed);
    return c;
}

void HttpMetricsServer::on_readable() {
    try {
        for (int n = 0; n < kMaxMessagesPerPass; ++n) {
            zmq::message_t id;
            if (!socket_.recv(id, zmq::recv_flags::dontwait)) return;
            if (!id.more()) continue;  // not [id][data]; STREAM never sends that
            zmq::message_t data;
            // Parts of one message arrive together, so the data frame is already here.
            if (!socket_.recv(data, zmq::recv_flags::dontwait)) return;
            while (data.more()) {
                zmq::message_t extra;
                if (!socket_.recv(extra, zmq::recv_flags::dontwait)) break;
                data.swap(extra);
            }
            on_data(id.to_string(), data.to_string_view());
        }
    } catch (const zmq::error_t& e) {
        // ETERM at shutdown, in practice; the loop ends on its own then.
        spdlog::debug("http metrics: receive failed: {}", e.what());
    }
}

void HttpMetricsServer::on_data(const std::string& id, std::string_view data) {
    if (data.empty()) {
        // Connect or disconnect notification. State is created on the first byte instead of on
        // connect, so only a disconnect matters: drop whatever the peer left half-sent.
        connections_.erase(id);
        update_open();
        return;
    }
    if (recently_closed(id)) return;

    auto it = connections_.find(id);
    if (it == connections_.end()) {
        if (connections_.size() >= options_.max_connections) {
            rejected_.fetch_add(1, std::memory_order_relaxed);
            respond(id, {503, kTextType, "too many connections\n", false, false});
            return;
        }
        it = connections_.emplace(id, Connection{{}, 0, Clock::now()}).first;
        update_open();
    }
    Connection& conn = it->second;
    const std::size_t room = options_.max_request_bytes - conn.buffer.size();
    const bool overflow = data.size() > room;
    conn.buffer.append(data.substr(0, std::min(room, data.size())));
    if (conn.buffer.size() > max_buffered_.load(std::memory_order_relaxed)) {
        max_buffered_.store(conn.buffer.size(), std::memory_order_relaxed);
    }

    const std::size_t end = find_head_end(conn.buffer, conn.scanned);
    if (end == std::string_view::npos) {
        if (overflow || conn.buffer.size() >= options_.max_request_bytes) {
            connections_.erase(it);
            update_open();
            oversized_.fetch_add(1, std::memory_order_relaxed);
            respond(id, {431, kTextType, "request header fields too large\n", false, false});
            return;
        }
        // A terminator may straddle this chunk and the next: resume two bytes back.
        conn.scanned = conn.buffer.size() >= 2 ? conn.buffer.size() - 2 : 0;
        return;
    }
    // Anything after the head (a body, a pipelined request) is ignored: one request, then close.
    const Response response = handle_request(std::string_view(conn.buffer).substr(0, end));
    connections_.erase(it);
    update_open();
    respond(id, response);
}

HttpMetricsServer::Response HttpMetricsServer::handle_request(std::string_view head) {
    const Response bad{400, kTextType, "bad request\n", false, false};
    std::vector<std::string_view> lines = split_lines(head);
    // RFC 9112 2.2: ignore empty lines before the request line.
    const auto first = std::find_if(lines.begin(), lines.end(), [](auto l) { return !l.empty(); });
    if (first == lines.end()) return bad;

    const std::string_view request_line = *first;
    const std::size_t sp1 = request_line.find(' ');
    const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : request_line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos) return bad;
    const std::string_view method = request_line.substr(0, sp1);
    std::string_view target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string_view version = request_line.substr(sp2 + 1);
    const bool version_ok = version.size() == 8 && version.starts_with("HTTP/1.") &&
                            version[7] >= '0' && version[7] <= '9';
    if (!is_token(method) || target.empty() || !version_ok || !clean_line(request_line) ||
        target.find(' ') != std::string_view::npos) {
        return bad;
    }
    for (auto it = first + 1; it != lines.end(); ++it) {
        const std::string_view line = *it;
        const std::size_t colon = line.find(':');
        // A field name is a token right before the colon; obsolete line folding (a line starting
        // with whitespace) is rejected as RFC 9112 5.2 allows.
        if (colon == std::string_view::npos || !is_token(line.substr(0, colon)) ||
            !clean_line(line)) {
            return bad;
        }
    }

    const bool head_only = method == "HEAD";
    if (method != "GET" && !head_only) {
        return {405, kTextType, "method not allowed\n", false, true};
    }
    // Absolute form (GET http://host:9100/metrics) as a proxy would send it.
    if (const std::size_t scheme = target.find("://");
        scheme != std::string_view::npos && !target.starts_with("/")) {
        const std::size_t path = target.find('/', scheme + 3);
        target = path == std::string_view::npos ? std::string_view("/") : target.substr(path);
    }
    target = target.substr(0, target.find_first_of("?#"));

    if (target == "/metrics") {
        try {
            std::string body = render_();
            metrics_served_.fetch_add(1, std::memory_order_relaxed);
            return {200, kMetricsType, std::move(body), head_only, false};
        } catch (const std::exception& e) {
            spdlog::error("http metrics: render failed: {}", e.what());
        } catch (...) {
            spdlog::error("http metrics: render failed with a non-standard exception");
        }
        return {500, kTextType, "render failed\n", head_only, false};
    }
    if (target == "/health") return {200, kTextType, "ok\n", head_only, false};
    return {404, kTextType, "not found\n", head_only, false};
}

void HttpMetricsServer::respond(const std::string& id, const Response& response) {
    std::string out;
    out.reserve(response.body.size() + 160);
    fmt::format_to(std::back_inserter(out),
                   "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{}"
                   "Connection: close\r\n\r\n",
                   response.status, reason(response.status), response.content_type,
                   response.body.size(), response.allow_header ? "Allow: GET, HEAD\r\n" : "");
    if (!response.head_only) out += response.body;

    responses_.fetch_add(1, std::memory_order_relaxed);
    if (response.status >= 400 && response.status != 500) {
        client_errors_.fetch_add(1, std::memory_order_relaxed);
    }
    // One frame for the whole response: libzmq's STREAM engine then writes it all before it
    // reads the close that follows, so the close cannot cut the response short.
    bool ok = send_frames(id, out);
    // [id][empty] closes the connection; tried even if the response failed, to free the peer.
    ok = send_frames(id, {}) && ok;
    if (!ok) send_failures_.fetch_add(1, std::memory_order_relaxed);

    closed_.push_back(id);
    while (closed_.size() > 2 * options_.max_connections + 16) closed_.pop_front();
}

bool HttpMetricsServer::send_frames(const std::string& id, std::string_view payload) {
    try {
        // EHOSTUNREACH (the peer went away) throws; EAGAIN (its pipe is full) returns empty.
        if (!socket_.send(zmq::buffer(id), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
            return false;
        }
        // Once the id frame is accepted, STREAM always takes the data frame.
        return socket_.send(zmq::buffer(payload), zmq::send_flags::dontwait).has_value();
    } catch (const zmq::error_t& e) {
        spdlog::debug("http metrics: send failed: {}", e.what());
        return false;
    }
}

void HttpMetricsServer::sweep_idle() {
    const auto now = Clock::now();
    std::vector<std::string> stale;
    for (const auto& [id, conn] : connections_) {
        if (now - conn.started >= options_.idle_timeout) stale.push_back(id);
    }
    for (const auto& id : stale) {
        connections_.erase(id);
        timed_out_.fetch_add(1, std::memory_order_relaxed);
        respond(id, {408, kTextType, "request timeout\n", false, false});
    }
    if (!stale.empty()) update_open();
}

bool HttpMetricsServer::recently_closed(const std::string& id) const {
    return std::find(closed_.rbegin(), closed_.rend(), id) != closed_.rend();
}

void HttpMetricsServer::update_open() noexcept {
    open_.store(connections_.size(), std::memory_order_relaxed);
}

}  // namespace tb::bus
