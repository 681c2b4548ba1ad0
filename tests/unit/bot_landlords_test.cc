// tb-bot's landlords mode against a fake Dou Dizhu table over loopback TCP (bot_fake_table.h):
// bidding and whole rounds in turn, readying again, the safe fallback after a refused bid or
// play, returning after a drop, and a run's summary.
#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <numeric>
#include <random>

#include "nodes/game/landlords/cards.h"
#include "nodes/game/landlords/classify.h"
#include "tests/unit/bot_fake_table.h"
#include "tools/bot/game_modes.h"
#include "tools/bot/modes.h"
#include "tools/bot/runner.h"

namespace {

using namespace std::chrono_literals;
using tbtest::Clock;
using tbtest::FakeTable;
namespace codec = tb::codec;
namespace ll = tb::game::landlords;

// Dou Dizhu's table as RULES.md §1.2-1.3 has it (clocks, trustee, scores left out), judging plays
// with the rule library, refusing (and counting) every bad request, plus knobs to refuse a good
// bid or play.
class FakeLandlords : public tbtest::FakeGame {
public:
    struct Bid {
        int chair = 0, score = 0;
    };
    struct Action {
        int chair = 0;
        bool pass = false;
        ll::Play play;
        int hand_low_rank = 0;  // the lowest rank in the hand before the play
    };

    int chairs() const override { return 3; }

    void start(FakeTable& t) override {
        deal_no_ = 0;
        first_bidder_ = (t.games_started() - 1) % 3;
        deal(t);
    }

    void on_request(FakeTable& t, int chair, uint16_t scmd, const std::string& body) override {
        switch (scmd) {
            case 1: return call_score(t, chair, body);
            case 2: return play_cards(t, chair, body);
            case 3: return pass(t, chair);
            default: refuse(t, chair, scmd, codec::Errno::kUnknownCommand);
        }
    }

    std::string scene(FakeTable& t, int chair, bool returning) override {
        (void)t;
        codec::landlords::NotifyScene m;
        m.landlord_chair = -1;
        m.trustee = {false, false, false};
        if (!returning || phase_ == 0) return codec::encode(m);
        m.phase = phase_;
        m.hand = hands_[static_cast<std::size_t>(chair)];
        for (const auto& h : hands_) m.cards_left.push_back(static_cast<int32_t>(h.size()));
        m.landlord_chair = phase_ == 2 ? landlord_ : -1;
        if (phase_ == 2) m.bottom_cards = bottom_;
        m.base_score = phase_ == 2 ? base_ : highest_;
        m.multiple = 1;
        m.current_chair = turn_;
        m.remaining_ms = 15000;
        if (last_) {
            m.last_play.chair_id = last_chair_;
            m.last_play.cards = last_cards_;
            m.last_play.type = std::string(ll::type_name(last_->type));
        }
        return codec::encode(m);
    }

    bool refuse_next_bid = false;
    bool refuse_next_play = false;

    const std::vector<Bid>& bids() const { return bids_; }
    const std::vector<Action>& actions() const { return actions_; }
    int bad() const { return bad_; }
    int refused_on_purpose() const { return refused_on_purpose_; }
    int redeals() const { return redeals_; }
    int phase() const { return phase_; }
    int turn() const { return turn_; }
    const std::vector<int32_t>& hand(int chair) const {
        return hands_[static_cast<std::size_t>(chair)];
    }

private:
    void refuse(FakeTable& t, int chair, uint16_t scmd, codec::Errno e) {
        ++bad_;
        t.refuse_chair(chair, scmd, e);
    }

    void deal(FakeTable& t) {
        std::array<int32_t, 54> deck{};
        std::iota(deck.begin(), deck.end(), 0);
        std::shuffle(deck.begin(), deck.end(), rng_);
        for (std::size_t ch = 0; ch < 3; ++ch)
            hands_[ch].assign(deck.begin() + static_cast<std::ptrdiff_t>(17 * ch),
                              deck.begin() + static_cast<std::ptrdiff_t>(17 * ch + 17));
        bottom_.assign(deck.begin() + 51, deck.end());
        phase_ = 1;
        turn_ = first_bidder_;
        highest_ = 0;
        highest_chair_ = -1;
        acted_ = 0;
        last_.reset();
        last_chair_ = -1;
        for (int ch = 0; ch < 3; ++ch) {
            codec::landlords::NotifyDeal m;
            m.cards = hands_[static_cast<std::size_t>(ch)];
            m.first_chair = first_bidder_;
            t.send_chair(ch, codec::kMcmdGame, 202, codec::encode(m));
        }
    }

