// The db node against real MariaDB and Redis: the shared private instances of the CTest
// fixture for most cases (each with its own schema and key prefix), and private instances of
// its own for the cases that stop MariaDB or Redis mid-run.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "bus/broker.h"
#include "codec/errors.h"
#include "nodes/db/db_service.h"
#include "nodes/db/migrations.h"
#include "nodes/db/store.h"
#include "tests/support/process.h"
#include "tests/support/storage.h"
#include "tests/support/wait.h"

using namespace std::chrono_literals;
using namespace tb;
using codec::Errno;
using common::Transfer;

namespace {

struct Storage {
    test::TestSchema schema;
    test::TestRedisPrefix prefix;
    db::DbConfig cfg;

    explicit Storage(const test::StorageEndpoints& s = test::shared_storage())
        : schema(s), prefix(s) {
        cfg.mysql.host = s.host;
        cfg.mysql.port = s.mariadb_port;
        cfg.mysql.user = s.mariadb_user;
        cfg.mysql.password = s.mariadb_password;
        cfg.mysql.database = schema.name();
        cfg.redis.port = s.redis_port;
        cfg.redis.key_prefix = prefix.prefix();
        cfg.pbkdf2_iterations = 1000;  // the cost is config; tests need not pay 100,000
        cfg.lockout_failures = 3;
        cfg.finish();
    }

    std::unique_ptr<db::Store> store(std::function<int64_t()> now = {}) {
        auto s = std::make_unique<db::Store>(cfg, std::move(now));
        s->migrate();
        s->connect();
        return s;
    }
};

common::RegisterRequest device(std::string account, std::string machine = "device-0123456789") {
    common::RegisterRequest r;
    r.account = std::move(account);
    r.machine = std::move(machine);
    r.name = r.account;
    r.gender = 2;
    r.ip = "10.0.0.1";
    return r;
}

common::RegisterRequest with_password(common::RegisterRequest r, std::string password) {
    r.password = std::move(password);
    return r;
}

int64_t user(db::Store& s, const std::string& account) {
    auto r = s.register_or_login(device(account));
    REQUIRE(r.ok());
    return r.value.user.user_id;
}

int64_t score_of(db::Store& s, int64_t uid) {
    return s.load_user(uid).value.score;
}

common::SettleRequest round_of(std::string id, std::vector<Transfer> t) {
    common::SettleRequest r;
    r.round_id = std::move(id);
    r.game = "gomoku";
    r.level = 1;
    r.node = "game-1";
    r.transfers = std::move(t);
    for (const auto& x : r.transfers) r.seats.push_back(x.from);
    return r;
}

}  // namespace

TEST_CASE("migrations create the schema once and are not applied twice", "[db]") {
    Storage st;
    db::Store s(st.cfg);
    CHECK(s.migrate() == static_cast<int>(db::migrations().size()));
    CHECK(s.migrate() == 0);
    CHECK(st.schema.exec("SELECT COUNT(*) FROM schema_version").find('1') != std::string::npos);
}

TEST_CASE("a device account is created with the initial treasure and logs in again", "[db]") {
    Storage st;
    auto s = st.store();
    auto first = s->register_or_login(device("ann"));
    REQUIRE(first.ok());
    CHECK(first.value.created);
    CHECK(first.value.user.score == 10000);
    CHECK(first.value.user.diamond == 10);
    CHECK(first.value.user.gender == 2);
    auto again = s->register_or_login(device("ann"));
    REQUIRE(again.ok());
    CHECK_FALSE(again.value.created);
    CHECK(again.value.user.user_id == first.value.user.user_id);
    // A login reads the whole record, as the creation answered it.
    CHECK(again.value.user.account == "ann");
    CHECK(again.value.user.name == "ann");
    CHECK(again.value.user.score == 10000);
    CHECK(again.value.user.diamond == 10);
    CHECK(again.value.user.gender == 2);
    CHECK_FALSE(again.value.user.robot);
    // The register change is in the log, with before/after.
    CHECK(st.schema.exec("SELECT score_before, score_after, change_type FROM treasure_log") ==
          "0\t10000\t1\n");
}

TEST_CASE("a device account answers only to its device", "[db]") {
    Storage st;
    auto s = st.store();
    REQUIRE(s->register_or_login(device("bob", "bob-phone-0000001")).ok());
    auto other = s->register_or_login(device("bob", "someone-else-0001"));
    CHECK(other.code == codec::to_int(Errno::kWrongPassword));
    const auto guessed = with_password(device("bob", "bob-phone-0000001"), "guess");
    CHECK(s->register_or_login(guessed).code == codec::to_int(Errno::kWrongPassword));
}

