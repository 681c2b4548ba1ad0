#pragma once
// Per-service and per-worker counters the broker keeps while it routes requests, and their
// Prometheus rendering. The broker answers `mmi.stats` from snapshot() and tb-manager serves
// render_prometheus() on GET /metrics (bus/http_metrics.h), so both views read the same numbers.
//
// Latency is a fixed-size log-linear histogram rather than a list of samples: the broker records
// one sample per reply on its hot path, so recording must be O(1), allocation-free and bounded in
// memory however long the process lives.
//
// Threading: nothing here locks. A BusStats belongs to the broker's loop thread; everything that
// reads it (mmi.stats, the metrics render callback) runs on that loop too. The free functions are
// pure and may run on any thread.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tb::bus {

// Durations from 1 us to 60 s (and a little beyond) with at most ~3% relative error: each power
// of two of nanoseconds is split into 16 equal sub-buckets (HdrHistogram with 4 significant
// bits), and a percentile reports the middle of its bucket. 528 counters, about 4 KiB.
class LatencyHistogram {
public:
    static constexpr int kSubBucketBits = 4;
    static constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBucketBits;
    // Highest power of two tracked: [2^35, 2^36) ns is about 34 .. 69 s.
    static constexpr int kTopExponent = 35;
    static constexpr std::size_t kBucketCount =
        kSubBuckets + (kTopExponent - kSubBucketBits + 1) * kSubBuckets;
    // Samples above this land in the top bucket (percentiles then report about 66 s); min, max
    // and sum still see their real value.
    static constexpr uint64_t kMaxTrackedNs = (uint64_t{1} << (kTopExponent + 1)) - 1;

    // Negative durations (a clock step) count as zero. No allocation, O(1).
    void record(std::chrono::nanoseconds elapsed) noexcept;
    // The value at percentile `p` (0..100, clamped): the smallest bucket holding at least p% of
    // the samples, reported as its midpoint clamped to [min, max]; the smallest and largest
    // samples are reported exactly. Zero when empty.
    std::chrono::nanoseconds percentile(double p) const noexcept;
    uint64_t count() const noexcept { return count_; }
    std::chrono::nanoseconds sum() const noexcept;
    std::chrono::nanoseconds min() const noexcept;  // zero when empty
    std::chrono::nanoseconds max() const noexcept;
    void reset() noexcept;
    // Adds `other`'s samples to this one (for totals across services or a rolling window).
    void merge(const LatencyHistogram& other) noexcept;

    // Bucket arithmetic, public for tests.
    static std::size_t bucket_of(uint64_t ns) noexcept;
    static uint64_t bucket_low(std::size_t index) noexcept;
    static uint64_t bucket_width(std::size_t index) noexcept;

private:
    std::array<uint64_t, kBucketCount> counts_{};
    uint64_t count_ = 0;
    uint64_t sum_ns_ = 0;
    uint64_t min_ns_ = UINT64_MAX;
    uint64_t max_ns_ = 0;
};

// What the broker knows about one service. Every request ends as exactly one reply, error or
// drop, so requests - (replies + errors + dropped) is what is still queued or in flight.
struct ServiceCounters {
    uint64_t requests = 0;  // accepted for routing
    uint64_t replies = 0;   // answered successfully
    uint64_t errors = 0;    // answered with an error code (the worker's or the broker's own)
    uint64_t dropped = 0;   // never answered: expired in the queue, or the reply could not be sent
    std::map<int32_t, uint64_t> errors_by_code;
    LatencyHistogram latency;     // request in -> reply or error out
    std::size_t queue_depth = 0;  // a gauge the broker sets; requests waiting for a worker

    void record_request() noexcept { ++requests; }
    void record_reply(std::chrono::nanoseconds elapsed) noexcept;
    // An error that went through a round trip (a worker's error reply, a deadline): counted and
    // timed.
    void record_error(int32_t code, std::chrono::nanoseconds elapsed);
    // An error the broker answered at once (overloaded, no such service): counted but not timed,
    // so fast rejections do not drag the latency percentiles towards zero.
    void record_error(int32_t code);
    void record_drop() noexcept { ++dropped; }
};

