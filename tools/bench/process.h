#pragma once
// Child processes for the benchmarks: started with fork/exec, stopped and reaped by the owning
// object (RAII), so a failed or interrupted run leaves nothing behind. Each child also gets
// PR_SET_PDEATHSIG(SIGKILL): should tb-bench itself be killed outright (SIGKILL, a crash), the
// kernel ends its children too.
//
// Threading: construct and destroy Child objects on the main thread (the death signal follows
// the thread that forked, not the process).

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tb::bench {

// This executable's path (/proc/self/exe resolved), for re-running it as a hidden subcommand.
std::string self_exe();
// CPU seconds (user + system, all threads) a process has used so far; 0 when unknown.
double cpu_seconds(pid_t pid);

// Busy and total jiffies of the whole machine (/proc/stat's "cpu" line): busy share between
// two readings = d(busy) / d(total).
std::pair<double, double> machine_jiffies();

// `name` in the directory holding this executable (tb-manager next to tb-bench).
std::string sibling_binary(const std::string& name);

// A free TCP port on 127.0.0.1 right now (bind to port 0), for servers tb-bench starts.
uint16_t free_loopback_port();

// How a child is started besides its argv.
struct ChildOptions {
    // "KEY=value" entries added to (or replacing in) the inherited environment: secrets go
    // here rather than on a command line that `ps` shows.
    std::vector<std::string> env;
    // When set, the child's stdout and stderr go to this file (appended) instead of to
    // tb-bench's stderr: for chatty programs (mariadb-install-db).
    std::string output;
};

class Child {
public:
    // Starts argv[0] with these arguments. stdin is /dev/null and the child's stdout goes to
    // tb-bench's stderr, so `--json` output stays clean. Throws std::runtime_error when the
    // program cannot be started (exec failure is reported by the child's exit code 127).
    Child(std::string name, std::vector<std::string> argv, const ChildOptions& options = {});
    ~Child();
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    // True while the process has not exited (reaps it if it has).
    bool running();
    // SIGTERM, up to `grace` for it to exit, then SIGKILL; always reaps. Idempotent.
    void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(2000)) noexcept;
    // "tb-manager (pid 123) exited with status 1", "... is running".
    std::string describe();
    // The exit status once it exited normally; -1 while running, or after a signal.
    int exit_code();
    const std::string& name() const noexcept { return name_; }
    pid_t pid() const noexcept { return pid_; }

private:
    std::string name_;
    pid_t pid_ = -1;
    std::optional<int> status_;  // waitpid status once reaped
};

// Runs a program to its end (or kills it after `limit`); returns its exit status (-1 on a
// signal or timeout). Throws Interrupted when a stop is requested meanwhile (the program is
// stopped first).
int run_to_end(const std::string& name, std::vector<std::string> argv,
               std::chrono::milliseconds limit, const ChildOptions& options = {});

}  // namespace tb::bench