    void call_score(FakeTable& t, int chair, const std::string& body) {
        codec::landlords::CallScore m;
        if (!t.expect(codec::decode(body, m) == codec::MsgError::kOk)) return;
        if (refuse_next_bid) {
            refuse_next_bid = false;
            ++refused_on_purpose_;
            t.refuse_chair(chair, 1, codec::Errno::kIllegalMove);
            return;
        }
        if (phase_ != 1) return refuse(t, chair, 1, codec::Errno::kWrongTableStatus);
        if (chair != turn_) return refuse(t, chair, 1, codec::Errno::kNotYourTurn);
        if (m.score < 0 || m.score > 3 || (m.score != 0 && m.score <= highest_))
            return refuse(t, chair, 1, codec::Errno::kIllegalMove);
        bids_.push_back({chair, m.score});
        ++acted_;
        if (m.score > 0) {
            highest_ = m.score;
            highest_chair_ = chair;
        }
        codec::landlords::BroadcastCallScore b;
        b.chair_id = chair;
        b.score = m.score;
        // Even when the bidding is over: a bot must know that from the bids, not from this.
        b.next_chair = (chair + 1) % 3;
        b.remaining_ms = 15000;
        t.broadcast(codec::kMcmdGame, 203, codec::encode(b));
        if (m.score < 3 && acted_ < 3) {
            turn_ = (chair + 1) % 3;
            return;
        }
        if (highest_ == 0 && deal_no_ < 2) {  // all passed: deal again, the next chair first
            ++redeals_;
            ++deal_no_;
            first_bidder_ = (first_bidder_ + 1) % 3;
            t.broadcast(codec::kMcmdGame, 209, "");
            deal(t);
            return;
        }
        landlord_ = highest_ == 0 ? first_bidder_ : highest_chair_;  // the third-deal rule
        base_ = std::max(highest_, 1);
        auto& h = hands_[static_cast<std::size_t>(landlord_)];
        h.insert(h.end(), bottom_.begin(), bottom_.end());
        phase_ = 2;
        turn_ = landlord_;
        codec::landlords::BroadcastLandlord l;
        l.chair_id = landlord_;
        l.bottom_cards = bottom_;
        l.base_score = base_;
        t.broadcast(codec::kMcmdGame, 204, codec::encode(l));
    }

    void play_cards(FakeTable& t, int chair, const std::string& body) {
        codec::landlords::PlayCards m;
        if (!t.expect(codec::decode(body, m) == codec::MsgError::kOk)) return;
        if (refuse_next_play) {
            refuse_next_play = false;
            ++refused_on_purpose_;
            t.refuse_chair(chair, 2, codec::Errno::kIllegalMove);
            return;
        }
        if (phase_ != 2) return refuse(t, chair, 2, codec::Errno::kWrongTableStatus);
        if (chair != turn_) return refuse(t, chair, 2, codec::Errno::kNotYourTurn);
        auto& h = hands_[static_cast<std::size_t>(chair)];
        std::vector<int32_t> left = h;
        for (const int32_t id : m.cards) {
            const auto it = std::find(left.begin(), left.end(), id);
            if (it == left.end()) return refuse(t, chair, 2, codec::Errno::kIllegalMove);
            left.erase(it);
        }
        const std::vector<int> ids(m.cards.begin(), m.cards.end());
        const ll::Counts counts = ll::counts_of_cards(ids);
        const bool leading = !last_ || last_chair_ == chair;
        std::optional<ll::PlayType> named;
        if (!m.type.empty()) {
            named = ll::type_from_name(m.type);
            if (!named) return refuse(t, chair, 2, codec::Errno::kInvalidField);
        }
        const auto reading =
            leading ? ll::reading_to_lead(counts, named) : ll::reading_to_follow(counts, *last_);
        if (m.cards.empty() || !reading) return refuse(t, chair, 2, codec::Errno::kIllegalMove);
        int low = 99;
        for (const int32_t id : h) low = std::min(low, ll::rank_of_card(id));
        actions_.push_back({chair, false, *reading, low});
        h = left;
        last_ = reading;
        last_chair_ = chair;
        last_cards_ = m.cards;
        codec::landlords::BroadcastPlay b;
        b.chair_id = chair;
        b.cards = m.cards;
        b.type = std::string(ll::type_name(reading->type));
        b.next_chair = (chair + 1) % 3;
        b.remaining_ms = 20000;
        b.multiple = 1;
        for (const auto& hh : hands_) b.cards_left.push_back(static_cast<int32_t>(hh.size()));
        t.broadcast(codec::kMcmdGame, 205, codec::encode(b));
        if (!h.empty()) {
            turn_ = (chair + 1) % 3;
            return;
        }
        codec::landlords::BroadcastConclude c;
        c.landlord_win = chair == landlord_;
        c.multiple = 1;
        for (int ch = 0; ch < 3; ++ch) {
            const bool won = (ch == landlord_) == c.landlord_win;
            c.scores.push_back(ch == landlord_ ? (won ? 200 : -200) : (won ? 100 : -100));
            c.hands.push_back(hands_[static_cast<std::size_t>(ch)]);
        }
        phase_ = 0;
        turn_ = -1;
        t.conclude(207, codec::encode(c));
    }

