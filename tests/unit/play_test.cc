// tb-play without a server: command parsing, the error texts, the options, the gomoku board and
// the Dou Dizhu table drawn from given messages, and the protocol session fed with frames as the
// proxy would send them (what it answers, what it prints, what it refuses to send).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "codec/body.h"
#include "codec/frame.h"
#include "codec/messages.h"
#include "nodes/game/landlords/cards.h"
#include "tools/play/commands.h"
#include "tools/play/gomoku_view.h"
#include "tools/play/landlords_view.h"
#include "tools/play/options.h"
#include "tools/play/session.h"

namespace {

namespace codec = tb::codec;
namespace ll = tb::game::landlords;
using nlohmann::json;
using tb::play::Clock;
using tb::play::CommandKind;
using tb::play::Game;
using tb::play::parse_command;

// Card ids of a notation, lowest suit first: "33" -> {0, 1}.
std::vector<int32_t> ids_of(std::string_view notation) {
    std::vector<int32_t> out;
    std::array<int, 15> used{};
    for (const char ch : notation) {
        const int rank = ll::rank_from_char(ch);
        REQUIRE(rank >= 0);
        const auto r = static_cast<std::size_t>(rank);
        out.push_back(rank == 13 ? 52 : rank == 14 ? 53 : rank * 4 + used[r]);
        ++used[r];
    }
    return out;
}

// A message as the proxy sends it to a JSON client.
template <class T>
codec::Frame frame_of(const T& msg) {
    codec::Frame f;
    f.mcmd = codec::mcmd_of(T::kType);
    f.scmd = codec::scmd_of(T::kType);
    REQUIRE(codec::msgpack_to_json(codec::encode(msg), f.body) == codec::BodyError::kOk);
    return f;
}

codec::Frame raw_frame(uint32_t type, std::string body) {
    codec::Frame f;
    f.mcmd = codec::mcmd_of(type);
    f.scmd = codec::scmd_of(type);
    f.body = std::move(body);
    return f;
}

struct Sent {
    uint16_t mcmd = 0;
    uint16_t scmd = 0;
    json body;  // null for an empty body
    uint32_t type() const { return codec::msg_type(mcmd, scmd); }
};

// Every frame the session queued since the last call.
std::vector<Sent> sent(tb::play::Session& s) {
    codec::FrameDecoder d;
    d.feed(s.take_output());
    std::vector<Sent> out;
    codec::Frame f;
    while (d.next(f) == codec::FrameDecoder::Status::kFrame) {
        REQUIRE(f.magic == codec::Magic::kJson);
        out.push_back({f.mcmd, f.scmd, f.body.empty() ? json() : json::parse(f.body)});
    }
    REQUIRE(d.buffered() == 0);
    return out;
}

tb::play::PlayOptions options(Game game) {
    tb::play::PlayOptions o;
    o.proxy = "127.0.0.1:8888";
    o.host = "127.0.0.1";
    o.port = 8888;
    o.account = "ann";
    o.machine = tb::play::machine_id_for("ann");
    o.game = game;
    return o;
}

// A session logged in as user 7 and seated at table 3, chair `chair`; the frames of getting
// there are taken.
struct Seated {
    std::ostringstream out;
    tb::play::Session s;
    Clock::time_point now = Clock::now();

    explicit Seated(Game game, int32_t chair = 0) : s(options(game), out) {
        s.on_connected(now);
        codec::FastRegisterReply r;
        r.user_id = 7;
        r.user_name = "ann";
        r.user_score = 10000;
        s.on_frame(frame_of(r), now);
        codec::FastLoginReply l;
        l.game_id = 1;
        l.game_type = tb::play::game_type_of(game);
        l.game_level = 1;
        l.table_id = 3;
        l.chair_id = chair;
        s.on_frame(frame_of(l), now);
        codec::NotifySitDown me;
        me.user_id = 7;
        me.user_name = "ann";
        me.table_id = 3;
        me.chair_id = chair;
        s.on_frame(frame_of(me), now);
        for (int32_t c = 0; c < (game == Game::kGomoku ? 2 : 3); ++c) {
            if (c == chair) continue;
            codec::NotifySitDown other;
            other.user_id = 100 + c;
            other.user_name = "bot" + std::to_string(c);
            other.table_id = 3;
            other.chair_id = c;
            s.on_frame(frame_of(other), now);
        }
        sent(s);
        out.str("");
    }

