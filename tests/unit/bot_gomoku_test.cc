// tb-bot's gomoku mode against a fake gomoku table over loopback TCP (bot_fake_table.h): whole
// games in turn, readying again, think time, resyncs after a refused or lost move, returning
// after a drop, counting games once, and the run's JSON summary.
#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <random>

#include "tests/unit/bot_fake_table.h"
#include "tools/bot/game_modes.h"
#include "tools/bot/modes.h"
#include "tools/bot/runner.h"

namespace {

using namespace std::chrono_literals;
using tbtest::Clock;
using tbtest::FakeTable;
namespace codec = tb::codec;

// Gomoku as RULES.md §2 has it, refusing (and counting) every bad move, plus knobs to refuse or
// swallow a good one.
class FakeGomoku : public tbtest::FakeGame {
public:
    struct Move {
        int chair = 0, x = 0, y = 0;
        double gap_ms = 0;  // since the turn began (the broadcast that gave it)
        bool robot = false;
    };

    int chairs() const override { return 2; }

    void start(FakeTable& t) override {
        cells_.fill(0);
        stones_ = 0;
        turn_ = (t.games_started() + 1) % 2;  // chair 0 starts the first game, then alternate
        codec::gomoku::BroadcastStart m;
        m.chair_id = turn_;
        t.broadcast(codec::kMcmdGame, 202, codec::encode(m));
        turn_at_ = Clock::now();
        robot_moves(t);
    }

    void on_request(FakeTable& t, int chair, uint16_t scmd, const std::string& body) override {
        if (scmd != 1) {
            ++bad_;
            t.refuse_chair(chair, scmd, codec::Errno::kUnknownCommand);
            return;
        }
        codec::gomoku::PlaceStone m;
        if (!t.expect(codec::decode(body, m) == codec::MsgError::kOk)) return;
        if (swallow_from == chair) {
            swallow_from = -1;
            ++swallowed_;
            return;
        }
        if (refuse_from == chair) {
            refuse_from = -1;
            ++refused_on_purpose_;
            t.refuse_chair(chair, scmd, codec::Errno::kIllegalMove);
            return;
        }
        const codec::Errno e =
            !t.playing()     ? codec::Errno::kWrongTableStatus
            : chair != turn_ ? codec::Errno::kNotYourTurn
            : !inside(m.position_x, m.position_y) || at(m.position_x, m.position_y) != 0
                ? codec::Errno::kIllegalMove
                : codec::Errno::kOk;
        if (e != codec::Errno::kOk) {
            ++bad_;
            t.refuse_chair(chair, scmd, e);
            return;
        }
        place(t, chair, m.position_x, m.position_y, false);
    }

    std::string scene(FakeTable& t, int chair, bool returning) override {
        (void)chair;
        codec::gomoku::NotifyScene m;
        m.timeout = 15;
        m.line_number = 15;
        if (returning) {
            m.board.assign(cells_.begin(), cells_.end());
            m.current_chair = turn_;
            m.playing = t.playing();
            m.remaining_ms = 15000;
        }
        return codec::encode(m);
    }

    // The next PlaceStone from this chair is refused with Errno 11 / dropped without a word.
    int refuse_from = -1;
    int swallow_from = -1;

    const std::vector<Move>& moves() const { return moves_; }
    int bad() const { return bad_; }
    int refused_on_purpose() const { return refused_on_purpose_; }
    int swallowed() const { return swallowed_; }
    const std::array<int32_t, 225>& cells() const { return cells_; }
    int winners() const { return winners_; }

private:
    static bool inside(int x, int y) { return x >= 0 && x < 15 && y >= 0 && y < 15; }
    int32_t at(int x, int y) const { return cells_[static_cast<std::size_t>(y * 15 + x)]; }

    bool five(int x, int y, int chair) const {
        static constexpr int kDirs[4][2] = {{1, 0}, {0, 1}, {1, 1}, {1, -1}};
        for (const auto& d : kDirs) {
            int run = 1;
            for (const int sign : {1, -1}) {
                for (int k = 1;; ++k) {
                    const int xx = x + sign * k * d[0], yy = y + sign * k * d[1];
                    if (!inside(xx, yy) || at(xx, yy) != chair + 1) break;
                    ++run;
                }
            }
            if (run >= 5) return true;
        }
        return false;
    }

