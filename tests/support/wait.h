#pragma once
// Waiting on a condition with a deadline: the only way tests wait (never a bare sleep).

#include <chrono>
#include <thread>

namespace tb::test {

// Polls `cond` every millisecond until it holds or `limit` passes; returns its last value.
template <class Cond>
bool wait_for(Cond&& cond, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    // cond() is evaluated once per pass: it may consume what it checks for.
    for (;;) {
        if (cond()) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

}  // namespace tb::test