    std::string take_text() {
        std::string t = out.str();
        out.str("");
        return t;
    }
};

bool contains(const std::string& haystack, std::string_view needle) {
    return haystack.find(needle) != std::string::npos;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Commands

TEST_CASE("tb-play reads gomoku cells as labelled and as wire coordinates", "[play]") {
    using tb::play::parse_cell;
    CHECK(parse_cell("h8") == std::pair{7, 7});
    CHECK(parse_cell("H8") == std::pair{7, 7});
    CHECK(parse_cell("7 7") == std::pair{7, 7});
    CHECK(parse_cell("7,7") == std::pair{7, 7});
    CHECK(parse_cell("a1") == std::pair{0, 0});
    CHECK(parse_cell("o15") == std::pair{14, 14});
    CHECK(parse_cell("0 14") == std::pair{0, 14});
    for (const char* bad : {"p1", "h0", "h16", "15 0", "-1 3", "h", "7 7 7", "", "77", "h8x"}) {
        INFO(bad);
        CHECK_FALSE(parse_cell(bad));
    }
    CHECK(tb::play::cell_name(7, 7) == "h8");
    CHECK(tb::play::cell_name(14, 0) == "o1");

    const auto place = parse_command(Game::kGomoku, "  place c3 \r");
    REQUIRE(place.command);
    CHECK(place.command->kind == CommandKind::kPlace);
    CHECK(place.command->x == 2);
    CHECK(place.command->y == 2);
    CHECK(parse_command(Game::kGomoku, "resign").command->kind == CommandKind::kResign);
    CHECK(parse_command(Game::kGomoku, "?").command->kind == CommandKind::kHint);
}

TEST_CASE("tb-play refuses malformed commands with a reason", "[play]") {
    const auto cell = parse_command(Game::kGomoku, "z99");
    CHECK_FALSE(cell.command);
    CHECK(contains(cell.error, "columns are a-o"));
    CHECK(contains(parse_command(Game::kGomoku, "bid 2").error, "landlords command"));
    CHECK(contains(parse_command(Game::kGomoku, "resign now").error, "takes nothing"));
    CHECK(contains(parse_command(Game::kGomoku, "quit now").error, "takes nothing"));
    CHECK(contains(parse_command(Game::kLandlords, "resign").error, "no resign"));
    CHECK(contains(parse_command(Game::kLandlords, "bid 4").error, "0 (pass) to 3"));
    CHECK(contains(parse_command(Game::kLandlords, "bid").error, "one score"));
    CHECK(contains(parse_command(Game::kLandlords, "play 3Z").error, "'3Z' is not a set of cards"));
    CHECK(contains(parse_command(Game::kGomoku, "Z99").error, "'Z99' is not a command"));
    CHECK(contains(parse_command(Game::kLandlords, "play 33333").error, "at most four"));
    CHECK(contains(parse_command(Game::kLandlords, "play 333 triple").error,
                   "unknown play type 'triple'"));
    CHECK(contains(parse_command(Game::kLandlords, "trustee maybe").error, "trustee on"));
    CHECK(contains(parse_command(Game::kLandlords, "dance").error, "unknown command 'dance'"));
}

TEST_CASE("tb-play reads landlords commands in the card notation", "[play]") {
    const auto bid = parse_command(Game::kLandlords, "bid 2");
    REQUIRE(bid.command);
    CHECK(bid.command->kind == CommandKind::kBid);
    CHECK(bid.command->score == 2);

    const auto play = parse_command(Game::kLandlords, "play 10jqka");
    REQUIRE(play.command);
    CHECK(play.command->kind == CommandKind::kPlay);
    CHECK(ll::to_notation(play.command->cards) == "TJQKA");
    CHECK(play.command->type.empty());

    const auto typed = parse_command(Game::kLandlords, "PLAY 666555444333 Airplane_Single");
    REQUIRE(typed.command);
    CHECK(ll::to_notation(typed.command->cards) == "333444555666");
    CHECK(typed.command->type == "airplane_single");

    CHECK(parse_command(Game::kLandlords, "pass").command->kind == CommandKind::kPass);
    CHECK(parse_command(Game::kLandlords, "?").command->kind == CommandKind::kHint);
    CHECK(parse_command(Game::kLandlords, "hint").command->kind == CommandKind::kHint);
    const auto trustee = parse_command(Game::kLandlords, "trustee on");
    CHECK(trustee.command->kind == CommandKind::kTrustee);
    CHECK(trustee.command->on);
    CHECK_FALSE(parse_command(Game::kLandlords, "trustee off").command->on);
    for (const Game g : {Game::kGomoku, Game::kLandlords}) {
        CHECK(parse_command(g, "").command->kind == CommandKind::kNothing);
        CHECK(parse_command(g, "help").command->kind == CommandKind::kHelp);
        CHECK(parse_command(g, "ready").command->kind == CommandKind::kReady);
        CHECK(parse_command(g, "quit").command->kind == CommandKind::kQuit);
        CHECK(parse_command(g, "show").command->kind == CommandKind::kShow);
    }
}

TEST_CASE("tb-play's help lists each game's commands", "[play]") {
    const std::string g = tb::play::help_text(Game::kGomoku);
    for (const char* word : {"h8", "7 7", "resign", "ready", "quit", "help"}) {
        CHECK(contains(g, word));
    }
    const std::string l = tb::play::help_text(Game::kLandlords);
    for (const char* word : {"bid N", "pass", "play CARDS [TYPE]", "trustee on|off", "?", "quit"}) {
        CHECK(contains(l, word));
    }
}

TEST_CASE("tb-play has a clear sentence for every Errno", "[play]") {
    using tb::play::errno_message;
    for (int32_t e = 1; e <= codec::kMaxKnownErrno; ++e) {
        INFO(e);
        CHECK_FALSE(errno_message(e).empty());
        CHECK_FALSE(contains(errno_message(e), "error "));
    }
    CHECK(errno_message(10) == "not your turn");
    CHECK(contains(errno_message(11), "illegal move"));
    CHECK(contains(errno_message(13), "wrong table status"));
    CHECK(contains(errno_message(12), "not enough score"));
    CHECK(errno_message(42) == "error 42");

    // The server's standard Errdesc adds nothing; a specific one is shown.
    CHECK(tb::play::refusal_text("Move", 10, "not your turn") ==
          "Move refused: not your turn (Errno 10)");
    CHECK(tb::play::refusal_text("Joining a table", 16, "server full") ==
          "Joining a table refused: too many requests; slow down (Errno 16): server full");
}

// ---------------------------------------------------------------------------------------------
// Options

TEST_CASE("tb-play's command line is checked before anything starts", "[play]") {
    using tb::play::ParseStatus;
    auto parse = [](std::vector<const char*> args, tb::play::PlayOptions& o) {
        args.insert(args.begin(), "tb-play");
        return tb::play::parse_options(static_cast<int>(args.size()), args.data(), o);
    };
    tb::play::PlayOptions o;
    const auto good = parse(
        {"--proxy", "localhost:8888", "--account", "ann_1", "--game", "landlords", "--level", "2"},
        o);
    REQUIRE(good.status == ParseStatus::kOk);
    CHECK(o.host == "localhost");
    CHECK(o.port == 8888);
    CHECK(o.game == Game::kLandlords);
    CHECK(o.level == 2);
    CHECK(o.machine == tb::play::machine_id_for("ann_1"));

    tb::play::PlayOptions h;
    CHECK(parse({"--help"}, h).status == ParseStatus::kHelp);
    for (const std::vector<const char*>& bad : std::vector<std::vector<const char*>>{
             {"--proxy", "localhost", "--account", "a", "--game", "gomoku"},
             {"--proxy", "h:0", "--account", "a", "--game", "gomoku"},
             {"--proxy", "h:1", "--account", "a b", "--game", "gomoku"},
             {"--proxy", "h:1", "--account", "a", "--game", "chess"},
             {"--proxy", "h:1", "--account", "a", "--game", "gomoku", "--level", "9"},
             {"--account", "a", "--game", "gomoku"},
         }) {
        tb::play::PlayOptions x;
        CHECK(parse(bad, x).status == ParseStatus::kError);
    }
}

TEST_CASE("tb-play's device id is stable per account and long enough", "[play]") {
    const std::string a = tb::play::machine_id_for("ann");
    CHECK(a == tb::play::machine_id_for("ann"));
    CHECK(a != tb::play::machine_id_for("bob"));
    CHECK(a.size() >= 16);
}

// ---------------------------------------------------------------------------------------------
// Gomoku view

TEST_CASE("tb-play draws the gomoku board from a scene and the stones placed", "[play]") {
    tb::play::TableInfo t;
    t.table_id = 4;
    t.my_chair = 1;
    t.seats[0].name = "robo";
    tb::play::GomokuView v;
    const auto now = Clock::now();

    // A return mid-game: X at a1 (0,0) and h8 (7,7), O at o15 (14,14); O (us) to move.
    codec::gomoku::NotifyScene scene;
    scene.timeout = 15;
    scene.line_number = 15;
    scene.board.assign(225, 0);
    scene.board[0] = 1;
    scene.board[7 * 15 + 7] = 1;
    scene.board[14 * 15 + 14] = 2;
    scene.playing = true;
    scene.current_chair = 1;
    scene.remaining_ms = 9500;
    v.on_scene(scene, now);
    CHECK(v.stones() == 3);
    std::string s = v.render(t, now);
    CHECK(contains(s, "Gomoku, table 4: robo (X) vs you (O), 3 stones"));
    CHECK(contains(s, "    a b c d e f g h i j k l m n o\n"));
    CHECK(contains(s, "15  . . . . . . . . . . . . . . O 15\n"));
    CHECK(contains(s, " 8  . . . . . . . X . . . . . . . 8\n"));
    CHECK(contains(s, " 1  X . . . . . . . . . . . . . . 1\n"));
    CHECK(contains(s, "Your turn (O), 10 s left"));

    // Our stone at i9 is the last one: in parentheses; then it is robo's turn on a fresh clock.
    v.on_place({false, 1, 8, 8}, now);
    s = v.render(t, now);
    CHECK(contains(s, " 9  . . . . . . . .(O). . . . . . 9\n"));
    CHECK(contains(s, "Last stone: O at i9 (you)"));
    CHECK(contains(s, "Waiting for robo (X), 15 s left"));
    CHECK(v.hint(1).starts_with("Suggestion (the robot strategy): "));

    v.on_place({true, 0, 6, 6}, now);
    v.on_conclude({0, "five", {100, -100}});
    CHECK_FALSE(v.playing());
    CHECK(tb::play::GomokuView::conclusion({0, "five", {100, -100}}, t) ==
          "Game over: you lose, robo wins (five in a row)\nScore changes: robo +100, you -100\n");
    CHECK(tb::play::GomokuView::conclusion({1, "resign", {-100, 100}}, t)
              .starts_with("Game over: you win (resignation)"));
    CHECK(tb::play::GomokuView::conclusion({-1, "draw", {0, 0}}, t)
              .starts_with("Game over: draw (the board is full)"));
}

TEST_CASE("tb-play starts a gomoku game on an empty board with the first mover's clock", "[play]") {
    tb::play::TableInfo t;
    t.my_chair = 0;
    tb::play::GomokuView v;
    const auto now = Clock::now();
    codec::gomoku::NotifyScene scene;
    scene.timeout = 20;
    v.on_scene(scene, now);
    CHECK(contains(v.render(t, now), "No game running"));
    v.on_start({0}, now);
    CHECK(contains(v.render(t, now), "Your turn (X), 20 s left"));
    CHECK(contains(v.render(t, now + std::chrono::milliseconds(5500)), "15 s left"));
}

// ---------------------------------------------------------------------------------------------
// Landlords view

TEST_CASE("tb-play shows a Dou Dizhu round: hand, bids, landlord, plays, result", "[play]") {
    tb::play::TableInfo t;
    t.table_id = 2;
    t.my_chair = 1;
    t.seats[0].name = "left";
    t.seats[2].name = "right";
    tb::play::LandlordsView v;
    const auto now = Clock::now();

    const std::string hand = "3345566789TJQKA2R";
    codec::landlords::NotifyDeal deal;
    deal.cards = ids_of(hand);
    std::reverse(deal.cards.begin(), deal.cards.end());  // the view sorts
    deal.first_chair = 0;
    auto u = v.on_deal(deal, t, now);
    CHECK(u.redraw);
    CHECK(contains(u.text, "left bids first"));
    CHECK(contains(v.render(t, now), "Your hand (17): " + hand));

    u = v.on_call_score({0, 1, 1, 15000}, t, now);
    CHECK(u.text == "left bids 1\n");
    CHECK(u.redraw);  // our turn to bid
    std::string s = v.render(t, now);
    CHECK(contains(s, "Bidding: left 1 (highest 1)"));
    CHECK(contains(s, "Your bid, 15 s left"));
    CHECK(contains(v.hints(t), "Legal bids: pass, 2, 3"));

    u = v.on_call_score({1, 3, -1, 0}, t, now);
    CHECK(u.text == "you bid 3\n");
    u = v.on_landlord({1, {5, 10, 52}, 3}, t, now);  // a 4, a 5 and B the hand lacks
    CHECK(u.text == "you are the landlord (bid 3), bottom cards 45B\n");
    CHECK(v.hand().size() == 20);
    CHECK(v.cards_left()[1] == 20);
    s = v.render(t, now);
    CHECK(contains(s, "> chair 1  you          landlord 20 cards"));
    CHECK(contains(s, "  chair 0  left         farmer   17 cards"));
    CHECK(contains(s, "Your lead, 20 s left"));
    const std::string lead_hints = v.hints(t);
    CHECK(contains(lead_hints, "You lead. Legal plays ("));
    CHECK(contains(lead_hints, "33 (pair)"));
    CHECK(contains(lead_hints, "Suggestion (the robot strategy): play "));

    // We lead a pair of 3s; right beats it with 55 (ids of another suit), left passes.
    codec::landlords::BroadcastPlay mine;
    mine.chair_id = 1;
    mine.cards = ids_of("33");
    mine.type = "pair";
    mine.next_chair = 2;
    mine.remaining_ms = 20000;
    mine.multiple = 1;
    mine.cards_left = {17, 18, 17};
    u = v.on_play(mine, t, now);
    CHECK(u.text == "you play 33 (pair), 18 cards left\n");
    CHECK(v.hand().size() == 18);

    codec::landlords::BroadcastPlay theirs;
    theirs.chair_id = 2;
    theirs.cards = {22, 23};  // 8 and 8 (rank 5) of suits the hand lacks
    theirs.type = "pair";
    theirs.next_chair = 0;
    theirs.remaining_ms = 20000;
    theirs.multiple = 1;
    theirs.cards_left = {17, 18, 15};
    v.on_play(theirs, t, now);
    u = v.on_pass({0, 1, 20000}, t, now);
    CHECK(u.text == "left passes\n");
    CHECK(u.redraw);
    s = v.render(t, now);
    CHECK(contains(s, "Last play: right 88 (pair)"));
    CHECK(contains(s, "Your turn, 20 s left: play CARDS or pass"));
    const std::string follow = v.hints(t);
    CHECK(contains(follow, "To beat right's 88 (pair): pass"));
    CHECK_FALSE(contains(follow, "55 (pair)"));  // lower than 88

    codec::landlords::BroadcastConclude end;
    end.landlord_win = true;
    end.multiple = 2;
    end.scores = {-600, 1200, -600};
    end.hands = {ids_of("77"), {}, ids_of("9")};
    u = v.on_conclude(end, t);
    CHECK(contains(u.text, "Game over: you win (the landlord wins, you were the landlord)"));
    CHECK(contains(u.text, "multiple x2"));
    CHECK(contains(u.text, "Score changes: left -600, you +1200, right -600"));
    CHECK(contains(u.text, "Cards still held: left 77, right 9"));
}

TEST_CASE("tb-play redraws a landlords table from the scene after a return", "[play]") {
    tb::play::TableInfo t;
    t.my_chair = 0;
    tb::play::LandlordsView v;
    const auto now = Clock::now();
    codec::landlords::NotifyScene m;
    m.phase = 2;
    m.hand = ids_of("34567");
    m.cards_left = {5, 9, 12};
    m.landlord_chair = 2;
    m.bottom_cards = ids_of("KKA");
    m.base_score = 2;
    m.multiple = 4;
    m.current_chair = 0;
    m.remaining_ms = 7000;
    m.last_play = {2, ids_of("33"), "pair"};
    m.trustee = {true, false, false};
    const auto u = v.on_scene(m, t, now);
    CHECK(u.redraw);
    const std::string s = v.render(t, now);
    CHECK(contains(s, "> chair 0  you          farmer   5 cards  [trustee]"));
    CHECK(contains(s, "Landlord: chair 2, bid 2, bottom cards KKA, multiple x4"));
    CHECK(contains(s, "Last play: chair 2 33 (pair)"));
    CHECK(contains(s, "Your hand (5): 34567"));
    CHECK(contains(s, "Your turn, 7 s left"));
    CHECK_FALSE(v.leading(0));
}

// ---------------------------------------------------------------------------------------------
// Session

TEST_CASE("tb-play logs in, joins a table and sends Ready when it sits down", "[play]") {
    std::ostringstream out;
    tb::play::Session s(options(Game::kGomoku), out);
    const auto now = Clock::now();
    s.on_connected(now);
    auto frames = sent(s);
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].type() == codec::kMsgFastRegister);
    CHECK(frames[0].body["Account"] == "ann");
    CHECK(frames[0].body["Password"] == "");
    CHECK(frames[0].body["Machine"] == tb::play::machine_id_for("ann"));

