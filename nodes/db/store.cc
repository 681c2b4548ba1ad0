#include "nodes/db/store.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <ctime>
#include <set>
#include <sstream>
#include <unordered_map>

#include "codec/errors.h"
#include "nodes/db/migrations.h"
#include "nodes/db/rules.h"

namespace tb::db {

using codec::Errno;
using common::DbException;
using common::DbStatus;

namespace {

// Redis: one hash per online user, one set of users per game node (to clear a node at once).
// Deleting compares the node first, so a late clean-up by an old node never removes the entry
// a newer login wrote.
constexpr std::string_view kDeleteIfNode = R"lua(
if redis.call('HGET', KEYS[1], 'node') == ARGV[1] then
  redis.call('SREM', KEYS[2], ARGV[2])
  return redis.call('DEL', KEYS[1])
end
return 0)lua";

int64_t to_i64(std::string_view s) {
    int64_t v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
}

// The columns user_from() reads, in its order: one list for every query that builds a user, so
// that the login's credential columns after it cannot drift out of place.
#define TB_USER_COLUMNS                                                                    \
    "a.user_id, a.account, a.name, a.icon, a.gender, a.level, a.phone, a.robot, t.score, " \
    "t.diamond"
constexpr std::size_t kScoreColumn = 8;
constexpr std::size_t kUserColumns = 10;

common::UserRecord user_from(const common::Row& r) {
    common::UserRecord u;
    u.user_id = r.i64(0);
    u.account = r.str(1);
    u.name = r.str(2);
    u.icon = static_cast<int32_t>(r.i64(3));
    u.gender = static_cast<int32_t>(r.i64(4));
    u.level = static_cast<int32_t>(r.i64(5));
    u.phone = r.str(6);
    u.robot = r.i64(7) != 0;
    u.score = r.i64(kScoreColumn);
    u.diamond = r.i64(9);
    return u;
}

constexpr std::string_view kSelectUser = "SELECT " TB_USER_COLUMNS
                                         " FROM accounts a JOIN treasure t ON t.user_id = "
                                         "a.user_id WHERE a.user_id = ?";

// A login's read: the user's columns (score and diamond NULL if the treasure row is missing),
// then the credentials.
constexpr std::string_view kSelectLogin =
    "SELECT " TB_USER_COLUMNS
    ", a.password_hash, a.password_salt, a.password_iterations, a.machine "
    "FROM accounts a LEFT JOIN treasure t ON t.user_id = a.user_id WHERE a.account = ?";
#undef TB_USER_COLUMNS
constexpr std::size_t kHashColumn = kUserColumns;
constexpr std::size_t kSaltColumn = kUserColumns + 1;
constexpr std::size_t kIterationsColumn = kUserColumns + 2;
constexpr std::size_t kMachineColumn = kUserColumns + 3;

// "user:delta:score,..." kept with the round so a repeat answers the first result.
std::string encode_outcome(const std::vector<common::SettledUser>& users) {
    std::string out;
    for (const auto& u : users) {
        if (!out.empty()) out += ',';
        out += std::to_string(u.user_id) + ':' + std::to_string(u.delta) + ':' +
               std::to_string(u.score);
    }
    return out;
}

std::vector<common::SettledUser> decode_outcome(const std::string& text) {
    std::vector<common::SettledUser> users;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ',')) {
        const auto a = item.find(':');
        const auto b = item.find(':', a + 1);
        if (a == std::string::npos || b == std::string::npos) continue;
        users.push_back({to_i64(item.substr(0, a)), to_i64(item.substr(a + 1, b - a - 1)),
                         to_i64(item.substr(b + 1))});
    }
    return users;
}

std::string to_hex(std::string_view bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (const unsigned char c : bytes) {
        out += kDigits[c >> 4];
        out += kDigits[c & 0xf];
    }
    return out;
}

bool printable_key(std::string_view s, std::size_t max) {
    if (s.empty() || s.size() > max) return false;
    return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

}  // namespace

Store::Store(const DbConfig& cfg, std::function<int64_t()> now)
    : cfg_(cfg),
      now_(now ? std::move(now) : [] { return static_cast<int64_t>(std::time(nullptr)); }),
      mysql_(cfg.mysql),
      redis_(cfg.redis) {}

void Store::connect() {
    if (!mysql_.connected()) {
        mysql_.connect();
        // Every decision here rests on explicit row locks (FOR UPDATE on balances); READ
        // COMMITTED drops the gap locks of REPEATABLE READ that make concurrent inserts of
        // rounds and log rows deadlock for no reason.
        mysql_.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
    }
    if (!redis_.connected()) redis_.connect();
}

