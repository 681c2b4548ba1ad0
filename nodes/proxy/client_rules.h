#pragma once
// The proxy's per-client rules, free of sockets and clocks so they are unit-tested with an
// injected time: the keep-alive state machine of docs/PROTOCOL.md, the token-bucket rate
// limit, and where each client command goes.

#include <chrono>
#include <cstdint>
#include <string_view>

namespace tb::proxy {

using Clock = std::chrono::steady_clock;

// Keep-alive (docs/PROTOCOL.md §3, KeepAlive): every check moves Safe -> Warn -> Dead; moving to
// Dead sends a (0,0) probe; a check that finds Dead closes. Any frame from the client resets to
// Safe. So a silent client is probed 10-20 s after its last frame and dropped 20-30 s after.
class KeepAlive {
public:
    enum class State : uint8_t { kSafe, kWarn, kDead };
    enum class Action : uint8_t { kNone, kProbe, kClose };

    void on_frame() noexcept { state_ = State::kSafe; }
    Action on_check() noexcept;
    State state() const noexcept { return state_; }

private:
    State state_ = State::kSafe;
};

// Token bucket: `rate` frames per second on average, bursts up to `burst`.
class TokenBucket {
public:
    TokenBucket(double rate, double burst, Clock::time_point now) noexcept
        : rate_(rate), burst_(burst), tokens_(burst), last_(now) {}
    // Takes one token; false when the client is over its rate.
    bool take(Clock::time_point now) noexcept;

private:
    double rate_;
    double burst_;
    double tokens_;
    Clock::time_point last_;
};

enum class Route : uint8_t {
    kIgnore,       // (0,0) keep-alive from the client: never answered
    kLogin,        // (1,*) -> service login
    kFastLogin,    // (100,1) -> game.<kind>.<level> or @game-<GameID>, with a ticket
    kSeated,       // other (100,*) and (150,*) -> @ the game node the user is seated at
    kNotLoggedIn,  // needs a login first: Errno 4
    kNotSeated,    // needs a seat first: Errno 14
    kUnknown,      // nothing serves it: Errno 3
};

// Where a client command goes, given whether its session is logged in and seated.
Route route(uint16_t mcmd, uint16_t scmd, bool logged_in, bool seated) noexcept;

}  // namespace tb::proxy