    codec::FastRegisterReply r;
    r.user_id = 7;
    r.user_name = "ann";
    s.on_frame(frame_of(r), now);
    frames = sent(s);
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].type() == codec::kMsgFastLogin);
    CHECK(frames[0].body["GameID"] == 0);
    CHECK(frames[0].body["GameType"] == 2);
    CHECK(frames[0].body["GameLevel"] == 1);

    s.on_frame(frame_of(codec::FastLoginReply{1, 2, 1, 3, 1}), now);
    CHECK(s.stage() == tb::play::Session::Stage::kSeated);
    codec::NotifySitDown me;
    me.user_id = 7;
    me.chair_id = 1;
    me.table_id = 3;
    s.on_frame(frame_of(me), now);
    frames = sent(s);
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].type() == codec::kMsgReady);
    CHECK(frames[0].body.is_null());

    // Back to free after a game: Ready again, once.
    s.on_frame(frame_of(codec::NotifyStatus{1, codec::kUserStatusPlaying}), now);
    s.on_frame(frame_of(codec::NotifyStatus{1, codec::kUserStatusFree}), now);
    s.on_frame(frame_of(codec::NotifyStatus{1, codec::kUserStatusFree}), now);
    frames = sent(s);
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].type() == codec::kMsgReady);
    CHECK(contains(out.str(), "Seated: gomoku level 1, table 3, chair 1"));
}

