#pragma once
// The measuring harness both sides share: N caller threads warm up, meet at a start line that
// opens one common measurement window, call until it closes and record every call's latency
// (steady_clock). The harness turns the samples into a Measurement.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

#include "tools/bench/bench.h"

namespace tb::bench {

using Clock = std::chrono::steady_clock;

// How long one call may take before the run is declared broken.
inline constexpr std::chrono::seconds kCallTimeout{5};

struct Window {
    Clock::time_point start;
    Clock::time_point end;
};

// One caller's samples.
struct Samples {
    std::vector<int64_t> ns;
    Clock::time_point last{};  // when the last measured call completed

    void record(Clock::time_point sent, Clock::time_point done) {
        ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(done - sent).count());
        last = done;
    }
};

class StartLine {
public:
    // Blocks until every caller has warmed up; returns the measurement window (the same for
    // all callers).
    virtual Window wait() = 0;
    // True once another caller failed or the user interrupted: stop calling and return.
    virtual bool aborted() const noexcept = 0;

protected:
    ~StartLine() = default;
};

// A caller thread's work: set up, warm up, line.wait(), call until the window closes, record
// into `out`. Throws on failure (the harness stops the other callers and rethrows).
using CallerFn = std::function<void(int index, StartLine& line, Samples& out)>;

// Runs `callers` threads of `fn`, measuring for `duration`.
Measurement run_callers(int callers, std::chrono::milliseconds duration, const CallerFn& fn);

// The p-th percentile (0..100, nearest rank) of nanosecond samples, in microseconds;
// reorders `v`. 0 when empty.
double percentile_us(std::vector<int64_t>& v, double p);

// `v` rounded to `decimals` places, for the JSON outputs.
double round_to(double v, int decimals);

// The request body every caller sends: `size` bytes (at least 8: pipelined callers put the
// send time in the first 8).
std::string make_body(std::size_t size);

}  // namespace tb::bench
