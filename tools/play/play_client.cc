#include "tools/play/play_client.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>

#include "codec/frame.h"
#include "tools/play/session.h"

namespace tb::play {

namespace {

using namespace std::chrono_literals;

constexpr auto kConnectTimeout = 5s;
constexpr auto kTick = 250ms;
// After quit: how long the Logout may take to leave.
constexpr auto kFlushTimeout = 1s;

// An owned file descriptor.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() { reset(); }
    Fd(Fd&& o) noexcept : fd_(o.release()) {}
    Fd& operator=(Fd&& o) noexcept {
        if (this != &o) {
            reset();
            fd_ = o.release();
        }
        return *this;
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;

    int get() const noexcept { return fd_; }
    bool valid() const noexcept { return fd_ >= 0; }
    int release() noexcept {
        const int fd = fd_;
        fd_ = -1;
        return fd;
    }
    void reset() noexcept {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_ = -1;
};

// Starts a non-blocking connect to host:port; an invalid Fd with `why` on failure.
Fd start_connect(const PlayOptions& o, std::string& why) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const std::string port = std::to_string(o.port);
    if (const int rc = ::getaddrinfo(o.host.c_str(), port.c_str(), &hints, &res); rc != 0) {
        why = "cannot resolve " + o.host + ": " + ::gai_strerror(rc);
        return Fd{};
    }
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(res, &::freeaddrinfo);
    for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
        Fd fd(
            ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol));
        if (!fd.valid()) continue;
        const int one = 1;
        ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (::connect(fd.get(), a->ai_addr, a->ai_addrlen) == 0 || errno == EINPROGRESS) {
            return fd;
        }
        why = std::string("connect: ") + std::strerror(errno);
    }
    if (why.empty()) why = "no address for " + o.host;
    return Fd{};
}

class Loop {
public:
    Loop(const PlayOptions& o, int input_fd, std::ostream& out, std::ostream* log)
        : opt_(o), input_fd_(input_fd), out_(out), session_(o, out, log) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGHUP);
        // Blocked so they arrive on the signalfd; the caller's thread is the only one.
        ::sigprocmask(SIG_BLOCK, &set, nullptr);
        signals_ = Fd(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
        ::signal(SIGPIPE, SIG_IGN);
    }

    int run() {
        out_ << "tb-play: " << game_name(opt_.game) << " as " << opt_.account << " via "
             << opt_.proxy << " ('help' lists the commands)" << std::endl;
        while (true) {
            const auto now = Clock::now();
            if (session_.finished()) return finish();
            if (!sock_.valid() && now >= session_.next_connect_at()) begin_connect(now);
            wait(now);
            pump();
        }
    }

