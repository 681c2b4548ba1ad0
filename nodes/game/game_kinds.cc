#include "nodes/game/game_kinds.h"

#include <array>

#include "nodes/game/gomoku/gomoku_logic.h"
#include "nodes/game/landlords/landlords_logic.h"

namespace tb::game {

std::span<const GameKind* const> game_kinds() {
    static const std::array<const GameKind*, 2> kinds{&landlords::landlords_kind(),
                                                      &gomoku::gomoku_kind()};
    return kinds;
}

const GameKind* find_game_kind(std::string_view name) {
    for (const GameKind* k : game_kinds()) {
        if (k->name == name) return k;
    }
    return nullptr;
}

}  // namespace tb::game