    void pass(FakeTable& t, int chair) {
        if (phase_ != 2) return refuse(t, chair, 3, codec::Errno::kWrongTableStatus);
        if (chair != turn_) return refuse(t, chair, 3, codec::Errno::kNotYourTurn);
        if (!last_ || last_chair_ == chair) return refuse(t, chair, 3, codec::Errno::kIllegalMove);
        actions_.push_back({chair, true, {}, 0});
        codec::landlords::BroadcastPass b;
        b.chair_id = chair;
        b.next_chair = (chair + 1) % 3;
        b.remaining_ms = 20000;
        t.broadcast(codec::kMcmdGame, 206, codec::encode(b));
        turn_ = (chair + 1) % 3;
    }

    std::mt19937 rng_{5};
    std::array<std::vector<int32_t>, 3> hands_;
    std::vector<int32_t> bottom_;
    int phase_ = 0;  // NotifyScene Phase
    int turn_ = -1;
    int deal_no_ = 0;
    int first_bidder_ = 0;
    int highest_ = 0, highest_chair_ = -1, acted_ = 0;
    int landlord_ = -1, base_ = 0;
    std::optional<ll::Play> last_;
    int last_chair_ = -1;
    std::vector<int32_t> last_cards_;
    std::vector<Bid> bids_;
    std::vector<Action> actions_;
    int bad_ = 0;
    int refused_on_purpose_ = 0;
    int redeals_ = 0;
};

struct Setup {
    FakeLandlords* game;  // owned by table
    FakeTable table;
    Setup() : Setup(std::make_unique<FakeLandlords>()) {}
    explicit Setup(std::unique_ptr<FakeLandlords> g)
        : game(g.get()), table(std::move(g), codec::kGameTypeLandlords) {}
};

tb::bot::LandlordsMode& landlords_of(tb::bot::Engine& e) {
    return dynamic_cast<tb::bot::LandlordsMode&>(e.mode());
}

}  // namespace

TEST_CASE("landlords bots bid and play legal plays in turn and ready again after each round",
          "[bot]") {
    const auto strategy = GENERATE(tb::bot::Strategy::kRobot, tb::bot::Strategy::kRandom);
    INFO("strategy " << tb::bot::strategy_name(strategy));
    Setup s;
    s.table.set_max_games(3);
    tb::bot::Counters counters;
    tb::bot::Engine e(tbtest::game_config(s.table, 3),
                      tb::bot::make_mode(tb::bot::ModeKind::kLandlords, {2, strategy}), counters);
    e.start();
    // After the third conclude the bots ready once more; then nothing else happens.
    REQUIRE(tbtest::drive(e, s.table, [&] {
        return s.table.games_concluded() == 3 && counters.games >= 3 && s.table.min_readies() == 4;
    }));
    tbtest::drive_for(e, s.table, 200ms);

    CHECK(s.table.broken() == 0);
    CHECK(s.game->bad() == 0);  // every bid and play legal and in turn, no pass on a lead
    CHECK(s.table.refusals() == 0);
    CHECK(counters.games == 3);  // once per round, not once per player
    CHECK(counters.errors() == 0);
    CHECK(counters.error_frames == 0);
    CHECK(s.game->bids().size() >= 3);
    // Plays and passes are the actions; every one came back as the bot's own broadcast.
    const auto actions = static_cast<int64_t>(s.game->actions().size());
    CHECK(counters.actions == actions);
    CHECK(e.stats().snapshot().action.size() == static_cast<std::size_t>(actions));
    for (const auto& u : s.table.humans()) {
        INFO(u.account);
        CHECK(u.game_type == codec::kGameTypeLandlords);
        CHECK(u.game_level == 2);
        CHECK(u.readies == 4);
        // The bot's hand at the end is what the table says it holds.
        const auto slot = static_cast<std::size_t>(std::stoi(u.account.substr(2)));  // "g_<i>"
        auto mine = landlords_of(e).hand_of(e.client(slot));
        auto theirs = s.game->hand(u.chair);
        std::sort(mine.begin(), mine.end());
        std::sort(theirs.begin(), theirs.end());
        CHECK(mine == std::vector<int>(theirs.begin(), theirs.end()));
    }
    CHECK(s.table.humans().size() == 3);
    CHECK(s.table.probes_echoed() == s.table.probes_sent());
}

