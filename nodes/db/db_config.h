#pragma once
// tb-db's settings (conf/db.toml): storage endpoints, the pool, and the tunable values of the
// game economy that live in config rather than in the database.

#include <array>
#include <cstdint>
#include <string>

#include "nodes/common/config.h"
#include "nodes/common/mariadb.h"
#include "nodes/common/redis.h"

namespace tb::db {

struct DbConfig {
    DbConfig() { mysql.database = "tablebus"; }

    common::NodeConfig node;
    common::MariaDbConfig mysql;
    common::RedisConfig redis;
    int32_t pool_size = 4;  // threads, each with its own MariaDB and Redis connection
    // At most this many queued settlements share one transaction (one durable commit); each
    // round's text is bounded (60 KB of result), so 64 stays far below max_allowed_packet.
    int32_t settle_batch = 16;
    // A pool thread that picks a settlement waits up to this long for more to share its
    // transaction (0: takes only what is queued). Group commit: a little settlement latency
    // for fewer transactions, statements and durable commits per round under load.
    int32_t settle_linger_ms = 5;
    int32_t queue_cap = 10000;  // jobs waiting for a thread before "overloaded"
    // A pool thread's connections unused for longer than this are pinged before its next job:
    // a server restarted while the thread was idle would otherwise fail that job. 0: always.
    int32_t ping_idle_ms = 1000;
    int64_t initial_score = 10000;
    int64_t initial_diamond = 10;
    std::vector<std::string> signin_score = {"100", "200", "300", "400", "500", "600", "1000"};
    std::vector<std::string> signin_diamond = {"0", "0", "1", "0", "0", "1", "3"};
    std::string signin_timezone = "+08:00";
    int64_t robot_topup_score = 10000;  // robots are brought back to this when they run low
    int64_t robot_min_score = 2000;     // a robot under this is topped up when acquired
    int32_t pbkdf2_iterations = 100000;
    int32_t lockout_failures = 5;   // failed logins before the account is locked
    int32_t lockout_seconds = 600;  // how long failures count and the lock lasts
    bool migrate_at_start = true;
    // How long a pool thread reuses the leaderboard's top 100 (with names) before reading it
    // again; 0 reads it for every request. The caller's own rank is always read fresh.
    int32_t ranking_cache_ms = 1000;

    // Validated forms of the string lists above (filled by finish()).
    std::array<int64_t, 7> signin_score_by_day{};
    std::array<int64_t, 7> signin_diamond_by_day{};
    int utc_offset_minutes = 0;

    // Checks the cross-field rules and fills the derived values; throws common::ConfigError.
    void finish();
};

void bind_db_config(common::ConfigSchema& schema, DbConfig& cfg);

}  // namespace tb::db
