#include "bus/stats.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <iterator>
#include <limits>

#include "codec/errors.h"

namespace tb::bus {

// ---- LatencyHistogram ----------------------------------------------------------------------

std::size_t LatencyHistogram::bucket_of(uint64_t ns) noexcept {
    if (ns < kSubBuckets) return static_cast<std::size_t>(ns);  // exact below 16 ns
    if (ns > kMaxTrackedNs) ns = kMaxTrackedNs;
    const int exponent = static_cast<int>(std::bit_width(ns)) - 1;  // >= kSubBucketBits
    const int shift = exponent - kSubBucketBits;
    const uint64_t sub = (ns >> shift) - kSubBuckets;  // 0..15
    return static_cast<std::size_t>(kSubBuckets + static_cast<uint64_t>(shift) * kSubBuckets + sub);
}

uint64_t LatencyHistogram::bucket_low(std::size_t index) noexcept {
    if (index < kSubBuckets) return index;
    const uint64_t shift = (index - kSubBuckets) / kSubBuckets;
    const uint64_t sub = (index - kSubBuckets) % kSubBuckets;
    return (kSubBuckets + sub) << shift;
}

uint64_t LatencyHistogram::bucket_width(std::size_t index) noexcept {
    if (index < kSubBuckets) return 1;
    return uint64_t{1} << ((index - kSubBuckets) / kSubBuckets);
}

void LatencyHistogram::record(std::chrono::nanoseconds elapsed) noexcept {
    const uint64_t ns = elapsed.count() > 0 ? static_cast<uint64_t>(elapsed.count()) : 0;
    ++counts_[bucket_of(ns)];
    ++count_;
    sum_ns_ += ns;
    min_ns_ = std::min(min_ns_, ns);
    max_ns_ = std::max(max_ns_, ns);
}

std::chrono::nanoseconds LatencyHistogram::percentile(double p) const noexcept {
    if (count_ == 0) return std::chrono::nanoseconds(0);
    if (!(p > 0)) p = 0;  // NaN too
    if (p > 100) p = 100;
    // The rank of the sample we want, 1-based: p = 0 asks for the smallest.
    const double wanted = std::ceil(p / 100.0 * static_cast<double>(count_));
    const uint64_t rank = std::clamp<uint64_t>(static_cast<uint64_t>(wanted), 1, count_);
    // The extremes are known exactly; no need for a bucket's approximation.
    if (rank == 1) return min();
    if (rank == count_) return max();
    uint64_t seen = 0;
    for (std::size_t i = 0; i < kBucketCount; ++i) {
        seen += counts_[i];
        if (seen >= rank) {
            const uint64_t mid = bucket_low(i) + bucket_width(i) / 2;
            return std::chrono::nanoseconds(
                static_cast<int64_t>(std::clamp(mid, min_ns_, max_ns_)));
        }
    }
    return max();  // unreachable while counts_ and count_ agree
}

std::chrono::nanoseconds LatencyHistogram::sum() const noexcept {
    return std::chrono::nanoseconds(static_cast<int64_t>(sum_ns_));
}

std::chrono::nanoseconds LatencyHistogram::min() const noexcept {
    return std::chrono::nanoseconds(count_ == 0 ? 0 : static_cast<int64_t>(min_ns_));
}

std::chrono::nanoseconds LatencyHistogram::max() const noexcept {
    return std::chrono::nanoseconds(static_cast<int64_t>(max_ns_));
}

void LatencyHistogram::reset() noexcept {
    *this = LatencyHistogram{};
}

void LatencyHistogram::merge(const LatencyHistogram& other) noexcept {
    for (std::size_t i = 0; i < kBucketCount; ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
    sum_ns_ += other.sum_ns_;
    min_ns_ = std::min(min_ns_, other.min_ns_);
    max_ns_ = std::max(max_ns_, other.max_ns_);
}

// ---- ServiceCounters / BusStats --------------------------------------------------------------

void ServiceCounters::record_reply(std::chrono::nanoseconds elapsed) noexcept {
    ++replies;
    latency.record(elapsed);
}

void ServiceCounters::record_error(int32_t code, std::chrono::nanoseconds elapsed) {
    record_error(code);
    latency.record(elapsed);
}

void ServiceCounters::record_error(int32_t code) {
    ++errors;
    ++errors_by_code[code];
}

namespace {

// The entry for `name`, or the shared overflow entry once `cap` distinct names exist.
template <class Map>
typename Map::mapped_type& capped_entry(Map& map, std::string_view name, std::size_t cap) {
    if (const auto it = map.find(name); it != map.end()) return it->second;
    if (map.size() >= cap) name = BusStats::kOverflowName;
    return map.try_emplace(std::string(name)).first->second;
}

double to_us(std::chrono::nanoseconds ns) {
    return static_cast<double>(ns.count()) / 1e3;
}

}  // namespace

ServiceCounters& BusStats::service(std::string_view name) {
    return capped_entry(services_, name, kMaxServices);
}

const ServiceCounters* BusStats::find_service(std::string_view name) const {
    const auto it = services_.find(name);
    return it == services_.end() ? nullptr : &it->second;
}

WorkerCounters& BusStats::worker(std::string_view identity) {
    return capped_entry(workers_, identity, kMaxWorkers);
}

const WorkerCounters* BusStats::find_worker(std::string_view identity) const {
    const auto it = workers_.find(identity);
    return it == workers_.end() ? nullptr : &it->second;
}

void BusStats::remove_worker(std::string_view identity) {
    if (const auto it = workers_.find(identity); it != workers_.end()) workers_.erase(it);
}

StatsSnapshot BusStats::snapshot() const {
    StatsSnapshot out;
    out.services.reserve(services_.size());
    for (const auto& [name, c] : services_) {
        ServiceSnapshot s;
        s.service = name;
        s.requests = c.requests;
        s.replies = c.replies;
        s.errors = c.errors;
        s.dropped = c.dropped;
        s.errors_by_code = c.errors_by_code;
        s.latency_count = c.latency.count();
        s.latency_sum_us = to_us(c.latency.sum());
        s.p50_us = to_us(c.latency.percentile(50));
        s.p90_us = to_us(c.latency.percentile(90));
        s.p99_us = to_us(c.latency.percentile(99));
        s.queue_depth = c.queue_depth;
        out.services.push_back(std::move(s));
    }
    out.workers.reserve(workers_.size());
    for (const auto& [identity, w] : workers_) {
        out.workers.push_back({identity, w.requests, w.replies, w.errors});
    }
    out.drops = drops_;
    out.malformed = malformed_;
    return out;
}

void BusStats::reset() {
    services_.clear();
    workers_.clear();
    drops_ = 0;
    malformed_ = 0;
}

// ---- Prometheus text format ------------------------------------------------------------------

std::string escape_label_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (const char c : value) {
        switch (c) {
            case '\\': out += "\\\\"; break;
            case '"': out += "\\\""; break;
            case '\n': out += "\\n"; break;
            default: out += c;
        }
    }
    return out;
}

std::string printable_identity(std::string_view identity) {
    const bool printable = std::all_of(identity.begin(), identity.end(), [](char c) {
        return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f;
    });
    if (printable && !identity.empty()) return std::string(identity);
    std::string out = "0x";
    for (const char c : identity) fmt::format_to(std::back_inserter(out), "{:02x}", c & 0xff);
    return out;
}

namespace {

// HELP text escapes backslash and newline only (quotes are literal there).
std::string escape_help(std::string_view help) {
    std::string out;
    out.reserve(help.size());
    for (const char c : help) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

bool valid_name(std::string_view name, bool allow_colon) {
    if (name.empty()) return false;
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                        (allow_colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
        if (!ok) return false;
    }
    return true;
}

bool valid_gauge(const Gauge& g) {
    if (!valid_name(g.name, true)) return false;
    return std::all_of(g.labels.begin(), g.labels.end(),
                       [](const auto& l) { return valid_name(l.first, false); });
}

// Values as Prometheus parses them (Go's ParseFloat): shortest round-trip digits, NaN, +Inf, -Inf.
std::string format_value(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    return fmt::format("{}", v);
}

class Writer {
public:
    void family(std::string_view name, std::string_view type, std::string_view help) {
        fmt::format_to(std::back_inserter(out_), "# HELP {} {}\n# TYPE {} {}\n", name,
                       escape_help(help), name, type);
    }
    // `labels` is already rendered ({service="x"}) or empty.
    void sample(std::string_view name, std::string_view labels, std::string_view value) {
        fmt::format_to(std::back_inserter(out_), "{}{} {}\n", name, labels, value);
    }
    void sample(std::string_view name, std::string_view labels, uint64_t value) {
        fmt::format_to(std::back_inserter(out_), "{}{} {}\n", name, labels, value);
    }
    std::string take() { return std::move(out_); }

private:
    std::string out_;
};

std::string labels_of(std::initializer_list<std::pair<std::string_view, std::string_view>> l) {
    std::string out = "{";
    for (const auto& [k, v] : l) {
        if (out.size() > 1) out += ',';
        fmt::format_to(std::back_inserter(out), "{}=\"{}\"", k, escape_label_value(v));
    }
    out += '}';
    return out;
}

// Metric label for an error code: its stable name, or code_<n> for codes this build does not
// know (two unknown codes must not share a series).
std::string code_label(int32_t code) {
    const std::string_view name = codec::code_name(code);
    if (name == "unknown") return fmt::format("code_{}", code);
    return std::string(name);
}

}  // namespace

std::string render_prometheus(const StatsSnapshot& snap, std::span<const Gauge> extra) {
    Writer w;
    std::vector<std::string> service_labels;
    service_labels.reserve(snap.services.size());
    for (const auto& s : snap.services)
        service_labels.push_back(labels_of({{"service", s.service}}));

    w.family("tablebus_requests_total", "counter", "Requests the broker accepted for a service.");
    for (std::size_t i = 0; i < snap.services.size(); ++i) {
        w.sample("tablebus_requests_total", service_labels[i], snap.services[i].requests);
    }
    w.family("tablebus_replies_total", "counter", "Successful replies from a service.");
    for (std::size_t i = 0; i < snap.services.size(); ++i) {
        w.sample("tablebus_replies_total", service_labels[i], snap.services[i].replies);
    }
    w.family("tablebus_errors_total", "counter", "Error replies for a service, by error code.");
    for (const auto& s : snap.services) {
        // Codes sharing a name (Errno no_service and BusCode no_service, say) share a series: a
        // page with two identical series is rejected whole.
        std::map<std::string, uint64_t> by_name;
        for (const auto& [code, n] : s.errors_by_code) by_name[code_label(code)] += n;
        for (const auto& [name, n] : by_name) {
            w.sample("tablebus_errors_total", labels_of({{"service", s.service}, {"code", name}}),
                     n);
        }
    }
    w.family("tablebus_requests_dropped_total", "counter",
             "Requests for a service that were never answered.");
    for (std::size_t i = 0; i < snap.services.size(); ++i) {
        w.sample("tablebus_requests_dropped_total", service_labels[i], snap.services[i].dropped);
    }
    w.family("tablebus_request_latency_seconds", "summary",
             "Time from a request reaching the broker to its answer leaving it.");
    for (const auto& s : snap.services) {
        const bool empty = s.latency_count == 0;
        const std::pair<std::string_view, double> quantiles[] = {
            {"0.5", s.p50_us}, {"0.9", s.p90_us}, {"0.99", s.p99_us}};
        for (const auto& [q, us] : quantiles) {
            w.sample("tablebus_request_latency_seconds",
                     labels_of({{"service", s.service}, {"quantile", q}}),
                     format_value(empty ? std::numeric_limits<double>::quiet_NaN() : us / 1e6));
        }
    }
    for (std::size_t i = 0; i < snap.services.size(); ++i) {
        w.sample("tablebus_request_latency_seconds_sum", service_labels[i],
                 format_value(snap.services[i].latency_sum_us / 1e6));
        w.sample("tablebus_request_latency_seconds_count", service_labels[i],
                 snap.services[i].latency_count);
    }
    w.family("tablebus_queue_depth", "gauge", "Requests for a service waiting for a worker.");
    for (std::size_t i = 0; i < snap.services.size(); ++i) {
        w.sample("tablebus_queue_depth", service_labels[i],
                 static_cast<uint64_t>(snap.services[i].queue_depth));
    }

    std::vector<std::string> worker_labels;
    worker_labels.reserve(snap.workers.size());
    for (const auto& wk : snap.workers) {
        worker_labels.push_back(labels_of({{"worker", printable_identity(wk.worker)}}));
    }
    w.family("tablebus_worker_requests_total", "counter", "Requests dispatched to a worker.");
    for (std::size_t i = 0; i < snap.workers.size(); ++i) {
        w.sample("tablebus_worker_requests_total", worker_labels[i], snap.workers[i].requests);
    }
    w.family("tablebus_worker_replies_total", "counter", "Successful replies from a worker.");
    for (std::size_t i = 0; i < snap.workers.size(); ++i) {
        w.sample("tablebus_worker_replies_total", worker_labels[i], snap.workers[i].replies);
    }
    w.family("tablebus_worker_errors_total", "counter", "Error replies from a worker.");
    for (std::size_t i = 0; i < snap.workers.size(); ++i) {
        w.sample("tablebus_worker_errors_total", worker_labels[i], snap.workers[i].errors);
    }

    w.family("tablebus_dropped_total", "counter",
             "Broker sends that failed (peer gone or its queue full).");
    w.sample("tablebus_dropped_total", "", snap.drops);
    w.family("tablebus_malformed_total", "counter",
             "Messages from peers that could not be decoded.");
    w.sample("tablebus_malformed_total", "", snap.malformed);

    // Extra gauges, one family per name in order of first appearance.
    std::vector<bool> done(extra.size(), false);
    for (std::size_t i = 0; i < extra.size(); ++i) {
        if (done[i] || !valid_gauge(extra[i])) continue;
        w.family(extra[i].name, "gauge", extra[i].help);
        for (std::size_t j = i; j < extra.size(); ++j) {
            if (done[j] || extra[j].name != extra[i].name || !valid_gauge(extra[j])) continue;
            done[j] = true;
            std::string labels;
            if (!extra[j].labels.empty()) {
                labels.push_back(
                    '{');  // not operator=(const char*): GCC 12 -Wrestrict false positive
                for (const auto& [k, v] : extra[j].labels) {
                    if (labels.size() > 1) labels += ',';
                    fmt::format_to(std::back_inserter(labels), "{}=\"{}\"", k,
                                   escape_label_value(v));
                }
                labels += '}';
            }
            w.sample(extra[j].name, labels, format_value(extra[j].value));
        }
    }
    return w.take();
}

std::string render_prometheus(const BusStats& stats, std::span<const Gauge> extra) {
    return render_prometheus(stats.snapshot(), extra);
}

}  // namespace tb::bus
