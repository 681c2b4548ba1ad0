// Gomoku's pure rules and strategy (nodes/game/gomoku/gomoku_rules.h): five or more wins in
// every direction and nowhere else, the strategy's priorities of RULES.md §3, the random
// player, and the offline simulation behind `tb-rules simulate --game gomoku`.
#include "nodes/game/gomoku/gomoku_rules.h"

#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

using namespace tb::game::gomoku;

namespace {

// A board drawn as rows from the top (y = 0): 'X' chair 0, 'O' chair 1, anything else empty.
// Rows shorter than 15 and fewer than 15 rows leave the rest empty.
Board board_of(const std::vector<std::string>& rows) {
    Board b;
    for (size_t y = 0; y < rows.size(); ++y) {
        for (size_t x = 0; x < rows[y].size(); ++x) {
            if (rows[y][x] == 'X') b.place(static_cast<int>(x), static_cast<int>(y), 0);
            if (rows[y][x] == 'O') b.place(static_cast<int>(x), static_cast<int>(y), 1);
        }
    }
    return b;
}

bool one_of(const Move& m, std::initializer_list<Move> allowed) {
    for (const Move& a : allowed) {
        if (m == a) return true;
    }
    return false;
}

}  // namespace

TEST_CASE("a board places stones as chair plus one and clears", "[gomoku]") {
    Board b;
    CHECK(b.stones() == 0);
    CHECK(b.empty(3, 4));
    b.place(3, 4, 0);
    b.place(14, 14, 1);
    CHECK(b.at(3, 4) == 1);
    CHECK(b.at(14, 14) == 2);
    CHECK(b.cells()[4 * 15 + 3] == 1);  // row-major: y * 15 + x
    CHECK(b.stones() == 2);
    CHECK_FALSE(b.full());
    b.clear();
    CHECK(b.stones() == 0);
    CHECK(b.empty(3, 4));
    CHECK(Board::inside(0, 0));
    CHECK(Board::inside(14, 14));
    CHECK_FALSE(Board::inside(15, 0));
    CHECK_FALSE(Board::inside(0, -1));
}

TEST_CASE("five in a row wins in each of the four directions", "[gomoku]") {
    struct Case {
        const char* name;
        int dx, dy, x0, y0;
    };
    const Case cases[] = {
        {"row", 1, 0, 3, 7},
        {"column", 0, 1, 6, 2},
        {"diagonal", 1, 1, 1, 1},
        {"anti-diagonal", 1, -1, 4, 12},
    };
    for (const Case& c : cases) {
        for (int gap = 0; gap < 5; ++gap) {  // the winning stone may come at any place in the line
            INFO(c.name << ", last stone at " << gap);
            Board b;
            for (int i = 0; i < 5; ++i) {
                if (i != gap) b.place(c.x0 + i * c.dx, c.y0 + i * c.dy, 1);
            }
            const int x = c.x0 + gap * c.dx;
            const int y = c.y0 + gap * c.dy;
            CHECK(wins(b, x, y, 1));
            CHECK(line_through(b, x, y, 1) == 5);
            CHECK_FALSE(wins(b, x, y, 0));  // the other colour's stones are not chair 0's
            b.place(x, y, 1);
            CHECK(wins(b, x, y, 1));
        }
    }
}

TEST_CASE("more than five in a row wins too", "[gomoku]") {
    const Board b = board_of({
        "",
        "XXX.XX",  // filling (3, 1) makes six
        "",
        "O",
        "O",
        "O",
        ".",  // (0, 6) makes seven in the column
        "O",
        "O",
        "O",
    });
    CHECK(line_through(b, 3, 1, 0) == 6);
    CHECK(wins(b, 3, 1, 0));
    CHECK(line_through(b, 0, 6, 1) == 7);
    CHECK(wins(b, 0, 6, 1));
}

TEST_CASE("four in a row, a broken five and mixed colours do not win", "[gomoku]") {
    const Board b = board_of({
        ".XXX...........",
        "XX.XX..........",
        "XXOXX..........",
    });
    CHECK(line_through(b, 4, 0, 0) == 4);
    CHECK_FALSE(wins(b, 4, 0, 0));
    CHECK_FALSE(wins(b, 0, 0, 0));
    CHECK_FALSE(wins(b, 5, 1, 0));  // (2, 1) is empty
    CHECK_FALSE(wins(b, 5, 2, 0));  // an O in the middle
}

TEST_CASE("lines do not wrap around the edge of the board", "[gomoku]") {
    // Row-major neighbours (14, 0) and (0, 1) are not on one line.
    const Board b = board_of({
        "............XX.",
        "XX.............",
    });
    CHECK(line_through(b, 14, 0, 0) == 3);
    CHECK_FALSE(wins(b, 14, 0, 0));
    CHECK(line_through(b, 2, 1, 0) == 3);
    // Diagonals stop at the edges too.
    const Board d = board_of({
        "..............X",
        ".............X.",
        "............X..",
        "...............",
    });
    CHECK(line_through(d, 11, 3, 0) == 4);
    CHECK_FALSE(wins(d, 11, 3, 0));
}

TEST_CASE("the strategy opens in the centre and never picks an occupied cell", "[gomoku]") {
    Board b;
    REQUIRE(choose_move(b, 0) == Move{7, 7});
    std::mt19937_64 rng(5);
    for (int i = 0; i < 120; ++i) {
        const auto m = choose_move(b, i % 2, &rng);
        REQUIRE(m);
        REQUIRE(Board::inside(m->x, m->y));
        REQUIRE(b.empty(m->x, m->y));
        b.place(m->x, m->y, i % 2);
        // Random stones in between so the strategy meets crowded, odd boards.
        const auto r = random_move(b, rng);
        REQUIRE(r);
        b.place(r->x, r->y, (i + 1) % 2);
        if (b.stones() > 200) break;
    }
}

