#pragma once
// Private MariaDB and Redis servers for `tb-bench db`, started and stopped by tb-bench itself
// with the command lines the test harness uses (tools/storage/servers.h): loopback only,
// durable commits (--innodb-flush-log-at-trx-commit=1), no binlog, Redis without persistence. Both
// are Child processes (process.h): they die with tb-bench, and their destructors stop them and
// remove the data.
//
// Threading: construct and destroy on the main thread (see Child).

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tools/bench/process.h"
#include "tools/storage/servers.h"

namespace tb::bench {

// Where the servers' data lives by default: <bin>/../bench-storage (build/bench-storage), or
// a directory under $TMPDIR when that cannot be created.
std::filesystem::path default_storage_root();

// Removes run-<pid> directories under `root` whose tb-bench is gone (a killed run).
void remove_stale_runs(const std::filesystem::path& root);

class BenchMariaDb {
public:
    // Copies a fresh datadir from `template_dir` (made once with mariadb-install-db and cached
    // there) into run_dir/data, starts mariadbd on 127.0.0.1:`port`, waits until root can log
    // in over the socket (<= 60 s) and creates the user tablebus/tablebus with all privileges.
    // `extra_args` go to mariadbd after the standard flags (experiments only).
    BenchMariaDb(std::filesystem::path run_dir, std::filesystem::path template_dir, uint16_t port,
                 std::vector<std::string> extra_args = {});
    ~BenchMariaDb();
    BenchMariaDb(const BenchMariaDb&) = delete;
    BenchMariaDb& operator=(const BenchMariaDb&) = delete;

    uint16_t port() const noexcept { return port_; }
    const std::string& socket() const noexcept { return socket_; }
    std::filesystem::path datadir() const { return dir_ / "data"; }
    Child& child() { return *process_; }
    // "mariadbd (pid N) exited ..." and the tail of its error log.
    std::string describe();

private:
    void prepare_datadir(const std::filesystem::path& template_dir);

    std::filesystem::path dir_;
    std::string socket_;
    uint16_t port_;
    std::unique_ptr<Child> process_;
};

class BenchRedis {
public:
    // redis-server on 127.0.0.1:`port`, no persistence, logging into `dir`; waits for PING.
    BenchRedis(std::filesystem::path dir, uint16_t port);
    ~BenchRedis();
    BenchRedis(const BenchRedis&) = delete;
    BenchRedis& operator=(const BenchRedis&) = delete;

    uint16_t port() const noexcept { return port_; }
    Child& child() { return *process_; }
    std::string describe();

private:
    std::filesystem::path dir_;
    uint16_t port_;
    std::unique_ptr<Child> process_;
};

// What the disk under `dir` does for a commit: pwrite 4 KiB (cycling through a preallocated
// 1 MiB file, like a redo log) + fdatasync, repeatedly for `duration`; returns syncs per
// second, summed over `streams` threads doing the same on files of their own. The files are
// removed afterwards.
double measure_fsyncs(const std::filesystem::path& dir, std::chrono::milliseconds duration,
                      int streams = 1);

}  // namespace tb::bench