TEST_CASE("password accounts check the password and lock after repeated failures", "[db]") {
    Storage st;
    auto s = st.store();
    const auto req = with_password(device("carol"), "s3cret");
    REQUIRE(s->register_or_login(req).ok());
    // The hash and salt are stored, never the password.
    const auto row = st.schema.exec(
        "SELECT LENGTH(password_hash), LENGTH(password_salt), "
        "password_iterations FROM accounts WHERE account='carol'");
    CHECK(row == "32\t16\t1000\n");
    CHECK(st.schema.exec("SELECT COUNT(*) FROM accounts WHERE password_hash LIKE '%s3cret%'") ==
          "0\n");
    REQUIRE(s->register_or_login(req).ok());
    const auto wrong = with_password(req, "nope");
    for (int i = 0; i < 3; ++i) {
        CHECK(s->register_or_login(wrong).code == codec::to_int(Errno::kWrongPassword));
    }
    // Locked now, even with the right password.
    CHECK(s->register_or_login(req).code == codec::to_int(Errno::kTooManyFailures));
}

TEST_CASE("a successful login forgets earlier failures", "[db]") {
    Storage st;
    auto s = st.store();
    const auto req = with_password(device("cora"), "s3cret");
    REQUIRE(s->register_or_login(req).ok());
    const auto wrong = with_password(req, "nope");
    // Two failures, a success, two more: five in all, but never three since the last success.
    for (int round = 0; round < 2; ++round) {
        for (int i = 0; i < 2; ++i) {
            CHECK(s->register_or_login(wrong).code == codec::to_int(Errno::kWrongPassword));
        }
        CHECK(s->register_or_login(req).ok());
    }
}

TEST_CASE("an account whose treasure row is missing is refused at login", "[db]") {
    Storage st;
    auto s = st.store();
    REQUIRE(s->register_or_login(device("dora")).ok());
    st.schema.exec(
        "DELETE FROM treasure WHERE user_id = (SELECT user_id FROM accounts WHERE "
        "account = 'dora')");
    CHECK(s->register_or_login(device("dora")).code == codec::to_int(Errno::kFailure));
}

TEST_CASE("bad register fields are refused and change nothing", "[db]") {
    Storage st;
    auto s = st.store();
    CHECK(s->register_or_login(device("bad account")).code == codec::to_int(Errno::kInvalidField));
    auto bad_name = device("dave");
    bad_name.name = "\xff\xfe";
    CHECK(s->register_or_login(bad_name).code == codec::to_int(Errno::kInvalidField));
    CHECK(s->register_or_login(device("erin", "")).code == codec::to_int(Errno::kInvalidField));
    CHECK(st.schema.exec("SELECT COUNT(*) FROM accounts") == "0\n");
}

TEST_CASE("a settle applied twice changes balances once and answers the first result", "[db]") {
    Storage st;
    auto s = st.store();
    const int64_t a = user(*s, "a1");
    const int64_t b = user(*s, "b1");
    const auto req = round_of("r-1", {{b, a, 300}});
    auto first = s->settle(req);
    REQUIRE(first.ok());
    CHECK_FALSE(first.value.repeated);
    auto second = s->settle(req);
    REQUIRE(second.ok());
    CHECK(second.value.repeated);
    CHECK(score_of(*s, a) == 10300);
    CHECK(score_of(*s, b) == 9700);
    REQUIRE(second.value.users.size() == 2);
    for (const auto& u : second.value.users) {
        CHECK(u.score == (u.user_id == a ? 10300 : 9700));
        CHECK(u.delta == (u.user_id == a ? 300 : -300));
    }
    CHECK(st.schema.exec("SELECT COUNT(*) FROM rounds") == "1\n");
    CHECK(st.schema.exec("SELECT COUNT(*) FROM treasure_log WHERE change_type = 2") == "2\n");
}

TEST_CASE("a settle clamps to what a loser can pay, and never goes negative", "[db]") {
    Storage st;
    auto s = st.store();
    const int64_t landlord = user(*s, "ll");
    const int64_t f1 = user(*s, "f1");
    const int64_t f2 = user(*s, "f2");
    // The landlord owes 2 x 8000 but has 10000: each farmer gets 5000.
    auto r = s->settle(round_of("r-clamp", {{landlord, f1, 8000}, {landlord, f2, 8000}}));
    REQUIRE(r.ok());
    CHECK(score_of(*s, landlord) == 0);
    CHECK(score_of(*s, f1) == 15000);
    CHECK(score_of(*s, f2) == 15000);
    // A loser with nothing pays nothing.
    REQUIRE(s->settle(round_of("r-zero", {{landlord, f1, 100}})).ok());
    CHECK(score_of(*s, landlord) == 0);
    CHECK(score_of(*s, f1) == 15000);
}

TEST_CASE("a settle with an unknown user or bad transfers changes nothing", "[db]") {
    Storage st;
    auto s = st.store();
    const int64_t a = user(*s, "a2");
    CHECK(s->settle(round_of("r-x", {{a, 999999, 10}})).code ==
          codec::to_int(Errno::kInvalidField));
    CHECK(s->settle(round_of("r-y", {{a, a, 10}})).code == codec::to_int(Errno::kInvalidField));
    CHECK(s->settle(round_of("", {{a, 1, 10}})).code == codec::to_int(Errno::kInvalidField));
    CHECK(score_of(*s, a) == 10000);
    CHECK(st.schema.exec("SELECT COUNT(*) FROM rounds") == "0\n");
}