TEST_CASE("the strategy has no move on a full board", "[gomoku]") {
    Board b;
    for (int i = 0; i < kCells; ++i) b.place(i % kLines, i / kLines, i % 2);
    REQUIRE(b.full());
    CHECK_FALSE(choose_move(b, 0));
    std::mt19937_64 rng(1);
    CHECK_FALSE(random_move(b, rng));
}

TEST_CASE("the strategy takes a winning move rather than block", "[gomoku]") {
    const Board b = board_of({
        "", "",
        "...XXXX........",  // X wins at (2, 2) or (7, 2)
        "",
        "....OOOO.......",  // O would win at (3, 4) or (8, 4)
    });
    const auto m = choose_move(b, 0);
    REQUIRE(m);
    CHECK(one_of(*m, {{2, 2}, {7, 2}}));
}

TEST_CASE("the strategy blocks the opponent's four", "[gomoku]") {
    SECTION("a closed four in a row") {
        const Board b = board_of({
            "",
            "",
            ".XOOOO.........",  // the only five-point is (6, 2)
            "",
            "......X........",
            ".........X.....",
        });
        const auto m = choose_move(b, 0);
        REQUIRE(m);
        CHECK(*m == Move{6, 2});
    }
    SECTION("a broken four on a diagonal") {
        const Board b = board_of({
            "",
            ".O.............",
            "..O............",
            "...............",  // (3, 3) completes five
            "....O..........",
            ".....O.........",
            "..........X....",
            "..........X....",
        });
        const auto m = choose_move(b, 0);
        REQUIRE(m);
        CHECK(*m == Move{3, 3});
    }
}

TEST_CASE("the strategy blocks an open three", "[gomoku]") {
    SECTION("three in a row, open at both ends") {
        const Board b = board_of({
            "",
            "",
            "",
            "",
            "",
            ".....OOO.......",  // open four at (4, 5) or (8, 5) next
            "",
            "",
            "",
            "..X............",
            "..........X....",
        });
        const auto m = choose_move(b, 0);
        REQUIRE(m);
        CHECK(one_of(*m, {{4, 5}, {8, 5}}));
    }
    SECTION("a broken three in a column") {
        const Board b = board_of({
            "",
            "",
            "",
            "......O........",
            "...............",  // (6, 4) would make an open four
            "......O........",
            "......O........",
            "",
            "",
            "",
            "",
            "",
            "..X.......X....",
        });
        const auto m = choose_move(b, 0);
        REQUIRE(m);
        // The gap, or either end (which leaves at most a closed four to block next).
        CHECK(one_of(*m, {{6, 4}, {6, 2}, {6, 7}}));
    }
}

TEST_CASE("the strategy makes an open four rather than block an open three", "[gomoku]") {
    // An open four wins before the opponent's three can become five.
    const Board b = board_of({
        "",
        "",
        "....XXX........",  // (3, 2) or (7, 2) gives X an open four
        "",
        "",
        "",
        "....OOO........",
    });
    const auto m = choose_move(b, 0);
    REQUIRE(m);
    CHECK(one_of(*m, {{3, 2}, {7, 2}}));
    Board after = b;
    after.place(m->x, m->y, 0);
    CHECK(line_through(after, m->x, m->y, 0) == 4);
}

TEST_CASE("with nothing to block the strategy lengthens its own line", "[gomoku]") {
    const Board b = board_of({
        "",
        "",
        "",
        "",
        "",
        "",
        ".....XX........",
        "",
        "",
        "",
        "",
        "",
        ".............O.",
    });
    const auto m = choose_move(b, 0);
    REQUIRE(m);
    CHECK(line_through(b, m->x, m->y, 0) >= 3);
}

TEST_CASE("the random player picks every empty cell and only empty cells", "[gomoku]") {
    Board b;
    for (int i = 0; i < kCells - 3; ++i) b.place(i % kLines, i / kLines, i % 2);
    std::mt19937_64 rng(42);
    std::set<std::pair<int, int>> seen;
    for (int i = 0; i < 300; ++i) {
        const auto m = random_move(b, rng);
        REQUIRE(m);
        REQUIRE(b.empty(m->x, m->y));
        seen.insert({m->x, m->y});
    }
    CHECK(seen.size() == 3);
}

TEST_CASE("the strategy beats a random player in at least 95 percent of games", "[gomoku]") {
    const SimulationResult r = simulate(200, 20240601);
    INFO("wins " << r.wins << " losses " << r.losses << " draws " << r.draws);
    CHECK(r.games == 200);
    CHECK(r.wins + r.losses + r.draws == r.games);
    CHECK(r.win_rate() >= 0.95);
    CHECK(r.moves >= 9 * r.wins);  // a win takes at least five own and four other stones
}

TEST_CASE("a simulation is the same for the same seed and differs for another", "[gomoku]") {
    const SimulationResult a = simulate(40, 7);
    const SimulationResult b = simulate(40, 7);
    const SimulationResult c = simulate(40, 8);
    CHECK(a.wins == b.wins);
    CHECK(a.losses == b.losses);
    CHECK(a.draws == b.draws);
    CHECK(a.moves == b.moves);
    CHECK(a.moves != c.moves);
    CHECK(simulate(0, 1).win_rate() == 0.0);
}
