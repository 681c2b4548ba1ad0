#include "nodes/proxy/client_rules.h"

#include <catch2/catch.hpp>

using namespace tb::proxy;
using namespace std::chrono_literals;

TEST_CASE("keep-alive: a silent client is probed at the second check and closed at the third",
          "[proxy]") {
    KeepAlive k;
    CHECK(k.on_check() == KeepAlive::Action::kNone);   // Safe -> Warn
    CHECK(k.on_check() == KeepAlive::Action::kProbe);  // Warn -> Dead, probe
    CHECK(k.on_check() == KeepAlive::Action::kClose);
}

TEST_CASE("keep-alive: any frame from the client sets it back to Safe", "[proxy]") {
    KeepAlive k;
    CHECK(k.on_check() == KeepAlive::Action::kNone);
    CHECK(k.on_check() == KeepAlive::Action::kProbe);
    k.on_frame();  // the client echoed the probe
    CHECK(k.state() == KeepAlive::State::kSafe);
    CHECK(k.on_check() == KeepAlive::Action::kNone);
    CHECK(k.on_check() == KeepAlive::Action::kProbe);
}

TEST_CASE("the token bucket allows the burst, then the rate", "[proxy]") {
    const auto t0 = Clock::now();
    TokenBucket b(10, 5, t0);
    for (int i = 0; i < 5; ++i) CHECK(b.take(t0));
    CHECK_FALSE(b.take(t0));
    CHECK_FALSE(b.take(t0 + 50ms));  // half a token
    CHECK(b.take(t0 + 100ms));       // one token back
    CHECK_FALSE(b.take(t0 + 100ms));
    // A long silence refills to the burst, no more.
    int taken = 0;
    while (b.take(t0 + 100s)) ++taken;
    CHECK(taken == 5);
}

TEST_CASE("routing sends each command where the protocol says", "[proxy]") {
    CHECK(route(0, 0, false, false) == Route::kIgnore);
    CHECK(route(0, 1, true, true) == Route::kUnknown);
    CHECK(route(1, 1, false, false) == Route::kLogin);
    CHECK(route(1, 3, true, false) == Route::kLogin);
    CHECK(route(100, 1, false, false) == Route::kNotLoggedIn);
    CHECK(route(100, 1, true, false) == Route::kFastLogin);
    CHECK(route(100, 1, true, true) == Route::kFastLogin);
    CHECK(route(100, 3, true, false) == Route::kNotSeated);
    CHECK(route(150, 1, true, true) == Route::kSeated);
    CHECK(route(150, 1, false, true) == Route::kNotLoggedIn);
    CHECK(route(7, 1, true, true) == Route::kUnknown);
}
