// `tb-bench bus`: starts the raw side, measures it, stops it; then the same for tablebus; then
// reports. Children are owned by scope, so an exception or an interrupt stops them on the way
// out.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>
#include <sstream>
#include <stdexcept>

#include <unistd.h>

#include "tools/bench/bench.h"
#include "tools/bench/harness.h"
#include "tools/bench/process.h"
#include "tools/bench/sides.h"

namespace tb::bench {

namespace {

constexpr auto kReadyLimit = std::chrono::milliseconds(15000);

std::string loopback(int port) {
    return "tcp://127.0.0.1:" + std::to_string(port);
}

void say(const BusBenchOptions& o, const std::string& text) {
    if (o.progress) o.progress(text);
}

std::string fmt_num(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

std::string describe(const Measurement& m) {
    return fmt_num(m.rps, 0) + " req/s, p50 " + fmt_num(m.p50_us, 1) + " us, p99 " +
           fmt_num(m.p99_us, 1) + " us (" + std::to_string(m.calls) +
           " calls); CPU us/call: " + "callers " + fmt_num(m.cpu_callers_us, 1) + ", router " +
           fmt_num(m.cpu_router_us, 1) + ", worker " + fmt_num(m.cpu_worker_us, 1);
}

// Throws naming the first child that is no longer running.
HealthCheck health(std::vector<Child*> children) {
    return [children] {
        for (Child* c : children) {
            if (!c->running()) throw std::runtime_error(c->describe());
        }
    };
}

template <class Fn>
Measurement measure(const BusBenchOptions& o, const std::string& label, const HealthCheck& check,
                    Child* router, Child* worker, Fn&& fn) {
    say(o, label + " ...");
    Measurement m;
    const double callers0 = cpu_seconds(::getpid());
    const double router0 = cpu_seconds(router->pid());
    const double worker0 = cpu_seconds(worker->pid());
    try {
        m = fn();
    } catch (const Interrupted&) {
        throw;
    } catch (const std::exception& e) {
        // A dead child explains a failed call better than the call's own error does.
        check();
        throw std::runtime_error(label + ": " + e.what());
    }
    check();
    const double calls = static_cast<double>(m.calls) + o.warmup;
    m.cpu_callers_us = (cpu_seconds(::getpid()) - callers0) * 1e6 / calls;
    m.cpu_router_us = (cpu_seconds(router->pid()) - router0) * 1e6 / calls;
    m.cpu_worker_us = (cpu_seconds(worker->pid()) - worker0) * 1e6 / calls;
    say(o, label + ": " + describe(m));
    return m;
}

// The median run of `repeat` (by req/s); its percentiles come with it.
Measurement median(std::vector<Measurement> runs) {
    std::sort(runs.begin(), runs.end(),
              [](const Measurement& a, const Measurement& b) { return a.rps < b.rps; });
    return runs[runs.size() / 2];
}

double ratio(double tablebus, double raw) {
    return raw > 0 ? tablebus / raw : 0;
}

nlohmann::ordered_json side_json(const SideResults& s) {
    const auto put = [](nlohmann::ordered_json& j, const std::string& name, const Measurement& m) {
        j[name + "_rps"] = static_cast<int64_t>(std::llround(m.rps));
        j[name + "_p50_us"] = round_to(m.p50_us, 1);
        j[name + "_p99_us"] = round_to(m.p99_us, 1);
    };
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    put(j, "sync1", s.sync1);
    put(j, "sync16", s.sync16);
    put(j, "pipelined", s.pipelined);
    return j;
}

}  // namespace

BusBenchResults run_bus_bench(const BusBenchOptions& o) {
    if (o.base_port < 1024 || o.base_port > 65535 - 20) {
        throw std::invalid_argument("--base-port must be in 1024..65515");
    }
    if (o.callers < 1 || o.depth < 1 || o.warmup < 0 || o.repeat < 1 || o.duration.count() <= 0) {
        throw std::invalid_argument("callers, depth, repeat and duration must be positive");
    }
    const bool raw = o.only != "tablebus";
    const bool tablebus = o.only != "raw";
    // One context for every caller socket in this process (one I/O thread, like a node).
    zmq::context_t ctx;
    const std::string self = self_exe();

    // Both sides stay up for the whole run and their measurements alternate, so a burst of
    // load from elsewhere on a shared machine hits both rather than one.
    const std::string frontend = loopback(o.base_port + 10);
    const std::string backend = loopback(o.base_port + 11);
    std::optional<Child> proxy, echo;
    if (raw) {
        proxy.emplace("raw-proxy", std::vector<std::string>{self, "raw-proxy", "--frontend",
                                                            frontend, "--backend", backend});
        echo.emplace("raw-echo", std::vector<std::string>{self, "raw-echo", "--connect", backend});
    }
    const std::string bus = loopback(o.base_port);
    std::optional<Child> manager, worker;
    if (tablebus) {
        const std::string manager_bin =
            o.manager_binary.empty() ? sibling_binary("tb-manager") : o.manager_binary;
        // Metrics off (its port would be base+3545); warnings only, on tb-bench's stderr. The
        // kernel's default scheduling, like the raw side's zmq_proxy: this compares the bus code.
        manager.emplace("tb-manager", std::vector<std::string>{
                                          manager_bin, "--base-port", std::to_string(o.base_port),
                                          "--set", "manager.metrics=off", "--set", "log.level=warn",
                                          "--set", "process.scheduler=normal"});
        worker.emplace("echo-worker", std::vector<std::string>{self, "echo-worker", "--manager",
                                                               bus, "--id", "1"});
    }
    const HealthCheck raw_ok = raw ? health({&*proxy, &*echo}) : HealthCheck([] {});
    const HealthCheck bus_ok = tablebus ? health({&*manager, &*worker}) : HealthCheck([] {});
    if (raw) raw_wait_ready(ctx, frontend, raw_ok, kReadyLimit);
    if (tablebus) bus_wait_ready(ctx, bus, bus_ok, kReadyLimit);

    const std::string n = std::to_string(o.callers);
    const std::string d = std::to_string(o.depth);
    struct Scenario {
        std::string name;
        Measurement SideResults::*slot;
        std::function<Measurement()> raw;
        std::function<Measurement()> tablebus;
    };
    const std::vector<Scenario> scenarios = {
        {"sync1", &SideResults::sync1, [&] { return raw_sync(ctx, frontend, 1, o); },
         [&] { return bus_sync(ctx, bus, 1, o); }},
        {"sync" + n, &SideResults::sync16, [&] { return raw_sync(ctx, frontend, o.callers, o); },
         [&] { return bus_sync(ctx, bus, o.callers, o); }},
        {"pipelined" + d, &SideResults::pipelined, [&] { return raw_pipelined(ctx, frontend, o); },
         [&] { return bus_pipelined(ctx, bus, o); }},
    };
    BusBenchResults r;
    for (const auto& sc : scenarios) {
        std::vector<Measurement> raw_runs, bus_runs;
        for (int i = 0; i < o.repeat; ++i) {
            const std::string round = o.repeat > 1 ? " #" + std::to_string(i + 1) : std::string();
            if (raw) {
                raw_runs.push_back(
                    measure(o, "raw " + sc.name + round, raw_ok, &*proxy, &*echo, sc.raw));
            }
            if (tablebus) {
                bus_runs.push_back(measure(o, "tablebus " + sc.name + round, bus_ok, &*manager,
                                           &*worker, sc.tablebus));
            }
        }
        if (raw) r.raw.*sc.slot = median(raw_runs);
        if (tablebus) r.tablebus.*sc.slot = median(bus_runs);
    }
    return r;
}

nlohmann::ordered_json to_json(const BusBenchResults& r) {
    nlohmann::ordered_json j;
    j["raw"] = side_json(r.raw);
    j["tablebus"] = side_json(r.tablebus);
    j["ratio"] = {
        {"sync1_p50", round_to(ratio(r.tablebus.sync1.p50_us, r.raw.sync1.p50_us), 3)},
        {"sync16_rps", round_to(ratio(r.tablebus.sync16.rps, r.raw.sync16.rps), 3)},
        {"pipelined_rps", round_to(ratio(r.tablebus.pipelined.rps, r.raw.pipelined.rps), 3)},
    };
    return j;
}

std::vector<TargetCheck> check_targets(const BusBenchResults& r) {
    std::vector<TargetCheck> out;
    const auto add = [&](std::string name, double v, double limit, bool at_least) {
        out.push_back({std::move(name), v, limit, at_least, at_least ? v >= limit : v <= limit});
    };
    add("sync16_rps", ratio(r.tablebus.sync16.rps, r.raw.sync16.rps), 0.8, true);
    add("pipelined_rps", ratio(r.tablebus.pipelined.rps, r.raw.pipelined.rps), 0.5, true);
    add("sync1_p50", ratio(r.tablebus.sync1.p50_us, r.raw.sync1.p50_us), 1.5, false);
    return out;
}

std::string to_table(const BusBenchResults& r, const BusBenchOptions& o) {
    std::ostringstream s;
    char line[160];
    s << "tb-bench bus: " << o.body_size << "-byte bodies over tcp loopback, "
      << fmt_num(static_cast<double>(o.duration.count()) / 1000.0, 1) << " s per measurement after "
      << o.warmup << " warm-up calls\n\n";
    std::snprintf(line, sizeof line, "%-14s | %10s %9s %9s | %10s %9s %9s | %7s %7s\n", "scenario",
                  "raw req/s", "p50 us", "p99 us", "tb req/s", "p50 us", "p99 us", "rps x",
                  "p50 x");
    s << line << std::string(std::strlen(line) - 1, '-') << "\n";
    const auto row = [&](const std::string& name, const Measurement& raw, const Measurement& tb) {
        std::snprintf(line, sizeof line,
                      "%-14s | %10.0f %9.1f %9.1f | %10.0f %9.1f %9.1f | %7.2f %7.2f\n",
                      name.c_str(), raw.rps, raw.p50_us, raw.p99_us, tb.rps, tb.p50_us, tb.p99_us,
                      ratio(tb.rps, raw.rps), ratio(tb.p50_us, raw.p50_us));
        s << line;
    };
    row("sync1", r.raw.sync1, r.tablebus.sync1);
    row("sync" + std::to_string(o.callers), r.raw.sync16, r.tablebus.sync16);
    row("pipelined" + std::to_string(o.depth), r.raw.pipelined, r.tablebus.pipelined);
    s << "\nCPU us per call (user+sys, all threads): callers / router / echo worker\n";
    const auto cpu = [&](const std::string& name, const Measurement& raw, const Measurement& tb) {
        std::snprintf(line, sizeof line,
                      "%-14s | raw %5.1f / %5.1f / %5.1f | tablebus %5.1f / %5.1f / %5.1f\n",
                      name.c_str(), raw.cpu_callers_us, raw.cpu_router_us, raw.cpu_worker_us,
                      tb.cpu_callers_us, tb.cpu_router_us, tb.cpu_worker_us);
        s << line;
    };
    cpu("sync1", r.raw.sync1, r.tablebus.sync1);
    cpu("sync" + std::to_string(o.callers), r.raw.sync16, r.tablebus.sync16);
    cpu("pipelined" + std::to_string(o.depth), r.raw.pipelined, r.tablebus.pipelined);
    s << "\ntargets (tablebus / raw):\n";
    for (const auto& t : check_targets(r)) {
        s << "  " << t.name << " " << fmt_num(t.ratio, 2) << (t.at_least ? " >= " : " <= ")
          << fmt_num(t.limit, 2) << "  " << (t.met ? "met" : "MISSED") << "\n";
    }
    return s.str();
}

}  // namespace tb::bench
