#include "bus/message.h"

#include <cerrno>

namespace tb::bus {

namespace {

// Reads and drops whatever frames remain of a multipart message.
void discard_rest(zmq::socket_t& socket, zmq::message_t& last) {
    while (last.more()) {
        if (!socket.recv(last, zmq::recv_flags::dontwait)) break;
    }
}

SendResult failed(const zmq::error_t& e) {
    if (e.num() == EHOSTUNREACH) return SendResult::kUnreachable;
    if (e.num() == EAGAIN) return SendResult::kWouldBlock;
    return SendResult::kError;
}

}  // namespace

SendResult send_message(zmq::socket_t& socket, std::string_view routing_id,
                        const codec::Envelope& env, zmq::message_t& body) {
    // Reused per thread: no allocation per send once it has grown to a header's size.
    thread_local std::string header;
    header.clear();
    if (!codec::encode_envelope(env, header)) return SendResult::kError;
    try {
        if (!routing_id.empty()) {
            // The first frame decides: with ROUTER_MANDATORY an unknown peer or a full pipe
            // fails here, before any frame is queued, so nothing half-sent is left behind.
            zmq::message_t id(routing_id.data(), routing_id.size());
            if (!socket.send(id, zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
                return SendResult::kWouldBlock;
            }
            zmq::message_t h(header.data(), header.size());
            socket.send(h, zmq::send_flags::sndmore);
            socket.send(body, zmq::send_flags::none);
            return SendResult::kOk;
        }
        zmq::message_t h(header.data(), header.size());
        if (!socket.send(h, zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
            return SendResult::kWouldBlock;
        }
        socket.send(body, zmq::send_flags::none);
        return SendResult::kOk;
    } catch (const zmq::error_t& e) {
        return failed(e);
    }
}

SendResult send_message(zmq::socket_t& socket, std::string_view routing_id,
                        const codec::Envelope& env, std::string_view body) {
    zmq::message_t m(body.data(), body.size());
    return send_message(socket, routing_id, env, m);
}

RecvResult recv_message(zmq::socket_t& socket, bool router, Incoming& out) {
    zmq::message_t frame;
    if (!socket.recv(frame, zmq::recv_flags::dontwait)) return RecvResult::kEmpty;
    if (router) {
        out.routing_id.assign(static_cast<const char*>(frame.data()), frame.size());
        if (!frame.more()) return RecvResult::kMalformed;
        if (!socket.recv(frame, zmq::recv_flags::dontwait)) return RecvResult::kMalformed;
    }
    // frame now holds the header.
    if (!frame.more()) {
        out.header_error = codec::EnvelopeError::kTruncated;
        return RecvResult::kMalformed;
    }
    out.header_error = codec::decode_envelope(
        {static_cast<const char*>(frame.data()), frame.size()}, out.env, &out.version_seen);
    if (!socket.recv(out.body, zmq::recv_flags::dontwait)) return RecvResult::kMalformed;
    if (out.body.more()) {
        discard_rest(socket, out.body);
        return RecvResult::kMalformed;
    }
    return out.header_error == codec::EnvelopeError::kOk ? RecvResult::kOk : RecvResult::kMalformed;
}

}  // namespace tb::bus