bool Store::connected() const noexcept {
    return mysql_.connected() && redis_.connected();
}

void Store::disconnect() noexcept {
    mysql_.close();
    redis_.close();
}

bool Store::ping() noexcept {
    if (!mysql_.ping()) return false;
    try {
        return !redis_.command({"PING"}).is_error();
    } catch (...) {
        return false;
    }
}

int64_t Store::today() const {
    return day_of(now_(), cfg_.utc_offset_minutes);
}

// ---------------------------------------------------------------------------------------------
// Schema

int Store::migrate() {
    // The schema itself may not exist yet: connect without it, create it, then use it.
    common::MariaDbConfig bare = cfg_.mysql;
    bare.database.clear();
    common::MariaDb admin(bare);
    admin.connect();
    for (const char c : cfg_.mysql.database) {
        // The schema name goes into DDL text (no placeholders there), so it is checked.
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') {
            throw std::invalid_argument("mysql.database '" + cfg_.mysql.database +
                                        "' may hold only letters, digits and _");
        }
    }
    admin.execute("CREATE DATABASE IF NOT EXISTS `" + cfg_.mysql.database +
                  "` CHARACTER SET utf8mb4");
    admin.execute("USE `" + cfg_.mysql.database + "`");
    admin.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version INT NOT NULL PRIMARY KEY, "
        "applied TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP) ENGINE=InnoDB");
    // One migrator at a time, even with several tb-db starting together.
    admin.query("SELECT GET_LOCK('tablebus_migrate', 30)");
    int applied = 0;
    try {
        const auto rows = admin.query("SELECT COALESCE(MAX(version), 0) FROM schema_version");
        const int64_t current = rows.empty() ? 0 : rows[0].i64(0);
        for (const auto& m : migrations()) {
            if (m.version <= current) continue;
            for (const auto& stmt : split_sql(m.sql)) admin.execute(stmt);
            admin.prepare("INSERT INTO schema_version (version) VALUES (?)").exec(m.version);
            ++applied;
        }
    } catch (...) {
        admin.query("SELECT RELEASE_LOCK('tablebus_migrate')");
        throw;
    }
    admin.query("SELECT RELEASE_LOCK('tablebus_migrate')");
    return applied;
}

// ---------------------------------------------------------------------------------------------
// Accounts

std::optional<common::UserRecord> Store::find_user(int64_t user_id) {
    const auto rows = mysql_.prepare(kSelectUser).query(user_id);
    if (rows.empty()) return std::nullopt;
    return user_from(rows[0]);
}

