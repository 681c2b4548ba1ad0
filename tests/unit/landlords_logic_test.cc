// Dou Dizhu's table logic (nodes/game/landlords/landlords_logic.h) against a fake frame with a
// fake clock: the seeded deal, bidding with redeals and the third-deal rule, turn order, passes
// and leads, readings, bombs, spring and anti-spring, the cap, the settlement transfers, clocks
// and trustee, offline players, the reconnect scene, and whole rounds played by robots.
#include "nodes/game/landlords/landlords_logic.h"

#include <catch2/catch.hpp>
#include <set>

#include "codec/messages.h"
#include "tests/support/fake_table.h"

using namespace tb::game;
using namespace tb::game::landlords;
using std::chrono::milliseconds;
using tb::test::kToTable;
namespace codec = tb::codec;
namespace msg = tb::codec::landlords;

namespace {

LandlordsConfig test_config(int32_t cap = 64) {
    LandlordsConfig c;
    c.bid_timeout = milliseconds(15000);
    c.play_timeout = milliseconds(20000);
    c.grace = milliseconds(2000);
    c.max_multiple = cap;
    return c;
}

struct Round {
    tb::test::FakeTable svc{3};
    LandlordsLogic logic;

    // `seed` is the shuffle seed; `first` the chair that bids first.
    explicit Round(uint64_t seed = 42, uint64_t first = 0, int32_t cap = 64)
        : logic(test_config(cap)) {
        svc.logic = &logic;
        logic.init(svc);
        svc.randoms = {seed, first};
        logic.on_start();
    }

    codec::Errno bid(Chair c, int32_t score) {
        return logic.on_message(c, msg::CallScore::kType, codec::encode(msg::CallScore{score}));
    }
    codec::Errno play(Chair c, std::vector<int32_t> cards, std::string type = {}) {
        msg::PlayCards p;
        p.cards = std::move(cards);
        p.type = std::move(type);
        return logic.on_message(c, msg::PlayCards::kType, codec::encode(p));
    }
    codec::Errno pass(Chair c) {
        return logic.on_message(c, codec::kMsgLandlordsPass, codec::encode(codec::Empty{}));
    }
    // Chair `c` bids 3 and becomes landlord.
    void landlord(Chair c) {
        REQUIRE(logic.current() == c);
        REQUIRE(bid(c, 3) == codec::Errno::kOk);
        REQUIRE(logic.landlord() == c);
    }
    // The lowest card of chair `c`.
    int32_t lowest(Chair c) const { return logic.hand(c).front(); }
};

int rank_of(int32_t id) {
    return rank_of_card(id);
}

}  // namespace

TEST_CASE("the deal gives 17 cards to each chair and 3 bottom cards from the round's seed",
          "[landlords]") {
    Round r(7, 2);
    std::set<int32_t> all;
    for (Chair c = 0; c < 3; ++c) {
        const auto deal = r.svc.last<msg::NotifyDeal>(c);
        CHECK(deal.cards.size() == 17);
        CHECK(deal.first_chair == 2);
        all.insert(deal.cards.begin(), deal.cards.end());
    }
    all.insert(r.logic.bottom().begin(), r.logic.bottom().end());
    CHECK(all.size() == 54);
    CHECK(*all.begin() == 0);
    CHECK(*all.rbegin() == 53);
    // The same seed deals the same cards; another seed does not.
    Round same(7, 2), other(8, 2);
    CHECK(same.logic.hand(0) == r.logic.hand(0));
    CHECK(other.logic.hand(0) != r.logic.hand(0));
    CHECK(r.logic.phase() == LandlordsLogic::Phase::kBidding);
    CHECK(r.logic.current() == 2);
}

