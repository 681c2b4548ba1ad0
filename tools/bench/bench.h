#pragma once
// tb-bench's library: `tb-bench bus` compares a round trip over the tablebus bus (node runtime
// caller -> tb-manager -> node runtime echo worker) with the same round trip over plain libzmq
// (DEALER callers -> zmq_proxy ROUTER/DEALER -> raw echo), both over tcp loopback, and reports
// requests per second and latency percentiles for each and their ratios.
//
// Everything it needs it starts itself (the real tb-manager binary from the same directory and
// tb-bench's own hidden subcommands) and stops again, also on error or SIGINT.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tb::bench {

// Interruption (SIGINT/SIGTERM in main): running measurements notice within ~100 ms, return
// early and the run throws Interrupted; destructors stop every child process.
void request_stop() noexcept;
bool stop_requested() noexcept;

struct Interrupted : std::runtime_error {
    Interrupted() : std::runtime_error("interrupted") {}
};

struct BusBenchOptions {
    uint16_t base_port = 17000;  // tb-manager: base, base+1; raw proxy: base+10, base+11
    std::chrono::milliseconds duration{3000};  // per measurement
    int warmup = 1000;                         // calls before each measurement
    int callers = 16;                          // the "sync16" scenario
    int depth = 100;                           // requests in flight in the "pipelined" one
    std::size_t body_size = 64;                // request body bytes (envelope not counted)
    int repeat = 1;    // runs per scenario and side (alternating); the median by req/s is kept
    std::string only;  // "raw" or "tablebus" to run one side alone (profiling); empty: both
    std::string manager_binary;                        // empty: tb-manager next to this executable
    std::function<void(const std::string&)> progress;  // null: quiet
};

// One scenario on one side.
struct Measurement {
    uint64_t calls = 0;
    double seconds = 0;
    double rps = 0;
    double p50_us = 0;
    double p99_us = 0;
    // CPU (user + system) per call, warm-up included, of the caller process, the router
    // (zmq_proxy or tb-manager) and the echo worker: where the machine's two cores went.
    double cpu_callers_us = 0;
    double cpu_router_us = 0;
    double cpu_worker_us = 0;
};

struct SideResults {
    Measurement sync1;      // one synchronous caller
    Measurement sync16;     // `callers` synchronous callers, one thread and socket each
    Measurement pipelined;  // one caller keeping `depth` requests in flight
};

struct BusBenchResults {
    SideResults raw;
    SideResults tablebus;
};

// Starts both sides, then runs every scenario on each, alternating raw and tablebus. Throws
// std::runtime_error (naming the child process that failed, if one did) or Interrupted.
BusBenchResults run_bus_bench(const BusBenchOptions& options);

// {"raw":{...},"tablebus":{...},"ratio":{"sync1_p50":R,"sync16_rps":R,"pipelined_rps":R}}
nlohmann::ordered_json to_json(const BusBenchResults& results);

struct TargetCheck {
    std::string name;  // "sync16_rps", "pipelined_rps", "sync1_p50"
    double ratio = 0;  // tablebus / raw
    double limit = 0;
    bool at_least = true;  // ratio must be >= limit (throughput) or <= limit (latency)
    bool met = false;
};
// The targets on a 2-core machine: sync16 rps >= 0.8x raw, pipelined rps >= 0.5x raw, sync1
// p50 <= 1.5x raw.
std::vector<TargetCheck> check_targets(const BusBenchResults& results);

// The human-readable table, targets included.
std::string to_table(const BusBenchResults& results, const BusBenchOptions& options);

// Hidden subcommands (the child processes). Each runs until SIGTERM/SIGINT; returns the exit
// code.
int raw_proxy_main(const std::string& frontend, const std::string& backend);
int raw_echo_main(const std::string& connect);
int echo_worker_main(const std::string& manager, int32_t id);

}  // namespace tb::bench