TEST_CASE("a round that moved nothing (a draw) is recorded once and changes no balance", "[db]") {
    Storage st;
    auto s = st.store();
    const int64_t a = user(*s, "d1");
    const int64_t b = user(*s, "d2");
    auto req = round_of("r-draw", {});
    req.seats = {a, b};
    req.result = R"({"reason":"draw"})";
    const auto first = s->settle(req);
    REQUIRE(first.ok());
    CHECK_FALSE(first.value.repeated);
    CHECK(first.value.users.empty());
    const auto again = s->settle(req);
    REQUIRE(again.ok());
    CHECK(again.value.repeated);
    CHECK(again.value.users.empty());
    CHECK(st.schema.exec("SELECT seats, outcome FROM rounds WHERE round_id = 'r-draw'") ==
          std::to_string(a) + "," + std::to_string(b) + "\t\n");
    CHECK(st.schema.exec("SELECT COUNT(*) FROM treasure_log WHERE change_type = 2") == "0\n");
    CHECK(score_of(*s, a) == 10000);
    CHECK(score_of(*s, b) == 10000);
}

// COMMIT statements this connection has run: how many transactions a settlement took.
int64_t commits(db::Store& s) {
    const auto rows = s.mysql().query("SHOW SESSION STATUS LIKE 'Com_commit'");
    REQUIRE(rows.size() == 1);
    return rows[0].i64(1);
}

TEST_CASE("rounds over different users settle in one transaction, each answered as alone", "[db]") {
    Storage st;
    auto s = st.store();
    std::vector<int64_t> u;
    for (int i = 0; i < 7; ++i) u.push_back(user(*s, "g" + std::to_string(i)));
    const auto r1 = round_of("g-1", {{u[0], u[1], 300}});
    // The second round clamps: u[2] owes 2 x 8000 and has 10000.
    const auto r2 = round_of("g-2", {{u[2], u[3], 8000}, {u[2], u[4], 8000}});
    const auto r3 = round_of("g-3", {{u[5], u[6], 100}});
    const int64_t before = commits(*s);
    const auto out = s->settle_many({&r1, &r2, &r3});
    CHECK(commits(*s) - before == 1);
    REQUIRE(out.size() == 3);
    for (const auto& o : out) {
        REQUIRE(o.ok());
        CHECK_FALSE(o.value.repeated);
    }
    CHECK(out[0].value.round_id == "g-1");
    CHECK(out[2].value.round_id == "g-3");
    REQUIRE(out[1].value.users.size() == 3);
    for (const auto& x : out[1].value.users) {
        CHECK(x.delta == (x.user_id == u[2] ? -10000 : 5000));
        CHECK(x.score == (x.user_id == u[2] ? 0 : 15000));
    }
    const std::vector<int64_t> want{9700, 10300, 0, 15000, 15000, 9900, 10100};
    for (std::size_t i = 0; i < u.size(); ++i) CHECK(score_of(*s, u[i]) == want[i]);
    CHECK(st.schema.exec("SELECT COUNT(*) FROM rounds") == "3\n");
    CHECK(st.schema.exec("SELECT COUNT(*) FROM treasure_log WHERE change_type = 2") == "7\n");
    // Each round kept its own outcome: a repeat of one answers exactly its first result.
    const auto again = s->settle(r2);
    REQUIRE(again.ok());
    CHECK(again.value.repeated);
    REQUIRE(again.value.users.size() == 3);
    for (const auto& x : again.value.users) {
        CHECK(x.score == (x.user_id == u[2] ? 0 : 15000));
    }
    CHECK(score_of(*s, u[2]) == 0);
}

TEST_CASE("a repeat, an unknown user or a shared user in a batch: every round answered as alone",
          "[db]") {
    Storage st;
    auto s = st.store();
    const int64_t a = user(*s, "ma");
    const int64_t b = user(*s, "mb");
    const int64_t c = user(*s, "mc");
    const int64_t d = user(*s, "md");
    const auto p0 = round_of("p-0", {{a, b, 100}});
    REQUIRE(s->settle(p0).ok());

    // p-0 and p-1 share no user, so they start together; p-0's repeat sends both back to run
    // alone. p-2 and p-3 share users with p-0 and run alone after it; p-4 is refused outright.
    const auto p1 = round_of("p-1", {{c, d, 50}});
    const auto p2 = round_of("p-2", {{a, 999999, 10}});
    const auto p3 = round_of("p-3", {{b, c, 20}});
    const auto p4 = round_of("", {{a, b, 1}});
    const auto out = s->settle_many({&p0, &p1, &p2, &p3, &p4});
    REQUIRE(out.size() == 5);
    REQUIRE(out[0].ok());
    CHECK(out[0].value.repeated);
    REQUIRE(out[0].value.users.size() == 2);
    REQUIRE(out[1].ok());
    CHECK_FALSE(out[1].value.repeated);
    CHECK(out[2].code == codec::to_int(Errno::kInvalidField));
    REQUIRE(out[3].ok());
    CHECK(out[4].code == codec::to_int(Errno::kInvalidField));
    CHECK(score_of(*s, a) == 9900);
    CHECK(score_of(*s, b) == 10080);
    CHECK(score_of(*s, c) == 9970);
    CHECK(score_of(*s, d) == 10050);

    // An unknown user in a group: nothing of the group is written, then each runs alone.
    const auto q1 = round_of("q-1", {{a, 999998, 10}});
    const auto q2 = round_of("q-2", {{c, d, 5}});
    const auto more = s->settle_many({&q1, &q2});
    CHECK(more[0].code == codec::to_int(Errno::kInvalidField));
    REQUIRE(more[1].ok());
    CHECK(score_of(*s, a) == 9900);
    CHECK(score_of(*s, d) == 10055);
    CHECK(st.schema.exec("SELECT COUNT(*) FROM rounds") == "4\n");
    CHECK(st.schema.exec("SELECT COUNT(*) FROM treasure t WHERE t.score <> (SELECT "
                         "SUM(score_after - score_before) FROM treasure_log l WHERE l.user_id = "
                         "t.user_id)") == "0\n");
}

