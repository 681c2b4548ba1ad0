// Gomoku's table logic (nodes/game/gomoku/gomoku_logic.h) against a fake frame: a fake clock
// the test advances (firing due timers in order), every message recorded, conclude() recorded.
// Covers RULES.md §2 move by move: refusals, five, draw, resign, the clock and trustee, robots,
// offline players, abandon, the reconnect scene and the settlement amounts.
#include "nodes/game/gomoku/gomoku_logic.h"

#include <array>
#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "codec/messages.h"
#include "nodes/common/config.h"
#include "tests/support/fake_table.h"

using namespace tb::game;
using namespace tb::game::gomoku;
using std::chrono::milliseconds;
namespace codec = tb::codec;
namespace msg = tb::codec::gomoku;

namespace {

using tb::test::kToTable;
using FakeServices = tb::test::FakeTable;  // two chairs by default

GomokuConfig test_config() {
    GomokuConfig cfg;
    cfg.move_timeout = milliseconds(15000);
    cfg.grace = milliseconds(2000);
    cfg.abandon_after = milliseconds(60000);
    return cfg;
}

constexpr milliseconds kClock{17000};  // timeout + grace of test_config()

// A two-chair table with both seats taken by people, online.
struct Table {
    FakeServices svc;
    GomokuLogic logic;

    explicit Table(GomokuConfig cfg = test_config()) : logic(cfg) {
        svc.logic = &logic;
        svc.seats[0].user_id = 11;
        svc.seats[0].name = "ann";
        svc.seats[1].user_id = 12;
        svc.seats[1].name = "bob";
        logic.init(svc);
    }

    void start(Chair first) {
        svc.randoms = {static_cast<uint64_t>(first)};
        logic.on_start();
        REQUIRE(logic.playing());
        REQUIRE(svc.last<msg::BroadcastStart>().chair_id == first);
    }

    codec::Errno place(Chair chair, int x, int y) {
        return logic.on_message(chair, codec::kMsgGomokuPlaceStone,
                                codec::encode(msg::PlaceStone{x, y}));
    }
    codec::Errno resign(Chair chair) {
        return logic.on_message(chair, codec::kMsgGomokuResign, codec::encode(codec::Empty{}));
    }

    size_t stones_broadcast() const { return svc.all<msg::BroadcastPlaceStone>().size(); }
};

}  // namespace

TEST_CASE("sitting down sends the clock in seconds and the board size", "[gomoku]") {
    Table t;
    t.logic.on_sit(1);
    const auto scene = t.svc.last<msg::NotifyScene>(1);
    CHECK(scene.timeout == 15);
    CHECK(scene.line_number == 15);
    CHECK_FALSE(scene.playing);
    CHECK(scene.board.empty());
    CHECK(t.svc.all<msg::NotifyScene>(0).empty());
}

TEST_CASE("a round starts with a random first mover and the move clock plus grace", "[gomoku]") {
    for (Chair first : {0, 1}) {
        Table t;
        t.start(first);
        CHECK(t.logic.current_chair() == first);
        CHECK(t.logic.board().stones() == 0);
        CHECK(t.svc.timer_left(GomokuLogic::kTimerClock) == kClock);
        // People wait for the clock: nothing moves for them early.
        CHECK_FALSE(t.svc.timer_running(GomokuLogic::kTimerAutoMove));
    }
    // The chair comes from services.random(), not from a fixed rule.
    Table t;
    t.svc.randoms = {7};
    t.logic.on_start();
    CHECK(t.svc.last<msg::BroadcastStart>().chair_id == 1);
}

TEST_CASE("a legal move is broadcast and passes the turn with a fresh clock", "[gomoku]") {
    Table t;
    t.start(0);
    t.svc.advance(milliseconds(4000));
    REQUIRE(t.place(0, 7, 7) == codec::Errno::kOk);
    const auto b = t.svc.last<msg::BroadcastPlaceStone>();
    CHECK(b == msg::BroadcastPlaceStone{false, 0, 7, 7});
    CHECK(t.logic.board().at(7, 7) == 1);
    CHECK(t.logic.current_chair() == 1);
    CHECK(t.svc.timer_left(GomokuLogic::kTimerClock) == kClock);
    REQUIRE(t.place(1, 8, 8) == codec::Errno::kOk);
    CHECK(t.logic.board().at(8, 8) == 2);
    CHECK(t.logic.current_chair() == 0);
}

