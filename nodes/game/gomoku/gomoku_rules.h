#pragma once
// Gomoku's rules and strategy as pure functions (docs/RULES.md "Gomoku", "Robots"): a 15x15
// board, freestyle (five or more in a row wins), the robot/trustee strategy and the offline
// simulation behind `tb-rules simulate --game gomoku`. No I/O, no clock: the table logic
// (gomoku_logic.h) and tb-bot call these.

#include <array>
#include <cstdint>
#include <optional>
#include <random>

namespace tb::game::gomoku {

inline constexpr int kLines = 15;
inline constexpr int kCells = kLines * kLines;

struct Move {
    int x = 0;  // PositionX, 0..14 (column)
    int y = 0;  // PositionY, 0..14 (row)
    bool operator==(const Move&) const = default;
};

// Cells row-major (index y * 15 + x), 0 empty or chair + 1: the wire's NotifyScene Board.
class Board {
public:
    static bool inside(int x, int y) noexcept {
        return x >= 0 && x < kLines && y >= 0 && y < kLines;
    }
    // 0 empty, else chair + 1. Precondition: inside(x, y).
    int at(int x, int y) const noexcept { return cells_[static_cast<size_t>(y * kLines + x)]; }
    bool empty(int x, int y) const noexcept { return at(x, y) == 0; }
    // Precondition: inside and empty, chair 0 or 1.
    void place(int x, int y, int chair) noexcept;
    int stones() const noexcept { return stones_; }
    bool full() const noexcept { return stones_ == kCells; }
    const std::array<int8_t, kCells>& cells() const noexcept { return cells_; }
    void clear() noexcept;

private:
    std::array<int8_t, kCells> cells_{};
    int stones_ = 0;
};

// The longest run of `chair`'s stones through (x, y) in any of the four directions, counting
// (x, y) as chair's stone whether or not it is placed yet.
int line_through(const Board& b, int x, int y, int chair) noexcept;
// True when the stone of `chair` at (x, y) (placed or hypothetical) makes five or more.
bool wins(const Board& b, int x, int y, int chair) noexcept;

// The robot and trustee strategy of RULES.md §3: win if a move wins; else block the
// opponent's five-to-be (four); else make an unstoppable four of its own if it can (it wins
// before an open three could), else block the opponent's open three (incl. broken ones like
// O_OO); else the move with the best line potential, own lines weighing more than blocking
// and the longest own line deciding between equal shapes (then the centre, then `rng` if
// given). Opens in the centre. nullopt only on a full board or a chair other than 0 and 1.
// Pure and thread-safe.
std::optional<Move> choose_move(const Board& b, int chair, std::mt19937_64* rng = nullptr);
// A uniformly random empty cell; nullopt on a full board.
std::optional<Move> random_move(const Board& b, std::mt19937_64& rng);

struct SimulationResult {
    int games = 0;
    int wins = 0;  // the strategy's
    int losses = 0;
    int draws = 0;
    // Stones placed over all games: differs between seeds even when every game is won, so it
    // shows whether two runs played the same games.
    int64_t moves = 0;
    double win_rate() const noexcept { return games == 0 ? 0.0 : double(wins) / games; }
};
// Strategy against a uniform random legal player, alternating who moves first, seeded.
SimulationResult simulate(int games, uint64_t seed);

}  // namespace tb::game::gomoku