TEST_CASE("8 threads x 1000 concurrent settles over the same users end with exact sums", "[db]") {
    Storage st;
    std::vector<int64_t> users;
    {
        auto s = st.store();
        for (int i = 0; i < 4; ++i) users.push_back(user(*s, "u" + std::to_string(i)));
    }
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&, t] {
            db::Store s(st.cfg);
            s.connect();
            for (int i = 0; i < 1000; ++i) {
                // Rotating pairs in both directions: lock orders cross all the time.
                const int64_t from = users[(t + i) % 4];
                const int64_t to = users[(t + i + 1 + i % 2) % 4];
                auto r = s.settle(
                    round_of("c" + std::to_string(t) + "-" + std::to_string(i), {{from, to, 1}}));
                if (!r.ok()) ++failures;
            }
        });
    }
    for (auto& th : threads) th.join();
    CHECK(failures.load() == 0);
    auto s = st.store();
    int64_t total = 0;
    for (const int64_t u : users) total += score_of(*s, u);
    CHECK(total == 40000);
    CHECK(st.schema.exec("SELECT COUNT(*) FROM rounds") == "8000\n");
    // Every balance equals its initial treasure plus its log.
    CHECK(st.schema.exec("SELECT COUNT(*) FROM treasure t WHERE t.score <> (SELECT "
                         "SUM(score_after - score_before) FROM treasure_log l WHERE l.user_id = "
                         "t.user_id)") == "0\n");
}

TEST_CASE("a treasure change is idempotent by request key and cannot overdraw", "[db]") {
    Storage st;
    auto s = st.store();
    const int64_t a = user(*s, "t1");
    common::ChangeTreasureRequest req{a, "shop-1", -500, 2, 1};
    auto first = s->change_treasure(req);
    REQUIRE(first.ok());
    CHECK(first.value.score == 9500);
    auto again = s->change_treasure(req);
    REQUIRE(again.ok());
    CHECK(again.value.repeated);
    CHECK(score_of(*s, a) == 9500);
    common::ChangeTreasureRequest too_much{a, "shop-2", -20000, 0, 1};
    CHECK(s->change_treasure(too_much).code == codec::to_int(Errno::kNotEnoughScore));
    CHECK(score_of(*s, a) == 9500);
}

TEST_CASE("robots are created on demand and topped up, players never are", "[db]") {
    Storage st;
    auto s = st.store();
    auto r = s->robots({3, "game-1"});
    REQUIRE(r.ok());
    REQUIRE(r.value.robots.size() == 3);
    for (const auto& bot : r.value.robots) {
        CHECK(bot.robot);
        CHECK(bot.score == 10000);
    }
    const int64_t bot = r.value.robots[0].user_id;
    const int64_t player = user(*s, "p1");
    REQUIRE(s->settle(round_of("r-bot", {{bot, player, 9500}})).ok());
    auto t = s->top_up({bot, "k1"});
    REQUIRE(t.ok());
    CHECK(t.value.score == 10000);
    CHECK(t.value.score_delta == 9500);
    CHECK(st.schema.exec("SELECT COUNT(*) FROM treasure_log WHERE change_type = 4 AND user_id = " +
                         std::to_string(bot)) == "2\n");
    CHECK(s->top_up({player, "k2"}).code == codec::to_int(Errno::kInvalidField));
    // Robots do not appear in the ranking; players do.
    auto rank = s->ranking({10, player});
    REQUIRE(rank.ok());
    CHECK(rank.value.my_rank == 1);
    for (const auto& e : rank.value.entries) CHECK(e.user_id != bot);
}

