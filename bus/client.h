#pragma once
// A synchronous bus client for tools (tb-mon, tb-ctl, tb-bench's callers): one DEALER with a
// throwaway identity that never READYs, and call() that waits for its answer up to a deadline.
// Nodes use the asynchronous bus/node.h instead; this exists so a command-line tool can say
// "ask, wait at most 1 s, print" in three lines.
//
// Threading: one thread at a time (it owns a ZeroMQ socket).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <zmq.hpp>

#include "bus/node.h"

namespace tb::bus {

struct ClientOptions {
    std::string manager = "tcp://127.0.0.1:5555";
    std::string tool = "tool";  // identity prefix, "<tool>.<random>"
    // CURVE client keys and the manager's public key (all set = on).
    std::string curve_public_key;
    std::string curve_secret_key;
    std::string curve_server_key;
};

class BusClient {
public:
    BusClient(zmq::context_t& ctx, ClientOptions options);

    // Sends a REQUEST to `target` and waits for its REPLY or ERROR. nullopt when nothing came
    // back before `timeout` (the manager is down or unreachable).
    std::optional<Reply> call(std::string_view target, std::string_view body,
                              std::chrono::milliseconds timeout, uint32_t msg_type = 0);

    zmq::socket_t& socket() noexcept { return socket_; }

private:
    zmq::socket_t socket_;
    uint64_t next_correlation_ = 1;
};

// The announcement endpoint that goes with a bus endpoint: same host, port + 1
// ("tcp://10.0.0.5:5555" -> "tcp://10.0.0.5:5556"). Empty when the port cannot be parsed.
std::string announce_endpoint_for(std::string_view bus_endpoint);

}  // namespace tb::bus
