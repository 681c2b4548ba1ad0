#include "nodes/game/gomoku/gomoku_rules.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

namespace tb::game::gomoku {

namespace {

// The four line directions: row, column, both diagonals.
constexpr int kDirs[4][2] = {{1, 0}, {0, 1}, {1, 1}, {1, -1}};

// The strategy looks at a line through a candidate cell as a 9-cell window centred on it (a
// five through the centre lies inside it), each other cell empty, own, or blocked (the
// opponent's stone or off the board). 3^8 windows: every one is classified once, up front.
enum Shape : uint8_t {
    kUnknown,  // not yet classified (table fill only)
    kDead,     // no five through the centre can ever be made on this line
    kOne,      // a five is still possible
    kTwo,      // one move from a three
    kOpenTwo,  // one move from an open three
    kThree,    // one move from a four
    kOpenThree,
    kFour,      // exactly one cell completes five
    kOpenFour,  // two or more cells complete five: unstoppable
    kFive,
};

enum Cell : uint8_t { kEmpty = 0, kOwn = 1, kBlocked = 2 };
constexpr int kWindow = 9;
constexpr int kCentre = 4;
constexpr int kPatterns = 6561;  // 3^8: the centre is always own

using Window = std::array<uint8_t, kWindow>;

int run_through_centre(const Window& w) {
    int n = 1;
    for (int i = kCentre - 1; i >= 0 && w[i] == kOwn; --i) ++n;
    for (int i = kCentre + 1; i < kWindow && w[i] == kOwn; ++i) ++n;
    return n;
}

int pattern_index(const Window& w) {
    int index = 0;
    for (int i = kWindow - 1; i >= 0; --i) {
        if (i != kCentre) index = index * 3 + w[i];
    }
    return index;
}

Shape classify(Window& w, std::array<Shape, kPatterns>& memo) {
    Shape& slot = memo[pattern_index(w)];
    if (slot != kUnknown) return slot;
    Shape result = kDead;
    if (run_through_centre(w) >= 5) {
        result = kFive;
    } else {
        int completions = 0;
        for (int i = 0; i < kWindow; ++i) {
            if (w[i] != kEmpty) continue;
            w[i] = kOwn;
            if (run_through_centre(w) >= 5) ++completions;
            w[i] = kEmpty;
        }
        if (completions >= 2) {
            result = kOpenFour;
        } else if (completions == 1) {
            result = kFour;
        } else {
            // Name the shape after the best one a single further stone can reach.
            for (int i = 0; i < kWindow; ++i) {
                if (w[i] != kEmpty) continue;
                w[i] = kOwn;
                Shape next = classify(w, memo);
                w[i] = kEmpty;
                Shape here = kDead;
                switch (next) {
                    case kOpenFour: here = kOpenThree; break;
                    case kFour: here = kThree; break;
                    case kOpenThree: here = kOpenTwo; break;
                    case kThree: here = kTwo; break;
                    case kOpenTwo:
                    case kTwo:
                    case kOne: here = kOne; break;
                    default: break;
                }
                result = std::max(result, here);
            }
        }
    }
    slot = result;
    return result;
}

const std::array<Shape, kPatterns>& shape_table() {
    static const std::array<Shape, kPatterns> table = [] {
        std::array<Shape, kPatterns> memo{};
        for (int index = 0; index < kPatterns; ++index) {
            Window w{};
            int rest = index;
            for (int i = 0; i < kWindow; ++i) {
                if (i == kCentre) {
                    w[i] = kOwn;
                    continue;
                }
                w[i] = static_cast<uint8_t>(rest % 3);
                rest /= 3;
            }
            classify(w, memo);
        }
        return memo;
    }();
    return table;
}

// The board with a border of kCentre off-board cells (value 3) on every side, so that reading
// a window never needs a bounds check: the strategy reads ~8 cells per line, 4 lines, 2 players
// for every candidate, and the checks were most of its time.
constexpr int kPadded = kLines + 2 * kCentre;
constexpr int kOffBoard = 3;
// A step along each line direction of kDirs, in the padded array.
constexpr std::array<int, 4> kSteps = [] {
    std::array<int, 4> steps{};
    for (std::size_t d = 0; d < steps.size(); ++d) steps[d] = kDirs[d][1] * kPadded + kDirs[d][0];
    return steps;
}();

struct PaddedBoard {
    std::array<uint8_t, kPadded * kPadded> cells{};

