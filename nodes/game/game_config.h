#pragma once
// tb-game's settings (conf/game.toml): which game and level this node hosts, the room's stakes
// and limits, robots, and how it talks to the db node. Each game kind adds its own section
// ([gomoku], [landlords]) through GameKind::configure, so the frame's config never names a
// game's clocks.

#include <chrono>
#include <cstdint>
#include <string>

#include "nodes/common/config.h"

namespace tb::game {

struct RoomConfig {
    int64_t capacity = 2000;  // seated players at most (the load the broker's pack policy sees)
    int64_t max_tables = 1000;
    int64_t base_score = 0;  // 0: by level (1: 100, 2: 200, 3: 500, 4+: 1000)
    int64_t min_score = 0;   // 0: 20 x base_score
    bool robots = true;
    std::chrono::milliseconds robot_wait{5000};
    std::chrono::milliseconds think_min{500};
    std::chrono::milliseconds think_max{1500};
    std::chrono::milliseconds online_ttl{60000};   // lifetime of an online entry; refreshed at 1/3
    std::chrono::milliseconds settle_retry{1000};  // first retry delay of a settlement (doubles)
    std::chrono::milliseconds db_timeout{3000};
    std::chrono::milliseconds session_check{30000};  // asks proxies about seated sessions; 0: off
    std::chrono::milliseconds drain_limit{600000};   // SIGTERM: longest wait for tables to finish

    int64_t effective_base_score(int32_t level) const noexcept;
    int64_t effective_min_score(int32_t level) const noexcept;
};

struct GameConfig {
    common::NodeConfig node;
    std::string game = "gomoku";  // a kind of game_kinds.h
    int32_t level = 1;
    RoomConfig room;
    std::string ticket_secret;  // shared with the proxies
};

// Binds the frame's keys; `kinds` (game_kinds.h) binds each kind's own keys.
void bind_game_config(common::ConfigSchema& schema, GameConfig& cfg);

}  // namespace tb::game
