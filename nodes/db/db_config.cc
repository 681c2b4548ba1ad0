#include "nodes/db/db_config.h"

#include <charconv>

#include "nodes/db/rules.h"

namespace tb::db {

namespace {

std::array<int64_t, 7> seven_amounts(const std::vector<std::string>& v, const char* key) {
    std::array<int64_t, 7> out{};
    if (v.size() != 7) {
        throw common::ConfigError(std::string(key) + ": expected 7 amounts (one per day), got " +
                                  std::to_string(v.size()));
    }
    for (std::size_t i = 0; i < 7; ++i) {
        const auto& s = v[i];
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out[i]);
        if (ec != std::errc() || p != s.data() + s.size() || out[i] < 0) {
            throw common::ConfigError(std::string(key) + ": '" + s +
                                      "' is not a non-negative integer");
        }
    }
    return out;
}

}  // namespace

void DbConfig::finish() {
    signin_score_by_day = seven_amounts(signin_score, "signin.score");
    signin_diamond_by_day = seven_amounts(signin_diamond, "signin.diamond");
    try {
        utc_offset_minutes = parse_utc_offset(signin_timezone);
    } catch (const std::invalid_argument& e) {
        throw common::ConfigError(std::string("signin.timezone: ") + e.what());
    }
}

void bind_db_config(common::ConfigSchema& schema, DbConfig& cfg) {
    common::bind_node_config(schema, cfg.node);
    schema.add("mysql.host", &cfg.mysql.host, "MariaDB host");
    schema.add("mysql.port", &cfg.mysql.port, "MariaDB port");
    schema.add("mysql.socket", &cfg.mysql.unix_socket, "MariaDB unix socket (instead of host)");
    schema.add("mysql.user", &cfg.mysql.user, "MariaDB user").non_empty();
    schema.add("mysql.password", &cfg.mysql.password, "MariaDB password").secret();
    schema.add("mysql.database", &cfg.mysql.database, "schema (created if missing)").non_empty();
    schema.add("mysql.connect_timeout_s", &cfg.mysql.connect_timeout_s, "connect timeout")
        .range(1, 60);
    schema.add("mysql.read_timeout_s", &cfg.mysql.read_timeout_s, "read timeout").range(1, 600);
    schema.add("mysql.write_timeout_s", &cfg.mysql.write_timeout_s, "write timeout").range(1, 600);
    schema.add("redis.host", &cfg.redis.host, "Redis host");
    schema.add("redis.port", &cfg.redis.port, "Redis port");
    schema.add("redis.password", &cfg.redis.password, "Redis password (AUTH)").secret();
    schema.add("redis.db", &cfg.redis.db, "Redis database number").range(0, 15);
    schema.add("redis.key_prefix", &cfg.redis.key_prefix, "prefix of every key tablebus writes");
    schema.add("redis.timeout_ms", &cfg.redis.command_timeout_ms, "Redis command timeout")
        .range(50, 60000);
    schema.add("pool.size", &cfg.pool_size, "threads with their own storage connections")
        .range(1, 64);
    schema
        .add("pool.settle_batch", &cfg.settle_batch,
             "settlements queued together that share one transaction (1: one each)")
        .range(1, 64);
    schema
        .add("pool.settle_linger_ms", &cfg.settle_linger_ms,
             "how long a settlement waits for others to share its transaction (0: no wait)")
        .range(0, 1000);
    schema.add("pool.queue_cap", &cfg.queue_cap, "jobs waiting for a thread before 'overloaded'")
        .range(1, 1000000);
    schema
        .add("pool.ping_idle_ms", &cfg.ping_idle_ms,
             "connections idle this long are pinged before use (0: always)")
        .range(0, 3600000);
    schema.add("economy.initial_score", &cfg.initial_score, "score of a new account")
        .range(int64_t{0}, int64_t{1} << 40);
    schema.add("economy.initial_diamond", &cfg.initial_diamond, "diamonds of a new account")
        .range(int64_t{0}, int64_t{1} << 40);
    schema.add("signin.score", &cfg.signin_score, "score reward for day 1..7 of the cycle");
    schema.add("signin.diamond", &cfg.signin_diamond, "diamond reward for day 1..7 of the cycle");
    schema.add("signin.timezone", &cfg.signin_timezone,
               "UTC offset of the sign-in calendar day, like +08:00");
    schema.add("robot.topup_score", &cfg.robot_topup_score, "robots are topped up to this score")
        .range(int64_t{1}, int64_t{1} << 40);
    schema.add("robot.min_score", &cfg.robot_min_score, "robots under this get topped up")
        .range(int64_t{0}, int64_t{1} << 40);
    schema.add("login.pbkdf2_iterations", &cfg.pbkdf2_iterations, "password hashing cost")
        .range(1000, 10000000);
    schema
        .add("login.lockout_failures", &cfg.lockout_failures,
             "failed logins within lockout_seconds that lock the account")
        .range(1, 1000);
    schema.add("login.lockout_seconds", &cfg.lockout_seconds, "failure window and lock length")
        .range(1, 86400);
    schema
        .add("ranking.cache_ms", &cfg.ranking_cache_ms,
             "how long a pool thread reuses the top 100 of the ranking (0: never)")
        .range(0, 60000);
    schema.add("db.migrate_at_start", &cfg.migrate_at_start,
               "apply missing migrations when the node starts");
}

}  // namespace tb::db
