#pragma once
// Real child processes for integration tests: start a binary of ours (tb-manager, a worker,
// tb-mon...), signal it, wait for it with a deadline, and always reap it, even when a REQUIRE
// fails half-way (the destructor SIGKILLs what is still running). run_command() runs a command
// to completion and captures what it printed.
//
// Children get /dev/null as stdin, the default signal mask and dispositions, and die with the
// test (PR_SET_PDEATHSIG) so a crashed or timed-out test leaves no process holding its ports.
// Their stdout and stderr go to two files in a per-test-process temporary directory, removed
// at exit unless TB_KEEP_TEST_LOGS is set (its path is printed then).
//
// Exit codes: a normal exit gives its status; death by a signal gives 128 + the signal number,
// as a shell reports it.
//
// Threading: a ChildProcess belongs to the thread that started it (PR_SET_PDEATHSIG fires when
// that thread ends). run_command() may be called from any thread.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tb::test {

// Where the build put our executables (TB_BIN_DIR, set by CMake), and the path of one of them.
std::filesystem::path bin_dir();
std::filesystem::path bin(std::string_view name);

// A directory private to this test process (created on first use).
std::filesystem::path temp_dir();

// The whole content of a file ("" when it does not exist).
std::string read_file(const std::filesystem::path& path);

// Whether a TCP listener could bind `port` on 127.0.0.1 now (with SO_REUSEADDR, as ours do).
bool loopback_port_bindable(uint16_t port);

// A base port for this test process: 20000 + 50 * r + slot, where r is a port range this
// process holds exclusively (a lock file per range, see process.cc; tests/integration/ports.sh
// takes the same locks), so test cases run in parallel by CTest (one process each) never share
// a port. Every slot 0..49 is free to a process; a cluster at base B also uses B + 1,
// B + 3333 and B + 3545. `attempt` claims a further range, for a retry after a port turned out
// to be taken by something outside the tests.
uint16_t port_base(int slot, int attempt = 0);

class ChildProcess {
public:
    // Starts `argv` (argv[0] is a path; bin("tb-manager") for ours). Throws std::runtime_error
    // with the reason when it cannot be started (no such file, not executable...).
    explicit ChildProcess(std::vector<std::string> argv);
    // SIGKILLs the child if it is still running and reaps it.
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    pid_t pid() const noexcept { return pid_; }
    const std::vector<std::string>& argv() const noexcept { return argv_; }

    // True until the child has exited (reaps it when it has).
    bool running();
    // Sends `sig`; false when the child is already gone.
    bool signal(int sig);
    // Waits up to `timeout` for the child to exit: its exit code, or nullopt while it runs.
    std::optional<int> wait(std::chrono::milliseconds timeout);
    // SIGTERM, then SIGKILL if it has not exited after `grace`; the exit code.
    int stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
    // The exit code once the child has been reaped.
    std::optional<int> exit_code() const noexcept { return exit_code_; }

    const std::filesystem::path& stdout_path() const noexcept { return stdout_path_; }
    const std::filesystem::path& stderr_path() const noexcept { return stderr_path_; }
    // What the child has written so far.
    std::string stdout_text() const { return read_file(stdout_path_); }
    std::string stderr_text() const { return read_file(stderr_path_); }
    // A few lines for a failed assertion: the command, its state and the tail of its stderr.
    std::string describe();

private:
    bool reap(bool block);

    std::vector<std::string> argv_;
    std::filesystem::path stdout_path_;
    std::filesystem::path stderr_path_;
    pid_t pid_ = -1;
    std::optional<int> exit_code_;
};

struct RunResult {
    int exit_code = -1;  // -1 when it timed out (it was killed)
    bool timed_out = false;
    std::string out;
    std::string err;
    std::chrono::milliseconds elapsed{0};
};

// Runs `argv` to completion (killing it after `timeout`) and returns what it printed.
// Throws std::runtime_error when it cannot be started.
RunResult run_command(const std::vector<std::string>& argv,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10));

// "arg0 arg1 ..." for messages.
std::string join_args(const std::vector<std::string>& argv);

}  // namespace tb::test
