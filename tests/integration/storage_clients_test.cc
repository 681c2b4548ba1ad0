// The MariaDB and Redis clients of tb-db (nodes/common/mariadb.h, redis.h) against the real
// servers of the CTest run (tests/support/storage.h: each test case gets a schema and a Redis
// key prefix of its own). What matters to tb-db: values of every type survive a round trip
// unchanged (NULL, NUL bytes, long and 4-byte UTF-8 strings), failures arrive as the DbStatus
// the caller acts on (duplicate, retry, connection), a broken connection is closed and can be
// reopened, transactions roll back unless committed, and secrets never reach a message.
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "nodes/common/mariadb.h"
#include "nodes/common/redis.h"
#include "tests/support/storage.h"

namespace tb::test {
namespace {

using namespace std::chrono_literals;
using common::DbException;
using common::DbStatus;
using common::MariaDb;
using common::MariaDbConfig;
using common::Redis;
using common::RedisConfig;
using common::RedisValue;
using common::Rows;
using common::Statement;
using common::Transaction;
using common::with_transaction;
using SteadyClock = std::chrono::steady_clock;

MariaDbConfig mariadb_config(const TestSchema& schema) {
    const auto& s = shared_storage();
    MariaDbConfig cfg;
    cfg.host = s.host;
    cfg.port = s.mariadb_port;
    cfg.user = s.mariadb_user;
    cfg.password = s.mariadb_password;
    cfg.database = schema.name();
    return cfg;
}

MariaDb connected(const MariaDbConfig& cfg) {
    MariaDb db(cfg);
    db.connect();
    return db;
}

RedisConfig redis_config(const TestRedisPrefix& keys) {
    RedisConfig cfg;
    cfg.host = shared_storage().host;
    cfg.port = shared_storage().redis_port;
    cfg.key_prefix = keys.prefix();
    return cfg;
}

// Runs fn and returns the DbException it throws; fails the test if it throws nothing.
template <class Fn>
DbException db_error(Fn&& fn) {
    try {
        fn();
    } catch (const DbException& e) {
        return e;
    }
    FAIL("no DbException thrown");
    return DbException(DbStatus::kOk, 0, "");
}

std::string bytes_0_to_255(std::size_t size) {
    std::string out(size, '\0');
    for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<char>(i % 256);
    return out;
}

double seconds_since(SteadyClock::time_point t) {
    return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

// A two-party rendezvous with a deadline (std::latch cannot time out): a thread that failed
// before arriving must not hang the other until the CTest timeout.
class Rendezvous {
public:
    bool arrive_and_wait(std::chrono::milliseconds limit) {
        std::unique_lock lock(mutex_);
        ++arrived_;
        cv_.notify_all();
        return cv_.wait_for(lock, limit, [&] { return arrived_ >= 2; });
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    int arrived_ = 0;
};

// ---------------------------------------------------------------------------------------------
// MariaDB

TEST_CASE("mariadb: connecting to a closed port fails fast with kConnection", "[storage]") {
    MariaDbConfig cfg;
    cfg.host = "127.0.0.1";
    cfg.port = free_loopback_port();
    cfg.password = "hunter2-secret";
    cfg.connect_timeout_s = 2;
    MariaDb db(cfg);

    const auto t0 = SteadyClock::now();
    const DbException e = db_error([&] { db.connect(); });
    CHECK(seconds_since(t0) <= 2.5);
    CHECK(e.status() == DbStatus::kConnection);
    CHECK(e.connection_lost());
    CHECK(e.code() != 0);
    CHECK(std::string(e.what()).find("hunter2") == std::string::npos);
    CHECK_FALSE(db.connected());
    CHECK_FALSE(db.ping());

    // Everything else on a closed connection is kConnection too, never a crash.
    CHECK(db_error([&] { db.prepare("SELECT 1"); }).status() == DbStatus::kConnection);
    CHECK(db_error([&] { db.execute("SELECT 1"); }).status() == DbStatus::kConnection);
    CHECK(db_error([&] { db.query("SELECT 1"); }).status() == DbStatus::kConnection);
    CHECK(db_error([&] { db.begin(); }).status() == DbStatus::kConnection);
    db.rollback();  // noexcept and harmless
}

TEST_CASE("mariadb: a wrong password is kConnection and not in the message", "[storage]") {
    TestSchema schema;
    MariaDbConfig cfg = mariadb_config(schema);
    cfg.password = "not-the-password-42";
    MariaDb db(cfg);
    const DbException e = db_error([&] { db.connect(); });
    CHECK(e.status() == DbStatus::kConnection);
    CHECK(e.code() == 1045);  // ER_ACCESS_DENIED_ERROR
    CHECK(std::string(e.what()).find("not-the-password") == std::string::npos);
    CHECK_FALSE(db.connected());
}

TEST_CASE("mariadb: sessions are utf8mb4 with autocommit, over TCP and the socket", "[storage]") {
    TestSchema schema;
    MariaDbConfig cfg = mariadb_config(schema);
    SECTION("tcp") {}
    SECTION("unix socket") {
        cfg.unix_socket = shared_storage().mariadb_socket;
        cfg.host = "ignored.invalid";
    }
    MariaDb db = connected(cfg);
    REQUIRE(db.connected());
    CHECK(db.ping());
    const Rows rows = db.query(
        "SELECT @@character_set_client, @@character_set_connection, @@character_set_results, "
        "@@autocommit, DATABASE()");
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].str(0) == "utf8mb4");
    CHECK(rows[0].str(1) == "utf8mb4");
    CHECK(rows[0].str(2) == "utf8mb4");
    CHECK(rows[0].i64(3) == 1);
    CHECK(rows[0].str(4) == schema.name());
    CHECK_FALSE(db.in_transaction());
    db.close();
    CHECK_FALSE(db.connected());
    db.close();  // idempotent
}

TEST_CASE("mariadb: every argument type round trips through a prepared statement", "[storage]") {
    TestSchema schema;
    MariaDb db = connected(mariadb_config(schema));
    db.execute(
        "CREATE TABLE v ("
        " id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
        " i64 BIGINT NULL, u64 BIGINT UNSIGNED NULL, i32 INT NULL, small TINYINT NULL,"
        " flag BOOL NULL, d DOUBLE NULL, f FLOAT NULL, dec_ DECIMAL(20,4) NULL,"
        " s VARCHAR(255) NULL, t MEDIUMTEXT NULL, b MEDIUMBLOB NULL, vb VARBINARY(64) NULL,"
        " dt DATETIME NULL, dt6 DATETIME(6) NULL"
        ") ENGINE=InnoDB CHARACTER SET utf8mb4");

    const std::string emoji = "Royal flush \xF0\x9F\x82\xA1 \xF0\x9F\x98\x80 \xE2\x99\xA0 \xC3\xA9";
    const std::string binary("a\0b\r\n\xff\x00z", 8);
    const std::string_view view = "a string_view";
    const char* c_string = "a C string";
    const std::optional<int32_t> no_int;
    const std::optional<std::string> some_text = "optional text";

    Statement& insert = db.prepare(
        "INSERT INTO v (i64, u64, i32, small, flag, d, f, dec_, s, t, b, vb, dt, dt6) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    CHECK(insert.exec(std::numeric_limits<int64_t>::min(), std::numeric_limits<uint64_t>::max(),
                      int32_t{-42}, int8_t{-7}, true, 0.1, 1.5f, "12345.6789", emoji,
                      std::string(view), binary, binary, "2024-05-01 12:34:56",
                      "2024-05-01 12:34:56.123456") == 1);
    const uint64_t first_id = insert.last_insert_id();
    CHECK(first_id > 0);

