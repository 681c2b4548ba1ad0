#include "nodes/proxy/client_rules.h"

#include <algorithm>

namespace tb::proxy {

KeepAlive::Action KeepAlive::on_check() noexcept {
    switch (state_) {
        case State::kSafe: state_ = State::kWarn; return Action::kNone;
        case State::kWarn: state_ = State::kDead; return Action::kProbe;
        case State::kDead: return Action::kClose;
    }
    return Action::kNone;
}

bool TokenBucket::take(Clock::time_point now) noexcept {
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
}

Route route(uint16_t mcmd, uint16_t scmd, bool logged_in, bool seated) noexcept {
    if (mcmd == 0) return scmd == 0 ? Route::kIgnore : Route::kUnknown;
    if (mcmd == 1) return Route::kLogin;  // the login node checks which need a user
    if (mcmd == 100 || mcmd == 150) {
        if (!logged_in) return Route::kNotLoggedIn;
        if (mcmd == 100 && scmd == 1) return Route::kFastLogin;
        return seated ? Route::kSeated : Route::kNotSeated;
    }
    return Route::kUnknown;
}

}  // namespace tb::proxy