TEST_CASE("bids must be in turn and above the current bid and a 3 ends bidding at once",
          "[landlords]") {
    Round r(1, 0);
    CHECK(r.bid(1, 1) == codec::Errno::kNotYourTurn);
    CHECK(r.bid(0, 4) == codec::Errno::kIllegalMove);
    CHECK(r.bid(0, 2) == codec::Errno::kOk);
    CHECK(r.bid(1, 2) == codec::Errno::kIllegalMove);  // not above 2
    CHECK(r.bid(1, 1) == codec::Errno::kIllegalMove);
    CHECK(r.logic.current() == 1);  // refusals changed nothing
    const auto before = r.logic.hand(1);
    CHECK(r.bid(1, 3) == codec::Errno::kOk);
    CHECK(r.logic.landlord() == 1);
    CHECK(r.logic.bid() == 3);
    CHECK(r.logic.hand(1).size() == 20);
    for (const int32_t b : r.logic.bottom()) {
        CHECK(std::count(r.logic.hand(1).begin(), r.logic.hand(1).end(), b) == 1);
    }
    const auto landlord = r.svc.last<msg::BroadcastLandlord>();
    CHECK(landlord.chair_id == 1);
    CHECK(landlord.base_score == 3);
    CHECK(landlord.bottom_cards == r.logic.bottom());
    CHECK(r.logic.phase() == LandlordsLogic::Phase::kPlaying);
    CHECK(r.logic.current() == 1);  // the landlord leads
    CHECK(before.size() == 17);
}

TEST_CASE("after three acts the highest bidder is landlord at that bid", "[landlords]") {
    Round r(2, 1);
    CHECK(r.bid(1, 1) == codec::Errno::kOk);
    CHECK(r.bid(2, 0) == codec::Errno::kOk);
    CHECK(r.logic.landlord() == -1);
    CHECK(r.bid(0, 2) == codec::Errno::kOk);
    CHECK(r.logic.landlord() == 0);
    CHECK(r.logic.bid() == 2);
    const auto calls = r.svc.all<msg::BroadcastCallScore>();
    REQUIRE(calls.size() == 3);
    CHECK(calls[0].next_chair == 2);
    CHECK(calls[0].remaining_ms == 15000);
    CHECK(calls[2].next_chair == -1);
}

TEST_CASE("three passes redeal with the next chair first and the third deal has no fourth",
          "[landlords]") {
    Round r(3, 0);
    for (Chair c : {0, 1, 2}) REQUIRE(r.bid(c, 0) == codec::Errno::kOk);
    CHECK(r.svc.count(codec::kMsgLandlordsBroadcastRedeal) == 1);
    CHECK(r.logic.deals() == 2);
    CHECK(r.svc.last<msg::NotifyDeal>(0).first_chair == 1);
    CHECK(r.logic.current() == 1);
    for (Chair c : {1, 2, 0}) REQUIRE(r.bid(c, 0) == codec::Errno::kOk);
    CHECK(r.logic.deals() == 3);
    CHECK(r.logic.current() == 2);
    const auto third_hand = r.logic.hand(2);
    for (Chair c : {2, 0, 1}) REQUIRE(r.bid(c, 0) == codec::Errno::kOk);
    CHECK(r.svc.count(codec::kMsgLandlordsBroadcastRedeal) == 2);
    // The first bidder of the third deal takes those cards at BaseScore 1.
    CHECK(r.logic.landlord() == 2);
    CHECK(r.logic.bid() == 1);
    CHECK(r.logic.hand(2).size() == 20);
    for (const int32_t id : third_hand) {
        CHECK(std::count(r.logic.hand(2).begin(), r.logic.hand(2).end(), id) == 1);
    }
}

TEST_CASE("plays follow the turn order and a refused play changes nothing", "[landlords]") {
    Round r(4, 0);
    r.landlord(0);
    CHECK(r.pass(0) == codec::Errno::kIllegalMove);  // the leader may not pass
    CHECK(r.play(1, {r.lowest(1)}) == codec::Errno::kNotYourTurn);
    CHECK(r.play(0, {r.lowest(1)}) == codec::Errno::kIllegalMove);               // not in the hand
    CHECK(r.play(0, {r.lowest(0), r.lowest(0)}) == codec::Errno::kIllegalMove);  // twice
    const int32_t low = r.lowest(0);
    CHECK(r.logic.hand(0).size() == 20);
    CHECK(r.play(0, {low}) == codec::Errno::kOk);
    CHECK(r.logic.hand(0).size() == 19);
    const auto p = r.svc.last<msg::BroadcastPlay>();
    CHECK(p.chair_id == 0);
    CHECK(p.type == "single");
    CHECK(p.next_chair == 1);
    CHECK(p.cards_left == std::vector<int32_t>{19, 17, 17});
    // Chair 1 must beat the single or pass: a card of the same rank does not beat it.
    const auto& h1 = r.logic.hand(1);
    auto not_higher =
        std::find_if(h1.begin(), h1.end(), [&](int32_t id) { return rank_of(id) <= rank_of(low); });
    if (not_higher != h1.end()) CHECK(r.play(1, {*not_higher}) == codec::Errno::kIllegalMove);
    CHECK(r.pass(1) == codec::Errno::kOk);
    CHECK(r.pass(2) == codec::Errno::kOk);
    // Two passes: the last player leads again and may not pass.
    CHECK(r.logic.current() == 0);
    CHECK(r.logic.leading());
    CHECK(r.pass(0) == codec::Errno::kIllegalMove);
    CHECK(r.svc.last<msg::BroadcastPass>().next_chair == 0);
}

