#include "tools/bot/stats.h"

#include <algorithm>
#include <cmath>

namespace tb::bot {

double percentile(const std::vector<double>& sorted, double p) noexcept {
    if (sorted.empty()) return 0;
    const double clamped = std::clamp(p, 0.0, 100.0);
    const auto n = static_cast<double>(sorted.size());
    // The epsilon keeps p99.9 of 1000 samples at rank 999: 99.9 / 100 * 1000 is 999.0000000001
    // in binary floating point.
    auto rank = static_cast<std::size_t>(std::ceil(clamped * n / 100.0 - 1e-9));
    if (rank < 1) rank = 1;
    if (rank > sorted.size()) rank = sorted.size();
    return sorted[rank - 1];
}

Percentiles summarize(std::vector<double> samples) {
    std::sort(samples.begin(), samples.end());
    Percentiles p;
    p.count = samples.size();
    p.p50 = percentile(samples, 50);
    p.p90 = percentile(samples, 90);
    p.p99 = percentile(samples, 99);
    p.p999 = percentile(samples, 99.9);
    p.max = samples.empty() ? 0 : samples.back();
    return p;
}

void raise_peak(std::atomic<int64_t>& peak, int64_t value) noexcept {
    int64_t seen = peak.load(std::memory_order_relaxed);
    while (value > seen && !peak.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
    }
}

void ScenarioStats::merge(const ScenarioStats& o) {
    runs += o.runs;
    closed_by_server += o.closed_by_server;
    error_frames += o.error_frames;
    replies_ok += o.replies_ok;
    violations += o.violations;
    open_at_end += o.open_at_end;
    for (const auto& [e, n] : o.errnos) errnos[e] += n;
}

void LoopStats::add_connect(double ms) {
    std::lock_guard lock(mu_);
    all_.connect.push_back(ms);
}

void LoopStats::add_login(double ms) {
    std::lock_guard lock(mu_);
    all_.login.push_back(ms);
    login_window_.push_back(ms);
}

void LoopStats::add_request(double ms) {
    std::lock_guard lock(mu_);
    all_.request.push_back(ms);
    request_window_.push_back(ms);
}

void LoopStats::add_action(double ms) {
    std::lock_guard lock(mu_);
    all_.action.push_back(ms);
    action_window_.push_back(ms);
}

void LoopStats::add_errno(int32_t err_no) {
    std::lock_guard lock(mu_);
    ++all_.errnos[err_no];
}

void LoopStats::scenario(const std::string& name, const ScenarioStats& delta) {
    std::lock_guard lock(mu_);
    all_.scenarios[name].merge(delta);
}

std::vector<double> LoopStats::take_window(MainStat main) {
    std::lock_guard lock(mu_);
    std::vector<double> out;
    out.swap(main == MainStat::kLogin     ? login_window_
             : main == MainStat::kRequest ? request_window_
                                          : action_window_);
    // The other windows are not shown; drop them so they cannot grow for the whole run.
    login_window_.clear();
    request_window_.clear();
    action_window_.clear();
    return out;
}

void LoopStats::Snapshot::merge(Snapshot&& o) {
    connect.insert(connect.end(), o.connect.begin(), o.connect.end());
    login.insert(login.end(), o.login.begin(), o.login.end());
    request.insert(request.end(), o.request.begin(), o.request.end());
    action.insert(action.end(), o.action.begin(), o.action.end());
    for (const auto& [e, n] : o.errnos) errnos[e] += n;
    for (const auto& [name, s] : o.scenarios) scenarios[name].merge(s);
}

LoopStats::Snapshot LoopStats::snapshot() const {
    std::lock_guard lock(mu_);
    return all_;
}

}  // namespace tb::bot
