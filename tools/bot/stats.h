#pragma once
// What a run measures. Counters are shared by every event loop (atomics: the progress line reads
// them while the loops run); latency samples are kept per loop under a mutex that only the
// progress line and the final merge contend for.

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace tb::bot {

// Nearest-rank percentile of sorted samples: the smallest sample with at least p% of the samples
// at or below it. p in [0, 100]; 0 for no samples.
double percentile(const std::vector<double>& sorted, double p) noexcept;

// Which round trip a mode is measured by (p50_ms / p99_ms and the progress line's p99).
enum class MainStat : uint8_t {
    kLogin,    // FastRegister sent -> its reply (idle, login)
    kRequest,  // any other tracked request -> its reply (chaos)
    kAction,   // a game action sent -> the broadcast that confirms it (gomoku, landlords)
};

struct Percentiles {
    std::size_t count = 0;
    double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0;
};

// Sorts `samples` and takes the usual percentiles.
Percentiles summarize(std::vector<double> samples);

// Raises `peak` to `value` if it is higher; safe against concurrent raisers.
void raise_peak(std::atomic<int64_t>& peak, int64_t value) noexcept;

struct Counters {
    std::atomic<int64_t> open{0};  // connections established now
    std::atomic<int64_t> open_peak{0};
    std::atomic<int64_t> logged_in{0};  // connections whose login succeeded, now
    std::atomic<int64_t> logged_in_peak{0};

    std::atomic<int64_t> connects{0};                 // connections established
    std::atomic<int64_t> connect_failures{0};         // refused, unreachable, timed out (errors)
    std::atomic<int64_t> requests{0};                 // tracked requests sent
    std::atomic<int64_t> replies{0};                  // tracked requests answered
    std::atomic<int64_t> logins{0};                   // FastRegister answered with Errno 0
    std::atomic<int64_t> login_failures{0};           // FastRegister answered with Errno != 0
    std::atomic<int64_t> error_frames{0};             // any frame carrying Errno != 0
    std::atomic<int64_t> unexpected_error_frames{0};  // ... that the mode did not expect (errors)
    std::atomic<int64_t> timeouts{0};                 // requests unanswered in time (errors)
    std::atomic<int64_t> unexpected_disconnects{0};   // the server closed on us (errors)
    std::atomic<int64_t> violations{0};  // the server broke the protocol or a chaos expectation
    std::atomic<int64_t> closed_by_server{0};  // every close the server started, expected or not
    std::atomic<int64_t> probes_answered{0};
    std::atomic<int64_t> frames_in{0};
    std::atomic<int64_t> frames_out{0};
    // Game modes. `games` counts each concluded game once, however many of our bots sat at it.
    std::atomic<int64_t> games{0};
    std::atomic<int64_t> actions{0};  // game actions confirmed by their broadcast

    int64_t errors() const noexcept {
        return unexpected_error_frames + timeouts + unexpected_disconnects + connect_failures +
               violations;
    }
};

// How the proxy answered one kind of chaos client.
struct ScenarioStats {
    int64_t runs = 0;
    int64_t closed_by_server = 0;
    int64_t error_frames = 0;
    int64_t replies_ok = 0;   // frames answered with Errno 0
    int64_t violations = 0;   // the expected answer did not come
    int64_t open_at_end = 0;  // still connected when the run ended
    std::map<int32_t, int64_t> errnos;

    void merge(const ScenarioStats& o);
};

// Round trips in milliseconds, plus Errno tallies and chaos scenarios, for one event loop.
class LoopStats {
public:
    void add_connect(double ms);
    void add_login(double ms);
    void add_request(double ms);  // any other tracked request
    void add_action(double ms);   // a game action's round trip (untracked: see game_modes.h)
    void add_errno(int32_t err_no);
    void scenario(const std::string& name, const ScenarioStats& delta);

    // Round trips of the mode's main kind since the last call, for the progress line.
    std::vector<double> take_window(MainStat main);

    struct Snapshot {
        std::vector<double> connect, login, request, action;
        std::map<int32_t, int64_t> errnos;
        std::map<std::string, ScenarioStats> scenarios;
        void merge(Snapshot&& o);
    };
    Snapshot snapshot() const;

private:
    mutable std::mutex mu_;
    Snapshot all_;
    std::vector<double> login_window_, request_window_, action_window_;
};

}  // namespace tb::bot