    void place(FakeTable& t, int chair, int x, int y, bool robot) {
        moves_.push_back(
            {chair, x, y,
             std::chrono::duration<double, std::milli>(Clock::now() - turn_at_).count(), robot});
        cells_[static_cast<std::size_t>(y * 15 + x)] = chair + 1;
        ++stones_;
        const bool win = five(x, y, chair);
        codec::gomoku::BroadcastPlaceStone b;
        b.is_win = win;
        b.chair_id = chair;
        b.position_x = x;
        b.position_y = y;
        t.broadcast(codec::kMcmdGame, 101, codec::encode(b));
        if (win || stones_ == 225) {
            codec::gomoku::BroadcastConclude c;
            c.winner_chair = win ? chair : -1;
            c.reason = win ? "five" : "draw";
            c.scores = {win ? (chair == 0 ? 100 : -100) : 0, win ? (chair == 1 ? 100 : -100) : 0};
            if (win) ++winners_;
            t.conclude(203, codec::encode(c));
            return;
        }
        turn_ = 1 - chair;
        turn_at_ = Clock::now();
        robot_moves(t);
    }

    void robot_moves(FakeTable& t) {
        if (!t.playing() || !t.is_robot(turn_)) return;
        std::vector<int> empty;
        for (int i = 0; i < 225; ++i)
            if (cells_[static_cast<std::size_t>(i)] == 0) empty.push_back(i);
        const int cell = empty[rng_() % empty.size()];
        place(t, turn_, cell % 15, cell / 15, true);
    }

    std::array<int32_t, 225> cells_{};
    int stones_ = 0;
    int turn_ = 0;
    Clock::time_point turn_at_;
    std::vector<Move> moves_;
    int bad_ = 0;
    int refused_on_purpose_ = 0;
    int swallowed_ = 0;
    int winners_ = 0;
    std::mt19937 rng_{3};
};

struct Setup {
    FakeGomoku* game;  // owned by table
    FakeTable table;
    Setup() : Setup(std::make_unique<FakeGomoku>()) {}
    explicit Setup(std::unique_ptr<FakeGomoku> g)
        : game(g.get()), table(std::move(g), codec::kGameTypeGomoku) {}
};

tb::bot::GomokuMode& gomoku_of(tb::bot::Engine& e) {
    return dynamic_cast<tb::bot::GomokuMode&>(e.mode());
}

}  // namespace

TEST_CASE("gomoku bots play legal moves in turn and ready again after each game", "[bot]") {
    const auto strategy = GENERATE(tb::bot::Strategy::kRobot, tb::bot::Strategy::kRandom);
    INFO("strategy " << tb::bot::strategy_name(strategy));
    Setup s;
    s.table.set_max_games(3);
    tb::bot::Counters counters;
    tb::bot::Engine e(tbtest::game_config(s.table, 2),
                      tb::bot::make_mode(tb::bot::ModeKind::kGomoku, {3, strategy}), counters);
    e.start();
    REQUIRE(tbtest::drive(e, s.table,
                          [&] { return s.table.games_concluded() == 3 && counters.games >= 3; }));
    // After the third conclude the bots ready once more; then nothing else happens.
    REQUIRE(tbtest::drive(e, s.table, [&] { return s.table.min_readies() == 4; }));
    tbtest::drive_for(e, s.table, 200ms);

    CHECK(s.table.broken() == 0);
    CHECK(s.game->bad() == 0);  // no move out of turn, off the board or on a stone
    CHECK(s.table.refusals() == 0);
    CHECK(s.table.games_concluded() == 3);
    CHECK(counters.games == 3);  // once per game, not once per player
    CHECK(counters.errors() == 0);
    CHECK(counters.error_frames == 0);
    // Every stone the bots placed came back as their own broadcast, timed.
    const auto moves = static_cast<int64_t>(s.game->moves().size());
    CHECK(counters.actions == moves);
    CHECK(e.stats().snapshot().action.size() == static_cast<std::size_t>(moves));
    for (const auto& u : s.table.humans()) {
        INFO(u.account);
        CHECK(u.game_type == codec::kGameTypeGomoku);
        CHECK(u.game_level == 3);
        CHECK(u.game_id == 0);
        CHECK(u.fast_logins == 1);
        CHECK(u.readies == 4);  // before each of the three games, and again after the last
        CHECK(s.table.status(u.chair) == codec::kUserStatusReady);
    }
    CHECK(s.table.humans().size() == 2);
    CHECK(s.table.probes_echoed() == s.table.probes_sent());
    CHECK(s.table.probes_sent() == 6);
    // Both bots' boards are the server's.
    for (std::size_t slot = 0; slot < 2; ++slot) {
        const auto& cells = gomoku_of(e).board_of(e.client(slot)).cells();
        CHECK(std::equal(cells.begin(), cells.end(), s.game->cells().begin()));
    }
}

