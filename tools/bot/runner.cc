#include "tools/bot/runner.h"

#include <sys/resource.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <thread>

#include "tools/bot/modes.h"

namespace tb::bot {

bool raise_fd_limit(int players, std::string& why) {
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) {
        why = std::string("getrlimit: ") + std::strerror(errno);
        return false;
    }
    const uint64_t hard = lim.rlim_max == RLIM_INFINITY ? UINT64_MAX : lim.rlim_max;
    if (!fits_fd_limit(players, hard, why)) return false;
    if (lim.rlim_cur != lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) {
            why = std::string("setrlimit(RLIMIT_NOFILE): ") + std::strerror(errno);
            return false;
        }
    }
    return true;
}

const Percentiles& RunReport::main() const {
    if (options.mode == ModeKind::kChaos) return request;
    return is_game_mode(options.mode) ? action : login;
}

namespace {

double round3(double v) {
    return std::round(v * 1000.0) / 1000.0;
}

std::string fmt_ms(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", v);
    return buf;
}

}  // namespace

RunReport run(const BotOptions& o, const std::atomic<bool>& stop,
              const std::function<void(const std::string&)>& progress, Connector connector) {
    if (!connector) connector = tcp_connector(o.host, o.port);
    Counters counters;
    const int threads = std::min(o.threads, o.players);
    std::vector<std::unique_ptr<Engine>> engines;
    for (int t = 0; t < threads; ++t) {
        EngineConfig cfg;
        for (int i = t; i < o.players; i += threads)
            cfg.indices.push_back(static_cast<uint32_t>(i));
        cfg.account_prefix = o.account_prefix;
        cfg.run_id = o.run_id;
        cfg.encoding = o.encoding;
        cfg.timeout_ms = o.timeout_ms;
        cfg.think_ms = o.think_ms;
        cfg.rate = o.rate / threads;  // each loop paces its share of the overall cap
        cfg.inflight = o.inflight;
        cfg.seed = o.seed + static_cast<uint64_t>(t) * 0x9e3779b97f4a7c15ull;
        cfg.connector = connector;
        engines.push_back(std::make_unique<Engine>(
            std::move(cfg), make_mode(o.mode, {o.level, o.strategy}), counters));
    }
    const MainStat main_stat = engines.front()->mode().main_stat();
    const bool game = is_game_mode(o.mode);

    const auto start = Clock::now();
    const auto stop_at = start + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(o.duration_s));
    std::atomic<bool> stop_now{false};
    std::atomic<int> running{threads};
    std::vector<std::thread> workers;
    for (auto& e : engines) {
        workers.emplace_back([&e, &stop_at, &stop_now, &running] {
            e->run(stop_at, stop_now);
            --running;
        });
    }

    RunReport r;
    r.options = o;
    auto stopped_at = stop_at;
    bool stopping = false;
    int64_t last_replies = 0;
    int64_t last_actions = 0;
    int tick = 1;  // seconds since the start, as labelled: elapsed time rounds unevenly
    auto next_tick = start + std::chrono::seconds(tick);
    while (running.load() > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        const auto now = Clock::now();
        if (!stopping && (now >= stop_at || stop.load())) {
            stopping = true;
            stopped_at = std::min(now, stop_at);
            r.interrupted = now < stop_at;
            stop_now = true;
        }
        if (now < next_tick) continue;
        const int label = tick++;
        next_tick = start + std::chrono::seconds(tick);
        std::vector<double> window;
        for (auto& e : engines) {
            auto w = e->stats().take_window(main_stat);
            window.insert(window.end(), w.begin(), w.end());
        }
        const int64_t replies = counters.replies.load();
        const int64_t actions = counters.actions.load();
        if (progress) {
            const Percentiles p = summarize(std::move(window));
            const std::string p99 = p.count == 0 ? "-" : fmt_ms(p.p99);
            char line[256];
            if (game) {
                std::snprintf(line, sizeof line,
                              "[%4ds]%s connected %lld  games %lld  actions/s %lld  errors %lld  "
                              "p99 %s ms",
                              label, stopping ? " (ending)" : "",
                              static_cast<long long>(counters.logged_in.load()),
                              static_cast<long long>(counters.games.load()),
                              static_cast<long long>(actions - last_actions),
                              static_cast<long long>(counters.errors()), p99.c_str());
            } else {
                std::snprintf(
                    line, sizeof line,
                    "[%4ds]%s connected %lld  requests/s %lld  errors %lld  p99 %s ms", label,
                    stopping ? " (ending)" : "",
                    static_cast<long long>(o.mode == ModeKind::kChaos ? counters.open.load()
                                                                      : counters.logged_in.load()),
                    static_cast<long long>(replies - last_replies),
                    static_cast<long long>(counters.errors()), p99.c_str());
            }
            progress(line);
        }
        last_replies = replies;
        last_actions = actions;
    }
    for (auto& w : workers) w.join();
    if (!stopping) stopped_at = std::min(Clock::now(), stop_at);

    r.elapsed_s = std::chrono::duration<double>(stopped_at - start).count();
    r.open_peak = counters.open_peak;
    r.logged_in_peak = counters.logged_in_peak;
    r.connected = o.mode == ModeKind::kChaos ? r.open_peak : r.logged_in_peak;
    r.connects = counters.connects;
    r.connect_failures = counters.connect_failures;
    r.requests = counters.requests;
    r.replies = counters.replies;
    r.logins = counters.logins;
    r.login_failures = counters.login_failures;
    r.error_frames = counters.error_frames;
    r.unexpected_error_frames = counters.unexpected_error_frames;
    r.timeouts = counters.timeouts;
    r.unexpected_disconnects = counters.unexpected_disconnects;
    r.violations = counters.violations;
    r.closed_by_server = counters.closed_by_server;
    r.probes_answered = counters.probes_answered;
    r.errors = counters.errors();
    r.games = counters.games;
    r.actions = counters.actions;
    LoopStats::Snapshot all;
    for (auto& e : engines) all.merge(e->stats().snapshot());
    r.connect = summarize(std::move(all.connect));
    r.login = summarize(std::move(all.login));
    r.request = summarize(std::move(all.request));
    r.action = summarize(std::move(all.action));
    r.errnos = std::move(all.errnos);
    r.scenarios = std::move(all.scenarios);
    return r;
}