TEST_CASE("a lead names its reading with Type and an unknown Type is refused", "[landlords]") {
    // Find a seed whose landlord (chair 0, bid 3) can lead a pair: then "single" does not fit.
    for (uint64_t seed = 1; seed < 200; ++seed) {
        Round r(seed, 0);
        r.landlord(0);
        const auto& h = r.logic.hand(0);
        std::optional<std::pair<int32_t, int32_t>> pair;
        for (size_t i = 0; i + 1 < h.size(); ++i) {
            if (rank_of(h[i]) == rank_of(h[i + 1]) && rank_of(h[i]) < 13) pair = {h[i], h[i + 1]};
        }
        if (!pair) continue;
        CHECK(r.play(0, {pair->first, pair->second}, "single") == codec::Errno::kIllegalMove);
        CHECK(r.play(0, {pair->first, pair->second}, "duo") == codec::Errno::kInvalidField);
        CHECK(r.play(0, {pair->first, pair->second}, "pair") == codec::Errno::kOk);
        CHECK(r.svc.last<msg::BroadcastPlay>().type == "pair");
        return;
    }
    FAIL("no seed dealt a pair");
}

TEST_CASE("spring doubles the multiple and the landlord wins a unit from each farmer",
          "[landlords]") {
    Round r(5, 0);
    r.landlord(0);
    // The landlord sheds single cards; the farmers always pass.
    while (!r.logic.hand(0).empty() && r.svc.concluded.empty()) {
        REQUIRE(r.play(0, {r.logic.hand(0).back()}) == codec::Errno::kOk);
        if (r.logic.hand(0).empty()) break;
        REQUIRE(r.pass(1) == codec::Errno::kOk);
        REQUIRE(r.pass(2) == codec::Errno::kOk);
    }
    REQUIRE(r.svc.concluded.size() == 1);
    CHECK_FALSE(r.logic.playing());
    const auto& out = r.svc.concluded[0];
    // Unit = room base 100 x bid 3 x multiple 2 (spring); each farmer pays one.
    CHECK(r.logic.multiple() == 2);
    REQUIRE(out.transfers.size() == 2);
    for (const auto& t : out.transfers) {
        CHECK(t.to == 0);
        CHECK(t.amount == 600);
    }
    CHECK(out.seed.size() == 16);
    r.logic.on_conclude({1200, -600, -600});
    const auto c = r.svc.last<msg::BroadcastConclude>();
    CHECK(c.landlord_win);
    CHECK(c.spring);
    CHECK(c.multiple == 2);
    CHECK(c.scores == std::vector<int64_t>{1200, -600, -600});
    CHECK(c.hands[0].empty());
    CHECK(c.hands[1].size() == 17);
}

TEST_CASE("anti-spring doubles when the farmers win and the landlord played only the first lead",
          "[landlords]") {
    for (uint64_t seed = 1; seed < 100; ++seed) {
        Round r(seed, 0);
        r.landlord(0);
        const int32_t lead = r.lowest(0);
        const auto& h1 = r.logic.hand(1);
        if (rank_of(h1.back()) <= rank_of(lead)) continue;
        REQUIRE(r.play(0, {lead}) == codec::Errno::kOk);
        REQUIRE(r.play(1, {h1.back()}) == codec::Errno::kOk);
        REQUIRE(r.pass(2) == codec::Errno::kOk);
        REQUIRE(r.pass(0) == codec::Errno::kOk);
        // Chair 1 leads its remaining cards one by one; the others pass.
        while (r.svc.concluded.empty()) {
            REQUIRE(r.play(1, {r.logic.hand(1).front()}) == codec::Errno::kOk);
            if (!r.svc.concluded.empty()) break;
            REQUIRE(r.pass(2) == codec::Errno::kOk);
            REQUIRE(r.pass(0) == codec::Errno::kOk);
        }
        CHECK(r.logic.multiple() == 2);
        const auto& out = r.svc.concluded[0];
        REQUIRE(out.transfers.size() == 2);
        for (const auto& t : out.transfers) {
            CHECK(t.from == 0);
            CHECK(t.amount == 600);
        }
        r.logic.on_conclude({-1200, 600, 600});
        const auto c = r.svc.last<msg::BroadcastConclude>();
        CHECK_FALSE(c.landlord_win);
        CHECK(c.spring);
        return;
    }
    FAIL("no seed fit");
}

