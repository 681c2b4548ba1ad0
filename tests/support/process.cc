#include "tests/support/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

#ifndef TB_BIN_DIR
#error "TB_BIN_DIR must be defined by the build (the directory of our executables)"
#endif

namespace tb::test {

namespace {

using SteadyClock = std::chrono::steady_clock;

// The per-process temporary directory, removed at exit unless TB_KEEP_TEST_LOGS is set.
class TempDir {
public:
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "tablebus-test-XXXXXX");
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
        }
        path_ = pattern;
    }
    ~TempDir() {
        if (std::getenv("TB_KEEP_TEST_LOGS") != nullptr) {
            std::fprintf(stderr, "test logs kept in %s\n", path_.c_str());
            return;
        }
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const noexcept { return path_; }

private:
    std::filesystem::path path_;
};

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
    int get() const noexcept { return fd_; }
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

[[noreturn]] void throw_errno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

std::pair<Fd, Fd> make_pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe2");
    return {Fd(fds[0]), Fd(fds[1])};
}

Fd open_for_child(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw_errno("open " + path.string());
    return Fd(fd);
}

// Forks and execs `argv` with stdin from /dev/null and stdout/stderr on the given descriptors.
// Between fork and exec the child only makes async-signal-safe calls (the test process may
// have threads, e.g. a ZeroMQ context's). Throws when the exec fails, with its reason.
pid_t spawn(const std::vector<std::string>& argv, int out_fd, int err_fd) {
    if (argv.empty()) throw std::invalid_argument("spawn: empty command");
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);

    Fd null_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (null_fd.get() < 0) throw_errno("open /dev/null");
    auto [status_read, status_write] = make_pipe();  // carries errno if exec fails
    const pid_t parent = ::getpid();

    const pid_t pid = ::fork();
    if (pid < 0) throw_errno("fork");
    if (pid == 0) {
        // Child: die with the test, default signal state, the three standard descriptors.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        struct sigaction dfl {};
        dfl.sa_handler = SIG_DFL;
        for (const int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD}) {
            ::sigaction(sig, &dfl, nullptr);
        }
        int err = 0;
        if (::dup2(null_fd.get(), 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(err_fd, 2) < 0) {
            err = errno;
        } else {
            // Anything else the test holds open must not leak into the child.
            ::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
            ::execv(args[0], args.data());
            err = errno;
        }
        [[maybe_unused]] const auto n = ::write(status_write.get(), &err, sizeof err);
        ::_exit(127);
    }
    status_write.reset();
    int child_errno = 0;
    ssize_t n;
    do {
        n = ::read(status_read.get(), &child_errno, sizeof child_errno);
    } while (n < 0 && errno == EINTR);
    if (n == static_cast<ssize_t>(sizeof child_errno)) {
        int status = 0;
        ::waitpid(pid, &status, 0);
        throw std::runtime_error("cannot run " + argv[0] + ": " + std::strerror(child_errno));
    }
    return pid;
}

int decode_status(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

std::string tail_lines(const std::string& text, std::size_t lines) {
    std::size_t pos = text.size();
    if (pos > 0 && text[pos - 1] == '\n') --pos;
    for (std::size_t found = 0; pos > 0; --pos) {
        if (text[pos - 1] == '\n' && ++found == lines) break;
    }
    return text.substr(pos);
}

}  // namespace

std::filesystem::path bin_dir() {
    return std::filesystem::path(TB_BIN_DIR);
}

std::filesystem::path bin(std::string_view name) {
    return bin_dir() / std::string(name);
}