    // The other argument types, and NULL in each of its spellings.
    CHECK(insert.exec(std::numeric_limits<int64_t>::max(), uint16_t{65535}, no_int, nullptr, false,
                      -2.5e300, std::optional<double>{}, nullptr, view, c_string, std::string(),
                      some_text, nullptr, std::optional<std::string>{}) == 1);
    const uint64_t second_id = insert.last_insert_id();
    CHECK(second_id == first_id + 1);

    Statement& select = db.prepare(
        "SELECT i64, u64, i32, small, flag, d, f, dec_, s, t, b, vb, dt, dt6, NULL "
        "FROM v WHERE id = ?");

    SECTION("prepared results") {
        const Rows a = select.query(first_id);
        REQUIRE(a.size() == 1);
        const auto& r = a[0];
        REQUIRE(r.size() == 15);
        CHECK(r.i64(0) == std::numeric_limits<int64_t>::min());
        CHECK(r.u64(1) == std::numeric_limits<uint64_t>::max());
        CHECK(r.i64(2) == -42);
        CHECK(r.i64(3) == -7);
        CHECK(r.i64(4) == 1);
        CHECK(r.f64(5) == 0.1);
        CHECK(r.f64(6) == 1.5);
        CHECK(r.str(7) == "12345.6789");
        CHECK(r.f64(7) == Approx(12345.6789));
        CHECK(r.str(8) == emoji);
        CHECK(r.str(9) == "a string_view");
        CHECK(r.str(10) == binary);
        CHECK(r.str(11) == binary);
        CHECK(r.str(12) == "2024-05-01 12:34:56");
        CHECK(r.str(13) == "2024-05-01 12:34:56.123456");
        CHECK(r.is_null(14));
        CHECK_FALSE(r.is_null(0));

        const Rows b = select.query(second_id);
        REQUIRE(b.size() == 1);
        CHECK(b[0].i64(0) == std::numeric_limits<int64_t>::max());
        CHECK(b[0].u64(1) == 65535);
        CHECK(b[0].is_null(2));
        CHECK(b[0].is_null(3));
        CHECK(b[0].i64(4) == 0);
        CHECK(b[0].f64(5) == -2.5e300);
        CHECK(b[0].is_null(6));
        CHECK(b[0].is_null(7));
        CHECK(b[0].str(8) == "a string_view");
        CHECK(b[0].str(9) == "a C string");
        CHECK_FALSE(b[0].is_null(10));  // an empty string is not NULL
        CHECK(b[0].str(10).empty());
        CHECK(b[0].str(11) == "optional text");
        CHECK(b[0].is_null(12));
        CHECK(b[0].is_null(13));
    }