TEST_CASE("five in a row in each direction ends the round and the loser pays", "[gomoku]") {
    struct Case {
        const char* name;
        int dx, dy;
    };
    for (const Case& c : {Case{"row", 1, 0}, Case{"column", 0, 1}, Case{"diagonal", 1, 1},
                          Case{"anti-diagonal", 1, -1}}) {
        INFO(c.name);
        Table t;
        t.svc.base = 250;
        t.start(1);
        // Chair 1 builds from (5, 7); chair 0 answers far away on rows 0 and 14.
        for (int i = 0; i < 4; ++i) {
            REQUIRE(t.place(1, 5 + i * c.dx, 7 + i * c.dy) == codec::Errno::kOk);
            REQUIRE(t.place(0, i, 0) == codec::Errno::kOk);
        }
        REQUIRE(t.svc.concluded.empty());
        REQUIRE(t.place(1, 5 + 4 * c.dx, 7 + 4 * c.dy) == codec::Errno::kOk);
        CHECK(t.svc.last<msg::BroadcastPlaceStone>() ==
              msg::BroadcastPlaceStone{true, 1, 5 + 4 * c.dx, 7 + 4 * c.dy});
        CHECK_FALSE(t.logic.playing());
        REQUIRE(t.svc.concluded.size() == 1);
        const RoundOutcome& o = t.svc.concluded[0];
        REQUIRE(o.transfers.size() == 1);
        CHECK(o.transfers[0].from == 0);
        CHECK(o.transfers[0].to == 1);
        CHECK(o.transfers[0].amount == 250);
        CHECK(o.seed.empty());
        CHECK(o.result.find("\"reason\":\"five\"") != std::string::npos);
        CHECK(t.logic.winner() == 1);
        CHECK(t.logic.reason() == "five");
        CHECK(t.svc.no_timers());
        // Nothing more is accepted once the round is over.
        CHECK(t.place(0, 14, 14) == codec::Errno::kWrongTableStatus);
    }
}

TEST_CASE("more than five in a row wins", "[gomoku]") {
    Table t;
    t.start(0);
    // Chair 0: (3..5, 7) and (7..8, 7), then (6, 7) makes six.
    const int xs[] = {3, 4, 5, 7, 8};
    for (int i = 0; i < 5; ++i) {
        REQUIRE(t.place(0, xs[i], 7) == codec::Errno::kOk);
        REQUIRE(t.place(1, 2 * i, 0) == codec::Errno::kOk);
    }
    REQUIRE(t.svc.concluded.empty());
    REQUIRE(t.place(0, 6, 7) == codec::Errno::kOk);
    CHECK(t.svc.last<msg::BroadcastPlaceStone>().is_win);
    REQUIRE(t.svc.concluded.size() == 1);
    CHECK(t.logic.winner() == 0);
    CHECK(t.logic.reason() == "five");
}

TEST_CASE("the conclusion broadcasts exactly the scores the frame confirmed", "[gomoku]") {
    Table t;
    t.start(0);
    for (int i = 0; i < 4; ++i) {
        REQUIRE(t.place(0, i, 5) == codec::Errno::kOk);
        REQUIRE(t.place(1, i, 9) == codec::Errno::kOk);
    }
    REQUIRE(t.place(0, 4, 5) == codec::Errno::kOk);
    REQUIRE(t.svc.concluded.size() == 1);
    REQUIRE(t.svc.all<msg::BroadcastConclude>().empty());  // only after the db node confirms
    // The db node clamped the loser's payment to their balance: 37, not 100.
    t.logic.on_conclude({37, -37});
    CHECK(t.svc.last<msg::BroadcastConclude>() == msg::BroadcastConclude{0, "five", {37, -37}});
}