Outcome<common::RegisterReply> Store::register_or_login(const common::RegisterRequest& req) {
    using R = Outcome<common::RegisterReply>;
    if (!valid_account(req.account)) return R::fail(Errno::kInvalidField, "invalid account");
    if (!req.name.empty() && !valid_name(req.name)) {
        return R::fail(Errno::kInvalidField, "invalid name");
    }
    if (req.gender < 0 || req.gender > 3) return R::fail(Errno::kInvalidField, "invalid gender");
    if (req.password.empty() && req.machine.empty()) {
        return R::fail(Errno::kInvalidField, "a device account needs its Machine");
    }
    if (req.password.size() > 128 || req.machine.size() > 128 || req.ip.size() > 64) {
        return R::fail(Errno::kInvalidField, "field too long");
    }
    const std::string fail_key = redis_.key("fail:" + req.account);
    const auto failures = redis_.command({"GET", fail_key});
    if (!failures.is_nil() && to_i64(failures.str) >= cfg_.lockout_failures) {
        return R::fail(Errno::kTooManyFailures, "too many failed logins, try later");
    }
    const auto count_failure = [&] {
        const auto n = redis_.command({"INCR", fail_key});
        if (n.integer == 1) {
            redis_.command({"EXPIRE", fail_key, std::to_string(cfg_.lockout_seconds)});
        }
        return R::fail(Errno::kWrongPassword, "wrong password");
    };

    for (int attempt = 0; attempt < 2; ++attempt) {
        // The account, its credentials and its treasure in one round trip.
        const auto rows = mysql_.prepare(kSelectLogin).query(req.account);
        if (!rows.empty()) {
            const auto& r = rows[0];
            const bool device_account = r.is_null(kHashColumn);
            if (device_account) {
                // Device accounts answer only to the device they were created on.
                if (!req.password.empty() || !equal_secret(r.str(kMachineColumn), req.machine)) {
                    return count_failure();
                }
            } else {
                if (req.password.empty()) return count_failure();
                const auto hash = hash_password(req.password, r.str(kSaltColumn),
                                                static_cast<int>(r.i64(kIterationsColumn)));
                if (!equal_secret(hash, r.str(kHashColumn))) return count_failure();
            }
            // Only a counter that exists needs forgetting: most logins had no failure before.
            if (!failures.is_nil()) redis_.command({"DEL", fail_key});
            if (r.is_null(kScoreColumn))
                return R::fail(Errno::kFailure, "account without treasure");
            return R{0, {}, {user_from(r), false}};
        }
        // Create: account, treasure and the register log row in one transaction.
        std::optional<std::string> hash;
        std::optional<std::string> salt;
        int iterations = 0;
        if (!req.password.empty()) {
            salt = random_bytes(16);
            iterations = cfg_.pbkdf2_iterations;
            hash = hash_password(req.password, *salt, iterations);
        }
        try {
            common::Transaction tx(mysql_);
            auto& insert = mysql_.prepare(
                "INSERT INTO accounts (account, password_hash, password_salt, "
                "password_iterations, machine, name, icon, gender, register_ip, "
                "register_machine) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
            insert.exec(req.account, hash, salt, iterations,
                        req.password.empty() ? req.machine : std::string(),
                        req.name.empty() ? req.account : req.name, req.icon,
                        req.gender == 0 ? 3 : req.gender, req.ip, req.machine);
            const int64_t uid = static_cast<int64_t>(insert.last_insert_id());
            mysql_.prepare("INSERT INTO treasure (user_id, score, diamond) VALUES (?, 0, 0)")
                .exec(uid);
            apply_change(uid, {}, cfg_.initial_score, cfg_.initial_diamond, common::kChangeRegister,
                         "register:" + std::to_string(uid));
            tx.commit();
            auto user = find_user(uid);
            rank(uid, user->score);
            return R{0, {}, {*user, true}};
        } catch (const DbException& e) {
            // Two first logins of one account at once: the loser logs in to what the winner made.
            if (e.status() != DbStatus::kDuplicate) throw;
        }
    }
    return R::fail(Errno::kFailure, "account busy, try again");
}

Outcome<common::UserRecord> Store::load_user(int64_t user_id) {
    auto user = find_user(user_id);
    if (!user) return Outcome<common::UserRecord>::fail(Errno::kInvalidField, "no such user");
    return {0, {}, *user};
}

// ---------------------------------------------------------------------------------------------
// Treasure

namespace {

// "(?), (?)": `n` copies of `one` joined by ", ".
std::string placeholders(std::size_t n, std::string_view one) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) {
        if (i > 0) out += ", ";
        out += one;
    }
    return out;
}

}  // namespace

std::optional<Store::Balance> Store::lock_balance(int64_t user_id) {
    const auto rows = mysql_
                          .prepare(
                              "SELECT t.score, t.diamond, a.robot FROM treasure t JOIN accounts a "
                              "ON a.user_id = t.user_id WHERE t.user_id = ? FOR UPDATE")
                          .query(user_id);
    if (rows.empty()) return std::nullopt;
    return Balance{rows[0].i64(0), rows[0].i64(1), rows[0].i64(2) != 0};
}

bool Store::apply_change(int64_t user_id, const Balance& before, int64_t score_delta,
                         int64_t diamond_delta, int32_t change_type, const std::string& key) {
    const int64_t score = before.score + score_delta;
    const int64_t diamond = before.diamond + diamond_delta;
    try {
        mysql_
            .prepare(
                "INSERT INTO treasure_log (user_id, change_type, change_key, score_before, "
                "score_after, diamond_before, diamond_after) VALUES (?, ?, ?, ?, ?, ?, ?)")
            .exec(user_id, change_type, key, before.score, score, before.diamond, diamond);
    } catch (const DbException& e) {
        if (e.status() == DbStatus::kDuplicate) return false;
        throw;
    }
    mysql_.prepare("UPDATE treasure SET score = ?, diamond = ? WHERE user_id = ?")
        .exec(score, diamond, user_id);
    return true;
}

void Store::rank(int64_t user_id, int64_t score) {
    rank_all({{user_id, score}});
}

