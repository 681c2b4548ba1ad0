#include "bus/client.h"

#include <charconv>
#include <random>

#include "bus/message.h"
#include "bus/security.h"

namespace tb::bus {

BusClient::BusClient(zmq::context_t& ctx, ClientOptions options)
    : socket_(ctx, zmq::socket_type::dealer) {
    std::random_device rd;
    socket_.set(zmq::sockopt::routing_id, options.tool + "." + std::to_string(rd()));
    socket_.set(zmq::sockopt::linger, 0);
    if (!options.curve_secret_key.empty()) {
        apply_curve_client(socket_,
                           CurveKeyPair{options.curve_public_key, options.curve_secret_key},
                           options.curve_server_key);
    }
    socket_.connect(options.manager);
}

std::optional<Reply> BusClient::call(std::string_view target, std::string_view body,
                                     std::chrono::milliseconds timeout, uint32_t msg_type) {
    const uint64_t id = next_correlation_++;
    codec::Envelope e;
    e.command = codec::Command::kRequest;
    e.target = std::string(target);
    e.msg_type = msg_type;
    e.correlation = id;
    e.timeout_ms = static_cast<uint32_t>(timeout.count());
    if (send_message(socket_, {}, e, body) != SendResult::kOk) return std::nullopt;
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) return std::nullopt;
        zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
        zmq::poll(&item, 1, left);
        if ((item.revents & ZMQ_POLLIN) == 0) continue;
        Incoming in;
        while (recv_message(socket_, false, in) != RecvResult::kEmpty) {
            if (in.header_error != codec::EnvelopeError::kOk || in.env.correlation != id) continue;
            if (in.env.command != codec::Command::kReply &&
                in.env.command != codec::Command::kError) {
                continue;
            }
            return reply_from(std::move(in));
        }
    }
}

std::string announce_endpoint_for(std::string_view bus_endpoint) {
    const auto colon = bus_endpoint.rfind(':');
    if (colon == std::string_view::npos) return {};
    int port = 0;
    const auto digits = bus_endpoint.substr(colon + 1);
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc() || p != digits.data() + digits.size() || port <= 0 || port >= 65535) {
        return {};
    }
    return std::string(bus_endpoint.substr(0, colon + 1)) + std::to_string(port + 1);
}

}  // namespace tb::bus