TEST_CASE("the ranking's top is reused for ranking.cache_ms, the caller's own rank is read fresh",
          "[db]") {
    Storage st;
    st.cfg.ranking_cache_ms = 60000;
    auto s = st.store();
    const int64_t a = user(*s, "rank-a");
    const int64_t b = user(*s, "rank-b");
    REQUIRE(s->settle(round_of("rk-1", {{a, b, 500}})).ok());
    auto first = s->ranking({10, a});
    REQUIRE(first.ok());
    REQUIRE(first.value.entries.size() == 2);
    CHECK(first.value.entries[0].user_id == b);
    CHECK(first.value.entries[0].name == "rank-b");
    CHECK(first.value.entries[0].score == 10500);
    CHECK(first.value.entries[1].name == "rank-a");
    CHECK(first.value.my_rank == 2);

    // a takes the lead: the cached top still shows b first, but a's own rank is read anew.
    REQUIRE(s->settle(round_of("rk-2", {{b, a, 2000}})).ok());
    auto cached = s->ranking({1, a});
    REQUIRE(cached.ok());
    REQUIRE(cached.value.entries.size() == 1);
    CHECK(cached.value.entries[0].user_id == b);
    CHECK(cached.value.my_rank == 1);

    // With the cache off every request reads the board.
    st.cfg.ranking_cache_ms = 0;
    auto fresh = s->ranking({10, b});
    REQUIRE(fresh.ok());
    REQUIRE(fresh.value.entries.size() == 2);
    CHECK(fresh.value.entries[0].user_id == a);
    CHECK(fresh.value.entries[0].name == "rank-a");
    CHECK(fresh.value.entries[0].score == 11500);
    CHECK(fresh.value.entries[1].score == 8500);
    CHECK(fresh.value.my_rank == 2);
    CHECK(s->ranking({101, a}).code == codec::to_int(Errno::kInvalidField));
}

TEST_CASE("sign-in: once per local day, the streak grows and resets after a missed day", "[db]") {
    Storage st;
    int64_t now = 1795622399 - 3600;  // 22:59:59 in +08:00
    auto s = st.store([&now] { return now; });
    const int64_t a = user(*s, "s1");
    CHECK(s->sign_in_days(a).value.can);
    auto first = s->sign_in(a);
    REQUIRE(first.ok());
    CHECK(first.value.total_days == 1);
    CHECK(first.value.score_reward == 100);
    CHECK(first.value.score == 10100);
    CHECK(s->sign_in(a).code != 0);  // again the same day
    CHECK_FALSE(s->sign_in_days(a).value.can);
    now += 3601;  // past local midnight
    CHECK(s->sign_in_days(a).value.can);
    auto second = s->sign_in(a);
    REQUIRE(second.ok());
    CHECK(second.value.total_days == 2);
    CHECK(second.value.score_reward == 200);
    now += 2 * 86400;  // a missed day
    auto days = s->sign_in_days(a).value;
    CHECK(days.can);
    CHECK(days.days == 0);
    CHECK(s->sign_in(a).value.total_days == 1);
    CHECK(score_of(*s, a) == 10000 + 100 + 200 + 100);
}

TEST_CASE("online entries: set, get, delete only by their node, clear a node", "[db]") {
    Storage st;
    auto s = st.store();
    REQUIRE(s->online_set({7, "game-1", 2, 1, 4, 60}).ok());
    REQUIRE(s->online_set({8, "game-1", 2, 1, 5, 60}).ok());
    auto e = s->online_get(7).value;
    CHECK(e.node == "game-1");
    CHECK(e.table_id == 4);
    // A late clean-up by another node does not remove the entry.
    CHECK(s->online_delete({7, "game-9", 0, 0, 0, 0}).value.count == 0);
    CHECK(s->online_get(7).value.node == "game-1");
    CHECK(s->online_delete({7, "game-1", 0, 0, 0, 0}).value.count == 1);
    CHECK(s->online_get(7).value.node.empty());
    CHECK(s->online_clear_node("game-1").value.count == 1);
    CHECK(s->online_get(8).value.node.empty());
}

// ---------------------------------------------------------------------------------------------
// Through the bus: a broker and a DbService in this process, on one loop.

namespace {

struct DbOnBus {
    Storage& st;
    zmq::context_t ctx;
    bus::EventLoop loop;
    std::unique_ptr<bus::Broker> broker;
    std::unique_ptr<db::DbService> service;
    std::unique_ptr<bus::Node> client;

    explicit DbOnBus(Storage& s) : st(s) {
        bus::BrokerOptions o;
        o.bus_endpoint = "tcp://127.0.0.1:*";
        o.announce_endpoint = "tcp://127.0.0.1:*";
        // The node's own interval (NodeOptions' default): a shorter one here would expire a
        // db node that has nothing to send for a few hundred ms.
        o.heartbeat = 1000ms;
        broker = std::make_unique<bus::Broker>(ctx, loop, o);
        st.cfg.node.manager = broker->bus_endpoint();
        st.cfg.node.announce = broker->announce_endpoint();
        st.cfg.mysql.connect_timeout_s = 1;
        st.cfg.mysql.read_timeout_s = 2;
        st.cfg.mysql.write_timeout_s = 2;
        st.cfg.redis.connect_timeout_ms = 300;
        st.cfg.redis.command_timeout_ms = 1000;
        db::Store(st.cfg).migrate();
        service = std::make_unique<db::DbService>(ctx, loop, st.cfg);
        service->start();
        bus::NodeOptions c;
        c.kind = "client";
        c.id = 1;
        c.manager = broker->bus_endpoint();
        client = std::make_unique<bus::Node>(ctx, loop, c);
        client->start();
        REQUIRE(until([&] { return service->node().registered() && service->node().synced(); }));
    }

