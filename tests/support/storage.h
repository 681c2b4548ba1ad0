#pragma once
// MariaDB and Redis for tests: private server instances (PrivateMariaDb, PrivateRedis) and the
// pair shared by the whole CTest run (started by the `storage: start` fixture, tb-test-storage).
//
// How a test uses the shared servers (register it with tb_add_storage_tests in CMake):
//   const auto& s = tb::test::shared_storage();   // ports, socket, user; throws if not started
//   tb::test::TestSchema schema;                   // CREATE DATABASE tbt_...; dropped at scope end
//   tb::test::TestRedisPrefix keys;                // "tbt:...:" prefix; its keys deleted at end
//   // give the code under test s.host, s.mariadb_port, s.mariadb_user, s.mariadb_password,
//   // schema.name(), s.redis_port and keys.prefix(); check with mariadb_exec / redis_exec.
//
// A missing server is a failure, never a skip. Everything here goes through the `mariadb`,
// `mariadb-admin` and `redis-cli` command-line clients (run_command), not our C++ clients.
// Data lives under TB_TEST_STORAGE_DIR (<build>/test-storage): shared/ for the shared pair,
// private/ for per-test instances, mariadb-template/ a cached fresh datadir (copied, not
// re-initialized: copy + server ready ~0.25 s, against 0.9-1.9 s with mariadb-install-db).

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/process.h"

namespace tb::test {

// ---------------------------------------------------------------------------------------------
// The shared pair

struct StorageEndpoints {
    std::string host = "127.0.0.1";
    uint16_t mariadb_port = 0;
    std::string mariadb_socket;
    std::string mariadb_user;
    std::string mariadb_password;
    uint16_t redis_port = 0;
};

// TB_TEST_STORAGE_DIR, set by CMake (the fixture's --dir).
std::filesystem::path storage_dir();

// The shared servers, read once from storage_dir()/env. Throws std::runtime_error "shared
// storage not started: run through ctest (fixture storage)" when that file is missing.
const StorageEndpoints& shared_storage();

// Parses an env file (key=value lines) of tb-test-storage; empty map when it does not exist.
std::map<std::string, std::string> read_env_file(const std::filesystem::path& path);

// "<prefix>_<pid>_<counter>_<random>": unique across processes and runs, [a-z0-9_] only, so
// valid as a MariaDB schema name (<= 64 chars for a short prefix) and in a Redis key.
std::string unique_name(std::string_view prefix);

// Runs `sql` with the mariadb client (batch mode: tab-separated rows, no column names) as the
// tablebus user over TCP; returns its output. Throws std::runtime_error with the client's
// error when it fails.
std::string mariadb_exec(const StorageEndpoints& s, std::string_view sql,
                         std::string_view database = {});

// Runs one Redis command with redis-cli (raw output) against 127.0.0.1:`port`; returns its
// output without the trailing newline. Throws when redis-cli fails or answers "(error)...".
std::string redis_exec(uint16_t port, const std::vector<std::string>& args);

// A database of its own: created on construction (as the tablebus user), dropped on
// destruction (errors then are ignored: the fixture's cleanup removes everything anyway).
class TestSchema {
public:
    explicit TestSchema(const StorageEndpoints& s = shared_storage());
    ~TestSchema();
    TestSchema(const TestSchema&) = delete;
    TestSchema& operator=(const TestSchema&) = delete;

    const std::string& name() const noexcept { return name_; }
    // Runs SQL in this schema (mariadb_exec with the schema as default database).
    std::string exec(std::string_view sql) const;

private:
    StorageEndpoints endpoints_;
    std::string name_;
};

// A Redis key prefix of its own, "tbt:<pid>_<counter>_<random>:"; on destruction, the keys
// under it are deleted (SCAN + DEL). Use key("x") for "tbt:...:x".
class TestRedisPrefix {
public:
    explicit TestRedisPrefix(const StorageEndpoints& s = shared_storage());
    ~TestRedisPrefix();
    TestRedisPrefix(const TestRedisPrefix&) = delete;
    TestRedisPrefix& operator=(const TestRedisPrefix&) = delete;

