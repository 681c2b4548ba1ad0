// The tablebus side: callers are client-only nodes on the node runtime (bus/node.h, one
// EventLoop + Node per caller thread), tb-manager routes by service name, and the echo worker
// is a node serving `bench.echo` that replies with the request body.
#include <spdlog/spdlog.h>

#include <memory>
#include <stdexcept>

#include "bus/event_loop.h"
#include "bus/node.h"
#include "bus/protocol.h"
#include "nodes/common/signals.h"
#include "tools/bench/harness.h"
#include "tools/bench/sides.h"

namespace tb::bench {

namespace {

constexpr std::string_view kService = "bench.echo";

// One caller: its own loop and client-only node (kind "bench", no service: it never READYs).
class BusCaller {
public:
    BusCaller(zmq::context_t& ctx, const std::string& manager, int32_t id, const StartLine* line)
        : node_(ctx, loop_, options(manager, id)) {
        node_.start();
        // Interrupts and failures elsewhere end a run within 100 ms, even with nothing coming.
        loop_.add_repeating(std::chrono::milliseconds(100), [this, line] {
            if (stop_requested() || (line != nullptr && line->aborted())) loop_.quit();
        });
    }
    ~BusCaller() { node_.stop(); }
    BusCaller(const BusCaller&) = delete;
    BusCaller& operator=(const BusCaller&) = delete;

    bus::EventLoop& loop() noexcept { return loop_; }
    bus::Node& node() noexcept { return node_; }

private:
    static bus::NodeOptions options(const std::string& manager, int32_t id) {
        bus::NodeOptions o;
        o.kind = "bench";
        o.id = id;
        o.manager = manager;
        o.default_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(kCallTimeout);
        return o;
    }

    bus::EventLoop loop_;
    bus::Node node_;
};

// Keeps `chains` requests outstanding on one caller: each answer records its latency (into
// `out`, when given) and sends the next request until `max_calls` were sent or `end` passed.
// Callbacks hold the state by shared_ptr, so a node stopped with requests pending (after a
// failure) calls back into live memory, which then ignores the call.
class Chains : public std::enable_shared_from_this<Chains> {
public:
    Chains(BusCaller& caller, std::string body, uint64_t max_calls, Clock::time_point end,
           Samples* out)
        : caller_(caller), body_(std::move(body)), max_calls_(max_calls), end_(end), out_(out) {}

    // Runs the caller's loop until every chain ended; throws on a failed call or an abort.
    void run(int chains) {
        for (int i = 0; i < chains && more(Clock::now()); ++i) issue();
        if (outstanding_ > 0) caller_.loop().run();
        active_ = false;
        if (!error_.empty()) throw std::runtime_error(error_);
        if (stop_requested()) throw Interrupted();
        if (outstanding_ > 0) throw std::runtime_error("tablebus caller: aborted");
    }

private:
    bool more(Clock::time_point now) const { return issued_ < max_calls_ && now < end_; }

    void issue() {
        ++issued_;
        ++outstanding_;
        const auto sent = Clock::now();
        caller_.node().request(
            kService, bus::kMsgBenchEcho, body_,
            [self = shared_from_this(), sent](bus::Reply&& r) { self->answered(sent, r); });
    }

    void answered(Clock::time_point sent, const bus::Reply& r) {
        if (!active_) return;
        const auto now = Clock::now();
        --outstanding_;
        if (!r.ok()) {
            error_ = "tablebus call failed: code " + std::to_string(r.code) + " (" + r.text + ")";
            caller_.loop().quit();
            return;
        }
        if (out_ != nullptr) out_->record(sent, now);
        if (more(now)) {
            issue();
        } else if (outstanding_ == 0) {
            caller_.loop().quit();
        }
    }

