#include "bus/event_loop.h"

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <system_error>

// getpid() with the process id cached, for every program that links the bus (it defines the
// symbol, so libzmq's calls bind here). glibc stopped caching it (2.25), and libzmq calls it as
// a fork check on every mailbox signal and wait: under load a third of the manager's system
// calls were getpid, each a full kernel entry on a VM. The cache is cleared in a fork's child;
// a child made any other way (vfork, posix_spawn) execs before it could ask.
namespace {
std::atomic<pid_t> g_cached_pid{0};
void forget_pid() noexcept {
    g_cached_pid.store(0, std::memory_order_relaxed);
}
const int g_pid_atfork = ::pthread_atfork(nullptr, nullptr, forget_pid);
}  // namespace

extern "C" pid_t getpid() noexcept {
    pid_t pid = g_cached_pid.load(std::memory_order_relaxed);
    if (pid == 0) {
        pid = static_cast<pid_t>(::syscall(SYS_getpid));
        g_cached_pid.store(pid, std::memory_order_relaxed);
    }
    return pid;
}

namespace tb::bus {

EventLoop::EventLoop() {
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
    add_fd(wake_fd_, [this] {
        uint64_t n = 0;
        // Draining the counter re-arms the fd; the queue itself is read under the mutex.
        while (::read(wake_fd_, &n, sizeof n) == static_cast<ssize_t>(sizeof n)) {
        }
        run_posted();
    });
}

EventLoop::~EventLoop() {
    if (wake_fd_ >= 0) ::close(wake_fd_);
}

void EventLoop::add_socket(zmq::socket_t& socket, Callback on_readable) {
    handlers_.push_back({&socket, -1, std::move(on_readable), false});
    items_dirty_ = true;
}

void EventLoop::remove_socket(zmq::socket_t& socket) {
    for (auto& h : handlers_) {
        if (h.socket == &socket) h.removed = true;
    }
    items_dirty_ = true;
}

void EventLoop::add_fd(int fd, Callback on_readable) {
    handlers_.push_back({nullptr, fd, std::move(on_readable), false});
    items_dirty_ = true;
}

void EventLoop::remove_fd(int fd) {
    for (auto& h : handlers_) {
        if (h.socket == nullptr && h.fd == fd) h.removed = true;
    }
    items_dirty_ = true;
}

TimerId EventLoop::add_timer(std::chrono::milliseconds delay, Callback fn) {
    const TimerId id = next_timer_id_++;
    const auto due = Clock::now() + std::max(delay, std::chrono::milliseconds(0));
    timers_.emplace(id, Timer{due, std::chrono::milliseconds(0), std::move(fn)});
    due_order_.emplace(std::make_pair(due, id), true);
    return id;
}

TimerId EventLoop::add_repeating(std::chrono::milliseconds interval, Callback fn) {
    const auto every = std::max(interval, std::chrono::milliseconds(1));
    const TimerId id = next_timer_id_++;
    const auto due = Clock::now() + every;
    timers_.emplace(id, Timer{due, every, std::move(fn)});
    due_order_.emplace(std::make_pair(due, id), true);
    return id;
}

bool EventLoop::cancel(TimerId id) {
    const auto it = timers_.find(id);
    if (it == timers_.end()) return false;
    due_order_.erase({it->second.due, id});
    timers_.erase(it);
    return true;
}

std::optional<std::chrono::milliseconds> EventLoop::time_left(TimerId id) const {
    const auto it = timers_.find(id);
    if (it == timers_.end()) return std::nullopt;
    const auto left = it->second.due - Clock::now();
    if (left <= Clock::duration::zero()) return std::chrono::milliseconds(0);
    return std::chrono::ceil<std::chrono::milliseconds>(left);
}

void EventLoop::post(Callback fn) {
    {
        std::lock_guard lock(posted_mutex_);
        posted_.push_back(std::move(fn));
    }
    const uint64_t one = 1;
    // A full counter (never in practice) still leaves the fd readable, so a failed write loses
    // no wake-up.
    [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
}

void EventLoop::quit() {
    {
        std::lock_guard lock(posted_mutex_);
        quit_ = true;
    }
    const uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
}

void EventLoop::run() {
    for (;;) {
        {
            std::lock_guard lock(posted_mutex_);
            if (quit_) {
                quit_ = false;
                return;
            }
        }
        try {
            run_once(std::chrono::milliseconds(-1));
        } catch (const zmq::error_t& e) {
            if (e.num() == ETERM) return;
            throw;
        }
    }
}

void EventLoop::run_once(std::chrono::milliseconds max_wait) {
    rebuild_items();
    const int rc = zmq_poll(items_.data(), static_cast<int>(items_.size()), poll_timeout(max_wait));
    if (rc < 0) {
        if (zmq_errno() == EINTR) return;
        throw zmq::error_t();
    }
    if (rc > 0) {
        // Handlers added during this pass are not in items_; those removed are skipped.
        const std::size_t n = items_.size();
        for (std::size_t i = 0; i < n; ++i) {
            if ((items_[i].revents & ZMQ_POLLIN) == 0 || handlers_[i].removed) continue;
            const Callback fn = handlers_[i].fn;  // a copy: the callback may add handlers
            guarded(fn, "socket handler");
        }
    }
    run_due_timers();
    for (std::size_t i = 0; i < pass_end_.size(); ++i) {
        const Callback fn = pass_end_[i].second;  // a copy: the task may add or remove tasks
        guarded(fn, "pass-end task");
    }
}

uint64_t EventLoop::at_pass_end(Callback fn) {
    const uint64_t id = next_pass_end_id_++;
    pass_end_.emplace_back(id, std::move(fn));
    return id;
}

void EventLoop::remove_pass_end(uint64_t id) {
    std::erase_if(pass_end_, [id](const auto& e) { return e.first == id; });
}

void EventLoop::rebuild_items() {
    if (!items_dirty_) return;
    std::erase_if(handlers_, [](const Handler& h) { return h.removed; });
    items_.clear();
    for (const auto& h : handlers_) {
        zmq_pollitem_t item{};
        if (h.socket != nullptr) {
            item.socket = h.socket->handle();
        } else {
            item.fd = h.fd;
        }
        item.events = ZMQ_POLLIN;
        items_.push_back(item);
    }
    items_dirty_ = false;
}

void EventLoop::run_posted() {
    std::deque<Callback> batch;
    {
        std::lock_guard lock(posted_mutex_);
        batch.swap(posted_);
    }
    for (const auto& fn : batch) guarded(fn, "posted task");
}

void EventLoop::run_due_timers() {
    const auto now = Clock::now();
    // Only timers due now run in this pass; a callback that adds a zero-delay timer gets it on
    // the next pass, so a timer storm cannot starve the sockets.
    std::vector<TimerId> due;
    for (auto it = due_order_.begin(); it != due_order_.end() && it->first.first <= now; ++it) {
        due.push_back(it->first.second);
    }
    for (const TimerId id : due) {
        auto it = timers_.find(id);
        if (it == timers_.end()) continue;  // cancelled by an earlier callback in this pass
        Timer& t = it->second;
        due_order_.erase({t.due, id});
        Callback fn;
        if (t.interval.count() > 0) {
            // Reschedule from the planned time, not from now, so a repeating timer keeps its
            // rate; if the loop fell more than one interval behind, skip to the next slot.
            t.due += t.interval;
            if (t.due <= now) t.due = now + t.interval;
            due_order_.emplace(std::make_pair(t.due, id), true);
            fn = t.fn;
        } else {
            fn = std::move(t.fn);
            timers_.erase(it);
        }
        guarded(fn, "timer");
    }
}

int EventLoop::poll_timeout(std::chrono::milliseconds max_wait) const {
    long wait = max_wait.count();  // negative: no limit
    if (!due_order_.empty()) {
        const auto left = due_order_.begin()->first.first - Clock::now();
        const long ms =
            std::max<long>(0, std::chrono::ceil<std::chrono::milliseconds>(left).count());
        wait = wait < 0 ? ms : std::min(wait, ms);
    }
    return static_cast<int>(std::min<long>(wait, 24L * 3600 * 1000));
}

void EventLoop::guarded(const Callback& fn, const char* what) noexcept {
    try {
        fn();
    } catch (const std::exception& e) {
        spdlog::error("event loop: {} threw: {}", what, e.what());
    } catch (...) {
        spdlog::error("event loop: {} threw a non-standard exception", what);
    }
}

}  // namespace tb::bus