TEST_CASE("tb-play echoes every keep-alive and never sends one of its own", "[play]") {
    Seated t(Game::kGomoku);
    t.s.on_frame(raw_frame(0, ""), t.now);
    t.s.on_frame(raw_frame(0, ""), t.now);
    CHECK(t.s.take_output() == codec::keep_alive_frame(codec::Magic::kJson) +
                                   codec::keep_alive_frame(codec::Magic::kJson));
    for (int i = 0; i < 100; ++i) t.s.on_tick(t.now + std::chrono::seconds(i));
    CHECK(t.s.take_output().empty());
}

TEST_CASE("tb-play returns to the game the login reply says it still sits in", "[play]") {
    std::ostringstream out;
    tb::play::Session s(options(Game::kGomoku), out);
    const auto now = Clock::now();
    s.on_connected(now);
    sent(s);
    codec::FastRegisterReply r;
    r.user_id = 7;
    r.game_id = 5;
    r.game_type = codec::kGameTypeLandlords;
    r.game_level = 1;
    s.on_frame(frame_of(r), now);
    auto frames = sent(s);
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].body["GameID"] == 5);
    CHECK(frames[0].body["GameType"] == 1);
    CHECK(s.game() == Game::kLandlords);
    CHECK(contains(out.str(), "still seated in a landlords game (GameID 5)"));

    // FastLogin's Errno 9 names the game to return to.
    codec::InAnotherGameError e;
    e.game_id = 6;
    e.game_type = codec::kGameTypeGomoku;
    e.game_level = 1;
    s.on_frame(frame_of(e), now);
    frames = sent(s);
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].body["GameID"] == 6);
    CHECK(frames[0].body["GameType"] == 2);
}