    SECTION("text protocol results read the same") {
        const Rows a = db.query("SELECT i64, u64, i32, dec_, s, b, dt, NULL FROM v WHERE id = " +
                                std::to_string(first_id));
        REQUIRE(a.size() == 1);
        CHECK(a[0].i64(0) == std::numeric_limits<int64_t>::min());
        CHECK(a[0].u64(1) == std::numeric_limits<uint64_t>::max());
        CHECK(a[0].i64(2) == -42);
        CHECK(a[0].str(3) == "12345.6789");
        CHECK(a[0].str(4) == emoji);
        CHECK(a[0].str(5) == binary);
        CHECK(a[0].str(6) == "2024-05-01 12:34:56");
        CHECK(a[0].is_null(7));
    }

    SECTION("getters refuse NULL, bad conversions and bad indexes") {
        const Rows rows = select.query(first_id);
        const auto& r = rows[0];
        CHECK(db_error([&] { (void)r.i64(14); }).status() == DbStatus::kError);
        CHECK(db_error([&] { (void)r.str(14); }).status() == DbStatus::kError);
        CHECK(db_error([&] { (void)r.i64(7); }).status() == DbStatus::kError);  // 12345.6789
        CHECK(db_error([&] { (void)r.u64(0); }).status() == DbStatus::kError);  // negative
        CHECK(db_error([&] { (void)r.i64(1); }).status() == DbStatus::kError);  // > int64 max
        CHECK(db_error([&] { (void)r.f64(8); }).status() == DbStatus::kError);  // text
        CHECK_THROWS_AS(r.is_null(15), std::out_of_range);
        CHECK_THROWS_AS(r.str(99), std::out_of_range);
    }

    SECTION("a wrong argument count is kError and the statement stays usable") {
        CHECK(db_error([&] { select.query(); }).status() == DbStatus::kError);
        CHECK(db_error([&] { select.query(1, 2); }).status() == DbStatus::kError);
        CHECK(select.query(first_id).size() == 1);
    }

