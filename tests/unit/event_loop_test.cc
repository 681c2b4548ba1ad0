#include "bus/event_loop.h"

#include <dlfcn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tests/support/loop_thread.h"
#include "tests/support/wait.h"

using namespace std::chrono_literals;
using tb::bus::Clock;
using tb::bus::EventLoop;
using tb::test::LoopThread;
using tb::test::wait_for;

namespace {

// Runs passes until `cond` holds or 5 s pass (the loop's own thread is the test's thread).
template <class Cond>
bool spin_until(EventLoop& loop, Cond&& cond) {
    const auto deadline = Clock::now() + 5s;
    while (!cond() && Clock::now() < deadline) loop.run_once(10ms);
    return cond();
}

// A PUSH -> PULL pair over inproc whose PULL end is on `loop`: every message read is appended
// to `log`, in order.
struct LoggedPull {
    zmq::context_t ctx;
    zmq::socket_t pull{ctx, zmq::socket_type::pull};
    zmq::socket_t push{ctx, zmq::socket_type::push};

    LoggedPull(EventLoop& loop, const std::string& name, std::vector<std::string>& log) {
        pull.bind("inproc://" + name);
        push.connect("inproc://" + name);
        loop.add_socket(pull, [this, &log] {
            zmq::message_t m;
            while (pull.recv(m, zmq::recv_flags::dontwait)) log.push_back(m.to_string());
        });
    }
    void send(const char* text) { push.send(zmq::buffer(std::string_view(text))); }
};

}  // namespace

TEST_CASE("one-shot timers fire once, in due order", "[bus]") {
    EventLoop loop;
    std::vector<int> order;
    loop.add_timer(30ms, [&] { order.push_back(3); });
    loop.add_timer(10ms, [&] { order.push_back(1); });
    loop.add_timer(20ms, [&] { order.push_back(2); });
    REQUIRE(spin_until(loop, [&] { return order.size() == 3; }));
    CHECK(order == std::vector<int>{1, 2, 3});
    CHECK(loop.pending_timers() == 0);
}

TEST_CASE("a timer does not fire before it is due", "[bus]") {
    EventLoop loop;
    const auto start = Clock::now();
    Clock::time_point fired{};
    loop.add_timer(50ms, [&] { fired = Clock::now(); });
    REQUIRE(spin_until(loop, [&] { return fired != Clock::time_point{}; }));
    CHECK(fired - start >= 50ms);
}

TEST_CASE("a repeating timer keeps firing until cancelled", "[bus]") {
    EventLoop loop;
    int ticks = 0;
    const auto id = loop.add_repeating(5ms, [&] { ++ticks; });
    REQUIRE(spin_until(loop, [&] { return ticks >= 3; }));
    CHECK(loop.cancel(id));
    const int seen = ticks;
    loop.run_once(20ms);
    CHECK(ticks == seen);
    CHECK_FALSE(loop.cancel(id));
}

TEST_CASE("a cancelled one-shot timer never fires and time left tracks it", "[bus]") {
    EventLoop loop;
    bool fired = false;
    const auto id = loop.add_timer(1000ms, [&] { fired = true; });
    const auto left = loop.time_left(id);
    REQUIRE(left.has_value());
    CHECK(*left <= 1000ms);
    CHECK(*left > 900ms);
    CHECK(loop.cancel(id));
    CHECK_FALSE(loop.time_left(id).has_value());
    bool other = false;
    loop.add_timer(1ms, [&] { other = true; });
    REQUIRE(spin_until(loop, [&] { return other; }));
    CHECK_FALSE(fired);
}

TEST_CASE("a timer callback may cancel another timer due in the same pass", "[bus]") {
    EventLoop loop;
    bool second = false;
    tb::bus::TimerId victim = 0;
    loop.add_timer(0ms, [&] { loop.cancel(victim); });
    victim = loop.add_timer(0ms, [&] { second = true; });
    bool marker = false;
    loop.add_timer(5ms, [&] { marker = true; });
    REQUIRE(spin_until(loop, [&] { return marker; }));
    CHECK_FALSE(second);
}

TEST_CASE("a throwing callback is contained and the loop goes on", "[bus]") {
    EventLoop loop;
    bool after = false;
    loop.add_timer(0ms, [] { throw std::runtime_error("boom"); });
    loop.add_timer(1ms, [&] { after = true; });
    REQUIRE(spin_until(loop, [&] { return after; }));
}

