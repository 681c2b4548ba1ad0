// tools/storage/servers.h: the private servers' command lines keep the properties the tests and
// tb-bench rely on (durable commits, loopback only, no persistence for Redis).

#include "tools/storage/servers.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace {

bool has(const std::vector<std::string>& argv, const std::string& arg) {
    return std::find(argv.begin(), argv.end(), arg) != argv.end();
}

// The value after `flag` in an argv of "--flag value" pairs ("" when absent or last).
std::string after(const std::vector<std::string>& argv, const std::string& flag) {
    const auto it = std::find(argv.begin(), argv.end(), flag);
    return it == argv.end() || it + 1 == argv.end() ? "" : *(it + 1);
}

}  // namespace

TEST_CASE("mariadbd commits durably, on loopback, without a binlog, in its own files",
          "[storage]") {
    const tb::storage::MariaDbdFiles files{"/d/data", "/d/tmp", "/d/s.sock", "/d/m.pid",
                                           "/d/error.log"};
    const auto argv = tb::storage::mariadbd_argv(33061, files);
    REQUIRE_FALSE(argv.empty());
    CHECK(argv[0] == tb::storage::kMariaDbd);
    CHECK(argv[1] == "--no-defaults");  // nothing from /etc/mysql may change the flags below
    CHECK(has(argv, "--innodb-flush-log-at-trx-commit=1"));
    CHECK(has(argv, "--skip-log-bin"));
    CHECK(has(argv, "--bind-address=127.0.0.1"));
    CHECK(has(argv, "--port=33061"));
    CHECK(has(argv, "--datadir=/d/data"));
    CHECK(has(argv, "--tmpdir=/d/tmp"));
    CHECK(has(argv, "--socket=/d/s.sock"));
    CHECK(has(argv, "--pid-file=/d/m.pid"));
    CHECK(has(argv, "--log-error=/d/error.log"));
}

TEST_CASE("mariadb-install-db makes a datadir of the same redo-log size as the server's",
          "[storage]") {
    const auto argv = tb::storage::install_db_argv("/t/data", "/t/tmp");
    const auto server = tb::storage::mariadbd_argv(1, {});
    CHECK(has(argv, "--datadir=/t/data"));
    CHECK(has(argv, "--tmpdir=/t/tmp"));
    const auto log_size = [](const std::vector<std::string>& a) {
        const auto it = std::find_if(a.begin(), a.end(), [](const std::string& s) {
            return s.rfind("--innodb-log-file-size=", 0) == 0;
        });
        return it == a.end() ? std::string() : *it;
    };
    CHECK_FALSE(log_size(argv).empty());
    CHECK(log_size(argv) == log_size(server));
}

TEST_CASE("redis-server keeps nothing on disk and listens on loopback only", "[storage]") {
    const auto argv = tb::storage::redis_server_argv(16379, "/r");
    CHECK(after(argv, "--port") == "16379");
    CHECK(after(argv, "--bind") == "127.0.0.1");
    CHECK(after(argv, "--save").empty());
    CHECK(has(argv, "--save"));
    CHECK(after(argv, "--appendonly") == "no");
    CHECK(after(argv, "--logfile") == "/r/redis.log");
    CHECK_FALSE(has(argv, "--pidfile"));
    CHECK(after(tb::storage::redis_server_argv(1, "/r", "/r/redis.pid"), "--pidfile") ==
          "/r/redis.pid");
}

TEST_CASE("the grants create the tablebus user for both hosts", "[storage]") {
    const auto& sql = tb::storage::grant_statements();
    REQUIRE(sql.size() == 4);
    for (const char* host : {"'tablebus'@'%'", "'tablebus'@'localhost'"}) {
        CHECK(std::count_if(sql.begin(), sql.end(), [&](const std::string& s) {
                  return s.find(host) != std::string::npos;
              }) == 2);
    }
    CHECK(sql[0] == "CREATE USER IF NOT EXISTS 'tablebus'@'%' IDENTIFIED BY 'tablebus'");
}

TEST_CASE("a program that is not installed is named in the error", "[storage]") {
    CHECK_THROWS_WITH(tb::storage::find_program("tb-no-such-program"),
                      Catch::Contains("tb-no-such-program not found"));
    CHECK_FALSE(tb::storage::find_program("sh").empty());
}