    explicit PaddedBoard(const Board& b) {
        cells.fill(kOffBoard);
        for (int y = 0; y < kLines; ++y) {
            for (int x = 0; x < kLines; ++x) {
                cells[static_cast<size_t>(at(x, y))] = static_cast<uint8_t>(b.at(x, y));
            }
        }
    }
    static int at(int x, int y) { return (y + kCentre) * kPadded + x + kCentre; }
};

// The window indices of both players along direction `dir` with a stone at (x, y), from one
// read of each cell: a cell is empty to both, own to the one whose stone it is and blocked to
// the other, and blocked to both off the board.
void shape_indices(const PaddedBoard& b, int x, int y, int dir, int& index0, int& index1) {
    const int step = kSteps[static_cast<std::size_t>(dir)];
    const int centre = PaddedBoard::at(x, y);
    // by cell value (0 empty, 1 chair 0, 2 chair 1, 3 off the board): what it is to each chair
    static constexpr int kTo0[4] = {kEmpty, kOwn, kBlocked, kBlocked};
    static constexpr int kTo1[4] = {kEmpty, kBlocked, kOwn, kBlocked};
    int i0 = 0;
    int i1 = 0;
    // Window cells 8..5 then 3..0 of pattern_index(): the far side first, the centre skipped.
    const auto read = [&](int k) {
        const int c = b.cells[static_cast<size_t>(centre + k * step)];
        i0 = i0 * 3 + kTo0[c];
        i1 = i1 * 3 + kTo1[c];
    };
    for (int k = kCentre; k >= 1; --k) read(k);
    for (int k = -1; k >= -kCentre; --k) read(k);
    index0 = i0;
    index1 = i1;
}

// line_through() on the padded board: the border stops a run as an opponent's stone would.
int padded_line_through(const PaddedBoard& b, int x, int y, int chair) {
    const int own = chair + 1;
    const int centre = PaddedBoard::at(x, y);
    int best = 0;
    for (const int step : kSteps) {
        int n = 1;
        for (int i = centre + step; b.cells[static_cast<size_t>(i)] == own; i += step) ++n;
        for (int i = centre - step; b.cells[static_cast<size_t>(i)] == own; i -= step) ++n;
        best = std::max(best, n);
    }
    return best;
}

// What a stone of one player at a cell would make over its four lines: a count per shape,
// indexed by Shape so that counting one is an increment, not a branch.
struct Threats {
    std::array<int, kFive + 1> n{};

