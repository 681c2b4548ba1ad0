#pragma once
// Shutdown signals as events: SignalWatcher blocks SIGINT and SIGTERM and hands them out through
// a signalfd, so a node's event loop polls for them next to its ZeroMQ sockets instead of doing
// work in an async signal handler (where almost nothing is safe). Game nodes drain on the first
// SIGTERM and stop at once on the second, hence the count. SIGPIPE is ignored while a watcher
// lives: a peer closing a socket must be an error return, not the death of the node.
//
// Construct the watcher in main before starting any thread: threads inherit the signal mask,
// and a thread that does not block the signals would take them with the default action (exit).

#include <signal.h>

#include <optional>

namespace tb::common {

class SignalWatcher {
public:
    // Blocks SIGINT and SIGTERM in the calling thread, opens a non-blocking signalfd for them
    // and ignores SIGPIPE. Main thread, before any other thread starts. Throws std::system_error
    // if the mask, the fd or the SIGPIPE disposition cannot be set (nothing is left changed).
    SignalWatcher();

    // Drains signals still pending (so unblocking does not kill the process with them), closes
    // the fd, restores the caller's previous mask and SIGPIPE disposition. Same thread as the
    // constructor, after the threads that inherited the mask have been joined.
    ~SignalWatcher();

    // Not copyable or movable: it stands for a change to one thread's mask.
    SignalWatcher(const SignalWatcher&) = delete;
    SignalWatcher& operator=(const SignalWatcher&) = delete;

    // Readable (POLLIN) while a SIGINT or SIGTERM is pending. For zmq::poll pass
    // zmq_pollitem_t{nullptr, fd(), ZMQ_POLLIN, 0}. Any thread; the fd reports signals sent to
    // the process (kill) and those sent to the polling thread itself (raise) only.
    int fd() const noexcept { return fd_; }

    // The next pending signal number, or nullopt when none is pending; never blocks. Call from
    // the thread that polls fd() (usually the main event loop). Throws std::system_error if the
    // read fails for a reason other than "nothing pending".
    std::optional<int> read();

    // SIGINT plus SIGTERM returned by read() so far. Same thread as read().
    int count() const noexcept { return sigint_count_ + sigterm_count_; }
    // How many of `signo` read() has returned so far.
    int count(int signo) const noexcept;

private:
    int fd_ = -1;
    int sigint_count_ = 0;
    int sigterm_count_ = 0;
    sigset_t previous_mask_{};
    struct sigaction previous_sigpipe_ {};
};

}  // namespace tb::common
