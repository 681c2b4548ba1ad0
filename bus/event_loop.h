#pragma once
// The event loop every tablebus process runs its bus work on: zmq_poll over ZeroMQ sockets and
// raw fds (a signalfd, say), millisecond timers, and a thread-safe post() so that other threads
// (the db node's MariaDB pool, a bench driver) hand work to the loop instead of sharing state.
// Everything a loop calls runs on the loop's thread, so node logic never takes a lock.
//
// Threading: construct on any thread; after run() starts, every method except post() and
// quit() must be called from the loop thread (that is, from inside a callback).
// A callback that throws is logged and the loop keeps running.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>
#include <zmq.hpp>

namespace tb::bus {

using Clock = std::chrono::steady_clock;
using TimerId = uint64_t;

class EventLoop {
public:
    using Callback = std::function<void()>;

    EventLoop();
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    // Calls `on_readable` whenever `socket` has a message to read (level-triggered: a callback
    // that leaves messages queued is called again on the next pass). `socket` is owned by the
    // caller and must outlive its registration.
    void add_socket(zmq::socket_t& socket, Callback on_readable);
    void remove_socket(zmq::socket_t& socket);
    // The same for a plain file descriptor (POLLIN).
    void add_fd(int fd, Callback on_readable);
    void remove_fd(int fd);

    // One-shot timer, due `delay` from now. Ids are never reused.
    TimerId add_timer(std::chrono::milliseconds delay, Callback fn);
    // Repeating timer, first due `interval` from now. Intervals under 1 ms are raised to 1 ms.
    TimerId add_repeating(std::chrono::milliseconds interval, Callback fn);
    // False when the timer already fired (one-shot) or was cancelled.
    bool cancel(TimerId id);
    // Time until the timer is due (zero when overdue); nullopt when it is not pending.
    std::optional<std::chrono::milliseconds> time_left(TimerId id) const;
    std::size_t pending_timers() const noexcept { return timers_.size(); }

    // Runs until quit(). Throws only on a zmq_poll failure other than EINTR (a terminated
    // context ends the loop quietly).
    void run();
    // Runs one pass: waits at most `max_wait` for something to do, does it, returns. For tests
    // and for embedding the loop in another.
    void run_once(std::chrono::milliseconds max_wait);

    // Runs `fn` at the end of every pass, after the handlers and the due timers, for work that
    // batches what a pass produced: the proxy writes each client once for all the frames the
    // pass queued for it, one system call where each frame would have taken one. The id is for
    // remove_pass_end(), which an owner whose `fn` refers to it calls before it goes away.
    uint64_t at_pass_end(Callback fn);
    void remove_pass_end(uint64_t id);

    // Any thread: queue `fn` to run on the loop thread, in post order, and wake the loop.
    void post(Callback fn);
    // Any thread: make run() return after the current pass.
    void quit();

private:
    struct Handler {
        zmq::socket_t* socket;  // not owned; null for an fd
        int fd;
        Callback fn;
        bool removed;
    };
    struct Timer {
        Clock::time_point due;
        std::chrono::milliseconds interval;  // zero for one-shot
        Callback fn;
    };

    void rebuild_items();
    void run_posted();
    void run_due_timers();
    int poll_timeout(std::chrono::milliseconds max_wait) const;
    static void guarded(const Callback& fn, const char* what) noexcept;

    std::vector<Handler> handlers_;
    std::vector<zmq_pollitem_t> items_;
    bool items_dirty_ = true;

    std::map<std::pair<Clock::time_point, TimerId>, bool> due_order_;  // earliest first
    std::unordered_map<TimerId, Timer> timers_;
    TimerId next_timer_id_ = 1;
    std::vector<std::pair<uint64_t, Callback>> pass_end_;
    uint64_t next_pass_end_id_ = 1;

    // post(): a mutex-guarded queue plus an eventfd that wakes zmq_poll. An inproc socket would
    // need one PUSH socket per posting thread (ZeroMQ sockets are not thread-safe); an eventfd
    // wakes the same poll with no per-thread state.
    int wake_fd_ = -1;
    std::mutex posted_mutex_;
    std::deque<Callback> posted_;
    bool quit_ = false;  // guarded by posted_mutex_
};

}  // namespace tb::bus