TEST_CASE("tb-play reconnects with backoff and comes back through the scene", "[play]") {
    Seated t(Game::kGomoku);
    t.s.on_disconnected("the server closed the connection", t.now);
    CHECK(t.s.stage() == tb::play::Session::Stage::kOffline);
    CHECK(t.s.next_connect_at() == t.now + tb::play::Session::backoff(0));
    CHECK(contains(t.take_text(), "Connection lost (the server closed the connection)"));
    t.s.on_line("h8", t.now);
    CHECK(t.s.take_output().empty());
    CHECK(contains(t.take_text(), "Not connected"));
    t.s.on_disconnected("connect: Connection refused", t.now);
    CHECK(contains(t.take_text(), "Cannot connect (connect: Connection refused); trying again"));
    CHECK(t.s.next_connect_at() == t.now + tb::play::Session::backoff(1));
    CHECK(tb::play::Session::backoff(1) > tb::play::Session::backoff(0));
    CHECK(tb::play::Session::backoff(30) == tb::play::Session::backoff(4));

    t.s.on_connected(t.now);
    CHECK(contains(t.take_text(), "Reconnected"));
    CHECK(sent(t.s).at(0).type() == codec::kMsgFastRegister);
    codec::FastRegisterReply r;
    r.user_id = 7;
    r.game_id = 1;
    r.game_type = 2;
    r.game_level = 1;
    t.s.on_frame(frame_of(r), t.now);
    CHECK(sent(t.s).at(0).body["GameID"] == 1);
    t.s.on_frame(frame_of(codec::FastLoginReply{1, 2, 1, 3, 0}), t.now);
    codec::gomoku::NotifyScene scene;
    scene.timeout = 15;
    scene.board.assign(225, 0);
    scene.board[7 * 15 + 7] = 2;
    scene.playing = true;
    scene.current_chair = 0;
    scene.remaining_ms = 12000;
    t.s.on_frame(frame_of(scene), t.now);
    const std::string text = t.take_text();
    CHECK(contains(text, " 8  . . . . . . . O . . . . . . . 8\n"));
    CHECK(contains(text, "Your turn (X), 12 s left"));
}