// What the broker knows about one worker (keyed by its routing identity).
struct WorkerCounters {
    uint64_t requests = 0;  // dispatched to it
    uint64_t replies = 0;
    uint64_t errors = 0;
};

// One service's numbers as mmi.stats and the metrics page show them.
struct ServiceSnapshot {
    std::string service;
    uint64_t requests = 0;
    uint64_t replies = 0;
    uint64_t errors = 0;
    uint64_t dropped = 0;
    std::map<int32_t, uint64_t> errors_by_code;
    uint64_t latency_count = 0;  // timed answers (replies and round-trip errors)
    double latency_sum_us = 0;
    double p50_us = 0;  // zero when latency_count is zero
    double p90_us = 0;
    double p99_us = 0;
    std::size_t queue_depth = 0;
};

struct WorkerSnapshot {
    std::string worker;  // the routing identity, raw bytes
    uint64_t requests = 0;
    uint64_t replies = 0;
    uint64_t errors = 0;
};

struct StatsSnapshot {
    std::vector<ServiceSnapshot> services;  // sorted by name
    std::vector<WorkerSnapshot> workers;    // sorted by identity
    uint64_t drops = 0;
    uint64_t malformed = 0;
};

// All of the broker's counters. Loop thread only (see the header comment).
class BusStats {
public:
    // Caps on distinct names, so that a peer asking for ever new service names (or a churn of
    // worker identities nobody removes) cannot grow the maps without bound. Past a cap, new names
    // share one entry called kOverflowName.
    static constexpr std::size_t kMaxServices = 256;
    static constexpr std::size_t kMaxWorkers = 1024;
    static constexpr std::string_view kOverflowName = "_other";

    // The counters of `name`, created on first use.
    ServiceCounters& service(std::string_view name);
    // Null when `name` was never used.
    const ServiceCounters* find_service(std::string_view name) const;
    WorkerCounters& worker(std::string_view identity);
    const WorkerCounters* find_worker(std::string_view identity) const;
    // A worker that left the bus: its counters go (per-worker series are for live workers).
    void remove_worker(std::string_view identity);

    // A ROUTER send that failed (EHOSTUNREACH: the peer is gone; EAGAIN: its queue is full).
    void count_drop() noexcept { ++drops_; }
    // A message from a peer whose frames could not be decoded.
    void count_malformed() noexcept { ++malformed_; }
    uint64_t drops() const noexcept { return drops_; }
    uint64_t malformed() const noexcept { return malformed_; }

    const std::map<std::string, ServiceCounters, std::less<>>& services() const noexcept {
        return services_;
    }
    const std::map<std::string, WorkerCounters, std::less<>>& workers() const noexcept {
        return workers_;
    }

    StatsSnapshot snapshot() const;
    void reset();

private:
    std::map<std::string, ServiceCounters, std::less<>> services_;
    std::map<std::string, WorkerCounters, std::less<>> workers_;
    uint64_t drops_ = 0;
    uint64_t malformed_ = 0;
};

// A gauge the caller adds to the metrics page (say tablebus_workers{service="login"} 2). Gauges
// sharing a name are one metric family: they are written together under the first one's help.
// A gauge with an invalid metric or label name is left out (a bad line would make Prometheus
// reject the whole page).
struct Gauge {
    std::string name;
    std::string help;
    std::vector<std::pair<std::string, std::string>> labels;
    double value = 0;
};

// Prometheus text exposition format 0.0.4: counters per service, code and worker, latency as a
// summary with 0.5/0.9/0.99 quantiles (NaN before the first sample, as Prometheus clients do),
// queue depth and the extra gauges. Latencies are cumulative since start (or reset()).
std::string render_prometheus(const StatsSnapshot& snapshot, std::span<const Gauge> extra = {});
std::string render_prometheus(const BusStats& stats, std::span<const Gauge> extra = {});

// Label value escaping per the format: backslash, double quote and newline.
std::string escape_label_value(std::string_view value);
// Worker identities are often binary routing ids: printable ASCII stays as it is, anything else
// is shown as 0x followed by hex digits.
std::string printable_identity(std::string_view identity);

}  // namespace tb::bus