nlohmann::json to_json(const RunReport& r) {
    const BotOptions& o = r.options;
    const Percentiles& m = r.main();
    nlohmann::json j;
    j["mode"] = std::string(mode_name(o.mode));
    j["players"] = o.players;
    j["duration_s"] = round3(r.elapsed_s);
    j["encoding"] = o.encoding == codec::Magic::kJson ? "json" : "msgpack";
    j["run_id"] = o.run_id;
    j["account_prefix"] = o.account_prefix;
    j["seed"] = o.seed;
    j["interrupted"] = r.interrupted;
    j["connected"] = r.connected;
    j["connections_peak"] = r.open_peak;
    j["errors"] = r.errors;
    j["requests"] = r.requests;
    j["replies"] = r.replies;
    j["requests_per_s"] =
        round3(r.elapsed_s > 0 ? static_cast<double>(r.requests) / r.elapsed_s : 0);
    j["p50_ms"] = round3(m.p50);
    j["p90_ms"] = round3(m.p90);
    j["p99_ms"] = round3(m.p99);
    j["p999_ms"] = round3(m.p999);
    j["connect_p50_ms"] = round3(r.connect.p50);
    j["connect_p99_ms"] = round3(r.connect.p99);
    j["login_p50_ms"] = round3(r.login.p50);
    j["login_p99_ms"] = round3(r.login.p99);
    j["connects"] = r.connects;
    j["logins"] = r.logins;
    j["login_failures"] = r.login_failures;
    j["error_frames"] = r.error_frames;
    j["closed_by_server"] = r.closed_by_server;
    j["unexpected_error_frames"] = r.unexpected_error_frames;
    j["unexpected_disconnects"] = r.unexpected_disconnects;
    j["timeouts"] = r.timeouts;
    j["connect_failures"] = r.connect_failures;
    j["violations"] = r.violations;
    j["probes_answered"] = r.probes_answered;
    nlohmann::json errnos = nlohmann::json::object();
    for (const auto& [e, n] : r.errnos) errnos[std::to_string(e)] = n;
    j["errnos"] = errnos;
    if (is_game_mode(o.mode)) {
        // p50_ms .. p999_ms above are the action round trip: action sent -> own broadcast.
        j["game_level"] = o.level;
        j["strategy"] = std::string(strategy_name(o.strategy));
        j["think_ms"] = o.think_ms;
        j["games"] = r.games;
        j["actions"] = r.actions;
        j["actions_per_s"] =
            round3(r.elapsed_s > 0 ? static_cast<double>(r.actions) / r.elapsed_s : 0);
    }
    if (o.mode == ModeKind::kChaos) {
        nlohmann::json sc = nlohmann::json::object();
        for (const auto& [name, s] : r.scenarios) {
            nlohmann::json e;
            for (const auto& [err, n] : s.errnos) e[std::to_string(err)] = n;
            sc[name] = {{"runs", s.runs},
                        {"closed_by_server", s.closed_by_server},
                        {"error_frames", s.error_frames},
                        {"replies_ok", s.replies_ok},
                        {"violations", s.violations},
                        {"open_at_end", s.open_at_end},
                        {"errnos", e.is_null() ? nlohmann::json::object() : e}};
        }
        j["scenarios"] = sc;
    }
    return j;
}