TEST_CASE("tb-play sends gomoku moves and explains the server's refusals", "[play]") {
    Seated t(Game::kGomoku);
    t.s.on_frame(frame_of(codec::gomoku::BroadcastStart{0}), t.now);
    t.take_text();
    t.s.on_line("h8", t.now);
    auto frames = sent(t.s);
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].type() == codec::kMsgGomokuPlaceStone);
    CHECK(frames[0].body == json({{"PositionX", 7}, {"PositionY", 7}}));

    // The broadcast confirms it; the cell is then taken and a second try is not sent.
    t.s.on_frame(frame_of(codec::gomoku::BroadcastPlaceStone{false, 0, 7, 7}), t.now);
    t.take_text();
    t.s.on_line("7 7", t.now);
    CHECK(sent(t.s).empty());
    CHECK(contains(t.take_text(), "h8 is taken"));

    t.s.on_line("i9", t.now);
    CHECK(sent(t.s).size() == 1);
    t.s.on_frame(
        raw_frame(codec::kMsgGomokuPlaceStone, R"({"Errno":10,"Errdesc":"not your turn"})"), t.now);
    CHECK(t.take_text() == "Move refused: not your turn (Errno 10)\n");
    t.s.on_frame(raw_frame(codec::kMsgGomokuResign, R"({"Errno":13})"), t.now);
    CHECK(contains(t.take_text(), "Resign refused: wrong table status"));
    t.s.on_frame(raw_frame(codec::kMsgReady, R"({"Errno":12,"Errdesc":"not enough score"})"),
                 t.now);
    CHECK(contains(t.take_text(), "Ready refused: not enough score"));

    t.s.on_line("resign", t.now);
    frames = sent(t.s);
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].type() == codec::kMsgGomokuResign);

    t.s.on_line("nonsense", t.now);
    CHECK(sent(t.s).empty());
    CHECK(contains(t.take_text(), "(nothing sent)"));
}