    SECTION("no rows, and exec of a SELECT discards its rows") {
        CHECK(select.query(uint64_t{999999}).empty());
        select.exec(first_id);
        CHECK(db.query("SELECT COUNT(*) FROM v")[0].i64(0) == 2);
    }
}

TEST_CASE("mariadb: long values are fetched whole", "[storage]") {
    TestSchema schema;
    MariaDb db = connected(mariadb_config(schema));
    db.execute(
        "CREATE TABLE big (id INT PRIMARY KEY, t MEDIUMTEXT NOT NULL, b MEDIUMBLOB NOT NULL) "
        "ENGINE=InnoDB CHARACTER SET utf8mb4");

    const std::string just_over(257, 'x');
    const std::string exactly(256, 'y');
    std::string text;  // 64 KiB of 4-byte characters and ASCII
    while (text.size() < 64 * 1024) text += "\xF0\x9F\x83\x8F spades ";
    const std::string blob = bytes_0_to_255(64 * 1024);

    Statement& insert = db.prepare("INSERT INTO big (id, t, b) VALUES (?, ?, ?)");
    insert.exec(1, just_over, exactly);
    insert.exec(2, text, blob);
    insert.exec(3, "short", std::string_view("\0", 1));

    const Rows rows = db.prepare("SELECT id, t, b, LENGTH(b) FROM big ORDER BY id").query();
    REQUIRE(rows.size() == 3);
    CHECK(rows[0].str(1) == just_over);
    CHECK(rows[0].str(2) == exactly);
    CHECK(rows[1].str(1).size() == text.size());
    CHECK(rows[1].str(1) == text);
    CHECK(rows[1].str(2) == blob);
    CHECK(rows[1].i64(3) == 64 * 1024);
    // Short values after long ones in the same column: the buffers are not left oversized.
    CHECK(rows[2].str(1) == "short");
    CHECK(rows[2].str(2) == std::string("\0", 1));

    const Rows text_rows = db.query("SELECT t, b FROM big WHERE id = 2");
    CHECK(text_rows[0].str(0) == text);
    CHECK(text_rows[0].str(1) == blob);
}

TEST_CASE("mariadb: a duplicate key is kDuplicate, without the value in the message", "[storage]") {
    TestSchema schema;
    MariaDb db = connected(mariadb_config(schema));
    db.execute(
        "CREATE TABLE users (id INT PRIMARY KEY AUTO_INCREMENT, account VARCHAR(64) NOT NULL,"
        " token VARCHAR(64) NOT NULL, UNIQUE KEY uk_account (account),"
        " UNIQUE KEY uk_token (token)) ENGINE=InnoDB");
    Statement& insert = db.prepare("INSERT INTO users (account, token) VALUES (?, ?)");
    insert.exec("alice", "secret-token-one");

    const DbException by_token = db_error([&] { insert.exec("bob", "secret-token-one"); });
    CHECK(by_token.status() == DbStatus::kDuplicate);
    CHECK(by_token.code() == 1062);
    const std::string message = by_token.what();
    CHECK(message.find("secret-token") == std::string::npos);
    CHECK(message.find("uk_token") != std::string::npos);  // which key: what an operator needs
    CHECK(message.find("INSERT INTO users") != std::string::npos);

    // A value with quotes in it is redacted whole.
    insert.exec("it's 'quoted'", "token-two");
    const DbException quoted = db_error([&] { insert.exec("it's 'quoted'", "token-three"); });
    CHECK(quoted.status() == DbStatus::kDuplicate);
    CHECK(std::string(quoted.what()).find("quoted") == std::string::npos);
    CHECK(std::string(quoted.what()).find("uk_account") != std::string::npos);

    // The text protocol maps it the same way; the connection stays usable after either.
    CHECK(db_error([&] {
              db.execute("INSERT INTO users (account, token) VALUES ('alice', 'x')");
          }).status() == DbStatus::kDuplicate);
    CHECK(db.connected());
    CHECK(db.query("SELECT COUNT(*) FROM users")[0].i64(0) == 2);

    // Other server errors are kError and keep the connection.
    const DbException bad_sql = db_error([&] { db.prepare("SELEKT nothing"); });
    CHECK(bad_sql.status() == DbStatus::kError);
    CHECK(bad_sql.code() == 1064);
    CHECK(db.connected());
    CHECK(db_error([&] { insert.exec(nullptr, "t"); }).status() == DbStatus::kError);  // NOT NULL
    CHECK(db.connected());
}

TEST_CASE("mariadb: query_batch returns each statement's rows and stops at the first failure",
          "[storage]") {
    TestSchema schema;
    MariaDb db = connected(mariadb_config(schema));
    db.execute("CREATE TABLE kv (id INT PRIMARY KEY, v VARBINARY(200) NOT NULL) ENGINE=InnoDB");

    // Values reach the text only through quote(): quotes, backslashes, NUL, 4-byte UTF-8 and
    // SQL that would run if it were not escaped all arrive unchanged.
    const std::vector<std::string> values{"plain",
                                          "it's",
                                          "back\\slash",
                                          std::string("nul\0byte", 8),
                                          "\xF0\x9F\x83\x8F",
                                          "'); DROP TABLE kv; --",
                                          ""};
    std::string sql;
    for (std::size_t i = 0; i < values.size(); ++i) {
        sql += "INSERT INTO kv VALUES (" + std::to_string(i) + ", " + db.quote(values[i]) + "); ";
    }
    sql += "SELECT v FROM kv ORDER BY id; SELECT COUNT(*) FROM kv";
    const auto results = db.query_batch(sql, "test: insert values");
    REQUIRE(results.size() == values.size() + 2);
    for (std::size_t i = 0; i < values.size(); ++i) CHECK(results[i].empty());
    REQUIRE(results[values.size()].size() == values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
        CHECK(results[values.size()][i].str(0) == values[i]);
    }
    CHECK(results[values.size() + 1][0].i64(0) == static_cast<int64_t>(values.size()));

    // A failing statement: those before it ran, none after it did, and the message names the
    // label, never the SQL or the values in it. The connection stays usable.
    const DbException dup = db_error([&] {
        db.query_batch(
            "INSERT INTO kv VALUES (100, 'first'); INSERT INTO kv VALUES (0, "
            "'secret-value'); INSERT INTO kv VALUES (101, 'after')",
            "test: the duplicate");
    });
    CHECK(dup.status() == DbStatus::kDuplicate);
    const std::string message = dup.what();
    CHECK(message.find("test: the duplicate") != std::string::npos);
    CHECK(message.find("secret-value") == std::string::npos);
    CHECK(message.find("INSERT") == std::string::npos);
    CHECK(db.connected());
    CHECK(db.query("SELECT COUNT(*) FROM kv WHERE id = 100")[0].i64(0) == 1);
    CHECK(db.query("SELECT COUNT(*) FROM kv WHERE id = 101")[0].i64(0) == 0);

    // A transaction begun in a batch is open after it, and a rollback undoes its work.
    db.query_batch("START TRANSACTION; INSERT INTO kv VALUES (200, 'undone')", "test: begin");
    CHECK(db.in_transaction());
    db.rollback();
    CHECK_FALSE(db.in_transaction());
    CHECK(db.query("SELECT COUNT(*) FROM kv WHERE id = 200")[0].i64(0) == 0);

    // A batch ending in COMMIT leaves no transaction open.
    db.query_batch("START TRANSACTION; INSERT INTO kv VALUES (201, 'kept'); COMMIT",
                   "test: commit");
    CHECK_FALSE(db.in_transaction());
    CHECK(db.query("SELECT COUNT(*) FROM kv WHERE id = 201")[0].i64(0) == 1);

    db.close();
    CHECK(db_error([&] { db.quote("x"); }).status() == DbStatus::kConnection);
    CHECK(db_error([&] { db.query_batch("SELECT 1", "test: closed"); }).status() ==
          DbStatus::kConnection);
}

TEST_CASE("mariadb: the statement cache returns one Statement per SQL text", "[storage]") {
    TestSchema schema;
    MariaDb db = connected(mariadb_config(schema));
    const std::string sql = "SELECT ? + 1";
    Statement& a = db.prepare(sql);
    Statement& b = db.prepare(std::string_view(sql));
    Statement& c = db.prepare("SELECT ? + 2");
    CHECK(&a == &b);
    CHECK(&a != &c);
    CHECK(a.sql() == sql);
    CHECK(a.query(41)[0].i64(0) == 42);

    // The Statement survives a reconnect (re-prepared on the new session) and a move of its
    // connection.
    db.close();
    CHECK(db_error([&] { a.query(1); }).status() == DbStatus::kConnection);
    db.connect();
    CHECK(a.query(1)[0].i64(0) == 2);
    CHECK(&db.prepare(sql) == &a);
    MariaDb moved(std::move(db));
    CHECK(&moved.prepare(sql) == &a);
    CHECK(a.query(2)[0].i64(0) == 3);
    CHECK(c.query(2)[0].i64(0) == 4);

    // A failed prepare is not cached.
    CHECK(db_error([&] { moved.prepare("SELECT FROM WHERE"); }).status() == DbStatus::kError);
    CHECK(db_error([&] { moved.prepare("SELECT FROM WHERE"); }).status() == DbStatus::kError);
}

TEST_CASE("mariadb: a killed connection is kConnection, closed, and can be reopened", "[storage]") {
    TestSchema schema;
    const MariaDbConfig cfg = mariadb_config(schema);
    MariaDb db = connected(cfg);
    MariaDb killer = connected(cfg);
    Statement& add = db.prepare("SELECT ? + 1");
    REQUIRE(add.query(1)[0].i64(0) == 2);

    const auto kill = [&] {
        const int64_t id = db.query("SELECT CONNECTION_ID()")[0].i64(0);
        killer.execute("KILL CONNECTION " + std::to_string(id));
    };

    SECTION("prepared statement") {
        kill();
        const DbException e = db_error([&] { add.query(1); });
        CHECK(e.status() == DbStatus::kConnection);
        CHECK(e.connection_lost());
    }
    SECTION("text protocol") {
        kill();
        CHECK(db_error([&] { db.query("SELECT 1"); }).status() == DbStatus::kConnection);
    }
    SECTION("ping") {
        kill();
        CHECK_FALSE(db.ping());
    }
    CHECK_FALSE(db.connected());
    // The caller's pool reconnects; statements it holds work again.
    db.connect();
    CHECK(add.query(41)[0].i64(0) == 42);
}

TEST_CASE("mariadb: Transaction rolls back unless committed", "[storage]") {
    TestSchema schema;
    MariaDb db = connected(mariadb_config(schema));
    db.execute("CREATE TABLE t (id INT PRIMARY KEY) ENGINE=InnoDB");
    Statement& insert = db.prepare("INSERT INTO t (id) VALUES (?)");
    const auto count = [&] { return db.query("SELECT COUNT(*) FROM t")[0].i64(0); };

    {
        Transaction tx(db);
        CHECK(db.in_transaction());
        insert.exec(1);
        CHECK(count() == 1);  // visible inside
    }
    CHECK_FALSE(db.in_transaction());
    CHECK(count() == 0);

    try {
        Transaction tx(db);
        insert.exec(2);
        insert.exec(2);  // duplicate: throws out of the scope
        tx.commit();
    } catch (const DbException& e) {
        CHECK(e.status() == DbStatus::kDuplicate);
    }
    CHECK(count() == 0);

    {
        Transaction tx(db);
        insert.exec(3);
        // START TRANSACTION inside a transaction would commit it: refused.
        CHECK(db_error([&] { Transaction nested(db); }).status() == DbStatus::kError);
        CHECK(db.in_transaction());
        tx.commit();
    }
    CHECK(count() == 1);

    // Autocommit is back on after a transaction.
    insert.exec(4);
    MariaDb other = connected(mariadb_config(schema));
    CHECK(other.query("SELECT COUNT(*) FROM t")[0].i64(0) == 2);
}

TEST_CASE("mariadb: a lock wait timeout is kRetry", "[storage]") {
    TestSchema schema;
    const MariaDbConfig cfg = mariadb_config(schema);
    MariaDb holder = connected(cfg);
    MariaDb waiter = connected(cfg);
    holder.execute("CREATE TABLE t (id INT PRIMARY KEY, n INT NOT NULL) ENGINE=InnoDB");
    holder.execute("INSERT INTO t VALUES (1, 0)");
    waiter.execute("SET SESSION innodb_lock_wait_timeout = 1");

    Transaction tx(holder);
    holder.prepare("UPDATE t SET n = n + 1 WHERE id = ?").exec(1);
    const DbException e =
        db_error([&] { waiter.prepare("UPDATE t SET n = n + 1 WHERE id = ?").exec(1); });
    CHECK(e.status() == DbStatus::kRetry);
    CHECK(e.code() == 1205);
    CHECK(waiter.connected());
}

TEST_CASE("mariadb: with_transaction retries a deadlock and succeeds", "[storage]") {
    TestSchema schema;
    const MariaDbConfig cfg = mariadb_config(schema);
    {
        MariaDb setup = connected(cfg);
        setup.execute("CREATE TABLE seats (id INT PRIMARY KEY, n INT NOT NULL) ENGINE=InnoDB");
        setup.execute("INSERT INTO seats VALUES (1, 0), (2, 0)");
    }

    // Two threads lock rows 1 and 2 in opposite orders; the rendezvous makes sure each holds
    // its first row before asking for the second, so InnoDB must pick a deadlock victim. Only
    // the first attempt waits, so the victim's retry just queues behind the winner.
    Rendezvous both_hold_first;
    std::atomic<int> calls{0};
    std::atomic<bool> rendezvous_timed_out{false};
    const auto worker = [&](int first, int second, int& result, std::exception_ptr& error) {
        try {
            MariaDb db = connected(cfg);
            db.execute("SET SESSION innodb_lock_wait_timeout = 20");
            bool first_attempt = true;
            result = with_transaction(db, [&](MariaDb& tx_db) {
                calls.fetch_add(1);
                Statement& bump = tx_db.prepare("UPDATE seats SET n = n + 1 WHERE id = ?");
                bump.exec(first);
                if (first_attempt) {
                    first_attempt = false;
                    if (!both_hold_first.arrive_and_wait(10s)) rendezvous_timed_out = true;
                }
                bump.exec(second);
                return first;
            });
        } catch (...) {
            error = std::current_exception();
        }
    };
    int result_a = 0;
    int result_b = 0;
    std::exception_ptr error_a;
    std::exception_ptr error_b;
    std::thread a(worker, 1, 2, std::ref(result_a), std::ref(error_a));
    std::thread b(worker, 2, 1, std::ref(result_b), std::ref(error_b));
    a.join();
    b.join();
    if (error_a) std::rethrow_exception(error_a);
    if (error_b) std::rethrow_exception(error_b);

    CHECK_FALSE(rendezvous_timed_out);
    CHECK(result_a == 1);
    CHECK(result_b == 2);
    CHECK(calls == 3);  // one victim, retried once
    MariaDb check = connected(cfg);
    const Rows rows = check.query("SELECT n FROM seats ORDER BY id");
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].i64(0) == 2);
    CHECK(rows[1].i64(0) == 2);
}

