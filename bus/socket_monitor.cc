#include "bus/socket_monitor.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstring>
#include <iterator>
#include <stdexcept>
#include <vector>
#include <zmq_addon.hpp>

namespace tb::bus {
namespace {

constexpr std::size_t kHeaderSize = sizeof(uint16_t) + sizeof(uint32_t);

// inproc endpoints are per context, but a process-wide counter keeps names unique however many
// contexts there are, and makes them recognisable in a debugger.
std::atomic<uint64_t> next_monitor_id{1};

SocketEvent::Kind kind_of(uint16_t raw) noexcept {
    switch (raw) {
        case ZMQ_EVENT_LISTENING: return SocketEvent::Kind::kListening;
        case ZMQ_EVENT_ACCEPTED: return SocketEvent::Kind::kAccepted;
        case ZMQ_EVENT_CONNECTED: return SocketEvent::Kind::kConnected;
        case ZMQ_EVENT_DISCONNECTED: return SocketEvent::Kind::kDisconnected;
        case ZMQ_EVENT_CLOSED: return SocketEvent::Kind::kClosed;
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED: return SocketEvent::Kind::kHandshakeSucceeded;
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH: return SocketEvent::Kind::kHandshakeFailed;
        default: return SocketEvent::Kind::kOther;
    }
}

}  // namespace

std::string_view event_name(SocketEvent::Kind kind) noexcept {
    switch (kind) {
        case SocketEvent::Kind::kListening: return "listening";
        case SocketEvent::Kind::kAccepted: return "accepted";
        case SocketEvent::Kind::kConnected: return "connected";
        case SocketEvent::Kind::kDisconnected: return "disconnected";
        case SocketEvent::Kind::kClosed: return "closed";
        case SocketEvent::Kind::kHandshakeSucceeded: return "handshake_succeeded";
        case SocketEvent::Kind::kHandshakeFailed: return "handshake_failed";
        case SocketEvent::Kind::kOther: return "other";
    }
    return "other";
}

std::string_view raw_event_name(uint16_t raw_event) noexcept {
    switch (raw_event) {
        case ZMQ_EVENT_CONNECTED: return "connected";
        case ZMQ_EVENT_CONNECT_DELAYED: return "connect_delayed";
        case ZMQ_EVENT_CONNECT_RETRIED: return "connect_retried";
        case ZMQ_EVENT_LISTENING: return "listening";
        case ZMQ_EVENT_BIND_FAILED: return "bind_failed";
        case ZMQ_EVENT_ACCEPTED: return "accepted";
        case ZMQ_EVENT_ACCEPT_FAILED: return "accept_failed";
        case ZMQ_EVENT_CLOSED: return "closed";
        case ZMQ_EVENT_CLOSE_FAILED: return "close_failed";
        case ZMQ_EVENT_DISCONNECTED: return "disconnected";
        case ZMQ_EVENT_MONITOR_STOPPED: return "monitor_stopped";
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL: return "handshake_failed_no_detail";
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED: return "handshake_succeeded";
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL: return "handshake_failed_protocol";
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH: return "handshake_failed_auth";
        default: return "unknown";
    }
}

std::optional<SocketEvent> decode_socket_event(std::string_view header, std::string_view endpoint) {
    if (header.size() != kHeaderSize) return std::nullopt;
    SocketEvent event;
    // libzmq writes both fields with memcpy in host order, possibly unaligned: read them the
    // same way.
    std::memcpy(&event.raw_event, header.data(), sizeof event.raw_event);
    std::memcpy(&event.value, header.data() + sizeof event.raw_event, sizeof event.value);
    event.kind = kind_of(event.raw_event);
    event.endpoint = std::string(endpoint);
    return event;
}

SocketMonitor::SocketMonitor(zmq::context_t& context, zmq::socket_t& socket, EventLoop& loop,
                             Callback on_event, int events)
    : socket_(socket),
      loop_(loop),
      on_event_(std::move(on_event)),
      endpoint_(fmt::format("inproc://monitor-{}", next_monitor_id.fetch_add(1))) {
    if (socket_.handle() == nullptr) {
        throw std::runtime_error("socket monitor: the socket to monitor is closed");
    }
    if (zmq_socket_monitor(socket_.handle(), endpoint_.c_str(), events) != 0) {
        throw std::runtime_error(fmt::format("socket monitor: zmq_socket_monitor({}) failed: {}",
                                             endpoint_, zmq_strerror(zmq_errno())));
    }
    try {
        pair_ = zmq::socket_t(context, zmq::socket_type::pair);
        pair_.set(zmq::sockopt::linger, 0);
        pair_.connect(endpoint_);
    } catch (const zmq::error_t& e) {
        // Undo the half-started monitor so that the socket is left as it was found.
        zmq_socket_monitor(socket_.handle(), nullptr, 0);
        throw std::runtime_error(
            fmt::format("socket monitor: cannot connect to {}: {}", endpoint_, e.what()));
    }
    loop_.add_socket(pair_, [this] { on_readable(); });
}

SocketMonitor::~SocketMonitor() {
    loop_.remove_socket(pair_);
    // A socket closed early (socket_t::close()) has a null handle; libzmq already dropped its
    // monitor then, and calling in would be a use-after-close.
    if (socket_.handle() != nullptr) zmq_socket_monitor(socket_.handle(), nullptr, 0);
    // pair_ closes with linger 0 when it is destroyed.
}

void SocketMonitor::on_readable() {
    for (;;) {
        std::vector<zmq::message_t> parts;
        if (!zmq::recv_multipart(pair_, std::back_inserter(parts), zmq::recv_flags::dontwait)) {
            return;
        }
        if (parts.size() != 2) {
            spdlog::warn("socket monitor {}: ignoring a {}-part message", endpoint_, parts.size());
            continue;
        }
        const auto event =
            decode_socket_event(parts[0].to_string_view(), parts[1].to_string_view());
        if (!event) {
            spdlog::warn("socket monitor {}: ignoring a {}-byte event header", endpoint_,
                         parts[0].size());
            continue;
        }
        if (on_event_) on_event_(*event);
    }
}

}  // namespace tb::bus
