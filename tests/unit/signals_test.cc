// Tests of SignalWatcher: signals arrive on the fd (waited for with poll(2) and a deadline, never
// a sleep), read() and the counts, and that destruction restores the mask and SIGPIPE.

#include "nodes/common/signals.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <thread>

namespace tb::common {
namespace {

constexpr int kDeadlineMs = 5000;

bool blocked_in_this_thread(int signo) {
    sigset_t mask;
    sigemptyset(&mask);
    pthread_sigmask(SIG_BLOCK, nullptr, &mask);
    return sigismember(&mask, signo) == 1;
}

bool sigpipe_ignored() {
    struct sigaction current {};
    sigaction(SIGPIPE, nullptr, &current);
    return current.sa_handler == SIG_IGN;
}

// Waits until the watcher's fd is readable, at most kDeadlineMs.
bool wait_readable(const SignalWatcher& watcher) {
    pollfd item{watcher.fd(), POLLIN, 0};
    return ::poll(&item, 1, kDeadlineMs) == 1 && (item.revents & POLLIN) != 0;
}

TEST_CASE("A raised SIGTERM is read from the watcher's fd and counted", "[common]") {
    SignalWatcher watcher;
    CHECK_FALSE(watcher.read().has_value());
    REQUIRE(::raise(SIGTERM) == 0);
    REQUIRE(wait_readable(watcher));
    CHECK(watcher.read() == SIGTERM);
    CHECK(watcher.count() == 1);
    CHECK(watcher.count(SIGTERM) == 1);
    CHECK_FALSE(watcher.read().has_value());
}

TEST_CASE("SIGINT from kill() and a second SIGTERM add to the count", "[common]") {
    SignalWatcher watcher;
    REQUIRE(::kill(::getpid(), SIGINT) == 0);
    REQUIRE(wait_readable(watcher));
    CHECK(watcher.read() == SIGINT);
    REQUIRE(::kill(::getpid(), SIGTERM) == 0);
    REQUIRE(wait_readable(watcher));
    CHECK(watcher.read() == SIGTERM);
    REQUIRE(::kill(::getpid(), SIGTERM) == 0);
    REQUIRE(wait_readable(watcher));
    CHECK(watcher.read() == SIGTERM);
    CHECK(watcher.count() == 3);
    CHECK(watcher.count(SIGINT) == 1);
    CHECK(watcher.count(SIGTERM) == 2);
    CHECK(watcher.count(SIGHUP) == 0);
}

TEST_CASE("The watcher blocks the signals while alive and restores the mask after", "[common]") {
    REQUIRE_FALSE(blocked_in_this_thread(SIGTERM));
    REQUIRE_FALSE(blocked_in_this_thread(SIGINT));
    const bool sigpipe_was_ignored = sigpipe_ignored();
    {
        SignalWatcher watcher;
        CHECK(watcher.fd() >= 0);
        CHECK(blocked_in_this_thread(SIGTERM));
        CHECK(blocked_in_this_thread(SIGINT));
        CHECK(sigpipe_ignored());
    }
    CHECK_FALSE(blocked_in_this_thread(SIGTERM));
    CHECK_FALSE(blocked_in_this_thread(SIGINT));
    CHECK(sigpipe_ignored() == sigpipe_was_ignored);
}

TEST_CASE("Threads started after the watcher inherit the blocked signals", "[common]") {
    SignalWatcher watcher;
    bool blocked = false;
    std::thread worker([&blocked] { blocked = blocked_in_this_thread(SIGTERM); });
    worker.join();
    CHECK(blocked);
}

TEST_CASE("A signal still pending at destruction is drained, not delivered", "[common]") {
    {
        SignalWatcher watcher;
        REQUIRE(::raise(SIGTERM) == 0);
        REQUIRE(wait_readable(watcher));
    }
    // Still running: the destructor consumed the SIGTERM before unblocking it.
    sigset_t pending;
    sigemptyset(&pending);
    REQUIRE(sigpending(&pending) == 0);
    CHECK(sigismember(&pending, SIGTERM) == 0);
    CHECK_FALSE(blocked_in_this_thread(SIGTERM));
}

}  // namespace
}  // namespace tb::common