TEST_CASE("tb-play plays landlords cards by id from its hand", "[play]") {
    Seated t(Game::kLandlords, 1);
    codec::landlords::NotifyDeal deal;
    deal.cards = ids_of("3334445556789TJQK");
    deal.first_chair = 1;
    t.s.on_frame(frame_of(deal), t.now);
    t.take_text();

    // In bidding a pass is CallScore 0.
    t.s.on_line("pass", t.now);
    auto frames = sent(t.s);
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].type() == codec::kMsgLandlordsCallScore);
    CHECK(frames[0].body["Score"] == 0);
    t.s.on_line("bid 3", t.now);
    CHECK(sent(t.s).at(0).body["Score"] == 3);

    t.s.on_frame(frame_of(codec::landlords::BroadcastCallScore{1, 3, -1, 0}), t.now);
    t.s.on_frame(frame_of(codec::landlords::BroadcastLandlord{1, {52, 53, 51}, 3}), t.now);
    t.take_text();

    t.s.on_line("play 3334", t.now);
    frames = sent(t.s);
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].type() == codec::kMsgLandlordsPlayCards);
    CHECK(frames[0].body["Cards"] == json({0, 1, 2, 4}));
    CHECK(frames[0].body["Type"] == "");

    t.s.on_line("play 333444555 airplane", t.now);
    CHECK(sent(t.s).at(0).body["Type"] == "airplane");

    // Checked against the hand and the rules before anything is sent.
    t.s.on_line("play 2222", t.now);
    CHECK(sent(t.s).empty());
    CHECK(contains(t.take_text(), "You do not hold 2222"));
    t.s.on_line("play 34", t.now);
    CHECK(sent(t.s).empty());
    CHECK(contains(t.take_text(), "34 is not a play"));
    t.s.on_line("play 33344 airplane", t.now);
    CHECK(sent(t.s).empty());
    CHECK(contains(t.take_text(), "cannot be played as airplane, only as trio_pair"));

    t.s.on_line("trustee on", t.now);
    CHECK(sent(t.s).at(0).body == json({{"On", true}}));
    t.s.on_line("?", t.now);
    CHECK(sent(t.s).empty());
    CHECK(contains(t.take_text(), "Suggestion (the robot strategy): play"));

    t.s.on_frame(raw_frame(codec::kMsgLandlordsPlayCards, R"({"Errno":11,"Errdesc":"x"})"), t.now);
    CHECK(contains(t.take_text(), "Play refused: illegal move or play (Errno 11): x"));
    t.s.on_frame(raw_frame(codec::kMsgLandlordsPass, R"({"Errno":11})"), t.now);
    CHECK(contains(t.take_text(), "Pass refused"));
}