    int five() const { return n[kFive]; }
    int open_three() const { return n[kOpenThree]; }
    // Wins by force unless the other side already has a four: two five-points at once, or a
    // four whose block leaves an open three to become an open four.
    bool sure_win() const {
        return n[kOpenFour] > 0 || n[kFour] >= 2 || (n[kFour] > 0 && n[kOpenThree] > 0);
    }
    int64_t potential() const {
        return n[kFour] * 1000 + n[kOpenThree] * 1200 + n[kThree] * 150 + n[kOpenTwo] * 120 +
               n[kTwo] * 30 + n[kOne] * 5;
    }
};

// What a stone of either player at (x, y) would make: both in one pass over the four lines
// (the strategy always wants both, and this is where it spends its time).
void threats_at(const PaddedBoard& b, int x, int y, Threats& chair0, Threats& chair1) {
    const auto& table = shape_table();
    for (int dir = 0; dir < 4; ++dir) {
        int i0 = 0;
        int i1 = 0;
        shape_indices(b, x, y, dir, i0, i1);
        ++chair0.n[table[static_cast<size_t>(i0)]];
        ++chair1.n[table[static_cast<size_t>(i1)]];
    }
}

// Priorities of RULES.md §3 as score tiers, each far above everything below it: win; block the
// opponent's five; make an unstoppable four (it wins before the opponent's open three can, so it
// comes before blocking one); block the opponent's open three (any cell where they would get an
// open four or a four-three); double open three; then line potential, own counting more than
// the opponent's so that a tie goes to building.
int64_t score_cell(const PaddedBoard& b, int x, int y, int chair) {
    Threats both[2];
    threats_at(b, x, y, both[0], both[1]);
    const Threats& own = both[chair];
    const Threats& other = both[1 - chair];
    if (own.five() > 0) return int64_t{1} << 60;
    if (other.five() > 0) return int64_t{1} << 56;
    // The longest own line counts a little on its own, so that of two equal shapes (XXX and
    // XX_X) the solid one wins.
    int64_t score =
        own.potential() * 10 + other.potential() * 8 + padded_line_through(b, x, y, chair);
    if (own.sure_win()) score += int64_t{1} << 52;
    if (other.sure_win()) score += int64_t{1} << 48;
    if (own.open_three() >= 2) score += int64_t{1} << 44;
    if (other.open_three() >= 2) score += int64_t{1} << 40;
    return score;
}

int centre_distance(int x, int y) {
    return std::abs(x - kLines / 2) + std::abs(y - kLines / 2);
}

}  // namespace

void Board::place(int x, int y, int chair) noexcept {
    cells_[static_cast<size_t>(y * kLines + x)] = static_cast<int8_t>(chair + 1);
    ++stones_;
}

void Board::clear() noexcept {
    cells_.fill(0);
    stones_ = 0;
}

int line_through(const Board& b, int x, int y, int chair) noexcept {
    const int own = chair + 1;
    int best = 0;
    for (const auto& d : kDirs) {
        int n = 1;
        for (int cx = x + d[0], cy = y + d[1]; Board::inside(cx, cy) && b.at(cx, cy) == own;
             cx += d[0], cy += d[1]) {
            ++n;
        }
        for (int cx = x - d[0], cy = y - d[1]; Board::inside(cx, cy) && b.at(cx, cy) == own;
             cx -= d[0], cy -= d[1]) {
            ++n;
        }
        best = std::max(best, n);
    }
    return best;
}

bool wins(const Board& b, int x, int y, int chair) noexcept {
    return line_through(b, x, y, chair) >= 5;
}

std::optional<Move> choose_move(const Board& b, int chair, std::mt19937_64* rng) {
    if (b.full() || (chair != 0 && chair != 1)) return std::nullopt;
    if (b.stones() == 0) return Move{kLines / 2, kLines / 2};

    // Candidates: empty cells within two of a stone (a move farther away builds nothing and
    // blocks nothing). Every empty cell when that leaves none, which cannot happen on a board
    // with a stone but keeps the nullopt promise honest.
    // The "within two" mask is marked outward from the stones (tens of them), not searched for
    // in the 5x5 square around each of the 225 cells.
    std::array<bool, kCells> near{};
    for (int y = 0; y < kLines; ++y) {
        for (int x = 0; x < kLines; ++x) {
            if (b.empty(x, y)) continue;
            for (int cy = std::max(0, y - 2); cy <= std::min(kLines - 1, y + 2); ++cy) {
                for (int cx = std::max(0, x - 2); cx <= std::min(kLines - 1, x + 2); ++cx) {
                    near[static_cast<size_t>(cy * kLines + cx)] = true;
                }
            }
        }
    }
    std::vector<Move> candidates;
    candidates.reserve(kCells);
    for (int y = 0; y < kLines; ++y) {
        for (int x = 0; x < kLines; ++x) {
            if (b.empty(x, y) && near[static_cast<size_t>(y * kLines + x)]) {
                candidates.push_back({x, y});
            }
        }
    }
    if (candidates.empty()) {
        for (int y = 0; y < kLines; ++y) {
            for (int x = 0; x < kLines; ++x) {
                if (b.empty(x, y)) candidates.push_back({x, y});
            }
        }
    }

    std::vector<Move> best;
    int64_t best_score = -1;
    int best_distance = 0;
    const PaddedBoard padded(b);
    for (const Move& m : candidates) {
        const int64_t score = score_cell(padded, m.x, m.y, chair);
        const int distance = centre_distance(m.x, m.y);
        if (score > best_score || (score == best_score && distance < best_distance)) {
            best.clear();
            best_score = score;
            best_distance = distance;
        }
        if (score == best_score && distance == best_distance) best.push_back(m);
    }
    if (rng != nullptr && best.size() > 1) {
        std::uniform_int_distribution<size_t> pick(0, best.size() - 1);
        return best[pick(*rng)];
    }
    return best.front();
}

std::optional<Move> random_move(const Board& b, std::mt19937_64& rng) {
    if (b.full()) return std::nullopt;
    std::uniform_int_distribution<int> pick(0, kCells - b.stones() - 1);
    int n = pick(rng);
    for (int i = 0; i < kCells; ++i) {
        if (b.cells()[static_cast<size_t>(i)] != 0) continue;
        if (n-- == 0) return Move{i % kLines, i / kLines};
    }
    return std::nullopt;  // unreachable: stones() counts the occupied cells
}

SimulationResult simulate(int games, uint64_t seed) {
    std::mt19937_64 rng(seed);
    SimulationResult result;
    Board board;
    constexpr int kStrategy = 0;
    for (int game = 0; game < games; ++game) {
        board.clear();
        int mover = game % 2 == 0 ? kStrategy : 1 - kStrategy;
        int winner = -1;
        while (!board.full()) {
            const std::optional<Move> m =
                mover == kStrategy ? choose_move(board, mover, &rng) : random_move(board, rng);
            board.place(m->x, m->y, mover);
            ++result.moves;
            if (wins(board, m->x, m->y, mover)) {
                winner = mover;
                break;
            }
            mover = 1 - mover;
        }
        ++result.games;
        if (winner == kStrategy) {
            ++result.wins;
        } else if (winner < 0) {
            ++result.draws;
        } else {
            ++result.losses;
        }
    }
    return result;
}

}  // namespace tb::game::gomoku