TEST_CASE("a full board without five is a draw and nothing moves", "[gomoku]") {
    // Colour (x / 2 + y) % 2: runs of at most two in every direction, so no five ever.
    std::vector<std::pair<int, int>> cells[2];
    for (int y = 0; y < kLines; ++y) {
        for (int x = 0; x < kLines; ++x) cells[(x / 2 + y) % 2].push_back({x, y});
    }
    const Chair first = cells[0].size() > cells[1].size() ? 0 : 1;
    REQUIRE(cells[first].size() == 113);
    REQUIRE(cells[1 - first].size() == 112);
    Table t;
    t.start(first);
    Chair mover = first;
    size_t next[2] = {0, 0};
    for (int i = 0; i < kCells; ++i) {
        const auto [x, y] = cells[mover][next[mover]++];
        REQUIRE(t.place(mover, x, y) == codec::Errno::kOk);
        mover = 1 - mover;
        if (i < kCells - 1) REQUIRE(t.logic.playing());
    }
    CHECK(t.logic.board().full());
    CHECK_FALSE(t.logic.playing());
    REQUIRE(t.svc.concluded.size() == 1);
    CHECK(t.svc.concluded[0].transfers.empty());
    CHECK(t.logic.winner() == -1);
    CHECK(t.logic.reason() == "draw");
    t.logic.on_conclude({0, 0});
    CHECK(t.svc.last<msg::BroadcastConclude>() == msg::BroadcastConclude{-1, "draw", {0, 0}});
}

TEST_CASE("every refused message leaves board, turn and clock unchanged", "[gomoku]") {
    Table t;
    // No round yet.
    CHECK(t.place(0, 7, 7) == codec::Errno::kWrongTableStatus);
    CHECK(t.resign(0) == codec::Errno::kWrongTableStatus);
    CHECK(t.svc.sent.empty());

    t.start(0);
    REQUIRE(t.place(0, 7, 7) == codec::Errno::kOk);
    t.svc.advance(milliseconds(3000));
    const auto cells = t.logic.board().cells();
    const size_t sent = t.svc.sent.size();
    const milliseconds left = t.svc.timer_left(GomokuLogic::kTimerClock);

    SECTION("out of turn") {
        CHECK(t.place(0, 1, 1) == codec::Errno::kNotYourTurn);
    }
    SECTION("outside the board") {
        CHECK(t.place(1, 15, 0) == codec::Errno::kIllegalMove);
        CHECK(t.place(1, 0, 15) == codec::Errno::kIllegalMove);
        CHECK(t.place(1, -1, 3) == codec::Errno::kIllegalMove);
        CHECK(t.place(1, 3, -1) == codec::Errno::kIllegalMove);
    }
    SECTION("on an occupied cell") {
        CHECK(t.place(1, 7, 7) == codec::Errno::kIllegalMove);
    }
    SECTION("a body that does not decode") {
        CHECK(t.logic.on_message(1, codec::kMsgGomokuPlaceStone, "\xc1") ==
              codec::Errno::kMalformed);
        // A map whose PositionX is a string.
        CHECK(t.logic.on_message(1, codec::kMsgGomokuPlaceStone,
                                 std::string("\x81\xa9PositionX\xa1x", 13)) ==
              codec::Errno::kMalformed);
        CHECK(t.logic.on_message(1, codec::kMsgGomokuResign, "\x93\x01\x02\x03") ==
              codec::Errno::kMalformed);
    }
    SECTION("an unknown table message") {
        CHECK(t.logic.on_message(1, codec::msg_type(codec::kMcmdGame, 9), "") ==
              codec::Errno::kUnknownCommand);
    }
    CHECK(t.logic.board().cells() == cells);
    CHECK(t.logic.current_chair() == 1);
    CHECK(t.logic.playing());
    CHECK(t.svc.sent.size() == sent);
    CHECK(t.svc.timer_left(GomokuLogic::kTimerClock) == left);
    CHECK(t.svc.concluded.empty());
}