TEST_CASE("mariadb: with_transaction rethrows what it must not retry", "[storage]") {
    TestSchema schema;
    MariaDb db = connected(mariadb_config(schema));
    db.execute("CREATE TABLE t (id INT PRIMARY KEY) ENGINE=InnoDB");
    const auto count = [&] { return db.query("SELECT COUNT(*) FROM t")[0].i64(0); };

    int calls = 0;
    const DbException dup = db_error([&] {
        with_transaction(db, [&](MariaDb& d) {
            ++calls;
            d.prepare("INSERT INTO t VALUES (?)").exec(1);
            d.prepare("INSERT INTO t VALUES (?)").exec(1);
        });
    });
    CHECK(dup.status() == DbStatus::kDuplicate);
    CHECK(calls == 1);
    CHECK(count() == 0);  // rolled back

    calls = 0;
    const DbException retry = db_error([&] {
        with_transaction(
            db,
            [&](MariaDb& d) {
                ++calls;
                d.prepare("INSERT INTO t VALUES (?)").exec(calls);
                throw DbException(DbStatus::kRetry, 1213, "simulated deadlock");
            },
            3);
    });
    CHECK(retry.status() == DbStatus::kRetry);
    CHECK(calls == 3);
    CHECK(count() == 0);

    calls = 0;
    CHECK_THROWS_AS(with_transaction(db,
                                     [&](MariaDb&) {
                                         ++calls;
                                         throw std::logic_error("not a database error");
                                     }),
                    std::logic_error);
    CHECK(calls == 1);
    CHECK_FALSE(db.in_transaction());

    with_transaction(db, [](MariaDb& d) { d.prepare("INSERT INTO t VALUES (?)").exec(7); });
    CHECK(count() == 1);
}

