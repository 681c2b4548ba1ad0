#include "tools/bench/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

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

Child::Child(std::string name, std::vector<std::string> argv) : name_(std::move(name)) {
    if (argv.empty()) throw std::invalid_argument("Child: empty argv");
    if (::access(argv[0].c_str(), X_OK) != 0) {
        throw std::runtime_error("cannot start " + name_ + ": " + argv[0] + " is not executable");
    }
    // Everything the child needs is built before fork: after it, only async-signal-safe calls.
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    const pid_t parent = ::getpid();
    const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);

    const pid_t pid = ::fork();
    if (pid < 0) {
        const int err = errno;
        if (devnull >= 0) ::close(devnull);
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
        ::dup2(STDERR_FILENO, STDOUT_FILENO);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    if (devnull >= 0) ::close(devnull);
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

}  // namespace tb::bench
