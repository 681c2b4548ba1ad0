#include "nodes/game/game_config.h"

#include <algorithm>

namespace tb::game {

int64_t RoomConfig::effective_base_score(int32_t level) const noexcept {
    if (base_score > 0) return base_score;
    switch (level) {
        case 1: return 100;
        case 2: return 200;
        case 3: return 500;
        default: return 1000;
    }
}

int64_t RoomConfig::effective_min_score(int32_t level) const noexcept {
    return min_score > 0 ? min_score : 20 * effective_base_score(level);
}

void bind_game_config(common::ConfigSchema& schema, GameConfig& cfg) {
    using std::chrono::milliseconds;
    common::bind_node_config(schema, cfg.node);
    schema.add("game.kind", &cfg.game, "the game this node hosts: gomoku or landlords")
        .one_of({"gomoku", "landlords"});
    schema.add("game.level", &cfg.level, "the room level (GameLevel) this node hosts").range(1, 99);
    auto& r = cfg.room;
    schema.add("game.capacity", &r.capacity, "seated players at most (reported as load)")
        .range(1, 1000000);
    schema.add("game.max_tables", &r.max_tables, "tables at most").range(1, 1000000);
    schema
        .add("game.base_score", &r.base_score,
             "the room's base score (0: by level: 100, 200, 500, 1000)")
        .range(int64_t{0}, int64_t{1'000'000'000});
    schema
        .add("game.min_score", &r.min_score,
             "balance needed to sit down (0: 20 x base score); less gets Errno 12")
        .range(int64_t{0}, int64_t{1'000'000'000'000});
    schema.add("robot.enabled", &r.robots, "fill waiting tables with robots");
    schema.add("robot.wait_ms", &r.robot_wait, "how long people wait before robots fill seats")
        .range(milliseconds(0), milliseconds(3'600'000));
    schema.add("robot.think_min_ms", &r.think_min, "shortest robot / trustee think time")
        .range(milliseconds(0), milliseconds(60'000));
    schema.add("robot.think_max_ms", &r.think_max, "longest robot / trustee think time")
        .range(milliseconds(0), milliseconds(60'000));
    schema.add("online.ttl_ms", &r.online_ttl, "lifetime of a player's online entry")
        .range(milliseconds(3000), milliseconds(3'600'000));
    schema.add("settle.retry_ms", &r.settle_retry, "first retry delay of an unconfirmed round")
        .range(milliseconds(10), milliseconds(60'000));
    schema.add("db.timeout_ms", &r.db_timeout, "deadline of each call to the db service")
        .range(milliseconds(50), milliseconds(60'000));
    schema
        .add("session.check_ms", &r.session_check,
             "how often proxies are asked whether seated players' sessions are still there "
             "(frees seats whose close was lost, or whose proxy died); 0: never")
        .range(milliseconds(0), milliseconds(3'600'000));
    schema
        .add("drain.limit_ms", &r.drain_limit,
             "SIGTERM: the longest wait for running tables before exiting")
        .range(milliseconds(0), milliseconds(86'400'000));
    schema.add("ticket.secret", &cfg.ticket_secret, "FastLogin ticket key, shared with proxies")
        .secret()
        .non_empty();
}

}  // namespace tb::game
