#pragma once
// The command lines of the private MariaDB and Redis servers that the tests start
// (tests/support/storage.cc) and `tb-bench db` starts (tools/bench/storage.cc). One copy, so
// that a benchmark's servers are configured exactly as the tests' are: loopback only, durable
// commits (--innodb-flush-log-at-trx-commit=1, never off), no binlog, a 16 MiB redo log (a fresh
// datadir is 34 MB instead of 114), Redis without persistence. How each side starts, waits for
// and stops the processes stays its own (the tests use the command-line clients, the bench our
// C++ clients). tools/cluster.sh, in bash, has its own copy with a larger buffer pool (128M, for
// a whole cluster under load); keep its durability flags in step with these.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace tb::storage {

inline constexpr const char* kMariaDbd = "/usr/sbin/mariadbd";

// The account the servers get for tablebus (both hosts, all privileges; see grant_statements).
inline constexpr const char* kUser = "tablebus";
inline constexpr const char* kPassword = "tablebus";

// The full path of `name` in the usual bin directories (the process helpers exec a path, not a
// name). Throws std::runtime_error "<name> not found (run tools/install-deps.sh)".
std::string find_program(std::string_view name);

// mariadb-install-db into `datadir`, with a tmpdir of its own: a starting mariadbd deletes the
// #sql temporary files it finds in its tmpdir, so bootstraps sharing /tmp broke each other.
std::vector<std::string> install_db_argv(const std::filesystem::path& datadir,
                                         const std::filesystem::path& tmpdir);

struct MariaDbdFiles {
    std::filesystem::path datadir;
    std::filesystem::path tmpdir;  // its own, for the reason above
    std::filesystem::path socket;
    std::filesystem::path pid_file;
    std::filesystem::path error_log;
};

// mariadbd on 127.0.0.1:`port` over `files`, --user=root when run as root.
std::vector<std::string> mariadbd_argv(uint16_t port, const MariaDbdFiles& files);

// What root runs once the server answers: kUser/kPassword for '%' and 'localhost', with all
// privileges (the tests create and drop schemas of their own).
const std::vector<std::string>& grant_statements();

// redis-server on 127.0.0.1:`port`, no persistence, working in `dir` and logging to
// dir/redis.log; with a pid file when `pid_file` is not empty.
std::vector<std::string> redis_server_argv(uint16_t port, const std::filesystem::path& dir,
                                           const std::filesystem::path& pid_file = {});

}  // namespace tb::storage