TEST_CASE("bombs and the rocket double the multiple up to the cap", "[landlords]") {
    for (uint64_t seed = 1; seed < 400; ++seed) {
        Round r(seed, 0, 2);  // cap 2
        r.landlord(0);
        const auto& h = r.logic.hand(0);
        const bool rocket =
            std::count(h.begin(), h.end(), 52) && std::count(h.begin(), h.end(), 53);
        std::vector<int32_t> bomb;
        for (int rank = 0; rank < 13 && bomb.empty(); ++rank) {
            std::vector<int32_t> four;
            for (const int32_t id : h) {
                if (rank_of(id) == rank) four.push_back(id);
            }
            if (four.size() == 4) bomb = four;
        }
        if (!rocket || bomb.empty()) continue;
        REQUIRE(r.play(0, bomb) == codec::Errno::kOk);
        CHECK(r.logic.multiple() == 2);
        CHECK(r.svc.last<msg::BroadcastPlay>().type == "bomb");
        REQUIRE(r.pass(1) == codec::Errno::kOk);
        REQUIRE(r.pass(2) == codec::Errno::kOk);
        REQUIRE(r.play(0, {52, 53}) == codec::Errno::kOk);
        CHECK(r.svc.last<msg::BroadcastPlay>().type == "rocket");
        CHECK(r.logic.multiple() == 2);  // 4 without the cap
        CHECK(r.svc.last<msg::BroadcastPlay>().multiple == 2);
        return;
    }
    FAIL("no seed dealt the landlord a bomb and the rocket");
}

TEST_CASE("a timeout acts for the player and two in a row put them on trustee", "[landlords]") {
    Round r(6, 0);
    // Bidding timeouts count: chair 0 lets its clock run out (15 s + 2 s grace).
    r.svc.advance(milliseconds(16999));
    CHECK(r.svc.all<msg::BroadcastCallScore>().empty());
    r.svc.advance(milliseconds(1));
    REQUIRE(r.svc.all<msg::BroadcastCallScore>().size() == 1);
    CHECK(r.svc.all<msg::BroadcastTrustee>().empty());
    // Others act; if bidding goes round to chair 0 again it may time out again.
    r.landlord(1);  // chair 1 bids 3 now
    CHECK(r.logic.current() == 1);
    REQUIRE(r.play(1, {r.lowest(1)}) == codec::Errno::kOk);
    REQUIRE(r.pass(2) == codec::Errno::kOk);
    // Chair 0's second timeout in a row: trustee on, and the trustee acts.
    const auto left = r.logic.hand(0).size();
    r.svc.advance(milliseconds(22000));
    REQUIRE_FALSE(r.svc.all<msg::BroadcastTrustee>().empty());
    CHECK(r.svc.last<msg::BroadcastTrustee>().chair_id == 0);
    CHECK(r.svc.last<msg::BroadcastTrustee>().on);
    CHECK(r.logic.trustee(0));
    const bool acted = r.logic.hand(0).size() < left || !r.svc.all<msg::BroadcastPass>().empty();
    CHECK(acted);
    // On trustee, chair 0 is played for after the think time, not the clock.
    while (r.logic.current() != 0 && r.svc.concluded.empty()) {
        const Chair c = r.logic.current();
        if (r.pass(c) != codec::Errno::kOk) REQUIRE(r.play(c, {r.lowest(c)}) == codec::Errno::kOk);
    }
    if (r.svc.concluded.empty()) {
        const auto before = r.svc.sent.size();
        r.svc.advance(milliseconds(700));
        CHECK(r.svc.sent.size() > before);
        CHECK(r.logic.current() != 0);
    }
}

