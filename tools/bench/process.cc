#include "tools/bench/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "tools/bench/bench.h"

extern char** environ;

namespace tb::bench {

std::string self_exe() {
    char buf[PATH_MAX];
    const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) throw std::system_error(errno, std::generic_category(), "readlink /proc/self/exe");
    return std::string(buf, static_cast<std::size_t>(n));
}

std::string sibling_binary(const std::string& name) {
    const std::string self = self_exe();
    const auto slash = self.rfind('/');
    return (slash == std::string::npos ? std::string(".") : self.substr(0, slash)) + "/" + name;
}

uint16_t free_loopback_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = 0;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        const int err = errno;
        ::close(fd);
        throw std::system_error(err, std::generic_category(), "free_loopback_port");
    }
    ::close(fd);
    return ntohs(addr.sin_port);
}

double cpu_seconds(pid_t pid) {
    // /proc/<pid>/stat: "pid (comm) state ..." with utime and stime the 12th and 13th fields
    // after the comm (which may itself contain spaces or parentheses).
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(in, line)) return 0;
    const auto close = line.rfind(')');
    if (close == std::string::npos) return 0;
    std::istringstream fields(line.substr(close + 2));
    std::string skip;
    for (int i = 0; i < 11; ++i) fields >> skip;
    unsigned long long utime = 0, stime = 0;
    fields >> utime >> stime;
    return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// Busy and total jiffies of the whole machine (/proc/stat "cpu" line).
std::pair<double, double> machine_jiffies() {
    std::ifstream in("/proc/stat");
    std::string cpu;
    in >> cpu;
    double v[10] = {};
    double total = 0;
    for (double& x : v) {
        in >> x;
    }
    // user nice system idle iowait irq softirq steal guest guest_nice (guest counted in user)
    for (int i = 0; i < 8; ++i) total += v[i];
    const double idle = v[3] + v[4];
    return {total - idle, total};
}

Child::Child(std::string name, std::vector<std::string> argv, const ChildOptions& options)
    : name_(std::move(name)) {
    if (argv.empty()) throw std::invalid_argument("Child: empty argv");
    if (::access(argv[0].c_str(), X_OK) != 0) {
        throw std::runtime_error("cannot start " + name_ + ": " + argv[0] + " is not executable");
    }
    // Everything the child needs is built before fork: after it, only async-signal-safe calls.
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    // The environment: the inherited one with options.env laid over it.
    std::vector<std::string> env_text;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        const std::string entry(*e);
        const std::string key = entry.substr(0, entry.find('=') + 1);
        bool replaced = false;
        for (const auto& extra : options.env) replaced |= extra.rfind(key, 0) == 0;
        if (!replaced) env_text.push_back(entry);
    }
    env_text.insert(env_text.end(), options.env.begin(), options.env.end());
    std::vector<char*> envp;
    envp.reserve(env_text.size() + 1);
    for (auto& e : env_text) envp.push_back(e.data());
    envp.push_back(nullptr);
    const pid_t parent = ::getpid();
    const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    int out = -1;
    if (!options.output.empty()) {
        out = ::open(options.output.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (out < 0) {
            const int err = errno;
            if (devnull >= 0) ::close(devnull);
            throw std::system_error(err, std::generic_category(), "open " + options.output);
        }
    }

    const pid_t pid = ::fork();
    if (pid < 0) {
        const int err = errno;
        if (devnull >= 0) ::close(devnull);
        if (out >= 0) ::close(out);
        throw std::system_error(err, std::generic_category(), "fork " + name_);
    }
    if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(126);  // the parent died before prctl took hold
        // tb-bench blocks SIGINT/SIGTERM for its signal thread; the child starts clean.
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::signal(SIGPIPE, SIG_DFL);
        if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
        if (out >= 0) {
            ::dup2(out, STDOUT_FILENO);
            ::dup2(out, STDERR_FILENO);
        } else {
            ::dup2(STDERR_FILENO, STDOUT_FILENO);
        }
        ::execve(args[0], args.data(), envp.data());
        ::_exit(127);
    }
    if (devnull >= 0) ::close(devnull);
    if (out >= 0) ::close(out);
    pid_ = pid;
}

Child::~Child() {
    stop();
}

bool Child::running() {
    if (pid_ < 0 || status_) return false;
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
        status_ = status;
        return false;
    }
    return true;
}

void Child::stop(std::chrono::milliseconds grace) noexcept {
    if (!running()) return;
    ::kill(pid_, SIGTERM);
    const auto until = std::chrono::steady_clock::now() + grace;
    while (std::chrono::steady_clock::now() < until) {
        if (!running()) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    status_ = status;
}

int Child::exit_code() {
    if (running() || !status_ || !WIFEXITED(*status_)) return -1;
    return WEXITSTATUS(*status_);
}

std::string Child::describe() {
    const std::string who = name_ + " (pid " + std::to_string(pid_) + ")";
    if (running()) return who + " is running";
    if (!status_) return who + " was never started";
    if (WIFEXITED(*status_)) {
        const int code = WEXITSTATUS(*status_);
        return who + " exited with status " + std::to_string(code) +
               (code == 127 ? " (exec failed)" : "");
    }
    if (WIFSIGNALED(*status_)) return who + " died of signal " + std::to_string(WTERMSIG(*status_));
    return who + " ended";
}

int run_to_end(const std::string& name, std::vector<std::string> argv,
               std::chrono::milliseconds limit, const ChildOptions& options) {
    Child child(name, std::move(argv), options);
    const auto until = std::chrono::steady_clock::now() + limit;
    while (child.running()) {
        if (stop_requested()) {
            child.stop();
            throw Interrupted();
        }
        if (std::chrono::steady_clock::now() >= until) {
            child.stop();
            return -1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return child.exit_code();
}

}  // namespace tb::bench