    const std::string& prefix() const noexcept { return prefix_; }
    std::string key(std::string_view suffix) const { return prefix_ + std::string(suffix); }
    // Deletes every key under the prefix now; how many were deleted.
    std::size_t clear() const;

private:
    uint16_t port_;
    std::string prefix_;
};

// ---------------------------------------------------------------------------------------------
// Private server instances

// A MariaDB server of its own: `dir` holds data/ (a copy of storage_dir()/mariadb-template,
// created with mariadb-install-db on first use), mysqld.sock, mysqld.pid and error.log. The
// constructor starts it and waits (<= 30 s) until it answers, then creates the user
// tablebus/tablebus (@'%' and @localhost, ALL PRIVILEGES WITH GRANT OPTION). The server is a
// ChildProcess of the calling thread (it dies with it). The destructor stops it and removes
// data/ (unless TB_KEEP_TEST_LOGS is set).
class PrivateMariaDb {
public:
    // `template_dir`: where the fresh datadir is cached ("" = storage_dir()/mariadb-template).
    PrivateMariaDb(std::filesystem::path dir, uint16_t port,
                   std::filesystem::path template_dir = {});
    ~PrivateMariaDb();
    PrivateMariaDb(const PrivateMariaDb&) = delete;
    PrivateMariaDb& operator=(const PrivateMariaDb&) = delete;

    // Starts it again (same port and datadir) after stop(); no-op when running.
    void start();
    // SIGTERM (clean InnoDB shutdown), SIGKILL after `grace`.
    void stop(std::chrono::milliseconds grace = std::chrono::seconds(20));
    bool running();

    uint16_t port() const noexcept { return port_; }
    std::string socket() const { return socket_.string(); }
    const std::filesystem::path& dir() const noexcept { return dir_; }
    std::filesystem::path datadir() const { return dir_ / "data"; }
    pid_t pid() const noexcept { return process_ ? process_->pid() : -1; }
    // Endpoints for the tablebus user (redis_port 0).
    StorageEndpoints endpoints() const;
    // SQL as root over the socket (batch mode); throws on failure.
    std::string root_exec(std::string_view sql) const;
    // The tail of error.log, for failure messages.
    std::string describe() const;

    // How long the last datadir preparation took and whether it was a template copy.
    std::chrono::milliseconds prepare_time() const noexcept { return prepare_time_; }
    bool prepared_from_template() const noexcept { return from_template_; }

private:
    void prepare_datadir();

    std::filesystem::path dir_;
    std::filesystem::path template_dir_;
    std::filesystem::path socket_;
    uint16_t port_;
    std::unique_ptr<ChildProcess> process_;
    std::chrono::milliseconds prepare_time_{0};
    bool from_template_ = false;
};

// A Redis server of its own: no persistence (--save "" --appendonly no), so a restart starts
// empty. `dir` holds redis.log and redis.pid. Waits (<= 30 s) for PING.
class PrivateRedis {
public:
    PrivateRedis(std::filesystem::path dir, uint16_t port);
    ~PrivateRedis();
    PrivateRedis(const PrivateRedis&) = delete;
    PrivateRedis& operator=(const PrivateRedis&) = delete;

    void start();
    void stop(std::chrono::milliseconds grace = std::chrono::seconds(10));
    bool running();

    uint16_t port() const noexcept { return port_; }
    const std::filesystem::path& dir() const noexcept { return dir_; }
    pid_t pid() const noexcept { return process_ ? process_->pid() : -1; }
    std::string describe() const;

private:
    std::filesystem::path dir_;
    uint16_t port_;
    std::unique_ptr<ChildProcess> process_;
};

// A free TCP port on 127.0.0.1 (bind to port 0), for servers that must not use port_base().
uint16_t free_loopback_port();
// True when 127.0.0.1:`port` can be bound (with SO_REUSEADDR, as the servers bind).
bool loopback_port_free(uint16_t port);

// SIGTERM then SIGKILL (after `grace`) every mariadbd / redis-server running in or naming a
// path under `dir`; returns how many there were. For stale servers of a killed run.
int kill_servers_under(const std::filesystem::path& dir,
                       std::chrono::milliseconds grace = std::chrono::seconds(20));

}  // namespace tb::test