TEST_CASE("mariadb: error codes map to statuses", "[storage]") {
    using common::classify_mariadb_error;
    CHECK(classify_mariadb_error(0) == DbStatus::kOk);
    CHECK(classify_mariadb_error(1062) == DbStatus::kDuplicate);
    CHECK(classify_mariadb_error(1213) == DbStatus::kRetry);
    CHECK(classify_mariadb_error(1205) == DbStatus::kRetry);
    for (unsigned code : {2002u, 2003u, 2006u, 2013u, 1053u, 1927u}) {
        CHECK(classify_mariadb_error(code) == DbStatus::kConnection);
    }
    CHECK(classify_mariadb_error(1064) == DbStatus::kError);
    CHECK(classify_mariadb_error(1048) == DbStatus::kError);
    CHECK(common::to_string(DbStatus::kRetry) == "retry");
}

// ---------------------------------------------------------------------------------------------
// Redis

TEST_CASE("redis: connecting to a closed port fails fast with kConnection", "[storage]") {
    RedisConfig cfg;
    cfg.port = free_loopback_port();
    cfg.connect_timeout_ms = 1000;
    Redis redis(cfg);
    const auto t0 = SteadyClock::now();
    const DbException e = db_error([&] { redis.connect(); });
    CHECK(seconds_since(t0) <= 1.5);
    CHECK(e.status() == DbStatus::kConnection);
    CHECK_FALSE(redis.connected());
    CHECK(db_error([&] { redis.command({"PING"}); }).status() == DbStatus::kConnection);
}