    template <class Cond>
    bool until(Cond&& cond, std::chrono::milliseconds limit = 10s) {
        const auto deadline = bus::Clock::now() + limit;
        for (;;) {
            if (cond()) return true;
            if (bus::Clock::now() >= deadline) return false;
            loop.run_once(5ms);
        }
    }

    bus::Reply call(uint32_t type, const std::string& body, std::chrono::milliseconds t = 5s) {
        std::optional<bus::Reply> got;
        bus::CallOptions co;
        co.timeout = t;
        client->request(
            "db", type, body, [&](bus::Reply&& r) { got = std::move(r); }, co);
        REQUIRE(until([&] { return got.has_value(); }, t + 2s));
        return std::move(*got);
    }
};

}  // namespace

TEST_CASE("over the bus: register, load and an online entry for a node not on the bus", "[db]") {
    Storage st;
    DbOnBus b(st);
    auto reg = b.call(common::kDbRegisterOrLogin, codec::encode(device("zed")));
    REQUIRE(reg.ok());
    common::RegisterReply rr;
    REQUIRE(codec::decode(reg.body, rr) == codec::MsgError::kOk);
    CHECK(rr.user.score == 10000);

    // An entry pointing at a node on the bus is reported; one pointing elsewhere is absent.
    REQUIRE(b.call(common::kDbOnlineSet,
                   codec::encode(common::OnlineEntry{rr.user.user_id, "db-1", 2, 1, 3, 60}))
                .ok());
    common::OnlineEntry e;
    REQUIRE(
        codec::decode(
            b.call(common::kDbOnlineGet, codec::encode(common::UserQuery{rr.user.user_id})).body,
            e) == codec::MsgError::kOk);
    CHECK(e.node == "db-1");
    REQUIRE(b.call(common::kDbOnlineSet,
                   codec::encode(common::OnlineEntry{rr.user.user_id, "game-77", 2, 1, 3, 60}))
                .ok());
    REQUIRE(
        codec::decode(
            b.call(common::kDbOnlineGet, codec::encode(common::UserQuery{rr.user.user_id})).body,
            e) == codec::MsgError::kOk);
    CHECK(e.node.empty());
    CHECK(b.call(common::kDbRegisterOrLogin, "\xc1").code == codec::to_int(Errno::kMalformed));
}

TEST_CASE("requests whose caller gave up while queued are dropped, not run", "[db]") {
    Storage st;
    st.cfg.pool_size = 1;
    DbOnBus b(st);
    auto reg = b.call(common::kDbRegisterOrLogin, codec::encode(device("holder")));
    REQUIRE(reg.ok());
    common::RegisterReply holder;
    REQUIRE(codec::decode(reg.body, holder) == codec::MsgError::kOk);

    // The test holds holder's balance row, so the pool's only thread blocks on the change
    // below until the test lets go: everything sent after it waits in the queue.
    common::MariaDb locker(st.cfg.mysql);
    locker.connect();
    locker.execute("BEGIN");
    locker.query("SELECT score FROM treasure WHERE user_id = " +
                 std::to_string(holder.user.user_id) + " FOR UPDATE");
    std::optional<bus::Reply> blocked;
    bus::CallOptions slow;
    slow.timeout = 20s;
    common::ChangeTreasureRequest change;
    change.user_id = holder.user.user_id;
    change.score_delta = 1;
    change.request_key = "queue-test";
    change.change_type = common::kChangeTopUp;
    b.client->request(
        "db", common::kDbChangeTreasure, codec::encode(change),
        [&](bus::Reply&& r) { blocked = std::move(r); }, slow);

    constexpr int kQueued = 5;
    int gave_up = 0;
    bus::CallOptions quick;
    quick.timeout = 200ms;
    for (int i = 0; i < kQueued; ++i) {
        b.client->request(
            "db", common::kDbRegisterOrLogin, codec::encode(device("queued-" + std::to_string(i))),
            [&](bus::Reply&& r) {
                if (r.code == codec::to_int(codec::BusCode::kTimeout)) ++gave_up;
            },
            quick);
    }
    // The db counts a deadline from a request's arrival, a little after the send: let that
    // margin pass too before the thread is freed.
    const auto sent = bus::Clock::now();
    REQUIRE(b.until([&] { return gave_up == kQueued && bus::Clock::now() >= sent + 700ms; }));
    CHECK_FALSE(blocked.has_value());
    locker.execute("COMMIT");

    REQUIRE(b.until([&] { return blocked.has_value(); }));
    CHECK(blocked->ok());
    REQUIRE(b.until([&] { return b.service->expired() == kQueued; }));
    // The pool is free again and the dropped registrations never ran.
    CHECK(b.call(common::kDbRegisterOrLogin, codec::encode(device("after"))).ok());
    CHECK(b.service->expired() == kQueued);
    CHECK(st.schema.exec("SELECT COUNT(*) FROM accounts WHERE account LIKE 'queued-%'") == "0\n");
}