std::optional<Outcome<common::SettleReply>> Store::settle_refusal(
    const common::SettleRequest& req) {
    using R = Outcome<common::SettleReply>;
    if (!printable_key(req.round_id, 64)) return R::fail(Errno::kInvalidField, "bad round id");
    // No transfers is a round that moved nothing (a gomoku draw, a level with base score 0): it
    // is recorded all the same, so the game node can finish it and a repeat is answered once.
    if (req.transfers.size() > 64 || !valid_transfers(req.transfers)) {
        return R::fail(Errno::kInvalidField, "bad transfers");
    }
    if (req.game.size() > 16 || req.node.size() > 64 || req.seed.size() > 64 ||
        req.seats.size() > 16 || req.result.size() > 60000) {
        return R::fail(Errno::kInvalidField, "field too long");
    }
    return std::nullopt;
}

Store::SettleWork Store::settle_work(const common::SettleRequest& req) {
    SettleWork w{&req, {}, {}};
    for (const auto& t : req.transfers) {
        w.users.insert(t.from);
        w.users.insert(t.to);
    }
    w.reply.round_id = req.round_id;
    return w;
}

void Store::rank_all(const Ranked& ranked) {
    if (ranked.empty()) return;
    std::vector<std::string> zadd{"ZADD", redis_.key("rank")};
    for (const auto& [uid, score] : ranked) {
        zadd.push_back(std::to_string(score));
        zadd.push_back(std::to_string(uid));
    }
    redis_.command(zadd);
}

Outcome<common::SettleReply> Store::settle(const common::SettleRequest& req) {
    return std::move(settle_many({&req}).front());
}

std::vector<Outcome<common::SettleReply>> Store::settle_many(
    const std::vector<const common::SettleRequest*>& reqs) {
    std::vector<Outcome<common::SettleReply>> out(reqs.size());
    // Rounds over disjoint users with distinct ids share one transaction: one lock batch, one
    // write batch and one durable commit for all of them. A round that shares a user or an id
    // with an earlier one settles on its own afterwards, so each round still clamps against
    // the balances its predecessor left.
    std::vector<SettleWork> together;
    std::vector<std::size_t> where;  // together[k] answers reqs[where[k]]
    std::vector<std::size_t> alone;
    std::set<int64_t> taken;
    std::set<std::string_view> ids;
    for (std::size_t i = 0; i < reqs.size(); ++i) {
        if (auto refused = settle_refusal(*reqs[i])) {
            out[i] = std::move(*refused);
            continue;
        }
        SettleWork w = settle_work(*reqs[i]);
        const bool clash =
            ids.count(reqs[i]->round_id) != 0 ||
            std::any_of(w.users.begin(), w.users.end(), [&](int64_t u) { return taken.count(u); });
        if (clash) {
            alone.push_back(i);
            continue;
        }
        ids.insert(reqs[i]->round_id);
        taken.insert(w.users.begin(), w.users.end());
        together.push_back(std::move(w));
        where.push_back(i);
    }
    if (together.size() == 1) {
        alone.insert(alone.begin(), where.front());
    } else if (!together.empty()) {
        Ranked ranked;
        int32_t code = -1;
        try {
            // with_retries, not with_transaction: settle_once()'s batches begin and commit.
            code = common::with_retries(
                mysql_, [&](common::MariaDb&) { return settle_once(together, ranked); });
        } catch (const DbException& e) {
            if (e.status() != DbStatus::kDuplicate) throw;
        }
        if (code == 0) {
            rank_all(ranked);
            for (std::size_t k = 0; k < together.size(); ++k) {
                out[where[k]] = {0, {}, std::move(together[k].reply)};
            }
        } else {
            // A repeat or an unknown user in the group: nothing was written. Each round on its
            // own gets the answer it would have had alone.
            alone.insert(alone.end(), where.begin(), where.end());
        }
    }
    for (const std::size_t i : alone) out[i] = settle_alone(settle_work(*reqs[i]));
    return out;
}

Outcome<common::SettleReply> Store::settle_alone(SettleWork work) {
    using R = Outcome<common::SettleReply>;
    std::vector<SettleWork> one;
    one.push_back(std::move(work));
    Ranked ranked;
    int32_t code = 0;
    try {
        code = common::with_retries(mysql_,
                                    [&](common::MariaDb&) { return settle_once(one, ranked); });
    } catch (const DbException& e) {
        if (e.status() != DbStatus::kDuplicate) throw;
        // The round row is the only insert whose key a repeat can collide with: a repeat (or a
        // concurrent twin that committed first) answers the first result.
        const auto seen = mysql_.prepare("SELECT outcome FROM rounds WHERE round_id = ?")
                              .query(one.front().req->round_id);
        if (seen.empty()) throw;
        common::SettleReply reply;
        reply.round_id = one.front().req->round_id;
        reply.repeated = true;
        reply.users = decode_outcome(seen[0].str(0));
        return {0, {}, std::move(reply)};
    }
    if (code != 0) return R::fail(static_cast<Errno>(code), "unknown user in round");
    rank_all(ranked);
    return {0, {}, std::move(one.front().reply)};
}

