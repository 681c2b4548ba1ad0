// tb-test-storage: the MariaDB + Redis pair shared by a whole CTest run (the `storage` fixture).
//
//   tb-test-storage start --dir DIR   stops what a previous run left under DIR, forks a keeper
//                                     process (its own session, DIR/keeper.pid) that starts
//                                     mariadbd and redis-server as its children on free
//                                     loopback ports and writes DIR/env once both answer;
//                                     exits 0 then (1 on failure, with nothing left running)
//   tb-test-storage stop --dir DIR [--purge]
//                                     SIGTERMs the keeper, which stops both servers cleanly and
//                                     reaps them; then SIGTERM/SIGKILL whatever server is still
//                                     running under DIR, and removes the data. Keeps
//                                     DIR/mariadb-template (a cached fresh datadir) unless
//                                     --purge. Safe when nothing runs.
//
// The keeper is the servers' parent so that they are reaped (an init that does not reap
// orphans would otherwise keep them as zombies); they die with it (PR_SET_PDEATHSIG) if it is
// killed. DIR/env: mariadb_port, mariadb_socket, mariadb_user, mariadb_password, redis_port
// (read by tb::test::shared_storage()) and the pids.
#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/storage.h"
#include "tests/support/wait.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using tb::test::PrivateMariaDb;
using tb::test::PrivateRedis;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr int kAttempts = 3;  // a free port can be taken between the probe and the bind
constexpr const char* kSelf = "tb-test-storage";

long ms_since(SteadyClock::time_point t) {
    return static_cast<long>(
        std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t).count());
}

bool gone(pid_t pid) {
    if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
    const std::string stat = tb::test::read_file("/proc/" + std::to_string(pid) + "/stat");
    const auto paren = stat.rfind(')');
    return paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] == 'Z';
}

// The keeper recorded in DIR/keeper.pid, if that pid is still a tb-test-storage process.
pid_t recorded_keeper(const fs::path& dir) {
    const std::string text = tb::test::read_file(dir / "keeper.pid");
    if (text.empty()) return -1;
    const pid_t pid = static_cast<pid_t>(std::atol(text.c_str()));
    if (pid <= 1 || pid == ::getpid() || gone(pid)) return -1;
    std::string comm = tb::test::read_file("/proc/" + std::to_string(pid) + "/comm");
    while (!comm.empty() && comm.back() == '\n') comm.pop_back();
    return comm == std::string(kSelf).substr(0, 15) ? pid : -1;
}

// Stops the keeper and any stale server, and removes everything under `dir` but the template
// (and it too with `purge`).
void clean(const fs::path& dir, bool purge) {
    if (!fs::exists(dir)) return;
    if (const pid_t keeper = recorded_keeper(dir); keeper > 0) {
        ::kill(keeper, SIGTERM);  // it stops its servers cleanly (mariadbd: <= 20 s)
        if (!tb::test::wait_for([&] { return gone(keeper); }, 40s)) {
            ::kill(keeper, SIGKILL);  // its servers die with it (PR_SET_PDEATHSIG)
            tb::test::wait_for([&] { return gone(keeper); }, 10s);
        }
        std::printf("stopped keeper %d\n", static_cast<int>(keeper));
    }
    const int killed = tb::test::kill_servers_under(dir);
    if (killed > 0) std::printf("stopped %d stale server(s) under %s\n", killed, dir.c_str());
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (!purge && entry.path().filename() == "mariadb-template") continue;
        fs::remove_all(entry.path());
    }
}

void write_all(int fd, const std::string& text) {
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        done += static_cast<std::size_t>(n);
    }
}