TEST_CASE("a refused landlords play is an error and the bot leads its lowest single instead",
          "[bot]") {
    Setup s;
    s.game->refuse_next_play = true;  // the landlord's first lead
    s.table.set_max_games(1);
    tb::bot::Counters counters;
    tb::bot::Engine e(tbtest::game_config(s.table, 3),
                      tb::bot::make_mode(tb::bot::ModeKind::kLandlords), counters);
    e.start();
    REQUIRE(tbtest::drive(e, s.table, [&] { return counters.games == 1; }));
    CHECK(s.game->refused_on_purpose() == 1);
    CHECK(counters.unexpected_error_frames == 1);
    CHECK(counters.errors() == 1);
    CHECK(s.game->bad() == 0);
    CHECK(s.table.accepted() == 3);  // no resync was needed
    REQUIRE_FALSE(s.game->actions().empty());
    const auto& first = s.game->actions().front();
    CHECK(first.play.type == ll::PlayType::kSingle);
    CHECK(first.play.main == first.hand_low_rank);
}

TEST_CASE("a refused bid is an error and the bot passes instead", "[bot]") {
    Setup s;
    s.game->refuse_next_bid = true;
    s.table.set_max_games(1);
    tb::bot::Counters counters;
    tb::bot::Engine e(tbtest::game_config(s.table, 3),
                      tb::bot::make_mode(tb::bot::ModeKind::kLandlords), counters);
    e.start();
    REQUIRE(tbtest::drive(e, s.table, [&] { return counters.games == 1; }));
    CHECK(counters.unexpected_error_frames == 1);
    CHECK(counters.errors() == 1);
    CHECK(s.game->bad() == 0);
    REQUIRE_FALSE(s.game->bids().empty());
    CHECK(s.game->bids().front().chair == 0);  // the first bidder of the first round
    CHECK(s.game->bids().front().score == 0);
}

TEST_CASE("a landlords bot dropped on its turn returns and plays on from the scene", "[bot]") {
    Setup s;
    s.table.set_max_games(1);
    tb::bot::Counters counters;
    tb::bot::Engine e(tbtest::game_config(s.table, 3),
                      tb::bot::make_mode(tb::bot::ModeKind::kLandlords), counters);
    e.start();
    // Past the lead, so the returning bot must follow the play the scene shows.
    REQUIRE(tbtest::drive(e, s.table,
                          [&] { return s.game->actions().size() >= 2 && s.game->phase() == 2; }));
    const int dropped = s.game->turn();
    s.table.drop_chair(dropped);
    REQUIRE(tbtest::drive(e, s.table, [&] { return s.table.games_concluded() == 1; }));
    tbtest::drive_for(e, s.table, 100ms);
    CHECK(counters.unexpected_disconnects == 1);
    CHECK(counters.errors() == 1);
    CHECK(counters.games == 1);
    CHECK(s.game->bad() == 0);
    CHECK(s.table.accepted() == 4);
    for (const auto& u : s.table.humans()) CHECK(u.returns == (u.chair == dropped ? 1 : 0));
}

TEST_CASE("a landlords run reports rounds and the play round trip", "[bot]") {
    Setup s;
    tb::bot::BotOptions o;
    o.proxy = "127.0.0.1:" + std::to_string(s.table.port());
    o.host = "127.0.0.1";
    o.port = s.table.port();
    o.mode = tb::bot::ModeKind::kLandlords;
    o.players = 3;
    o.duration_s = 1.5;
    o.account_prefix = "ll_";
    o.run_id = "r2";
    o.seed = 4;
    tb::bot::RunReport r;
    {
        tbtest::FakeTableThread server(s.table);
        const std::atomic<bool> stop{false};
        r = tb::bot::run(o, stop, nullptr);
    }
    CHECK(r.games > 0);
    CHECK(r.games >= s.table.games_concluded() - 1);
    CHECK(r.games <= s.table.games_concluded());
    CHECK(r.errors == 0);
    CHECK(s.game->bad() == 0);
    CHECK(r.action.count == static_cast<std::size_t>(r.actions));
    const auto j = tb::bot::to_json(r);
    CHECK(j.at("mode") == "landlords");
    CHECK(j.at("games") == r.games);
    CHECK(j.at("strategy") == "robot");
    CHECK(j.at("actions_per_s").get<double>() > 0);
    CHECK(j.at("p50_ms").get<double>() == Approx(r.action.p50).margin(0.001));
}