    BusCaller& caller_;
    const std::string body_;
    const uint64_t max_calls_;
    const Clock::time_point end_;
    Samples* out_;
    uint64_t issued_ = 0;
    int outstanding_ = 0;
    bool active_ = true;
    std::string error_;
};

void chains(BusCaller& c, const std::string& body, int n, uint64_t max_calls, Clock::time_point end,
            Samples* out) {
    std::make_shared<Chains>(c, body, max_calls, end, out)->run(n);
}

}  // namespace

void bus_wait_ready(zmq::context_t& ctx, const std::string& manager, const HealthCheck& check,
                    std::chrono::milliseconds limit) {
    BusCaller c(ctx, manager, 9999, nullptr);
    const auto until = Clock::now() + limit;
    // The broker queues a request until the worker registers (up to its queue deadline) or
    // answers "no service": ask again until an echo comes back.
    // Held by the callback too: a request still pending when this throws is failed by the
    // node's stop() after these locals are gone.
    struct Probe {
        bool done = false;
        bool ok = false;
        std::string last = "no answer";
    };
    auto probe = std::make_shared<Probe>();
    for (;;) {
        check();
        if (Clock::now() >= until) {
            throw std::runtime_error("tablebus echo path (" + manager + ") not ready within " +
                                     std::to_string(limit.count()) + " ms: " + probe->last);
        }
        probe->done = false;
        c.node().request(
            kService, bus::kMsgBenchEcho, "ready?",
            [probe](bus::Reply&& r) {
                probe->done = true;
                probe->ok = r.ok();
                if (!r.ok()) probe->last = "code " + std::to_string(r.code) + " (" + r.text + ")";
            },
            bus::CallOptions{std::chrono::milliseconds(1000)});
        while (!probe->done) {
            if (stop_requested()) throw Interrupted();
            c.loop().run_once(std::chrono::milliseconds(100));
        }
        if (probe->ok) return;
    }
}

Measurement bus_sync(zmq::context_t& ctx, const std::string& manager, int callers,
                     const BusBenchOptions& o) {
    const int warmup = warmup_share(o.warmup, callers);
    return run_callers(callers, o.duration, [&](int index, StartLine& line, Samples& out) {
        BusCaller c(ctx, manager, index + 1, &line);
        const std::string body = make_body(o.body_size);
        chains(c, body, 1, static_cast<uint64_t>(warmup), Clock::time_point::max(), nullptr);
        const Window w = line.wait();
        chains(c, body, 1, UINT64_MAX, w.end, &out);
    });
}

Measurement bus_pipelined(zmq::context_t& ctx, const std::string& manager,
                          const BusBenchOptions& o) {
    return run_callers(1, o.duration, [&](int, StartLine& line, Samples& out) {
        BusCaller c(ctx, manager, 1, &line);
        const std::string body = make_body(o.body_size);
        chains(c, body, o.depth, static_cast<uint64_t>(o.warmup), Clock::time_point::max(),
               nullptr);
        const Window w = line.wait();
        chains(c, body, o.depth, UINT64_MAX, w.end, &out);
    });
}

int echo_worker_main(const std::string& manager, int32_t id) {
    common::SignalWatcher signals;
    spdlog::set_level(spdlog::level::warn);  // tb-bench's stderr: only what went wrong
    zmq::context_t ctx;
    bus::EventLoop loop;
    bus::NodeOptions o;
    o.kind = "bench-echo";
    o.id = id;
    o.service = std::string(kService);
    o.manager = manager;
    bus::Node node(ctx, loop, o);
    node.on_request(bus::kMsgBenchEcho, [&](bus::Request& r) { node.reply(r.env, r.body); });
    int exit_code = 0;
    node.on_fatal([&](const std::string& why) {
        std::fprintf(stderr, "tb-bench echo-worker: %s\n", why.c_str());
        exit_code = 3;
        loop.quit();
    });
    loop.add_fd(signals.fd(), [&] {
        while (signals.read()) loop.quit();
    });
    node.start();
    loop.run();
    node.stop();
    return exit_code;
}

}  // namespace tb::bench