int32_t Store::settle_once(std::vector<SettleWork>& rounds, Ranked& ranked) {
    ranked.clear();
    if (mysql_.in_transaction()) {
        throw DbException(DbStatus::kError, 0, "settle inside an open transaction");
    }
    std::set<int64_t> users;
    for (auto& w : rounds) {
        w.reply.users.clear();
        users.insert(w.users.begin(), w.users.end());
    }
    // The round rows first: their primary key is what makes a repeat (or a concurrent one)
    // fail here as a duplicate before anything else runs; the caller then answers the first
    // result.
    const auto round_rows = [&] {
        std::string sql =
            "INSERT INTO rounds (round_id, game, level, node, seats, seed, result, outcome) "
            "VALUES ";
        for (std::size_t k = 0; k < rounds.size(); ++k) {
            const common::SettleRequest& req = *rounds[k].req;
            std::string seats;
            for (const int64_t seat : req.seats) {
                seats += (seats.empty() ? "" : ",") + std::to_string(seat);
            }
            sql += (k == 0 ? "(" : ", (") + mysql_.quote(req.round_id) + ", " +
                   mysql_.quote(req.game) + ", " + std::to_string(req.level) + ", " +
                   mysql_.quote(req.node) + ", " + mysql_.quote(seats) + ", " +
                   mysql_.quote(req.seed) + ", " + mysql_.quote(req.result) + ", " +
                   mysql_.quote(encode_outcome(rounds[k].reply.users)) + ")";
        }
        return sql;
    };
    if (users.empty()) {
        // Nothing moves: one statement, committed on its own.
        mysql_.query_batch(round_rows(), "settle: record rounds that moved nothing");
        return 0;
    }
    // A settlement is two round trips to MariaDB whatever the number of rounds and users, each
    // a batch of statements covering all of them. The batches are text: ids and amounts are
    // integers we format, every string goes through quote().
    std::string ids;
    for (const int64_t uid : users) ids += (ids.empty() ? "" : ", ") + std::to_string(uid);
    // Lock in id order: two settlements over the same users never wait on each other in a
    // cycle. (Only treasure rows: a join would lock accounts rows in whatever order the
    // optimizer picks, and deadlock. The robot flag never changes, so it is read unlocked.)
    const auto read = mysql_.query_batch(
        "START TRANSACTION; SELECT user_id, score, diamond FROM treasure WHERE user_id IN (" + ids +
            ") ORDER BY user_id FOR UPDATE; SELECT user_id FROM accounts WHERE robot = 1 "
            "AND user_id IN (" +
            ids + ")",
        "settle: lock the balances");
    if (read.size() != 3 || read[1].size() != users.size()) {
        mysql_.rollback();
        return codec::to_int(Errno::kInvalidField);
    }
    std::map<int64_t, Balance> before;
    std::map<int64_t, int64_t> balances;
    for (const auto& r : read[1]) {
        before[r.i64(0)] = Balance{r.i64(1), r.i64(2), false};
        balances[r.i64(0)] = r.i64(1);
    }
    for (const auto& r : read[2]) before[r.i64(0)].robot = true;
    std::string log;
    std::string cases;
    for (auto& w : rounds) {
        // The rounds share no user, so each clamps against its own users' balances alone.
        const auto deltas = clamp_transfers(w.req->transfers, balances);
        int64_t sum = 0;
        const std::string key = mysql_.quote("round:" + w.req->round_id);
        for (const auto& [uid, d] : deltas) {
            sum += d;
            const Balance& b = before[uid];
            w.reply.users.push_back({uid, d, b.score + d});
            const std::string id = std::to_string(uid);
            const std::string after = std::to_string(b.score + d);
            log += (log.empty() ? "(" : ", (") + id + ", " + std::to_string(common::kChangeRound) +
                   ", " + key + ", " + std::to_string(b.score) + ", " + after + ", " +
                   std::to_string(b.diamond) + ", " + std::to_string(b.diamond) + ")";
            cases += " WHEN " + id + " THEN " + after;
            if (!b.robot) ranked.emplace_back(uid, b.score + d);
        }
        if (sum != 0) throw std::logic_error("settlement is not zero-sum");
    }
    std::string sql = round_rows();
    if (!log.empty()) {
        sql +=
            "; INSERT INTO treasure_log (user_id, change_type, change_key, score_before, "
            "score_after, diamond_before, diamond_after) VALUES " +
            log + "; UPDATE treasure SET score = CASE user_id" + cases + " END WHERE user_id IN (" +
            ids + ")";
    }
    mysql_.query_batch(sql + "; COMMIT", "settle: write the rounds");
    return 0;
}