TEST_CASE("redis: a refused AUTH is kConnection without the password", "[storage]") {
    TestRedisPrefix keys;
    RedisConfig cfg = redis_config(keys);
    cfg.password = "redis-secret-99";  // the test server has no password: AUTH is an error
    Redis redis(cfg);
    const DbException e = db_error([&] { redis.connect(); });
    CHECK(e.status() == DbStatus::kConnection);
    CHECK(std::string(e.what()).find("redis-secret") == std::string::npos);
    CHECK_FALSE(redis.connected());
}

TEST_CASE("redis: commands and replies", "[storage]") {
    TestRedisPrefix keys;
    Redis redis(redis_config(keys));
    redis.connect();
    REQUIRE(redis.connected());
    CHECK(redis.key("rank") == keys.prefix() + "rank");

    SECTION("PING is a status") {
        const RedisValue pong = redis.command({"PING"});
        CHECK(pong.type == RedisValue::Type::kStatus);
        CHECK(pong.str == "PONG");
    }

    SECTION("SET and GET are binary safe") {
        const std::string value =
            std::string("a\0b\r\n\xff", 6) + "\xF0\x9F\x82\xA1" + bytes_0_to_255(70 * 1024);
        const std::string key = redis.key(std::string("bin\0key", 7));
        const RedisValue ok = redis.command({"SET", key, value});
        CHECK(ok.type == RedisValue::Type::kStatus);
        CHECK(ok.str == "OK");
        const RedisValue got = redis.command({"GET", key});
        CHECK(got.type == RedisValue::Type::kString);
        CHECK(got.str == value);
        CHECK(redis.command({"GET", redis.key("missing")}).is_nil());
        CHECK(redis.command({"SET", redis.key("empty"), ""}).str == "OK");
        CHECK(redis.command({"GET", redis.key("empty")}).type == RedisValue::Type::kString);
        CHECK(redis.command({"GET", redis.key("empty")}).str.empty());
    }

    SECTION("INCR, EXPIRE and TTL are integers") {
        const std::string key = redis.key("counter");
        CHECK(redis.command({"INCR", key}).integer == 1);
        const RedisValue two = redis.command({"INCRBY", key, "41"});
        CHECK(two.type == RedisValue::Type::kInteger);
        CHECK(two.integer == 42);
        CHECK(redis.command({"EXPIRE", key, "100"}).integer == 1);
        const RedisValue ttl = redis.command({"TTL", key});
        CHECK(ttl.type == RedisValue::Type::kInteger);
        CHECK(ttl.integer > 0);
        CHECK(ttl.integer <= 100);
        CHECK(redis.command({"TTL", redis.key("missing")}).integer == -2);
    }

    SECTION("ZADD and ZREVRANGE WITHSCORES are arrays") {
        const std::string key = redis.key("rank");
        CHECK(redis.command({"ZADD", key, "100", "alice", "300", "bob", "200", "carol"}).integer ==
              3);
        const RedisValue top = redis.command({"ZREVRANGE", key, "0", "-1", "WITHSCORES"});
        REQUIRE(top.type == RedisValue::Type::kArray);
        REQUIRE(top.elements.size() == 6);
        const std::vector<std::string> expected = {"bob", "300", "carol", "200", "alice", "100"};
        for (std::size_t i = 0; i < expected.size(); ++i) {
            CHECK(top.elements[i].type == RedisValue::Type::kString);
            CHECK(top.elements[i].str == expected[i]);
        }
        const RedisValue empty = redis.command({"ZREVRANGE", redis.key("none"), "0", "-1"});
        CHECK(empty.type == RedisValue::Type::kArray);
        CHECK(empty.elements.empty());
        // Nested arrays and nil elements.
        redis.command({"SET", redis.key("a"), "1"});
        const RedisValue mget = redis.command({"MGET", redis.key("a"), redis.key("none")});
        REQUIRE(mget.elements.size() == 2);
        CHECK(mget.elements[0].str == "1");
        CHECK(mget.elements[1].is_nil());
    }

    SECTION("the vector overload") {
        const std::vector<std::string> args = {"HSET", redis.key("h"), "field", "value"};
        CHECK(redis.command(args).integer == 1);
        CHECK(redis.command(std::vector<std::string>{"HGET", redis.key("h"), "field"}).str ==
              "value");
    }

    SECTION("an error reply is a kError value, not an exception") {
        const RedisValue unknown = redis.command({"NOSUCHCOMMAND", "x"});
        CHECK(unknown.is_error());
        CHECK(unknown.type == RedisValue::Type::kError);
        CHECK(unknown.str.find("ERR") == 0);
        redis.command({"SET", redis.key("text"), "abc"});
        const RedisValue wrong = redis.command({"INCR", redis.key("text")});
        CHECK(wrong.is_error());
        CHECK(redis.connected());
        CHECK(redis.command({"PING"}).str == "PONG");
        CHECK(db_error([&] { redis.command(std::vector<std::string>{}); }).status() ==
              DbStatus::kError);
    }
}