std::string to_summary(const RunReport& r) {
    const BotOptions& o = r.options;
    std::string s;
    char line[512];
    std::snprintf(line, sizeof line,
                  "tb-bot %s: %d players for %.1f s%s, %s, run %s (accounts %s0..%d)\n",
                  std::string(mode_name(o.mode)).c_str(), o.players, r.elapsed_s,
                  r.interrupted ? " (interrupted)" : "",
                  o.encoding == codec::Magic::kJson ? "json" : "msgpack", o.run_id.c_str(),
                  o.account_prefix.c_str(), o.players - 1);
    s += line;
    std::snprintf(line, sizeof line,
                  "connected (peak %s) %lld, connections %lld, logins %lld ok / %lld failed, "
                  "requests %lld (%.1f/s)\n",
                  o.mode == ModeKind::kChaos ? "open" : "logged in",
                  static_cast<long long>(r.connected), static_cast<long long>(r.connects),
                  static_cast<long long>(r.logins), static_cast<long long>(r.login_failures),
                  static_cast<long long>(r.requests),
                  r.elapsed_s > 0 ? static_cast<double>(r.requests) / r.elapsed_s : 0.0);
    s += line;
    std::snprintf(
        line, sizeof line,
        "errors %lld: unexpected error frames %lld, unexpected disconnects %lld, "
        "timeouts %lld, connect failures %lld, violations %lld\n",
        static_cast<long long>(r.errors), static_cast<long long>(r.unexpected_error_frames),
        static_cast<long long>(r.unexpected_disconnects), static_cast<long long>(r.timeouts),
        static_cast<long long>(r.connect_failures), static_cast<long long>(r.violations));
    s += line;
    std::snprintf(
        line, sizeof line, "error frames %lld, closed by server %lld, probes answered %lld\n",
        static_cast<long long>(r.error_frames), static_cast<long long>(r.closed_by_server),
        static_cast<long long>(r.probes_answered));
    s += line;
    if (is_game_mode(o.mode)) {
        std::snprintf(line, sizeof line,
                      "games %lld, actions %lld (%.1f/s), level %d, strategy %s, think %d ms\n",
                      static_cast<long long>(r.games), static_cast<long long>(r.actions),
                      r.elapsed_s > 0 ? static_cast<double>(r.actions) / r.elapsed_s : 0.0, o.level,
                      std::string(strategy_name(o.strategy)).c_str(), o.think_ms);
        s += line;
    }
    if (!r.errnos.empty()) {
        s += "errnos:";
        for (const auto& [e, n] : r.errnos) s += " " + std::to_string(e) + "x" + std::to_string(n);
        s += "\n";
    }
    std::snprintf(line, sizeof line, "%-16s %9s %9s %9s %9s %9s %9s\n", "round trip (ms)", "count",
                  "p50", "p90", "p99", "p99.9", "max");
    s += line;
    auto row = [&](const char* name, const Percentiles& p) {
        std::snprintf(line, sizeof line, "%-16s %9zu %9.2f %9.2f %9.2f %9.2f %9.2f\n", name,
                      p.count, p.p50, p.p90, p.p99, p.p999, p.max);
        s += line;
    };
    row("connect", r.connect);
    row("login", r.login);
    row("request", r.request);
    if (is_game_mode(o.mode)) row("action", r.action);
    if (o.mode == ModeKind::kChaos) {
        std::snprintf(line, sizeof line, "%-16s %6s %8s %8s %8s %6s %8s  %s\n", "scenario", "runs",
                      "closed", "errfrm", "ok", "viol", "open@end", "errnos");
        s += line;
        for (const auto& [name, sc] : r.scenarios) {
            std::string errs;
            for (const auto& [e, n] : sc.errnos)
                errs += std::to_string(e) + "x" + std::to_string(n) + " ";
            std::snprintf(
                line, sizeof line, "%-16s %6lld %8lld %8lld %8lld %6lld %8lld  %s\n", name.c_str(),
                static_cast<long long>(sc.runs), static_cast<long long>(sc.closed_by_server),
                static_cast<long long>(sc.error_frames), static_cast<long long>(sc.replies_ok),
                static_cast<long long>(sc.violations), static_cast<long long>(sc.open_at_end),
                errs.c_str());
            s += line;
        }
    }
    return s;
}

}  // namespace tb::bot