Outcome<common::TreasureReply> Store::change_treasure(const common::ChangeTreasureRequest& req) {
    using R = Outcome<common::TreasureReply>;
    if (!printable_key(req.request_key, 80)) return R::fail(Errno::kInvalidField, "bad key");
    if (req.change_type < 1 || req.change_type > 4) {
        return R::fail(Errno::kInvalidField, "bad change type");
    }
    common::TreasureReply reply;
    reply.user_id = req.user_id;
    bool ranked = false;
    const int32_t code = common::with_transaction(mysql_, [&](common::MariaDb&) -> int32_t {
        auto b = lock_balance(req.user_id);
        if (!b) return codec::to_int(Errno::kInvalidField);
        if (b->score + req.score_delta < 0 || b->diamond + req.diamond_delta < 0) {
            return codec::to_int(Errno::kNotEnoughScore);
        }
        const bool applied = apply_change(req.user_id, *b, req.score_delta, req.diamond_delta,
                                          req.change_type, "req:" + req.request_key);
        reply.repeated = !applied;
        reply.score_delta = applied ? req.score_delta : 0;
        reply.diamond_delta = applied ? req.diamond_delta : 0;
        reply.score = b->score + reply.score_delta;
        reply.diamond = b->diamond + reply.diamond_delta;
        ranked = applied && !b->robot;
        return 0;
    });
    if (code != 0) return R::fail(static_cast<Errno>(code), "treasure change refused");
    if (ranked) rank(req.user_id, reply.score);
    return {0, {}, reply};
}

Outcome<common::TreasureReply> Store::top_up(const common::TopUpRequest& req) {
    using R = Outcome<common::TreasureReply>;
    if (!printable_key(req.request_key, 80)) return R::fail(Errno::kInvalidField, "bad key");
    common::TreasureReply reply;
    reply.user_id = req.user_id;
    const int32_t code = common::with_transaction(mysql_, [&](common::MariaDb&) -> int32_t {
        auto b = lock_balance(req.user_id);
        if (!b) return codec::to_int(Errno::kInvalidField);
        if (!b->robot) return codec::to_int(Errno::kInvalidField);  // players are never topped up
        const int64_t delta = std::max<int64_t>(0, cfg_.robot_topup_score - b->score);
        const bool applied =
            delta > 0 && apply_change(req.user_id, *b, delta, 0, common::kChangeTopUp,
                                      "topup:" + req.request_key);
        reply.repeated = delta > 0 && !applied;
        reply.score_delta = applied ? delta : 0;
        reply.score = b->score + reply.score_delta;
        reply.diamond = b->diamond;
        return 0;
    });
    if (code != 0) return R::fail(static_cast<Errno>(code), "not a robot");
    return {0, {}, reply};
}

// ---------------------------------------------------------------------------------------------
// Sign-in

Outcome<common::SignInDaysReply> Store::sign_in_days(int64_t user_id) {
    if (!find_user(user_id)) {
        return Outcome<common::SignInDaysReply>::fail(Errno::kInvalidField, "no such user");
    }
    const auto rows = mysql_
                          .prepare(
                              "SELECT TO_DAYS(last_day) - TO_DAYS('1970-01-01'), streak FROM "
                              "signin WHERE user_id = ?")
                          .query(user_id);
    const auto s =
        rows.empty() ? sign_in_state(0, 0, today())
                     : sign_in_state(rows[0].i64(0), static_cast<int32_t>(rows[0].i64(1)), today());
    return {0, {}, {s.can, s.streak}};
}