TEST_CASE("redis: a command timeout is kConnection and closes the connection", "[storage]") {
    TestRedisPrefix keys;
    RedisConfig cfg = redis_config(keys);
    cfg.command_timeout_ms = 200;
    Redis redis(cfg);
    redis.connect();
    const auto t0 = SteadyClock::now();
    // BLPOP blocks server side for 5 s; the client gives up after 200 ms.
    const DbException e = db_error([&] { redis.command({"BLPOP", redis.key("never"), "5"}); });
    CHECK(seconds_since(t0) < 2.0);
    CHECK(e.status() == DbStatus::kConnection);
    CHECK_FALSE(redis.connected());
    redis.connect();
    CHECK(redis.command({"PING"}).str == "PONG");
}

TEST_CASE("redis: SELECT puts keys in the configured database", "[storage]") {
    TestRedisPrefix keys;
    RedisConfig cfg = redis_config(keys);
    cfg.db = 3;
    Redis three(cfg);
    three.connect();
    three.command({"SET", three.key("where"), "three"});
    Redis zero(redis_config(keys));
    zero.connect();
    CHECK(zero.command({"GET", zero.key("where")}).is_nil());
    CHECK(three.command({"GET", three.key("where")}).str == "three");
    three.command({"DEL", three.key("where")});  // TestRedisPrefix only cleans database 0
}

}  // namespace
}  // namespace tb::test
