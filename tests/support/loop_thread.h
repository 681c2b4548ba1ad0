#pragma once
// Runs an EventLoop on its own thread for a test and always stops and joins it, even when a
// REQUIRE fails half-way (STYLE.md: a loop under test runs in a RAII thread).

#include <thread>

#include "bus/event_loop.h"

namespace tb::test {

class LoopThread {
public:
    explicit LoopThread(bus::EventLoop& loop) : loop_(loop), thread_([this] { loop_.run(); }) {}
    ~LoopThread() {
        loop_.quit();
        thread_.join();
    }
    LoopThread(const LoopThread&) = delete;
    LoopThread& operator=(const LoopThread&) = delete;

private:
    bus::EventLoop& loop_;  // owned by the test, outlives this thread
    std::thread thread_;
};

}  // namespace tb::test