// The keeper: starts both servers, reports on `report_fd` (lines; "ready" last), then waits
// for SIGTERM/SIGINT/SIGHUP and stops them. Never returns.
[[noreturn]] void keep(const fs::path& dir, int report_fd) {
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    for (const int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&stop_signals, sig);
    ::sigprocmask(SIG_BLOCK, &stop_signals, nullptr);  // taken with sigtimedwait below
    int code = 0;
    {
        std::unique_ptr<PrivateMariaDb> mariadb;
        std::unique_ptr<PrivateRedis> redis;
        try {
            const fs::path shared = dir / "shared";
            for (int attempt = 1; !mariadb; ++attempt) {
                const auto t = SteadyClock::now();
                try {
                    mariadb = std::make_unique<PrivateMariaDb>(shared / "mariadb",
                                                               tb::test::free_loopback_port(),
                                                               dir / "mariadb-template");
                } catch (const std::exception& e) {
                    write_all(report_fd, "mariadb attempt " + std::to_string(attempt) + ": " +
                                             e.what() + "\n");
                    if (attempt == kAttempts) throw;
                    continue;
                }
                write_all(report_fd,
                          "mariadb: port " + std::to_string(mariadb->port()) + ", ready in " +
                              std::to_string(ms_since(t)) + " ms (datadir: " +
                              (mariadb->prepared_from_template() ? "template copy " : "install ") +
                              std::to_string(mariadb->prepare_time().count()) + " ms)\n");
            }
            for (int attempt = 1; !redis; ++attempt) {
                const auto t = SteadyClock::now();
                try {
                    redis = std::make_unique<PrivateRedis>(shared / "redis",
                                                           tb::test::free_loopback_port());
                } catch (const std::exception& e) {
                    write_all(report_fd,
                              "redis attempt " + std::to_string(attempt) + ": " + e.what() + "\n");
                    if (attempt == kAttempts) throw;
                    continue;
                }
                write_all(report_fd, "redis: port " + std::to_string(redis->port()) +
                                         ", ready in " + std::to_string(ms_since(t)) + " ms\n");
            }
            const fs::path tmp = dir / "env.tmp";
            {
                std::ofstream out(tmp, std::ios::trunc);
                out << "mariadb_port=" << mariadb->port() << "\n"
                    << "mariadb_socket=" << mariadb->socket() << "\n"
                    << "mariadb_user=tablebus\n"
                    << "mariadb_password=tablebus\n"
                    << "redis_port=" << redis->port() << "\n"
                    << "keeper_pid=" << ::getpid() << "\n"
                    << "mariadb_pid=" << mariadb->pid() << "\n"
                    << "redis_pid=" << redis->pid() << "\n";
                if (!out.flush()) throw std::runtime_error("cannot write " + tmp.string());
            }
            fs::rename(tmp, dir / "env");
            write_all(report_fd, "ready\n");
            ::close(report_fd);
            report_fd = -1;

            for (;;) {
                const timespec second{1, 0};
                const int sig = ::sigtimedwait(&stop_signals, nullptr, &second);
                if (sig > 0) {
                    std::printf("signal %d: stopping\n", sig);
                    break;
                }
                if (!mariadb->running() || !redis->running()) {
                    std::printf("a server exited on its own:\n%s\n%s\n",
                                mariadb->describe().c_str(), redis->describe().c_str());
                    // keep waiting for stop: the tests report the failure
                }
            }
            redis->stop();
            mariadb->stop();
        } catch (const std::exception& e) {
            if (report_fd >= 0) write_all(report_fd, std::string("error: ") + e.what() + "\n");
            std::printf("error: %s\n", e.what());
            code = 1;
        }
    }  // the destructors stop what still runs
    std::fflush(stdout);
    std::exit(code);  // runs static destructors (ChildProcess's temporary directory)
}

int start(const fs::path& dir) {
    const auto t0 = SteadyClock::now();
    fs::create_directories(dir);
    clean(dir, /*purge=*/false);

    const int log_fd =
        ::open((dir / "keeper.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    int report[2];
    if (log_fd < 0 || null_fd < 0 || ::pipe2(report, O_CLOEXEC) != 0) {
        throw std::runtime_error(std::string("start: ") + std::strerror(errno));
    }
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t keeper = ::fork();
    if (keeper < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (keeper == 0) {
        // Its own session, and none of CTest's descriptors (CTest waits for its pipes to close).
        ::setsid();
        ::dup2(null_fd, 0);
        ::dup2(log_fd, 1);
        ::dup2(log_fd, 2);
        const int fd = ::fcntl(report[1], F_DUPFD_CLOEXEC, 3);
        ::syscall(SYS_close_range, 3U, static_cast<unsigned>(fd) - 1U, 0U);
        ::syscall(SYS_close_range, static_cast<unsigned>(fd) + 1U, ~0U, 0U);
        std::setvbuf(stdout, nullptr, _IOLBF, 0);
        keep(dir, fd);
    }
    ::close(report[1]);
    ::close(log_fd);
    ::close(null_fd);
    { std::ofstream(dir / "keeper.pid") << keeper << "\n"; }
    // Relay the keeper's report until it closes the pipe ("ready" last on success). CTest's
    // TIMEOUT bounds this; the keeper gives up on each server after 30 s anyway.
    std::string report_text;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(report[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        report_text.append(buf, static_cast<std::size_t>(n));
        std::fwrite(buf, 1, static_cast<std::size_t>(n), stdout);
    }
    ::close(report[0]);
    const bool ready =
        report_text.size() >= 6 && report_text.compare(report_text.size() - 6, 6, "ready\n") == 0;
    if (!ready) {
        std::fprintf(stderr, "tb-test-storage start: the keeper failed; %s:\n%s\n",
                     (dir / "keeper.log").c_str(), tb::test::read_file(dir / "keeper.log").c_str());
        int status = 0;
        ::waitpid(keeper, &status, 0);  // it exits after an error
        return 1;
    }
    std::printf("shared storage ready in %ld ms (keeper %d): %s\n", ms_since(t0),
                static_cast<int>(keeper), (dir / "env").c_str());
    return 0;
}

int stop(const fs::path& dir, bool purge) {
    const auto t0 = SteadyClock::now();
    clean(dir, purge);
    std::printf("shared storage stopped in %ld ms\n", ms_since(t0));
    return 0;
}

int usage() {
    std::fprintf(stderr, "usage: tb-test-storage start|stop --dir DIR [--purge]\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    if (argc < 2) return usage();
    const std::string command = argv[1];
    fs::path dir;
    bool purge = false;
    for (int i = 2; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--dir" && i + 1 < argc) {
            dir = argv[++i];
        } else if (arg == "--purge") {
            purge = true;
        } else {
            return usage();
        }
    }
    if (dir.empty()) return usage();
    try {
        dir = fs::absolute(dir).lexically_normal();
        if (command == "start") return start(dir);
        if (command == "stop") return stop(dir, purge);
        return usage();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "tb-test-storage %s: %s\n", command.c_str(), e.what());
        return 1;
    }
}
