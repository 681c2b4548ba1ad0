#pragma once
// The two sides of `tb-bench bus`, each in its own file: raw.cc (plain libzmq through a
// zmq_proxy) and tablebus.cc (the node runtime through tb-manager). Both measure the same three
// scenarios with the harness in harness.h.

#include <chrono>
#include <functional>
#include <string>
#include <zmq.hpp>

#include "tools/bench/bench.h"

namespace tb::bench {

// Throws when a child process the side depends on has died (names it and its exit status).
using HealthCheck = std::function<void()>;

// Linger 0 and high-water marks of 100,000, as the broker and the node runtime set theirs: every
// plain-libzmq socket of tb-bench (the raw bus side, tb-bench path's gateway).
void tune_raw_socket(zmq::socket_t& s);

// Raw: DEALER callers -> ROUTER/DEALER zmq_proxy at `frontend` -> raw echo.
void raw_wait_ready(zmq::context_t& ctx, const std::string& frontend, const HealthCheck& check,
                    std::chrono::milliseconds limit);
Measurement raw_sync(zmq::context_t& ctx, const std::string& frontend, int callers,
                     const BusBenchOptions& o);
Measurement raw_pipelined(zmq::context_t& ctx, const std::string& frontend,
                          const BusBenchOptions& o);

// Tablebus: client-only nodes -> tb-manager at `manager` -> echo-worker (service bench.echo).
void bus_wait_ready(zmq::context_t& ctx, const std::string& manager, const HealthCheck& check,
                    std::chrono::milliseconds limit);
Measurement bus_sync(zmq::context_t& ctx, const std::string& manager, int callers,
                     const BusBenchOptions& o);
Measurement bus_pipelined(zmq::context_t& ctx, const std::string& manager,
                          const BusBenchOptions& o);

// Warm-up calls each of `callers` callers makes so that together they make `warmup`.
inline int warmup_share(int warmup, int callers) {
    return callers <= 0 ? 0 : std::max(1, (warmup + callers - 1) / callers);
}

}  // namespace tb::bench