Outcome<common::SignInReply> Store::sign_in(int64_t user_id) {
    using R = Outcome<common::SignInReply>;
    common::SignInReply reply;
    const int64_t day = today();
    const int32_t code = common::with_transaction(mysql_, [&](common::MariaDb& db) -> int32_t {
        auto b = lock_balance(user_id);
        if (!b) return codec::to_int(Errno::kInvalidField);
        const auto rows = db.prepare(
                                "SELECT TO_DAYS(last_day) - TO_DAYS('1970-01-01'), streak FROM "
                                "signin WHERE user_id = ? FOR UPDATE")
                              .query(user_id);
        const auto s =
            rows.empty() ? sign_in_state(0, 0, day)
                         : sign_in_state(rows[0].i64(0), static_cast<int32_t>(rows[0].i64(1)), day);
        if (!s.can) return codec::to_int(Errno::kFailure);
        reply.total_days = s.next_day;
        reply.score_reward = cfg_.signin_score_by_day[s.next_day - 1];
        reply.diamond_reward = cfg_.signin_diamond_by_day[s.next_day - 1];
        db.prepare(
              "INSERT INTO signin (user_id, last_day, streak) VALUES (?, FROM_DAYS(TO_DAYS("
              "'1970-01-01') + ?), ?) ON DUPLICATE KEY UPDATE last_day = VALUES(last_day), "
              "streak = VALUES(streak)")
            .exec(user_id, day, s.next_day);
        apply_change(user_id, *b, reply.score_reward, reply.diamond_reward, common::kChangeSignIn,
                     "signin:" + std::to_string(day));
        reply.score = b->score + reply.score_reward;
        reply.diamond = b->diamond + reply.diamond_reward;
        return 0;
    });
    if (code == codec::to_int(Errno::kFailure))
        return R::fail(Errno::kFailure, "already signed in today");
    if (code != 0) return R::fail(static_cast<Errno>(code), "no such user");
    rank(user_id, reply.score);
    return {0, {}, reply};
}

// ---------------------------------------------------------------------------------------------
// Online entries, ranking, robots

Outcome<common::OnlineEntry> Store::online_set(const common::OnlineEntry& e) {
    if (e.user_id <= 0 || !printable_key(e.node, 64) || e.ttl_s <= 0) {
        return Outcome<common::OnlineEntry>::fail(Errno::kInvalidField, "bad online entry");
    }
    const std::string key = redis_.key("online:" + std::to_string(e.user_id));
    // A user moving to another node leaves the old node's set.
    const auto old = redis_.command({"HGET", key, "node"});
    if (!old.is_nil() && old.str != e.node) {
        redis_.command({"SREM", redis_.key("node:" + old.str), std::to_string(e.user_id)});
    }
    redis_.command({"HSET", key, "node", e.node, "type", std::to_string(e.game_type), "level",
                    std::to_string(e.game_level), "table", std::to_string(e.table_id)});
    redis_.command({"EXPIRE", key, std::to_string(e.ttl_s)});
    redis_.command({"SADD", redis_.key("node:" + e.node), std::to_string(e.user_id)});
    return {0, {}, e};
}

Outcome<common::CountReply> Store::online_delete(const common::OnlineEntry& e) {
    const std::string uid = std::to_string(e.user_id);
    const auto n = redis_.command({"EVAL", kDeleteIfNode, "2", redis_.key("online:" + uid),
                                   redis_.key("node:" + e.node), e.node, uid});
    return {0, {}, {n.integer}};
}

Outcome<common::OnlineEntry> Store::online_get(int64_t user_id) {
    common::OnlineEntry e;
    e.user_id = user_id;
    const auto v = redis_.command({"HGETALL", redis_.key("online:" + std::to_string(user_id))});
    for (std::size_t i = 0; i + 1 < v.elements.size(); i += 2) {
        const auto& k = v.elements[i].str;
        const auto& val = v.elements[i + 1].str;
        if (k == "node") e.node = val;
        if (k == "type") e.game_type = static_cast<int32_t>(to_i64(val));
        if (k == "level") e.game_level = static_cast<int32_t>(to_i64(val));
        if (k == "table") e.table_id = static_cast<int32_t>(to_i64(val));
    }
    return {0, {}, e};
}

Outcome<common::CountReply> Store::online_clear_node(const std::string& node) {
    const std::string set = redis_.key("node:" + node);
    const auto members = redis_.command({"SMEMBERS", set});
    int64_t removed = 0;
    for (const auto& m : members.elements) {
        removed += redis_
                       .command({"EVAL", kDeleteIfNode, "2", redis_.key("online:" + m.str), set,
                                 node, m.str})
                       .integer;
    }
    redis_.command({"DEL", set});
    return {0, {}, {removed}};
}

