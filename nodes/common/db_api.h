#pragma once
// What the `db` service answers on the bus: message types and bodies. Login and game nodes
// call it; only tb-db touches MariaDB and Redis (docs/ARCHITECTURE.md "db node"). It lives in
// nodes/common because no node includes another node's headers.
//
// Errors come back as codes: Errno 5 (wrong password or wrong device), 6 (locked out after
// repeated failures), 12 (not enough score), 19 (invalid field), BusCode 1005 (storage
// unavailable: MariaDB or Redis down; the caller may retry later).

#include <cstdint>
#include <string>
#include <vector>

#include "codec/fields.h"

namespace tb::common {

// Bus message types of the db service (0xF1xxxxxx: never a client (mcmd, scmd)).
inline constexpr uint32_t kDbRegisterOrLogin = 0xF1000001;
inline constexpr uint32_t kDbLoadUser = 0xF1000002;
inline constexpr uint32_t kDbSettle = 0xF1000003;
inline constexpr uint32_t kDbChangeTreasure = 0xF1000004;
inline constexpr uint32_t kDbTopUp = 0xF1000005;
inline constexpr uint32_t kDbSignInDays = 0xF1000006;
inline constexpr uint32_t kDbSignIn = 0xF1000007;
inline constexpr uint32_t kDbOnlineSet = 0xF1000008;
inline constexpr uint32_t kDbOnlineDelete = 0xF1000009;
inline constexpr uint32_t kDbOnlineGet = 0xF100000A;
inline constexpr uint32_t kDbOnlineClearNode = 0xF100000B;
inline constexpr uint32_t kDbRanking = 0xF100000C;
inline constexpr uint32_t kDbRobotAcquire = 0xF100000D;

inline constexpr std::string_view kDbService = "db";

// ChangeType values of the treasure log (the client protocol's NotifyTreasure ChangeType).
inline constexpr int32_t kChangeRegister = 1;
inline constexpr int32_t kChangeRound = 2;
inline constexpr int32_t kChangeSignIn = 3;
inline constexpr int32_t kChangeTopUp = 4;

struct UserRecord {
    int64_t user_id = 0;
    std::string account;
    std::string name;
    int32_t icon = 0;
    int32_t gender = 0;
    int32_t level = 0;
    std::string phone;
    bool robot = false;
    int64_t score = 0;
    int64_t diamond = 0;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("user_id", s.user_id);
        f("account", s.account);
        f("name", s.name);
        f("icon", s.icon);
        f("gender", s.gender);
        f("level", s.level);
        f("phone", s.phone);
        f("robot", s.robot);
        f("score", s.score);
        f("diamond", s.diamond);
    }
};

struct RegisterRequest {
    std::string account;
    std::string password;  // empty: a device account bound to `machine`
    std::string machine;
    std::string name;
    int32_t icon = 0;
    int32_t gender = 0;
    std::string ip;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("account", s.account);
        f("password", s.password);
        f("machine", s.machine);
        f("name", s.name);
        f("icon", s.icon);
        f("gender", s.gender);
        f("ip", s.ip);
    }
};

struct RegisterReply {
    UserRecord user;
    bool created = false;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("user", s.user);
        f("created", s.created);
    }
};

struct UserQuery {
    int64_t user_id = 0;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("user_id", s.user_id);
    }
};

// One payment of a round: `from` pays `amount` (> 0) to `to`. The db node clamps what each
// payer pays to their balance at settlement time, sharing a short balance across that payer's
// transfers in proportion (rounded down), so the round stays zero-sum and nobody goes negative.
struct Transfer {
    int64_t from = 0;
    int64_t to = 0;
    int64_t amount = 0;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("from", s.from);
        f("to", s.to);
        f("amount", s.amount);
    }
};

struct SettleRequest {
    std::string round_id;  // unique per round; a repeat returns the first result
    std::string game;      // "gomoku", "landlords"
    int32_t level = 0;
    std::string node;            // the game node's bus identity
    std::vector<int64_t> seats;  // user ids by chair
    std::string seed;            // the shuffle seed, kept with the round
    std::string result;          // game-specific summary (JSON text), kept with the round
    std::vector<Transfer> transfers;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("round_id", s.round_id);
        f("game", s.game);
        f("level", s.level);
        f("node", s.node);
        f("seats", s.seats);
        f("seed", s.seed);
        f("result", s.result);
        f("transfers", s.transfers);
    }
};

