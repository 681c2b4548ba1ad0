#pragma once
// Sending and receiving whole bus messages: [routing id (ROUTER only)] [header] [body].
// The header is codec/envelope.h's routing header; the body is opaque msgpack that the broker
// moves from one socket to the other without copying or decoding.
//
// Sends never block: a full queue or a vanished ROUTER peer (ROUTER_MANDATORY) is a result the
// caller counts, never a stall of the loop. Receives always consume every frame of a message,
// so one malformed message can never desynchronise the frames of the next.

#include <cstdint>
#include <string>
#include <string_view>
#include <zmq.hpp>

#include "codec/envelope.h"

namespace tb::bus {

enum class SendResult : uint8_t {
    kOk,
    kWouldBlock,   // high-water mark reached; nothing was sent
    kUnreachable,  // ROUTER_MANDATORY: no peer with that routing id
    kError,        // any other failure (terminated context, bad header)
};

enum class RecvResult : uint8_t {
    kOk,
    kEmpty,      // nothing to read right now
    kMalformed,  // wrong frame count or undecodable header; the whole message was consumed
};

struct Incoming {
    std::string routing_id;  // ROUTER side: who sent it
    codec::Envelope env;
    zmq::message_t body;
    codec::EnvelopeError header_error = codec::EnvelopeError::kOk;
    uint8_t version_seen = 0;

    std::string_view body_view() const noexcept {
        return {static_cast<const char*>(body.data()), body.size()};
    }
};

// Sends on a DEALER (routing_id empty) or ROUTER (routing_id = the peer). The body message is
// moved out; on failure it is left intact so the caller may requeue it.
SendResult send_message(zmq::socket_t& socket, std::string_view routing_id,
                        const codec::Envelope& env, zmq::message_t& body);
SendResult send_message(zmq::socket_t& socket, std::string_view routing_id,
                        const codec::Envelope& env, std::string_view body);

// Receives one message without waiting. `router` says whether a routing id frame leads.
RecvResult recv_message(zmq::socket_t& socket, bool router, Incoming& out);

}  // namespace tb::bus