TEST_CASE("a gomoku bot thinks for think-ms before each move and counts games beside a robot",
          "[bot]") {
    Setup s;
    s.table.seat_robot(0);  // chair 0 is not ours: the bot in chair 1 counts the games
    s.table.set_max_games(2);
    tb::bot::Counters counters;
    tb::bot::Engine e(
        tbtest::game_config(s.table, 1, 80),
        tb::bot::make_mode(tb::bot::ModeKind::kGomoku, {1, tb::bot::Strategy::kRobot}), counters);
    e.start();
    REQUIRE(tbtest::drive(e, s.table,
                          [&] { return counters.games == 2 && s.table.min_readies() == 3; }));
    tbtest::drive_for(e, s.table, 200ms);
    CHECK(gomoku_of(e).chair_of(e.client(0)) == 1);
    CHECK(s.table.games_concluded() == 2);
    CHECK(counters.games == 2);
    CHECK(counters.errors() == 0);
    CHECK(s.game->bad() == 0);
    int bot_moves = 0;
    for (const auto& m : s.game->moves()) {
        if (m.robot) continue;
        ++bot_moves;
        CHECK(m.chair == 1);
        CHECK(m.gap_ms >= 80.0);
    }
    CHECK(bot_moves > 0);
    CHECK(counters.actions == bot_moves);
    // The action round trip is the stone's, not the think time before it (the median, so a
    // loaded machine's odd slow round trip does not matter).
    CHECK(tb::bot::summarize(e.stats().snapshot().action).p50 < 80.0);
    REQUIRE(s.table.humans().size() == 1);
    CHECK(s.table.humans()[0].readies == 3);
}

TEST_CASE("a refused move is an error and the bot resyncs from the scene of its game", "[bot]") {
    Setup s;
    s.game->refuse_from = 0;  // the first stone of chair 0 (the first mover)
    s.table.set_max_games(1);
    tb::bot::Counters counters;
    tb::bot::Engine e(tbtest::game_config(s.table, 2),
                      tb::bot::make_mode(tb::bot::ModeKind::kGomoku), counters);
    e.start();
    REQUIRE(tbtest::drive(e, s.table, [&] { return counters.games == 1; }));
    CHECK(s.game->refused_on_purpose() == 1);
    CHECK(counters.unexpected_error_frames == 1);
    CHECK(counters.errors() == 1);
    CHECK(e.stats().snapshot().errnos.at(11) == 1);
    // It reconnected and came back to its seat with the GameID FastRegister gave it.
    CHECK(s.table.accepted() == 3);
    int returns = 0;
    for (const auto& u : s.table.humans()) {
        returns += u.returns;
        if (u.returns > 0) CHECK(u.game_id == FakeTable::kGameId);
    }
    CHECK(returns == 1);
    CHECK(s.game->bad() == 0);
    CHECK(s.game->winners() == 1);
}