TEST_CASE("tb-play stops on a kick or a refused password, and leaves the table on quit", "[play]") {
    {
        Seated t(Game::kGomoku);
        t.s.on_frame(frame_of(codec::NotifyKick{18, "logged in elsewhere"}), t.now);
        CHECK(t.s.finished());
        CHECK(t.s.exit_code() == 1);
        CHECK(contains(t.take_text(), "Kicked by the server: kicked: logged in elsewhere"));
    }
    {
        std::ostringstream out;
        tb::play::Session s(options(Game::kGomoku), out);
        s.on_connected(Clock::now());
        s.on_frame(raw_frame(codec::kMsgFastRegister, R"({"Errno":5,"Errdesc":"wrong password"})"),
                   Clock::now());
        CHECK(s.finished());
        CHECK(s.exit_code() == 1);
        CHECK(contains(out.str(), "Login refused: wrong password for this account (Errno 5)"));
    }
    {
        // A passing failure (storage) is tried again on a new connection.
        std::ostringstream out;
        tb::play::Session s(options(Game::kGomoku), out);
        s.on_connected(Clock::now());
        s.on_frame(raw_frame(codec::kMsgFastRegister, R"({"Errno":15})"), Clock::now());
        CHECK_FALSE(s.finished());
        CHECK(s.wants_reconnect());
    }
    {
        Seated t(Game::kGomoku);
        t.s.on_line("quit", t.now);
        const auto frames = sent(t.s);
        REQUIRE(frames.size() == 1);
        CHECK(frames[0].type() == codec::kMsgLogout);
        CHECK(t.s.finished());
        CHECK(t.s.exit_code() == 0);
    }
}

TEST_CASE("tb-play retries a table when no game server answers yet", "[play]") {
    std::ostringstream out;
    tb::play::Session s(options(Game::kLandlords), out);
    const auto now = Clock::now();
    s.on_connected(now);
    codec::FastRegisterReply r;
    r.user_id = 7;
    s.on_frame(frame_of(r), now);
    sent(s);
    s.on_frame(raw_frame(codec::kMsgFastLogin, R"({"Errno":7,"Errdesc":"no such service"})"), now);
    CHECK(contains(out.str(), "no game server for this game and level"));
    s.on_tick(now);
    CHECK(sent(s).empty());
    s.on_tick(now + std::chrono::seconds(1));
    const auto frames = sent(s);
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].type() == codec::kMsgFastLogin);
    CHECK(frames[0].body["GameType"] == 1);
}

TEST_CASE("tb-play's JSON log has every frame but no credential", "[play]") {
    std::ostringstream out;
    std::ostringstream log;
    auto o = options(Game::kGomoku);
    o.password = "s3cret";
    tb::play::Session s(o, out, &log);
    const auto now = Clock::now();
    s.on_connected(now);
    s.on_frame(raw_frame(0, ""), now);
    std::istringstream lines(log.str());
    std::vector<json> entries;
    for (std::string line; std::getline(lines, line);) entries.push_back(json::parse(line));
    REQUIRE(entries.size() == 3);
    CHECK(entries[0]["dir"] == "out");
    CHECK(entries[0]["mcmd"] == 1);
    CHECK(entries[0]["body"]["Account"] == "ann");
    CHECK(entries[0]["body"]["Password"] == "***");
    CHECK(entries[0]["body"]["Machine"] == "***");
    CHECK(entries[1]["dir"] == "in");
    CHECK(entries[2]["dir"] == "out");
    CHECK(entries[2]["body"].is_null());
    CHECK_FALSE(contains(log.str(), "s3cret"));
}