TEST_CASE("resigning in turn or out of turn gives the round to the other player", "[gomoku]") {
    Table t;
    t.start(0);
    REQUIRE(t.place(0, 7, 7) == codec::Errno::kOk);
    Chair resigner = 0;
    SECTION("out of turn") {
        resigner = 0;
    }
    SECTION("in turn") {
        resigner = 1;
    }
    REQUIRE(t.resign(resigner) == codec::Errno::kOk);
    CHECK_FALSE(t.logic.playing());
    REQUIRE(t.svc.concluded.size() == 1);
    REQUIRE(t.svc.concluded[0].transfers.size() == 1);
    CHECK(t.svc.concluded[0].transfers[0].from == resigner);
    CHECK(t.svc.concluded[0].transfers[0].to == 1 - resigner);
    CHECK(t.svc.concluded[0].transfers[0].amount == 100);
    CHECK(t.logic.winner() == 1 - resigner);
    CHECK(t.logic.reason() == "resign");
    CHECK(t.svc.no_timers());
    t.logic.on_conclude({resigner == 0 ? -100 : 100, resigner == 0 ? 100 : -100});
    CHECK(t.svc.last<msg::BroadcastConclude>().reason == "resign");
    CHECK(t.svc.last<msg::BroadcastConclude>().winner_chair == 1 - resigner);
    // A second resign finds no round.
    CHECK(t.resign(1 - resigner) == codec::Errno::kWrongTableStatus);
}

TEST_CASE("a timeout makes the trustee move and the player's own move resets the count",
          "[gomoku]") {
    Table t;
    t.start(0);
    t.svc.advance(kClock - milliseconds(1));
    CHECK(t.stones_broadcast() == 0);  // the grace is the server's: no move before 17 s
    t.svc.advance(milliseconds(1));
    REQUIRE(t.stones_broadcast() == 1);
    const auto b = t.svc.last<msg::BroadcastPlaceStone>();
    CHECK(b.chair_id == 0);
    CHECK(b.position_x == 7);  // the strategy opens in the centre
    CHECK(b.position_y == 7);
    CHECK(t.logic.consecutive_timeouts(0) == 1);
    CHECK_FALSE(t.logic.trustee(0));
    CHECK(t.logic.current_chair() == 1);

    REQUIRE(t.place(1, 8, 8) == codec::Errno::kOk);
    // One timeout is not trustee: chair 0 gets the whole clock again.
    t.svc.advance(milliseconds(5000));
    CHECK(t.stones_broadcast() == 2);
    REQUIRE(t.place(0, 3, 3) == codec::Errno::kOk);
    CHECK(t.logic.consecutive_timeouts(0) == 0);
}

TEST_CASE("two timeouts in a row put a player on trustee until they move themselves", "[gomoku]") {
    Table t;
    t.start(0);
    t.svc.advance(kClock);  // timeout 1: trustee moves for chair 0
    REQUIRE(t.stones_broadcast() == 1);
    REQUIRE(t.place(1, 0, 0) == codec::Errno::kOk);
    t.svc.advance(kClock);  // timeout 2
    REQUIRE(t.stones_broadcast() == 3);
    CHECK(t.logic.consecutive_timeouts(0) == 2);
    CHECK(t.logic.trustee(0));

    // On trustee: chair 0's moves come after the think time, without waiting for the clock.
    REQUIRE(t.place(1, 0, 1) == codec::Errno::kOk);
    t.svc.advance(t.svc.think - milliseconds(1));
    CHECK(t.stones_broadcast() == 4);
    t.svc.advance(milliseconds(1));
    REQUIRE(t.stones_broadcast() == 5);
    CHECK(t.svc.last<msg::BroadcastPlaceStone>().chair_id == 0);
    CHECK(t.logic.current_chair() == 1);

    // Chair 0 moves itself before the think time is up: trustee is off and the clock is back.
    REQUIRE(t.place(1, 0, 2) == codec::Errno::kOk);
    t.svc.advance(milliseconds(100));
    Move free{};
    for (int x = 14; x >= 0; --x) {
        if (t.logic.board().empty(x, 14)) free = {x, 14};
    }
    REQUIRE(t.place(0, free.x, free.y) == codec::Errno::kOk);
    CHECK_FALSE(t.logic.trustee(0));
    CHECK(t.logic.consecutive_timeouts(0) == 0);
    REQUIRE(t.place(1, 0, 3) == codec::Errno::kOk);
    const size_t before = t.stones_broadcast();
    t.svc.advance(milliseconds(10000));
    CHECK(t.stones_broadcast() == before);  // waiting for chair 0 again
}

