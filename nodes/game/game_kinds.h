#pragma once
// Every game kind this build can host. Adding a kind means writing its TableLogic in
// nodes/game/<kind>/ and listing it in game_kinds.cc; the frame (room.h) does not change.

#include <span>
#include <string_view>

#include "nodes/game/table_logic.h"

namespace tb::game {

std::span<const GameKind* const> game_kinds();
// The kind called `name`, or nullptr.
const GameKind* find_game_kind(std::string_view name);

}  // namespace tb::game