TEST_CASE("a burst of settlements is settled in shared transactions, each answered", "[db]") {
    Storage st;
    st.cfg.pool_size = 1;
    std::vector<int64_t> users;
    {
        auto s = st.store();
        for (int i = 0; i < 80; ++i) users.push_back(user(*s, "q" + std::to_string(i)));
    }
    DbOnBus b(st);
    // All 40 leave before the loop runs; the loop queues them far faster than the pool's one
    // thread settles a round, so the thread finds a queue behind its first one and takes up to
    // pool.settle_batch (16) at a time. One run per round would mean nothing was shared.
    constexpr int kRounds = 40;
    std::vector<std::optional<common::SettleReply>> replies(kRounds);
    int failed = 0;
    for (int i = 0; i < kRounds; ++i) {
        const auto req =
            round_of("b-" + std::to_string(i), {{users[2 * i], users[2 * i + 1], i + 1}});
        b.client->request("db", common::kDbSettle, codec::encode(req), [&, i](bus::Reply&& r) {
            common::SettleReply reply;
            if (!r.ok() || codec::decode(r.body, reply) != codec::MsgError::kOk) {
                ++failed;
                return;
            }
            replies[i] = std::move(reply);
        });
    }
    REQUIRE(b.until([&] {
        return failed > 0 || std::all_of(replies.begin(), replies.end(),
                                         [](const auto& r) { return r.has_value(); });
    }));
    CHECK(failed == 0);
    CHECK(b.service->settle_runs() >= 3);  // at most 16 rounds a run
    CHECK(b.service->settle_runs() < kRounds);
    auto s = st.store();
    for (int i = 0; i < kRounds; ++i) {
        REQUIRE(replies[i].has_value());
        CHECK(replies[i]->round_id == "b-" + std::to_string(i));
        REQUIRE(replies[i]->users.size() == 2);
        for (const auto& x : replies[i]->users) {
            const bool payer = x.user_id == users[2 * i];
            CHECK(x.delta == (payer ? -(i + 1) : i + 1));
            CHECK(score_of(*s, x.user_id) == 10000 + x.delta);
        }
    }
    CHECK(st.schema.exec("SELECT COUNT(*) FROM rounds") == std::to_string(kRounds) + "\n");
    CHECK(b.call(common::kDbSettle, "\xc1").code == codec::to_int(Errno::kMalformed));
}

namespace {

// One settlement sent over the bus; `done` once answered (`ok`: it settled).
struct PendingSettle {
    bool done = false;
    bool ok = false;
    bus::Clock::time_point sent;
    bus::Clock::time_point answered;
};

void send_settle(DbOnBus& b, const common::SettleRequest& req, PendingSettle& p) {
    p.sent = bus::Clock::now();
    b.client->request("db", common::kDbSettle, codec::encode(req), [&p](bus::Reply&& r) {
        common::SettleReply reply;
        p.ok = r.ok() && codec::decode(r.body, reply) == codec::MsgError::kOk;
        p.answered = bus::Clock::now();
        p.done = true;
    });
}

}  // namespace

TEST_CASE("pool.settle_linger_ms: a settlement waits for the next to share its transaction",
          "[db][settle]") {
    Storage st;
    st.cfg.pool_size = 1;
    st.cfg.settle_batch = 2;
    st.cfg.settle_linger_ms = 3000;
    int64_t u[6];
    {
        auto s = st.store();
        for (int i = 0; i < 6; ++i) u[i] = user(*s, "lg" + std::to_string(i));
    }
    DbOnBus b(st);
    // The first settlement on a quiet node has nobody to wait for: it settles at once.
    PendingSettle a;
    send_settle(b, round_of("lg-a", {{u[0], u[1], 10}}), a);
    REQUIRE(b.until([&] { return a.done; }));
    CHECK(a.ok);
    CHECK(a.answered - a.sent < 1500ms);
    CHECK(b.service->settle_runs() == 1);
    // The next comes soon after: settlements are arriving, so it waits for company...
    PendingSettle p;
    send_settle(b, round_of("lg-b", {{u[2], u[3], 20}}), p);
    CHECK_FALSE(b.until([&] { return p.done; }, 300ms));
    // ...and the one after it fills the batch (settle_batch 2): both settle together, without
    // waiting out the linger.
    PendingSettle q;
    send_settle(b, round_of("lg-c", {{u[4], u[5], 30}}), q);
    REQUIRE(b.until([&] { return p.done && q.done; }));
    CHECK(p.ok);
    CHECK(q.ok);
    CHECK(q.answered - q.sent < 1500ms);
    CHECK(b.service->settle_runs() == 2);
    auto s = st.store();
    CHECK(score_of(*s, u[2]) == 10000 - 20);
    CHECK(score_of(*s, u[5]) == 10000 + 30);
}

