#pragma once
// A whole tb-bot run: raise the descriptor limit, resolve the proxy, start one Engine per
// thread, print a progress line every second, stop at the end of the duration (or on a signal),
// let the bots finish, and gather the results.

#include <atomic>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "tools/bot/engine.h"
#include "tools/bot/options.h"

namespace tb::bot {

// Sets the soft RLIMIT_NOFILE to the hard limit. False (with why) when `players` cannot fit.
bool raise_fd_limit(int players, std::string& why);

struct RunReport {
    BotOptions options;
    double elapsed_s = 0;  // from start to the stop (grace not included)
    bool interrupted = false;
    // Counters, copied at the end.
    int64_t connected = 0;  // peak logged in (chaos: peak open)
    int64_t open_peak = 0;
    int64_t logged_in_peak = 0;
    int64_t connects = 0, connect_failures = 0, requests = 0, replies = 0, logins = 0,
            login_failures = 0, error_frames = 0, unexpected_error_frames = 0, timeouts = 0,
            unexpected_disconnects = 0, violations = 0, closed_by_server = 0, probes_answered = 0,
            errors = 0;
    int64_t games = 0, actions = 0;  // game modes
    Percentiles connect, login, request, action;
    // The mode's main round trip: login (idle, login), request (chaos), action (game modes).
    const Percentiles& main() const;
    std::map<int32_t, int64_t> errnos;
    std::map<std::string, ScenarioStats> scenarios;
};

// Runs the bots. `connector` overrides the TCP connection to --proxy (tests); `progress` gets
// one line per second (nullptr: none); `stop` ends the run early (a signal).
// Throws std::runtime_error when the proxy's host does not resolve.
RunReport run(const BotOptions& options, const std::atomic<bool>& stop,
              const std::function<void(const std::string&)>& progress,
              Connector connector = nullptr);

nlohmann::json to_json(const RunReport& r);
std::string to_summary(const RunReport& r);

}  // namespace tb::bot