TEST_CASE("a move never confirmed times out and the bot resyncs", "[bot]") {
    Setup s;
    s.game->swallow_from = 0;
    s.table.set_max_games(1);
    tb::bot::Counters counters;
    auto cfg = tbtest::game_config(s.table, 2);
    cfg.timeout_ms = 300;
    tb::bot::Engine e(std::move(cfg), tb::bot::make_mode(tb::bot::ModeKind::kGomoku), counters);
    e.start();
    REQUIRE(tbtest::drive(e, s.table, [&] { return counters.games == 1; }));
    CHECK(s.game->swallowed() == 1);
    CHECK(counters.timeouts == 1);
    CHECK(counters.errors() == 1);
    CHECK(s.table.accepted() == 3);
    CHECK(s.game->bad() == 0);
}

TEST_CASE("a gomoku bot dropped by the server returns to its game and finishes it", "[bot]") {
    Setup s;
    s.table.set_max_games(1);
    tb::bot::Counters counters;
    auto cfg = tbtest::game_config(s.table, 2);
    tb::bot::Engine e(std::move(cfg), tb::bot::make_mode(tb::bot::ModeKind::kGomoku), counters);
    e.start();
    // With the robot strategy on both sides a game lasts well past four stones.
    REQUIRE(tbtest::drive(e, s.table, [&] { return s.game->moves().size() >= 4; }));
    REQUIRE(s.table.playing());
    s.table.drop_chair(1);
    REQUIRE(tbtest::drive(e, s.table, [&] { return s.table.games_concluded() == 1; }));
    tbtest::drive_for(e, s.table, 100ms);
    CHECK(counters.unexpected_disconnects == 1);
    CHECK(counters.errors() == 1);
    CHECK(counters.games == 1);
    CHECK(s.game->bad() == 0);
    CHECK(s.table.accepted() == 3);
    for (const auto& u : s.table.humans()) CHECK(u.returns == (u.chair == 1 ? 1 : 0));
}

TEST_CASE("a gomoku run reports games once and the action round trip in its JSON", "[bot]") {
    Setup s;
    tb::bot::BotOptions o;
    o.proxy = "127.0.0.1:" + std::to_string(s.table.port());
    o.host = "127.0.0.1";
    o.port = s.table.port();
    o.mode = tb::bot::ModeKind::kGomoku;
    o.players = 2;
    o.threads = 2;  // the two bots in different loops still count each game once
    o.duration_s = 1.5;
    o.level = 2;
    o.strategy = tb::bot::Strategy::kRandom;
    o.account_prefix = "run_";
    o.run_id = "r1";
    o.seed = 9;
    tb::bot::RunReport r;
    {
        tbtest::FakeTableThread server(s.table);
        const std::atomic<bool> stop{false};
        r = tb::bot::run(o, stop, nullptr);
    }
    // The bots stop reading at the end: the conclude of the last game may not have reached them.
    CHECK(r.games > 0);
    CHECK(r.games >= s.table.games_concluded() - 1);
    CHECK(r.games <= s.table.games_concluded());
    CHECK(r.errors == 0);
    CHECK(s.table.broken() == 0);
    CHECK(s.game->bad() == 0);
    CHECK(r.actions > 0);
    CHECK(r.action.count == static_cast<std::size_t>(r.actions));
    for (const auto& u : s.table.humans()) CHECK(u.game_level == 2);

    const auto j = tb::bot::to_json(r);
    CHECK(j.at("mode") == "gomoku");
    CHECK(j.at("games") == r.games);
    CHECK(j.at("actions") == r.actions);
    CHECK(j.at("strategy") == "random");
    CHECK(j.at("game_level") == 2);
    const double per_s = static_cast<double>(r.actions) / r.elapsed_s;
    CHECK(j.at("actions_per_s").get<double>() == Approx(per_s).margin(0.001));
    CHECK(j.at("p50_ms").get<double>() == Approx(r.action.p50).margin(0.001));
    CHECK(j.at("p99_ms").get<double>() == Approx(r.action.p99).margin(0.001));
    CHECK(j.at("p99_ms").get<double>() > 0);
    CHECK(tb::bot::to_summary(r).find("games ") != std::string::npos);
}
