#include "tools/bench/harness.h"

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cmath>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

namespace tb::bench {

namespace {

std::atomic<bool> g_stop{false};

struct OpenWindow {
    Window* window;
    std::chrono::milliseconds duration;
    void operator()() noexcept {
        window->start = Clock::now();
        window->end = window->start + duration;
    }
};

class SharedLine {
public:
    SharedLine(int callers, std::chrono::milliseconds duration)
        : barrier_(callers, OpenWindow{&window_, duration}) {}

    Window wait() {
        barrier_.arrive_and_wait();
        return window_;
    }
    void drop() { barrier_.arrive_and_drop(); }
    // Valid once every caller passed the start line.
    const Window& window() const noexcept { return window_; }
    bool aborted() const noexcept { return failed_.load() || stop_requested(); }

    void fail(std::exception_ptr e) {
        std::lock_guard lock(mutex_);
        if (!first_error_) first_error_ = std::move(e);
        failed_ = true;
    }
    void rethrow() {
        if (first_error_) std::rethrow_exception(first_error_);
        if (stop_requested()) throw Interrupted();
    }

private:
    Window window_;
    std::barrier<OpenWindow> barrier_;
    std::atomic<bool> failed_{false};
    std::mutex mutex_;
    std::exception_ptr first_error_;
};

class CallerLine final : public StartLine {
public:
    explicit CallerLine(SharedLine& shared) : shared_(shared) {}
    Window wait() override {
        arrived_ = true;
        return shared_.wait();
    }
    bool aborted() const noexcept override { return shared_.aborted(); }
    bool arrived() const noexcept { return arrived_; }

private:
    SharedLine& shared_;
    bool arrived_ = false;
};

}  // namespace

void request_stop() noexcept {
    g_stop = true;
}

bool stop_requested() noexcept {
    return g_stop.load(std::memory_order_relaxed);
}

double percentile_us(std::vector<int64_t>& v, double p) {
    if (v.empty()) return 0;
    const auto k = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return static_cast<double>(v[k]) / 1000.0;
}

double round_to(double v, int decimals) {
    const double scale = std::pow(10.0, decimals);
    return std::round(v * scale) / scale;
}

std::string make_body(std::size_t size) {
    std::string body(std::max<std::size_t>(size, 8), '\0');
    for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
    return body;
}

Measurement run_callers(int callers, std::chrono::milliseconds duration, const CallerFn& fn) {
    SharedLine shared(callers, duration);
    std::vector<Samples> samples(static_cast<std::size_t>(callers));
    std::vector<std::thread> threads;
    threads.reserve(samples.size());
    for (int i = 0; i < callers; ++i) {
        threads.emplace_back([&, i] {
            CallerLine line(shared);
            Samples& out = samples[static_cast<std::size_t>(i)];
            out.ns.reserve(1 << 18);
            try {
                fn(i, line, out);
            } catch (...) {
                shared.fail(std::current_exception());
            }
            // A caller that failed before the start line must not hold the others at it.
            if (!line.arrived()) shared.drop();
        });
    }
    for (auto& t : threads) t.join();
    shared.rethrow();

    const Window& window = shared.window();
    Measurement m;
    std::vector<int64_t> all;
    Clock::time_point last = window.start;
    for (auto& s : samples) {
        all.insert(all.end(), s.ns.begin(), s.ns.end());
        last = std::max(last, s.last);
    }
    if (all.empty()) throw std::runtime_error("no call completed in the measurement window");
    m.calls = all.size();
    m.seconds = std::chrono::duration<double>(last - window.start).count();
    m.rps = m.seconds > 0 ? static_cast<double>(m.calls) / m.seconds : 0;
    m.p50_us = percentile_us(all, 50);
    m.p99_us = percentile_us(all, 99);
    return m;
}

}  // namespace tb::bench
