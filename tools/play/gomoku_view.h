#pragma once
// What tb-play knows of a gomoku table and how it prints it: the 15x15 board with its
// coordinates (columns a-o, rows 1-15; the wire's PositionX is the column, PositionY the row
// minus one), the stones (X for chair 0, O for chair 1, the last one in parentheses), whose turn
// it is and the time left on the move clock. Fed with the decoded (150,*) messages; no I/O.
// One thread (tb-play's loop).

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "codec/messages.h"
#include "nodes/game/gomoku/gomoku_rules.h"
#include "tools/play/table_info.h"

namespace tb::play {

class GomokuView {
public:
    // A new table: nothing known.
    void reset();

    // NotifyScene: on sit-down only the clock (Timeout); on a return also the board, whose turn
    // and the time left.
    void on_scene(const codec::gomoku::NotifyScene& m, Clock::time_point now);
    void on_start(const codec::gomoku::BroadcastStart& m, Clock::time_point now);
    void on_place(const codec::gomoku::BroadcastPlaceStone& m, Clock::time_point now);
    void on_conclude(const codec::gomoku::BroadcastConclude& m);

    // The whole board and the status lines under it.
    std::string render(const TableInfo& t, Clock::time_point now) const;
    // "Game over: you win (five in a row)" and the score changes.
    static std::string conclusion(const codec::gomoku::BroadcastConclude& m, const TableInfo& t);
    // The robot strategy's move for `chair` on this board, as a sentence.
    std::string hint(int32_t chair) const;

    bool playing() const noexcept { return playing_; }
    int32_t current() const noexcept { return current_; }
    bool empty(int x, int y) const noexcept { return cell(x, y) == 0; }
    int stones() const noexcept { return stones_; }
    // 0 empty, else chair + 1.
    int cell(int x, int y) const noexcept {
        return cells_[static_cast<std::size_t>(y * game::gomoku::kLines + x)];
    }
    std::optional<Clock::time_point> deadline() const noexcept { return deadline_; }

    // The stone letter of a chair.
    static char stone_of(int32_t chair) noexcept { return chair == 0 ? 'X' : 'O'; }

private:
    void begin_turn(int32_t chair, Clock::time_point now, int64_t ms);

    std::array<int8_t, game::gomoku::kCells> cells_{};
    int stones_ = 0;
    bool playing_ = false;
    int32_t current_ = -1;
    int64_t timeout_ms_ = 15000;  // the move clock; NotifyScene Timeout replaces this default
    std::optional<Clock::time_point> deadline_;
    std::optional<std::pair<int, int>> last_;  // the last stone, shown in parentheses
    int32_t last_chair_ = -1;
};

}  // namespace tb::play