Outcome<common::RankingReply> Store::ranking(const common::RankingRequest& req) {
    if (req.top < 1 || req.top > common::kMaxRankingTop) {
        return Outcome<common::RankingReply>::fail(Errno::kInvalidField, "Top must be 1..100");
    }
    const auto now = std::chrono::steady_clock::now();
    // With ranking_cache_ms 0 the age test always holds: every request reads the board.
    if (!ranking_read_at_ ||
        now - *ranking_read_at_ >= std::chrono::milliseconds(cfg_.ranking_cache_ms)) {
        ranking_ = read_ranking();
        ranking_read_at_ = now;
    }
    common::RankingReply reply;
    const auto n = std::min(ranking_.size(), static_cast<std::size_t>(req.top));
    reply.entries.assign(ranking_.begin(), ranking_.begin() + static_cast<std::ptrdiff_t>(n));
    if (req.user_id > 0) {
        const auto r =
            redis_.command({"ZREVRANK", redis_.key("rank"), std::to_string(req.user_id)});
        if (r.type == common::RedisValue::Type::kInteger) {
            reply.my_rank = static_cast<int32_t>(r.integer + 1);
        }
    }
    return {0, {}, std::move(reply)};
}

std::vector<common::RankingEntry> Store::read_ranking() {
    const auto v = redis_.command({"ZREVRANGE", redis_.key("rank"), "0",
                                   std::to_string(common::kMaxRankingTop - 1), "WITHSCORES"});
    std::vector<common::RankingEntry> top;
    for (std::size_t i = 0; i + 1 < v.elements.size(); i += 2) {
        common::RankingEntry e;
        e.rank = static_cast<int32_t>(i / 2 + 1);
        e.user_id = to_i64(v.elements[i].str);
        e.score = to_i64(v.elements[i + 1].str);
        top.push_back(std::move(e));
    }
    if (top.empty()) return top;
    // Always common::kMaxRankingTop parameters (user 0 never exists), so one prepared statement
    // serves every length of the board.
    std::vector<common::detail::Param> ids;
    for (std::size_t i = 0; i < static_cast<std::size_t>(common::kMaxRankingTop); ++i) {
        ids.push_back(common::detail::to_param(i < top.size() ? top[i].user_id : int64_t{0}));
    }
    const auto rows = mysql_
                          .prepare("SELECT user_id, name FROM accounts WHERE user_id IN (" +
                                   placeholders(ids.size(), "?") + ")")
                          .query_params(ids);
    std::unordered_map<int64_t, std::string> names;
    for (const auto& r : rows) names.emplace(r.i64(0), r.str(1));
    for (auto& e : top) {
        if (const auto it = names.find(e.user_id); it != names.end()) e.name = it->second;
    }
    return top;
}

Outcome<common::RobotReply> Store::robots(const common::RobotRequest& req) {
    using R = Outcome<common::RobotReply>;
    if (req.count < 1 || req.count > 64) return R::fail(Errno::kInvalidField, "count 1..64");
    common::RobotReply reply;
    // Robots not seated anywhere (no online entry), created when there are too few.
    const auto rows = mysql_
                          .prepare(
                              "SELECT user_id FROM accounts WHERE robot = 1 ORDER BY RAND() "
                              "LIMIT 200")
                          .query();
    std::vector<int64_t> free;
    for (const auto& r : rows) {
        if (static_cast<int>(free.size()) >= req.count) break;
        const auto on =
            redis_.command({"EXISTS", redis_.key("online:" + std::to_string(r.i64(0)))});
        if (on.integer == 0) free.push_back(r.i64(0));
    }
    while (static_cast<int>(free.size()) < req.count) {
        const std::string account = "robot_" + to_hex(random_bytes(6));
        common::Transaction tx(mysql_);
        auto& insert = mysql_.prepare(
            "INSERT INTO accounts (account, machine, name, gender, robot) "
            "VALUES (?, 'robot', ?, ?, 1)");
        insert.exec(account, "Robot " + account.substr(6, 4),
                    1 + static_cast<int>(free.size() % 2));
        const int64_t uid = static_cast<int64_t>(insert.last_insert_id());
        mysql_.prepare("INSERT INTO treasure (user_id, score, diamond) VALUES (?, 0, 0)").exec(uid);
        apply_change(uid, {}, cfg_.robot_topup_score, 0, common::kChangeTopUp,
                     "robot:" + std::to_string(uid));
        tx.commit();
        free.push_back(uid);
    }
    for (const int64_t uid : free) {
        auto user = find_user(uid);
        if (!user) continue;
        if (user->score < cfg_.robot_min_score) {
            auto t =
                top_up({uid, "acquire:" + std::to_string(uid) + ":" + to_hex(random_bytes(4))});
            if (t.ok()) user->score = t.value.score;
        }
        reply.robots.push_back(std::move(*user));
    }
    return {0, {}, std::move(reply)};
}

}  // namespace tb::db
