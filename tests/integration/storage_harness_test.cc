// The storage harness itself (tests/support/storage.h): the shared MariaDB and Redis of the
// CTest run answer, TestSchema and TestRedisPrefix clean up after themselves, and private
// instances survive a stop and a start (MariaDB with its data; Redis, which persists nothing,
// empty). Private instances use port_base() slots 45..49.
#include <catch2/catch.hpp>
#include <set>

#include "tests/support/process.h"
#include "tests/support/storage.h"

using namespace std::chrono_literals;
using tb::test::mariadb_exec;
using tb::test::PrivateMariaDb;
using tb::test::PrivateRedis;
using tb::test::redis_exec;
using tb::test::shared_storage;
using tb::test::TestRedisPrefix;
using tb::test::TestSchema;

namespace {

// A port from our slot, moving to another range when something already listens there.
uint16_t private_port(int slot) {
    for (int attempt = 0; attempt < 5; ++attempt) {
        const uint16_t port = tb::test::port_base(slot, attempt);
        if (tb::test::loopback_port_free(port)) return port;
    }
    FAIL("no free port for slot " << slot);
    return 0;
}

std::filesystem::path private_dir(std::string_view what) {
    return tb::test::storage_dir() / "private" / tb::test::unique_name(what);
}

bool schema_exists(const std::string& name) {
    return mariadb_exec(shared_storage(),
                        "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '" +
                            name + "'") == "1\n";
}

}  // namespace

TEST_CASE("storage harness: the shared MariaDB answers as the tablebus user", "[storage]") {
    const auto& s = shared_storage();
    CHECK(s.host == "127.0.0.1");
    CHECK(s.mariadb_port != 0);
    CHECK(s.mariadb_user == "tablebus");
    CHECK(mariadb_exec(s, "SELECT 1 + 1") == "2\n");
    CHECK(mariadb_exec(s, "SELECT CURRENT_USER()") == "tablebus@%\n");
    CHECK(mariadb_exec(s, "SELECT @@port") == std::to_string(s.mariadb_port) + "\n");
    // The db node creates its own schemas: the user may.
    CHECK(mariadb_exec(s, "SHOW GRANTS").find("ALL PRIVILEGES ON *.*") != std::string::npos);
}

TEST_CASE("storage harness: the shared Redis answers PING", "[storage]") {
    const auto& s = shared_storage();
    CHECK(s.redis_port != 0);
    CHECK(s.redis_port != s.mariadb_port);
    CHECK(redis_exec(s.redis_port, {"PING"}) == "PONG");
}

TEST_CASE("storage harness: TestSchema creates and drops its schema", "[storage]") {
    std::string name;
    {
        TestSchema schema;
        name = schema.name();
        CHECK(name.rfind("tbt_", 0) == 0);
        CHECK(schema_exists(name));
        schema.exec("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB");
        schema.exec("INSERT INTO t VALUES (1, 'one'), (2, 'two')");
        CHECK(schema.exec("SELECT v FROM t ORDER BY id") == "one\ntwo\n");

        TestSchema other;
        CHECK(other.name() != name);
        CHECK(other.exec("SHOW TABLES").empty());
    }
    CHECK_FALSE(schema_exists(name));
}

TEST_CASE("storage harness: TestRedisPrefix deletes its own keys only", "[storage]") {
    const uint16_t port = shared_storage().redis_port;
    TestRedisPrefix outer;
    redis_exec(port, {"SET", outer.key("kept"), "1"});
    std::string prefix;
    {
        TestRedisPrefix keys;
        prefix = keys.prefix();
        CHECK(prefix.rfind("tbt:", 0) == 0);
        CHECK(prefix.back() == ':');
        CHECK(prefix != outer.prefix());
        std::vector<std::string> mset{"MSET"};
        for (int i = 0; i < 700; ++i) {  // more than one DEL batch
            mset.push_back(keys.key("k" + std::to_string(i)));
            mset.push_back("v");
        }
        redis_exec(port, mset);
        CHECK(redis_exec(port, {"EXISTS", keys.key("k699")}) == "1");
        redis_exec(port, {"HSET", keys.key("h"), "f", "v"});
    }
    CHECK(redis_exec(port, {"--scan", "--pattern", prefix + "*"}).empty());
    CHECK(redis_exec(port, {"GET", outer.key("kept")}) == "1");
    CHECK(outer.clear() == 1);
}

TEST_CASE("storage harness: unique_name gives distinct schema-safe names", "[storage]") {
    std::set<std::string> names;
    for (int i = 0; i < 100; ++i) {
        const std::string n = tb::test::unique_name("tbt");
        CHECK(n.size() <= 64);
        CHECK(n.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") == std::string::npos);
        names.insert(n);
    }
    CHECK(names.size() == 100);
}

TEST_CASE("storage harness: a private MariaDB keeps its data across stop and start", "[storage]") {
    PrivateMariaDb db(private_dir("mdb"), private_port(45));
    INFO(db.describe());
    INFO("datadir " << (db.prepared_from_template() ? "copied" : "installed") << " in "
                    << db.prepare_time().count() << " ms");
    REQUIRE(db.running());
    const auto s = db.endpoints();
    mariadb_exec(s, "CREATE DATABASE kept");
    mariadb_exec(s, "CREATE TABLE kept.t (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB");
    mariadb_exec(s, "INSERT INTO kept.t VALUES (1, 'before'), (2, 'stop')");

    db.stop();
    CHECK_FALSE(db.running());
    CHECK_THROWS(mariadb_exec(s, "SELECT 1"));

    db.start();
    REQUIRE(db.running());
    CHECK(mariadb_exec(s, "SELECT v FROM kept.t ORDER BY id") == "before\nstop\n");
    CHECK(mariadb_exec(s, "SELECT @@port") == std::to_string(db.port()) + "\n");
    // The socket works too, for root.
    CHECK(db.root_exec("SELECT COUNT(*) FROM kept.t") == "2\n");
}

TEST_CASE("storage harness: a private Redis restarts on the same port, empty", "[storage]") {
    PrivateRedis redis(private_dir("redis"), private_port(46));
    INFO(redis.describe());
    REQUIRE(redis.running());
    CHECK(redis_exec(redis.port(), {"PING"}) == "PONG");
    redis_exec(redis.port(), {"SET", "tbt:restart", "x"});

    redis.stop();
    CHECK_FALSE(redis.running());
    CHECK_THROWS(redis_exec(redis.port(), {"PING"}));

    redis.start();
    REQUIRE(redis.running());
    CHECK(redis_exec(redis.port(), {"PING"}) == "PONG");
    CHECK(redis_exec(redis.port(), {"EXISTS", "tbt:restart"}) == "0");  // --save "": no data
}