std::filesystem::path temp_dir() {
    static TempDir dir;
    return dir.path();
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return {};
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

bool loopback_port_bindable(uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // as the servers do
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

namespace {

// Port ranges for tests. A range is 50 ports, base 20000 + 50 * r; a process using range r also
// listens on base + 3333 (clients) and base + 3545 (metrics), which land in the 50-port blocks
// r + 66, r + 67, r + 70 and r + 71. A process claims its range by taking an exclusive flock on
// the lock file of each of those five blocks, held until it exits (the kernel drops the locks
// even after a crash), so two test processes - C++ or shell, see tests/integration/ports.sh -
// never share a port however their pids fall. Ranges stop at r = 179 so that every port stays
// below the ephemeral range (32768+), where our own outgoing connections take ports.
constexpr int kPortRanges = 180;
constexpr int kFirstPort = 20000;
constexpr int kBlockPorts = 50;
constexpr int kRangeBlocks[] = {0, 66, 67, 70, 71};

std::filesystem::path port_lock_dir() {
    const char* env = std::getenv("TB_TEST_PORT_LOCKS");
    std::filesystem::path dir = env && *env ? std::filesystem::path(env)
                                            : std::filesystem::path("/tmp/tablebus-test-ports");
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    return dir;
}

// Claims range `r` (all five blocks) or nothing; the lock fds stay open for the process's life.
bool claim_range(int r) {
    static const std::filesystem::path dir = port_lock_dir();
    std::vector<int> fds;
    for (int offset : kRangeBlocks) {
        const auto path = dir / ("block-" + std::to_string(r + offset) + ".lock");
        const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
        if (fd < 0 || ::flock(fd, LOCK_EX | LOCK_NB) != 0) {
            if (fd >= 0) ::close(fd);
            for (int held : fds) ::close(held);
            return false;
        }
        fds.push_back(fd);
    }
    // Something outside the tests may still listen in the range (a cluster started by hand).
    const int base = kFirstPort + r * kBlockPorts;
    for (int port : {base, base + 1, base + 3333, base + 3545}) {
        if (!loopback_port_bindable(static_cast<uint16_t>(port))) {
            for (int held : fds) ::close(held);
            return false;
        }
    }
    return true;  // fds deliberately kept open: they are the claim
}

}  // namespace

uint16_t port_base(int slot, int attempt) {
    if (slot < 0 || slot >= kBlockPorts)
        throw std::invalid_argument("port_base: slot must be 0..49");
    if (attempt < 0) throw std::invalid_argument("port_base: attempt must be >= 0");
    static std::mutex mutex;
    static std::vector<int> ranges;  // claimed by this process, in order of attempts
    std::lock_guard lock(mutex);
    int next = static_cast<int>(::getpid() % kPortRanges);
    for (int tried = 0; static_cast<int>(ranges.size()) <= attempt; ++tried) {
        if (tried >= kPortRanges)
            throw std::runtime_error("port_base: every test port range is taken");
        const int r = (next + tried) % kPortRanges;
        if (std::find(ranges.begin(), ranges.end(), r) == ranges.end() && claim_range(r)) {
            ranges.push_back(r);
        }
    }
    return static_cast<uint16_t>(kFirstPort + ranges[static_cast<size_t>(attempt)] * kBlockPorts +
                                 slot);
}

std::string join_args(const std::vector<std::string>& argv) {
    std::string s;
    for (const auto& a : argv) {
        if (!s.empty()) s += ' ';
        s += a;
    }
    return s;
}

// ---------------------------------------------------------------------------------------------
// ChildProcess

ChildProcess::ChildProcess(std::vector<std::string> argv) : argv_(std::move(argv)) {
    static std::atomic<int> counter{0};
    const std::string stem = (argv_.empty() ? std::string("child")
                                            : std::filesystem::path(argv_[0]).filename().string()) +
                             "-" + std::to_string(++counter);
    stdout_path_ = temp_dir() / (stem + ".stdout");
    stderr_path_ = temp_dir() / (stem + ".stderr");
    Fd out = open_for_child(stdout_path_);
    Fd err = open_for_child(stderr_path_);
    pid_ = spawn(argv_, out.get(), err.get());
}

ChildProcess::~ChildProcess() {
    if (pid_ > 0 && !exit_code_) {
        ::kill(pid_, SIGKILL);
        reap(/*block=*/true);
    }
}

bool ChildProcess::reap(bool block) {
    if (exit_code_) return true;
    int status = 0;
    pid_t r;
    do {
        r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == pid_) {
        exit_code_ = decode_status(status);
        return true;
    }
    if (r < 0) {
        exit_code_ = -1;  // not our child any more (should not happen)
        return true;
    }
    return false;
}

bool ChildProcess::running() {
    return !reap(/*block=*/false);
}

bool ChildProcess::signal(int sig) {
    if (!running()) return false;
    return ::kill(pid_, sig) == 0;
}

std::optional<int> ChildProcess::wait(std::chrono::milliseconds timeout) {
    const auto deadline = SteadyClock::now() + timeout;
    while (!reap(/*block=*/false)) {
        if (SteadyClock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return exit_code_;
}

int ChildProcess::stop(std::chrono::milliseconds grace) {
    signal(SIGTERM);
    if (auto code = wait(grace)) return *code;
    ::kill(pid_, SIGKILL);
    reap(/*block=*/true);
    return *exit_code_;
}

std::string ChildProcess::describe() {
    std::ostringstream s;
    s << join_args(argv_) << " (pid " << pid_ << ", ";
    if (running()) {
        s << "running";
    } else {
        s << "exited " << *exit_code_;
    }
    s << ")\n--- stderr (tail) ---\n" << tail_lines(stderr_text(), 20);
    return s.str();
}

// ---------------------------------------------------------------------------------------------
// run_command

RunResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
    const auto start = SteadyClock::now();
    const auto deadline = start + timeout;
    auto [out_read, out_write] = make_pipe();
    auto [err_read, err_write] = make_pipe();
    const pid_t pid = spawn(argv, out_write.get(), err_write.get());
    out_write.reset();
    err_write.reset();

    RunResult result;
    const auto left_ms = [&] {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
        return static_cast<int>(std::max<int64_t>(0, left.count()));
    };
    Fd* fds[2] = {&out_read, &err_read};
    std::string* sinks[2] = {&result.out, &result.err};
    char buf[4096];
    while (out_read.get() >= 0 || err_read.get() >= 0) {
        pollfd p[2];
        for (int i = 0; i < 2; ++i) p[i] = pollfd{fds[i]->get(), POLLIN, 0};
        const int ms = left_ms();
        if (ms == 0) {
            result.timed_out = true;
            break;
        }
        const int n = ::poll(p, 2, ms);
        if (n < 0 && errno != EINTR) throw_errno("poll");
        if (n <= 0) continue;
        for (int i = 0; i < 2; ++i) {
            if (p[i].fd < 0 || (p[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
            const ssize_t got = ::read(p[i].fd, buf, sizeof buf);
            if (got > 0) {
                sinks[i]->append(buf, static_cast<std::size_t>(got));
            } else if (got == 0 || errno != EINTR) {
                fds[i]->reset();
            }
        }
    }
    if (result.timed_out) ::kill(pid, SIGKILL);
    int status = 0;
    for (;;) {
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) break;
        if (r < 0) {
            if (errno == EINTR) continue;
            throw_errno("waitpid");
        }
        // Output closed but still running (e.g. it closed stdout): give it the time left.
        if (!result.timed_out && left_ms() == 0) {
            result.timed_out = true;
            ::kill(pid, SIGKILL);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    result.exit_code = result.timed_out ? -1 : decode_status(status);
    result.elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start);
    return result;
}

}  // namespace tb::test