TEST_CASE("a player's own action takes them off trustee", "[landlords]") {
    Round r(9, 0);
    REQUIRE(r.logic.on_message(0, msg::Trustee::kType, codec::encode(msg::Trustee{true})) ==
            codec::Errno::kOk);
    CHECK(r.logic.trustee(0));
    CHECK(r.svc.last<msg::BroadcastTrustee>().on);
    REQUIRE(r.bid(0, 1) == codec::Errno::kOk);
    CHECK_FALSE(r.logic.trustee(0));
    CHECK_FALSE(r.svc.last<msg::BroadcastTrustee>().on);
}

TEST_CASE("an offline player is on trustee at once and played for after the think time",
          "[landlords]") {
    Round r(10, 0);
    r.svc.seats[0].offline = true;
    r.logic.on_offline(0);
    CHECK(r.logic.trustee(0));
    r.svc.advance(milliseconds(699));
    CHECK(r.svc.all<msg::BroadcastCallScore>().empty());
    r.svc.advance(milliseconds(1));
    REQUIRE(r.svc.all<msg::BroadcastCallScore>().size() == 1);
    CHECK(r.svc.last<msg::BroadcastCallScore>().chair_id == 0);
}

TEST_CASE("the reconnect scene carries the whole table as the receiver may see it", "[landlords]") {
    Round r(11, 0);
    r.landlord(0);
    const int32_t low = r.lowest(0);
    REQUIRE(r.play(0, {low}) == codec::Errno::kOk);
    r.svc.advance(milliseconds(5000));
    r.logic.on_reconnect(1);
    const auto s = r.svc.last<msg::NotifyScene>(1);
    CHECK(s.phase == 2);
    CHECK(s.hand == r.logic.hand(1));
    CHECK(s.cards_left == std::vector<int32_t>{19, 17, 17});
    CHECK(s.landlord_chair == 0);
    CHECK(s.bottom_cards == r.logic.bottom());
    CHECK(s.base_score == 3);
    CHECK(s.multiple == 1);
    CHECK(s.current_chair == 1);
    CHECK(s.remaining_ms == 15000);  // 20 s told, 5 s gone
    CHECK(s.last_play.chair_id == 0);
    CHECK(s.last_play.cards == std::vector<int32_t>{low});
    CHECK(s.last_play.type == "single");
    CHECK(s.trustee == std::vector<bool>{false, false, false});
    // Before the round: a waiting scene with no cards.
    tb::test::FakeTable idle_svc(3);
    LandlordsLogic idle(test_config());
    idle.init(idle_svc);
    idle.on_sit(2);
    const auto w = idle_svc.last<msg::NotifyScene>(2);
    CHECK(w.phase == 0);
    CHECK(w.hand.empty());
    CHECK(w.landlord_chair == -1);
}

TEST_CASE("robots play whole seeded rounds to a zero-sum conclusion", "[landlords]") {
    for (uint64_t seed = 1; seed <= 30; ++seed) {
        tb::test::FakeTable svc(3);
        for (auto& s : svc.seats) s.robot = true;
        LandlordsLogic logic(test_config());
        svc.logic = &logic;
        logic.init(svc);
        svc.randoms = {seed, seed % 3};
        logic.on_start();
        for (int i = 0; i < 400 && svc.concluded.empty(); ++i) svc.advance(milliseconds(700));
        INFO("seed " << seed);
        REQUIRE(svc.concluded.size() == 1);
        const auto& out = svc.concluded[0];
        REQUIRE(out.transfers.size() == 2);
        const Chair lord = logic.landlord();
        const bool lord_won = logic.hand(lord).empty();
        for (const auto& t : out.transfers) {
            CHECK((lord_won ? t.to : t.from) == lord);
            CHECK(t.amount == 100 * logic.bid() * logic.multiple());
        }
        // Exactly one hand is empty, and every played card was in a hand once.
        int empty = 0;
        for (Chair c = 0; c < 3; ++c) empty += logic.hand(c).empty() ? 1 : 0;
        CHECK(empty == 1);
        CHECK(svc.all<msg::BroadcastTrustee>().empty());  // robots are not "on trustee"
    }
}