private:
    void begin_connect(Clock::time_point now) {
        std::string why;
        sock_ = start_connect(opt_, why);
        if (!sock_.valid()) {
            session_.on_disconnected(why, now);
            return;
        }
        connecting_ = true;
        connect_deadline_ = now + kConnectTimeout;
        decoder_ = codec::FrameDecoder{};
        out_buf_.clear();
    }

    void drop(std::string_view why) {
        sock_.reset();
        connecting_ = false;
        out_buf_.clear();
        session_.on_disconnected(why, Clock::now());
    }

    // Moves the session's frames to the socket buffer and writes what the socket takes.
    void pump() {
        if (session_.wants_reconnect() && sock_.valid()) drop("closed to try again");
        out_buf_ += session_.take_output();
        if (sock_.valid() && !connecting_) flush();
        out_.flush();
    }

    void flush() {
        while (!out_buf_.empty()) {
            const ssize_t n = ::send(sock_.get(), out_buf_.data(), out_buf_.size(), MSG_NOSIGNAL);
            if (n > 0) {
                out_buf_.erase(0, static_cast<std::size_t>(n));
            } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                return;
            } else if (n < 0 && errno == EINTR) {
                continue;
            } else {
                drop(std::string("write: ") + std::strerror(errno));
                return;
            }
        }
    }

    void wait(Clock::time_point now) {
        pollfd fds[3] = {};
        nfds_t n = 0;
        int sock_index = -1;
        int input_index = -1;
        fds[n] = {signals_.get(), POLLIN, 0};
        ++n;
        if (input_open_) {
            input_index = static_cast<int>(n);
            fds[n] = {input_fd_, POLLIN, 0};
            ++n;
        }
        if (sock_.valid()) {
            sock_index = static_cast<int>(n);
            short events = POLLIN;
            if (connecting_ || !out_buf_.empty()) events = static_cast<short>(events | POLLOUT);
            fds[n] = {sock_.get(), events, 0};
            ++n;
        }
        auto timeout =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::milliseconds(kTick));
        if (!sock_.valid()) {
            const auto until = std::chrono::duration_cast<std::chrono::milliseconds>(
                session_.next_connect_at() - now);
            timeout = std::max(0ms, std::min(timeout, until));
        }
        const int rc = ::poll(fds, n, static_cast<int>(timeout.count()));
        const auto after = Clock::now();
        if (rc < 0 && errno != EINTR)
            throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
        if (rc > 0 && (fds[0].revents & POLLIN) != 0) {
            signalfd_siginfo info{};
            while (::read(signals_.get(), &info, sizeof info) == sizeof info) {
            }
            session_.on_signal(after);
        }
        if (rc > 0 && sock_index >= 0) on_socket(fds[sock_index].revents, after);
        if (rc > 0 && input_index >= 0 && fds[input_index].revents != 0) on_input(after);
        if (connecting_ && sock_.valid() && after >= connect_deadline_) {
            drop("no connection within 5 s");
        }
        session_.on_tick(after);
    }

    void on_socket(short revents, Clock::time_point now) {
        if (connecting_) {
            if ((revents & (POLLOUT | POLLERR | POLLHUP)) == 0) return;
            int err = 0;
            socklen_t len = sizeof err;
            ::getsockopt(sock_.get(), SOL_SOCKET, SO_ERROR, &err, &len);
            if (err != 0) {
                drop(std::string("connect: ") + std::strerror(err));
                return;
            }
            connecting_ = false;
            session_.on_connected(now);
            return;
        }
        if ((revents & (POLLIN | POLLERR | POLLHUP)) != 0) read_socket(now);
        if (sock_.valid() && (revents & POLLOUT) != 0) flush();
    }

    void read_socket(Clock::time_point now) {
        char buf[16384];
        while (sock_.valid()) {
            const ssize_t n = ::recv(sock_.get(), buf, sizeof buf, 0);
            if (n > 0) {
                decoder_.feed(std::string_view(buf, static_cast<std::size_t>(n)));
                codec::Frame f;
                codec::FrameDecoder::Status st;
                while ((st = decoder_.next(f)) == codec::FrameDecoder::Status::kFrame) {
                    session_.on_frame(f, now);
                }
                if (st == codec::FrameDecoder::Status::kError) {
                    drop("the server sent a bad frame: " +
                         std::string(codec::frame_error_name(decoder_.error())));
                    return;
                }
                continue;
            }
            if (n == 0) {
                drop("the server closed the connection");
            } else if (errno == EINTR) {
                continue;
            } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
                drop(std::string("read: ") + std::strerror(errno));
            }
            return;
        }
    }

    void on_input(Clock::time_point now) {
        char buf[4096];
        const ssize_t n = ::read(input_fd_, buf, sizeof buf);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
        if (n <= 0) {
            input_open_ = false;
            if (!line_.empty()) session_.on_line(line_, now);
            line_.clear();
            session_.on_end_of_input(now);
            return;
        }
        line_.append(buf, static_cast<std::size_t>(n));
        std::size_t nl;
        while ((nl = line_.find('\n')) != std::string::npos) {
            std::string one = line_.substr(0, nl);
            line_.erase(0, nl + 1);
            if (!one.empty() && one.back() == '\r') one.pop_back();
            session_.on_line(one, now);
            if (session_.finished()) break;
        }
        // A line longer than anyone types is not a command; keep memory bounded.
        if (line_.size() > 4096) line_.clear();
    }

    int finish() {
        pump();
        // Let the Logout leave before closing.
        const auto until = Clock::now() + kFlushTimeout;
        while (sock_.valid() && !connecting_ && !out_buf_.empty() && Clock::now() < until) {
            pollfd p{sock_.get(), POLLOUT, 0};
            ::poll(&p, 1, 50);
            flush();
        }
        if (sock_.valid()) ::shutdown(sock_.get(), SHUT_WR);
        sock_.reset();
        out_.flush();
        return session_.exit_code();
    }

    const PlayOptions& opt_;
    int input_fd_;
    std::ostream& out_;
    Session session_;
    Fd signals_;
    Fd sock_;
    bool connecting_ = false;
    Clock::time_point connect_deadline_{};
    codec::FrameDecoder decoder_;
    std::string out_buf_;
    bool input_open_ = true;
    std::string line_;
};

}  // namespace

int run_client(const PlayOptions& options, int input_fd, std::ostream& out) {
    std::ofstream log;
    if (!options.json_log.empty()) {
        log.open(options.json_log, std::ios::app);
        if (!log) throw std::runtime_error("cannot open --json-log " + options.json_log);
    }
    Loop loop(options, input_fd, out, log.is_open() ? &log : nullptr);
    return loop.run();
}

}  // namespace tb::play