TEST_CASE("a readable socket calls its handler on the loop", "[bus]") {
    EventLoop loop;
    std::vector<std::string> got;
    LoggedPull pair(loop, "loop-socket", got);
    pair.send("a");
    pair.send("b");
    REQUIRE(spin_until(loop, [&] { return got.size() == 2; }));
    CHECK(got == std::vector<std::string>{"a", "b"});

    loop.remove_socket(pair.pull);
    pair.send("c");
    loop.run_once(20ms);
    CHECK(got.size() == 2);
}

TEST_CASE("a pass-end task ends every pass, after its handlers and timers, until removed",
          "[bus]") {
    EventLoop loop;
    std::vector<std::string> log;  // what ran, in order
    LoggedPull pair(loop, "loop-pass-end", log);
    loop.add_timer(0ms, [&] { log.push_back("timer"); });
    const uint64_t id = loop.at_pass_end([&] { log.push_back("end"); });
    pair.send("a");
    pair.send("b");
    int passes = 0;
    const auto deadline = Clock::now() + 5s;
    while (std::count(log.begin(), log.end(), "b") == 0 && Clock::now() < deadline) {
        loop.run_once(10ms);
        ++passes;
        REQUIRE(log.back() == "end");  // nothing of a pass runs after its end task
    }
    REQUIRE(std::count(log.begin(), log.end(), "b") == 1);
    CHECK(std::count(log.begin(), log.end(), "end") == passes);
    CHECK(std::count(log.begin(), log.end(), "timer") == 1);
    CHECK(log.front() != "end");

    loop.remove_pass_end(id);
    pair.send("c");
    REQUIRE(spin_until(loop, [&] { return log.back() == "c"; }));
    loop.run_once(1ms);
    CHECK(log.back() == "c");
    CHECK(std::count(log.begin(), log.end(), "end") == passes);
}

TEST_CASE("work posted from other threads runs on the loop thread in order", "[bus]") {
    EventLoop loop;
    std::thread::id loop_thread;
    std::vector<int> seen;  // touched only on the loop thread
    std::atomic<int> done{0};
    loop.post([&] { loop_thread = std::this_thread::get_id(); });
    {
        LoopThread runner(loop);
        std::vector<std::thread> posters;
        for (int t = 0; t < 4; ++t) {
            posters.emplace_back([&, t] {
                for (int i = 0; i < 1000; ++i) {
                    loop.post([&, t, i] {
                        if (std::this_thread::get_id() == loop_thread) seen.push_back(t * 1000 + i);
                        ++done;
                    });
                }
            });
        }
        for (auto& p : posters) p.join();
        REQUIRE(wait_for([&] { return done.load() == 4000; }));
    }
    REQUIRE(seen.size() == 4000);
    // Each poster's tasks keep their relative order.
    for (int t = 0; t < 4; ++t) {
        int last = -1;
        for (int v : seen) {
            if (v / 1000 != t) continue;
            CHECK(v % 1000 == last + 1);
            last = v % 1000;
        }
    }
}

TEST_CASE("quit from another thread ends run while it waits with no timers", "[bus]") {
    EventLoop loop;
    std::atomic<bool> returned{false};
    std::thread t([&] {
        loop.run();
        returned = true;
    });
    loop.quit();
    CHECK(wait_for([&] { return returned.load(); }));
    t.join();
}

// The bus defines getpid() with the pid cached (libzmq calls it on every mailbox operation).
TEST_CASE("getpid is the bus's cached one, and a forked child gets its own pid") {
    // The symbol global lookup finds is the one libzmq's calls bind to.
    CHECK(::dlsym(RTLD_DEFAULT, "getpid") == reinterpret_cast<void*>(&::getpid));
    const pid_t parent = ::getpid();
    CHECK(parent == static_cast<pid_t>(::syscall(SYS_getpid)));
    CHECK(::getpid() == parent);

    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // A stale cache would answer the parent's pid here.
        const pid_t seen[2] = {::getpid(), static_cast<pid_t>(::syscall(SYS_getpid))};
        const bool ok = ::write(fds[1], seen, sizeof seen) == static_cast<ssize_t>(sizeof seen);
        ::_exit(ok ? 0 : 1);
    }
    ::close(fds[1]);
    pid_t seen[2] = {0, 0};
    const ssize_t n = ::read(fds[0], seen, sizeof seen);
    ::close(fds[0]);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(n == static_cast<ssize_t>(sizeof seen));
    CHECK(seen[1] == child);
    CHECK(seen[0] == child);
    CHECK(seen[0] != parent);
    CHECK(::getpid() == parent);
}