TEST_CASE("a robot moves after the think time and its clock never counts", "[gomoku]") {
    Table t;
    t.svc.seats[1].robot = true;
    t.svc.think = milliseconds(1200);
    t.start(1);
    CHECK(t.svc.timer_left(GomokuLogic::kTimerAutoMove) == milliseconds(1200));
    CHECK(t.svc.timer_left(GomokuLogic::kTimerClock) == kClock);  // the clock runs as well
    t.svc.advance(milliseconds(1199));
    CHECK(t.stones_broadcast() == 0);
    t.svc.advance(milliseconds(1));
    REQUIRE(t.stones_broadcast() == 1);
    CHECK(t.svc.last<msg::BroadcastPlaceStone>().chair_id == 1);
    CHECK(t.logic.current_chair() == 0);
    CHECK(t.logic.consecutive_timeouts(1) == 0);
    // The person answers; the robot follows after its think time again.
    REQUIRE(t.place(0, 0, 0) == codec::Errno::kOk);
    t.svc.advance(milliseconds(1200));
    CHECK(t.stones_broadcast() == 3);
    CHECK(t.logic.current_chair() == 0);
}

TEST_CASE("a robot left thinking past the clock still moves and no timeout counts", "[gomoku]") {
    Table t;
    t.svc.seats[0].robot = true;
    t.svc.think = milliseconds(30000);  // longer than the clock: the clock moves for it
    t.start(0);
    t.svc.advance(kClock);
    REQUIRE(t.stones_broadcast() == 1);
    CHECK(t.logic.consecutive_timeouts(0) == 0);
    CHECK_FALSE(t.svc.timer_running(GomokuLogic::kTimerAutoMove));
}

TEST_CASE("an offline player is played for after the think time at once", "[gomoku]") {
    Table t;
    t.start(0);
    SECTION("going offline in turn") {
        t.svc.advance(milliseconds(3000));
        t.logic.on_offline(0);
        CHECK(t.logic.trustee(0));
        t.svc.advance(t.svc.think);
        REQUIRE(t.stones_broadcast() == 1);
        CHECK(t.svc.last<msg::BroadcastPlaceStone>().chair_id == 0);
    }
    SECTION("going offline out of turn") {
        REQUIRE(t.place(0, 7, 7) == codec::Errno::kOk);
        t.logic.on_offline(0);
        CHECK_FALSE(t.svc.timer_running(GomokuLogic::kTimerAutoMove));  // not its turn
        REQUIRE(t.place(1, 0, 0) == codec::Errno::kOk);
        t.svc.advance(t.svc.think);
        REQUIRE(t.stones_broadcast() == 3);
        CHECK(t.svc.last<msg::BroadcastPlaceStone>().chair_id == 0);
    }
    SECTION("offline already when the round starts") {
        Table u;
        u.svc.seats[1].offline = true;
        u.start(1);
        u.svc.advance(u.svc.think);
        REQUIRE(u.stones_broadcast() == 1);
        CHECK(u.svc.last<msg::BroadcastPlaceStone>().chair_id == 1);
        CHECK(u.svc.timer_running(GomokuLogic::kTimerAbandon + 1));
    }
}

TEST_CASE("a player offline past abandon_after loses by abandon", "[gomoku]") {
    GomokuConfig cfg = test_config();
    cfg.abandon_after = milliseconds(5000);
    Table t(cfg);
    t.svc.base = 40;
    t.start(0);
    t.logic.on_offline(0);
    t.svc.advance(milliseconds(4999));
    CHECK(t.logic.playing());
    CHECK(t.stones_broadcast() == 1);  // played for meanwhile; chair 1 is thinking
    t.svc.advance(milliseconds(1));
    CHECK_FALSE(t.logic.playing());
    REQUIRE(t.svc.concluded.size() == 1);
    REQUIRE(t.svc.concluded[0].transfers.size() == 1);
    CHECK(t.svc.concluded[0].transfers[0].from == 0);
    CHECK(t.svc.concluded[0].transfers[0].to == 1);
    CHECK(t.svc.concluded[0].transfers[0].amount == 40);
    CHECK(t.logic.winner() == 1);
    CHECK(t.logic.reason() == "abandon");
    CHECK(t.svc.no_timers());
}