struct SettledUser {
    int64_t user_id = 0;
    int64_t delta = 0;  // what the round finally moved for this user
    int64_t score = 0;  // balance after the round

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("user_id", s.user_id);
        f("delta", s.delta);
        f("score", s.score);
    }
};

struct SettleReply {
    std::string round_id;
    bool repeated = false;  // this round was settled before; these are the first result's amounts
    std::vector<SettledUser> users;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("round_id", s.round_id);
        f("repeated", s.repeated);
        f("users", s.users);
    }
};

struct ChangeTreasureRequest {
    int64_t user_id = 0;
    std::string request_key;  // unique per change; a repeat changes nothing
    int64_t score_delta = 0;
    int64_t diamond_delta = 0;
    int32_t change_type = 0;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("user_id", s.user_id);
        f("request_key", s.request_key);
        f("score_delta", s.score_delta);
        f("diamond_delta", s.diamond_delta);
        f("change_type", s.change_type);
    }
};

struct TreasureReply {
    int64_t user_id = 0;
    int64_t score = 0;
    int64_t diamond = 0;
    int64_t score_delta = 0;  // what was applied (0 on a repeat)
    int64_t diamond_delta = 0;
    bool repeated = false;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("user_id", s.user_id);
        f("score", s.score);
        f("diamond", s.diamond);
        f("score_delta", s.score_delta);
        f("diamond_delta", s.diamond_delta);
        f("repeated", s.repeated);
    }
};

// Robots only: bring the score back up to the configured top-up amount (ChangeType 4).
struct TopUpRequest {
    int64_t user_id = 0;
    std::string request_key;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("user_id", s.user_id);
        f("request_key", s.request_key);
    }
};

struct SignInDaysReply {
    bool can = false;
    int32_t days = 0;  // the current streak (days signed in a row, 0..7)

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("can", s.can);
        f("days", s.days);
    }
};

struct SignInReply {
    int32_t total_days = 0;
    int64_t score_reward = 0;
    int64_t diamond_reward = 0;
    int64_t score = 0;
    int64_t diamond = 0;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("total_days", s.total_days);
        f("score_reward", s.score_reward);
        f("diamond_reward", s.diamond_reward);
        f("score", s.score);
        f("diamond", s.diamond);
    }
};

struct OnlineEntry {
    int64_t user_id = 0;
    std::string node;  // game node bus identity; empty = not online
    int32_t game_type = 0;
    int32_t game_level = 0;
    int32_t table_id = 0;
    int32_t ttl_s = 0;  // set: lifetime in seconds (refreshed by the game node)

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("user_id", s.user_id);
        f("node", s.node);
        f("game_type", s.game_type);
        f("game_level", s.game_level);
        f("table_id", s.table_id);
        f("ttl_s", s.ttl_s);
    }
};

struct NodeEntries {
    std::string node;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("node", s.node);
    }
};

struct CountReply {
    int64_t count = 0;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("count", s.count);
    }
};

// The longest Ranking anyone may ask for (the client's Top); login checks it, db serves it.
inline constexpr int32_t kMaxRankingTop = 100;

struct RankingRequest {
    int32_t top = 10;
    int64_t user_id = 0;  // whose rank to return too (0: none)

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("top", s.top);
        f("user_id", s.user_id);
    }
};

struct RankingEntry {
    int32_t rank = 0;
    int64_t user_id = 0;
    std::string name;
    int64_t score = 0;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("rank", s.rank);
        f("user_id", s.user_id);
        f("name", s.name);
        f("score", s.score);
    }
};

struct RankingReply {
    std::vector<RankingEntry> entries;
    int32_t my_rank = 0;  // 0: unranked

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("entries", s.entries);
        f("my_rank", s.my_rank);
    }
};

struct RobotRequest {
    int32_t count = 1;
    std::string node;  // the game node taking them (for the log)

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("count", s.count);
        f("node", s.node);
    }
};

struct RobotReply {
    std::vector<UserRecord> robots;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("robots", s.robots);
    }
};

}  // namespace tb::common