TEST_CASE("pool.settle_linger_ms: other requests do not wait behind a gathering settlement",
          "[db][settle]") {
    Storage st;
    st.cfg.pool_size = 1;  // the gathering thread is the only one
    st.cfg.settle_linger_ms = 3000;
    int64_t u[4];
    {
        auto s = st.store();
        for (int i = 0; i < 4; ++i) u[i] = user(*s, "lh" + std::to_string(i));
    }
    DbOnBus b(st);
    PendingSettle a;
    send_settle(b, round_of("lh-a", {{u[0], u[1], 10}}), a);
    REQUIRE(b.until([&] { return a.done; }));
    PendingSettle p;
    send_settle(b, round_of("lh-b", {{u[2], u[3], 20}}), p);
    CHECK_FALSE(b.until([&] { return p.done; }, 300ms));  // gathering
    // A login needs the only thread: the gathering ends, the settlement runs with what it has,
    // then the login.
    const auto start = bus::Clock::now();
    CHECK(b.call(common::kDbLoadUser, codec::encode(common::UserQuery{u[0]})).ok());
    CHECK(bus::Clock::now() - start < 1500ms);
    REQUIRE(b.until([&] { return p.done; }));
    CHECK(p.ok);
    CHECK(p.answered - p.sent < 2000ms);
    auto s = st.store();
    CHECK(score_of(*s, u[3]) == 10000 + 20);
}

TEST_CASE("MariaDB stopped mid-run: fast storage errors, degraded, then full recovery",
          "[db][restart]") {
    const auto dir = test::temp_dir() / "mariadb-restart";
    test::PrivateMariaDb mariadb(dir, test::free_loopback_port());
    auto endpoints = mariadb.endpoints();
    endpoints.redis_port = test::shared_storage().redis_port;
    Storage st(endpoints);
    DbOnBus b(st);
    REQUIRE(b.call(common::kDbRegisterOrLogin, codec::encode(device("m1"))).ok());

    mariadb.stop();
    const auto start = bus::Clock::now();
    auto r = b.call(common::kDbRegisterOrLogin, codec::encode(device("m2")));
    CHECK(r.code == codec::to_int(codec::BusCode::kStorage));
    CHECK(bus::Clock::now() - start < 3s);
    CHECK(codec::client_errno(r.code) == Errno::kStorageUnavailable);
    REQUIRE(b.until([&] { return b.service->degraded(); }));
    // While down, later requests fail fast too.
    const auto again = bus::Clock::now();
    CHECK(b.call(common::kDbLoadUser, codec::encode(common::UserQuery{1})).code ==
          codec::to_int(codec::BusCode::kStorage));
    CHECK(bus::Clock::now() - again < 2500ms);
    CHECK(b.service->node().registered());  // heartbeats kept flowing

    mariadb.start();
    REQUIRE(b.until(
        [&] { return b.call(common::kDbRegisterOrLogin, codec::encode(device("m2")), 3s).ok(); },
        30s));
    REQUIRE(b.until([&] { return !b.service->degraded(); }));
}

// A restart that happens while the pool is idle is seen by no request, so each pool thread
// still holds a dead connection. pool.ping_idle_ms checks it before the next job (0 here:
// before every job, so the test needs no idle wait); without that check the first request on
// each thread after the restart failed with "storage unavailable".
TEST_CASE("MariaDB and Redis restarted while the pool was idle: the next request reconnects",
          "[db][restart]") {
    const auto dir = test::temp_dir() / "idle-restart";
    test::PrivateMariaDb mariadb(dir / "mariadb", test::free_loopback_port());
    test::PrivateRedis redis(dir / "redis", test::free_loopback_port());
    auto endpoints = mariadb.endpoints();
    endpoints.redis_port = redis.port();
    Storage st(endpoints);
    st.cfg.pool_size = 1;  // one thread: the request after the restart surely meets its connection
    st.cfg.ping_idle_ms = 0;
    DbOnBus b(st);
    REQUIRE(b.call(common::kDbRegisterOrLogin, codec::encode(device("i1"))).ok());

    mariadb.stop();
    mariadb.start();
    const auto after_mariadb = b.call(common::kDbRegisterOrLogin, codec::encode(device("i2")));
    CHECK(after_mariadb.ok());
    CHECK(after_mariadb.code == 0);

    redis.stop();
    redis.start();
    const auto after_redis = b.call(common::kDbRegisterOrLogin, codec::encode(device("i3")));
    CHECK(after_redis.ok());
    CHECK(after_redis.code == 0);
    CHECK_FALSE(b.service->degraded());
}

TEST_CASE("Redis stopped mid-run: fast storage errors, then full recovery", "[db][restart]") {
    const auto dir = test::temp_dir() / "redis-restart";
    test::PrivateRedis redis(dir, test::free_loopback_port());
    auto endpoints = test::shared_storage();
    endpoints.redis_port = redis.port();
    Storage st(endpoints);
    DbOnBus b(st);
    REQUIRE(b.call(common::kDbRegisterOrLogin, codec::encode(device("r1"))).ok());
    redis.stop();
    const auto start = bus::Clock::now();
    CHECK(b.call(common::kDbRegisterOrLogin, codec::encode(device("r1"))).code ==
          codec::to_int(codec::BusCode::kStorage));
    CHECK(bus::Clock::now() - start < 3s);
    redis.start();
    REQUIRE(b.until(
        [&] { return b.call(common::kDbRegisterOrLogin, codec::encode(device("r1")), 3s).ok(); },
        30s));
}