TEST_CASE("both players offline past abandon_after draw by abandon", "[gomoku]") {
    GomokuConfig cfg = test_config();
    cfg.abandon_after = milliseconds(5000);
    Table t(cfg);
    t.svc.think = milliseconds(3000);
    t.start(0);
    SECTION("gone at the same moment") {
        t.logic.on_offline(0);
        t.logic.on_offline(1);
        t.svc.advance(milliseconds(5000));
    }
    SECTION("the second one later: the round waits for their limit too") {
        t.logic.on_offline(0);
        t.svc.advance(milliseconds(2000));
        t.logic.on_offline(1);
        t.svc.advance(milliseconds(3000));  // chair 0's limit
        CHECK(t.logic.playing());
        CHECK(t.svc.concluded.empty());
        const size_t stones = t.stones_broadcast();
        t.svc.advance(milliseconds(1999));
        CHECK(t.stones_broadcast() == stones);  // nobody is played for while it waits
        CHECK(t.svc.concluded.empty());
        t.svc.advance(milliseconds(1));  // chair 1's limit
    }
    CHECK_FALSE(t.logic.playing());
    REQUIRE(t.svc.concluded.size() == 1);
    CHECK(t.svc.concluded[0].transfers.empty());
    CHECK(t.logic.winner() == -1);
    CHECK(t.logic.reason() == "abandon");
    t.logic.on_conclude({0, 0});
    CHECK(t.svc.last<msg::BroadcastConclude>() == msg::BroadcastConclude{-1, "abandon", {0, 0}});
}

TEST_CASE("when the second player comes back the first one's abandon stands", "[gomoku]") {
    GomokuConfig cfg = test_config();
    cfg.abandon_after = milliseconds(5000);
    Table t(cfg);
    t.svc.think = milliseconds(3000);
    t.start(0);
    t.logic.on_offline(1);
    t.svc.advance(milliseconds(2000));
    t.logic.on_offline(0);
    t.svc.advance(milliseconds(3000));  // chair 1 past the limit, chair 0 not yet
    REQUIRE(t.svc.concluded.empty());
    t.logic.on_reconnect(0);
    CHECK(t.svc.last<msg::NotifyScene>(0).playing);
    REQUIRE(t.svc.concluded.size() == 1);
    CHECK(t.logic.winner() == 0);
    CHECK(t.logic.reason() == "abandon");
    REQUIRE(t.svc.concluded[0].transfers.size() == 1);
    CHECK(t.svc.concluded[0].transfers[0].from == 1);
}

TEST_CASE("coming back cancels the abandon clock", "[gomoku]") {
    GomokuConfig cfg = test_config();
    cfg.abandon_after = milliseconds(5000);
    Table t(cfg);
    t.svc.think = milliseconds(3000);
    t.start(1);
    t.logic.on_offline(0);
    t.svc.advance(milliseconds(4000));
    t.logic.on_reconnect(0);
    CHECK_FALSE(t.svc.timer_running(GomokuLogic::kTimerAbandon));
    t.svc.advance(milliseconds(30000));
    CHECK(t.svc.concluded.empty());
    CHECK(t.logic.playing());
}

TEST_CASE("a returning player stays on trustee until they move themselves", "[gomoku]") {
    Table t;
    t.start(0);
    t.logic.on_offline(0);
    t.logic.on_reconnect(0);
    CHECK(t.logic.trustee(0));
    t.svc.advance(t.svc.think);
    REQUIRE(t.stones_broadcast() == 1);
    REQUIRE(t.place(1, 0, 0) == codec::Errno::kOk);
    REQUIRE(t.place(0, 14, 14) == codec::Errno::kOk);
    CHECK_FALSE(t.logic.trustee(0));
}

