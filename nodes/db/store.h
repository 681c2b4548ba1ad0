#pragma once
// The db node's storage operations on one MariaDB connection and one Redis connection. One
// Store per pool thread: nothing here is shared or locked. Every balance change is one
// transaction that writes the balance and its treasure_log row together; the log's unique
// (change key, user) makes a repeated round or request change nothing the second time.
//
// Failures: a rule the caller broke comes back as an Outcome code (codec::Errno); storage
// trouble throws common::DbException (the pool answers "storage unavailable" and reconnects).

#include <chrono>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "nodes/common/db_api.h"
#include "nodes/common/mariadb.h"
#include "nodes/common/redis.h"
#include "nodes/db/db_config.h"

namespace tb::db {

template <class T>
struct Outcome {
    int32_t code = 0;  // codec::Errno; 0 = ok
    std::string text;
    T value{};

    static Outcome fail(codec::Errno e, std::string why) {
        return Outcome{codec::to_int(e), std::move(why), T{}};
    }
    bool ok() const noexcept { return code == 0; }
};

class Store {
public:
    // `cfg` must outlive the store (owned by the node). `now` returns unix seconds (injectable
    // so tests can move the sign-in calendar).
    Store(const DbConfig& cfg, std::function<int64_t()> now = {});

    // Connects both when not connected. Throws DbException (kConnection) on failure.
    void connect();
    bool connected() const noexcept;
    void disconnect() noexcept;
    // Cheap liveness check of both connections.
    bool ping() noexcept;

    // Creates the schema if missing and applies the migrations it lacks; returns how many ran.
    int migrate();

    Outcome<common::RegisterReply> register_or_login(const common::RegisterRequest& req);
    Outcome<common::UserRecord> load_user(int64_t user_id);
    Outcome<common::SettleReply> settle(const common::SettleRequest& req);
    // Settles several rounds, one answer per request in its order, each the answer settle()
    // would give. Rounds over disjoint users share one transaction (a durable commit each is
    // what a busy game node's settlements cost most); the rest settle one by one.
    std::vector<Outcome<common::SettleReply>> settle_many(
        const std::vector<const common::SettleRequest*>& reqs);
    Outcome<common::TreasureReply> change_treasure(const common::ChangeTreasureRequest& req);
    Outcome<common::TreasureReply> top_up(const common::TopUpRequest& req);
    Outcome<common::SignInDaysReply> sign_in_days(int64_t user_id);
    Outcome<common::SignInReply> sign_in(int64_t user_id);
    Outcome<common::OnlineEntry> online_set(const common::OnlineEntry& e);
    Outcome<common::CountReply> online_delete(const common::OnlineEntry& e);
    Outcome<common::OnlineEntry> online_get(int64_t user_id);
    Outcome<common::CountReply> online_clear_node(const std::string& node);
    Outcome<common::RankingReply> ranking(const common::RankingRequest& req);
    Outcome<common::RobotReply> robots(const common::RobotRequest& req);

    common::MariaDb& mysql() noexcept { return mysql_; }
    common::Redis& redis() noexcept { return redis_; }

private:
    struct Balance {
        int64_t score = 0;
        int64_t diamond = 0;
        bool robot = false;
    };
    std::optional<Balance> lock_balance(int64_t user_id);
    // Applies one change inside the caller's transaction; false when the key was seen before.
    bool apply_change(int64_t user_id, const Balance& before, int64_t score_delta,
                      int64_t diamond_delta, int32_t change_type, const std::string& key);
    std::optional<common::UserRecord> find_user(int64_t user_id);
    void rank(int64_t user_id, int64_t score);
    // A round being settled: its request, its users and the answer being built.
    struct SettleWork {
        const common::SettleRequest* req = nullptr;
        std::set<int64_t> users;
        common::SettleReply reply;
    };
    using Ranked = std::vector<std::pair<int64_t, int64_t>>;  // (user, score) for the leaderboard
    static std::optional<Outcome<common::SettleReply>> settle_refusal(
        const common::SettleRequest& req);
    static SettleWork settle_work(const common::SettleRequest& req);
    Outcome<common::SettleReply> settle_alone(SettleWork work);
    void rank_all(const Ranked& ranked);
    // One attempt at settling `rounds` (which share no user): their balances locked and read,
    // then written with the round and log rows and committed. Returns Errno::kInvalidField when
    // a user is unknown. Throws DbException (with_retries rolls back).
    int32_t settle_once(std::vector<SettleWork>& rounds, Ranked& ranked);
    // The leaderboard's first common::kMaxRankingTop entries with their names: two round trips.
    std::vector<common::RankingEntry> read_ranking();
    int64_t today() const;

    const DbConfig& cfg_;  // owned by the node, outlives every store
    std::function<int64_t()> now_;
    common::MariaDb mysql_;
    common::Redis redis_;
    // read_ranking()'s result, reused for cfg_.ranking_cache_ms. Ranking is public and asks for
    // up to 100 names: a handful of clients asking in a loop must not keep the pool busy.
    std::vector<common::RankingEntry> ranking_;
    std::optional<std::chrono::steady_clock::time_point> ranking_read_at_;
};

}  // namespace tb::db
