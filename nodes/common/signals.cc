#include "nodes/common/signals.h"

#include <pthread.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace tb::common {

namespace {

sigset_t watched_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    return set;
}

[[noreturn]] void throw_errno(int error, const char* what) {
    throw std::system_error(error, std::generic_category(), what);
}

}  // namespace

SignalWatcher::SignalWatcher() {
    const sigset_t set = watched_signals();
    // pthread_sigmask returns the error instead of setting errno.
    if (int rc = pthread_sigmask(SIG_BLOCK, &set, &previous_mask_); rc != 0) {
        throw_errno(rc, "SignalWatcher: pthread_sigmask");
    }
    fd_ = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd_ < 0) {
        const int error = errno;
        pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);
        throw_errno(error, "SignalWatcher: signalfd");
    }
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    if (sigaction(SIGPIPE, &ignore, &previous_sigpipe_) != 0) {
        const int error = errno;
        ::close(fd_);
        pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);
        throw_errno(error, "SignalWatcher: sigaction(SIGPIPE)");
    }
}

SignalWatcher::~SignalWatcher() {
    // Consume what is still pending; once unblocked it would run the default action (exit).
    signalfd_siginfo info;
    while (::read(fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    }
    ::close(fd_);
    sigaction(SIGPIPE, &previous_sigpipe_, nullptr);
    pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);
}

std::optional<int> SignalWatcher::read() {
    signalfd_siginfo info;
    while (true) {
        const ssize_t n = ::read(fd_, &info, sizeof info);
        if (n == static_cast<ssize_t>(sizeof info)) break;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return std::nullopt;
        // The kernel hands out whole records; anything else means a broken fd.
        throw_errno(n < 0 ? errno : EIO, "SignalWatcher: read");
    }
    const int signo = static_cast<int>(info.ssi_signo);
    if (signo == SIGINT) ++sigint_count_;
    if (signo == SIGTERM) ++sigterm_count_;
    return signo;
}

int SignalWatcher::count(int signo) const noexcept {
    if (signo == SIGINT) return sigint_count_;
    if (signo == SIGTERM) return sigterm_count_;
    return 0;
}

}  // namespace tb::common