TEST_CASE("the reconnect scene has the board, whose turn and the clock left", "[gomoku]") {
    Table t;
    t.start(1);
    REQUIRE(t.place(1, 7, 7) == codec::Errno::kOk);
    REQUIRE(t.place(0, 3, 12) == codec::Errno::kOk);
    REQUIRE(t.place(1, 14, 0) == codec::Errno::kOk);
    t.svc.advance(milliseconds(4000));
    t.logic.on_offline(0);
    t.logic.on_reconnect(0);
    auto scene = t.svc.last<msg::NotifyScene>(0);
    CHECK(scene.timeout == 15);
    CHECK(scene.line_number == 15);
    CHECK(scene.playing);
    CHECK(scene.current_chair == 0);
    CHECK(scene.remaining_ms == 15000 - 4000);  // the grace is not the client's
    REQUIRE(scene.board.size() == 225);
    std::vector<int32_t> expected(225, 0);
    expected[7 * 15 + 7] = 2;
    expected[12 * 15 + 3] = 1;
    expected[0 * 15 + 14] = 2;
    CHECK(scene.board == expected);
    CHECK(t.svc.all<msg::NotifyScene>(1).empty());  // only the returning player

    SECTION("within the grace the client is told zero") {
        // Chair 0 moves itself (so is off trustee and waits for the clock next turn); chair 1
        // answers, goes away and comes back 16 s into chair 0's 17 s.
        REQUIRE(t.place(0, 0, 0) == codec::Errno::kOk);
        REQUIRE(t.place(1, 1, 1) == codec::Errno::kOk);
        t.logic.on_offline(1);
        t.svc.advance(milliseconds(16000));
        t.logic.on_reconnect(1);
        scene = t.svc.last<msg::NotifyScene>(1);
        CHECK(scene.current_chair == 0);
        CHECK(scene.remaining_ms == 0);
        CHECK(scene.playing);
    }
}

TEST_CASE("an aborted round is forgotten without settlement", "[gomoku]") {
    Table t;
    t.start(0);
    REQUIRE(t.place(0, 7, 7) == codec::Errno::kOk);
    t.logic.on_offline(1);
    t.logic.on_abort();
    CHECK_FALSE(t.logic.playing());
    CHECK(t.svc.concluded.empty());
    CHECK(t.svc.no_timers());
    CHECK(t.logic.board().stones() == 0);
    CHECK(t.place(1, 8, 8) == codec::Errno::kWrongTableStatus);
    // The table can play again.
    t.start(1);
    REQUIRE(t.place(1, 8, 8) == codec::Errno::kOk);
}

TEST_CASE("a new round starts from a clear board and a clean slate", "[gomoku]") {
    Table t;
    t.start(0);
    t.svc.advance(kClock);
    REQUIRE(t.place(1, 0, 0) == codec::Errno::kOk);
    t.svc.advance(kClock);
    REQUIRE(t.logic.trustee(0));
    REQUIRE(t.resign(1) == codec::Errno::kOk);
    t.logic.on_conclude({100, -100});
    t.start(1);
    CHECK(t.logic.board().stones() == 0);
    CHECK_FALSE(t.logic.trustee(0));
    CHECK(t.logic.consecutive_timeouts(0) == 0);
    CHECK(t.logic.winner() == -1);
}

TEST_CASE("the gomoku kind binds its keys and builds logics from the loaded values", "[gomoku]") {
    const GameKind& kind = gomoku_kind();
    CHECK(kind.name == "gomoku");
    CHECK(kind.game_type == codec::kGameTypeGomoku);
    CHECK(kind.chairs == 2);
    const auto no_env = [](const char*) -> const char* { return nullptr; };

    tb::common::ConfigSchema schema;
    const LogicFactory factory = kind.configure(schema);
    REQUIRE(schema.find("gomoku.move_timeout_ms") != nullptr);
    REQUIRE(schema.find("gomoku.grace_ms") != nullptr);
    REQUIRE(schema.find("gomoku.abandon_after_ms") != nullptr);
    schema.load("", no_env, {"gomoku.move_timeout_ms=20000", "gomoku.grace_ms=500"});

    FakeServices svc;
    const std::unique_ptr<TableLogic> logic = factory();
    svc.logic = logic.get();
    logic->init(svc);
    logic->on_sit(0);
    CHECK(svc.last<msg::NotifyScene>(0).timeout == 20);
    svc.randoms = {0};
    logic->on_start();
    CHECK(svc.timer_left(GomokuLogic::kTimerClock) == milliseconds(20500));

    // The factory owns the config the schema's keys point at: it must outlive the load.
    tb::common::ConfigSchema bad;
    const LogicFactory kept = kind.configure(bad);
    CHECK_THROWS_AS(bad.load("", no_env, {"gomoku.move_timeout_ms=10"}), tb::common::ConfigError);
}
