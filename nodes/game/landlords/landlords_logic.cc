#include "nodes/game/landlords/landlords_logic.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "nodes/common/config.h"
#include "nodes/game/landlords/strategy.h"

namespace tb::game::landlords {

namespace {

using codec::Errno;
using std::chrono::milliseconds;
namespace msg = codec::landlords;

constexpr int kChairCount = 3;

Chair next_chair(Chair c) noexcept {
    return (c + 1) % kChairCount;
}

std::string hex64(uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

std::vector<int> as_int(const std::vector<int32_t>& ids) {
    return {ids.begin(), ids.end()};
}

}  // namespace

void bind_landlords_config(common::ConfigSchema& schema, LandlordsConfig& cfg) {
    schema
        .add("landlords.bid_timeout_ms", &cfg.bid_timeout,
             "the bidding clock told to clients (RemainingMs)")
        .range(milliseconds(1000), milliseconds(600000));
    schema
        .add("landlords.play_timeout_ms", &cfg.play_timeout,
             "the play clock told to clients (RemainingMs)")
        .range(milliseconds(1000), milliseconds(600000));
    schema
        .add("landlords.grace_ms", &cfg.grace,
             "how much longer than the told clock the server waits before acting for a player")
        .range(milliseconds(0), milliseconds(60000));
    schema.add("landlords.max_multiple", &cfg.max_multiple, "the cap of a round's Multiple")
        .range(1, 1 << 20);
}

// ---------------------------------------------------------------------------------------------
// Round start, deal and bidding

void LandlordsLogic::on_start() {
    // One seed per round, kept with the round's record (never logged): it replays every deal.
    seed_ = services_->random();
    shuffle_.seed(seed_);
    deals_ = 0;
    landlord_ = -1;
    base_bid_ = 0;
    multiple_ = 1;
    timeouts_ = {};
    // Trustee carries over only for players who are offline now.
    for (Chair c = 0; c < kChairCount; ++c) {
        const SeatView* s = services_->seat(c);
        trustee_[static_cast<size_t>(c)] = s != nullptr && s->offline;
    }
    first_bidder_ = static_cast<Chair>(services_->random() % kChairCount);
    deal();
}

void LandlordsLogic::deal() {
    ++deals_;
    std::vector<int32_t> deck(kCards);
    for (int32_t i = 0; i < kCards; ++i) deck[static_cast<size_t>(i)] = i;
    std::shuffle(deck.begin(), deck.end(), shuffle_);
    for (size_t c = 0; c < kChairCount; ++c) {
        hands_[c].assign(deck.begin() + static_cast<std::ptrdiff_t>(c * kHandCards),
                         deck.begin() + static_cast<std::ptrdiff_t>((c + 1) * kHandCards));
        std::sort(hands_[c].begin(), hands_[c].end());
    }
    bottom_.assign(deck.end() - kBottomCards, deck.end());
    std::sort(bottom_.begin(), bottom_.end());
    phase_ = Phase::kBidding;
    current_ = first_bidder_;
    acted_ = 0;
    highest_bid_ = 0;
    highest_bidder_ = -1;
    last_.reset();
    last_cards_.clear();
    last_chair_ = -1;
    passes_ = 0;
    plays_ = {};
    for (Chair c = 0; c < kChairCount; ++c) {
        services_->send_to_chair(c, msg::NotifyDeal{hands_[static_cast<size_t>(c)], first_bidder_});
    }
    begin_turn();
}

codec::Errno LandlordsLogic::call_score(Chair chair, int32_t score) {
    if (phase_ != Phase::kBidding) return Errno::kWrongTableStatus;
    if (chair != current_) return Errno::kNotYourTurn;
    if (score != 0 && (score <= highest_bid_ || score > 3)) return Errno::kIllegalMove;
    services_->kill_timer(kTimerTurn);
    services_->kill_timer(kTimerAct);
    ++acted_;
    if (score > 0) {
        highest_bid_ = score;
        highest_bidder_ = chair;
    }
    const bool over = score == 3 || acted_ == kChairCount;
    const Chair next = over ? -1 : next_chair(chair);
    msg::BroadcastCallScore b{chair, score, next,
                              over ? 0 : static_cast<int64_t>(cfg_.bid_timeout.count())};
    services_->send_to_table(b);
    if (!over) {
        current_ = next;
        begin_turn();
        return Errno::kOk;
    }
    if (highest_bid_ > 0) {
        make_landlord(highest_bidder_, highest_bid_);
    } else if (deals_ >= 3) {
        // No fourth deal: the first bidder of the third takes these cards at BaseScore 1.
        make_landlord(first_bidder_, 1);
    } else {
        services_->send_to_table(codec::kMsgLandlordsBroadcastRedeal,
                                 codec::encode(codec::Empty{}));
        first_bidder_ = next_chair(first_bidder_);
        deal();
    }
    return Errno::kOk;
}

void LandlordsLogic::make_landlord(Chair chair, int32_t bid) {
    landlord_ = chair;
    base_bid_ = bid;
    auto& hand = hands_[static_cast<size_t>(chair)];
    hand.insert(hand.end(), bottom_.begin(), bottom_.end());
    std::sort(hand.begin(), hand.end());
    services_->send_to_table(msg::BroadcastLandlord{chair, bottom_, bid});
    phase_ = Phase::kPlaying;
    current_ = chair;
    begin_turn();
}

// ---------------------------------------------------------------------------------------------
// Play

codec::Errno LandlordsLogic::play_cards(Chair chair, const std::vector<int32_t>& ids,
                                        const std::string& type) {
    if (phase_ != Phase::kPlaying) return Errno::kWrongTableStatus;
    if (chair != current_) return Errno::kNotYourTurn;
    auto& hand = hands_[static_cast<size_t>(chair)];
    // The cards must be distinct ids from this hand.
    std::set<int32_t> distinct(ids.begin(), ids.end());
    if (ids.empty() || distinct.size() != ids.size()) return Errno::kIllegalMove;
    for (const int32_t id : ids) {
        if (std::find(hand.begin(), hand.end(), id) == hand.end()) return Errno::kIllegalMove;
    }
    const Counts cards = counts_of_cards(as_int(ids));
    std::optional<Play> play;
    if (leading()) {
        std::optional<PlayType> requested;
        if (!type.empty()) {
            requested = type_from_name(type);
            if (!requested) return Errno::kInvalidField;
        }
        play = reading_to_lead(cards, requested);
    } else {
        play = reading_to_follow(cards, *last_);
    }
    if (!play) return Errno::kIllegalMove;

    services_->kill_timer(kTimerTurn);
    services_->kill_timer(kTimerAct);
    for (const int32_t id : ids) hand.erase(std::find(hand.begin(), hand.end(), id));
    if (play->type == PlayType::kBomb || play->type == PlayType::kRocket) double_multiple();
    ++plays_[static_cast<size_t>(chair)];
    last_ = play;
    last_cards_ = ids;
    std::sort(last_cards_.begin(), last_cards_.end());
    last_chair_ = chair;
    passes_ = 0;
    const bool won = hand.empty();
    const Chair next = won ? -1 : next_chair(chair);
    msg::BroadcastPlay b;
    b.chair_id = chair;
    b.cards = last_cards_;
    b.type = std::string(type_name(play->type));
    b.next_chair = next;
    b.remaining_ms = won ? 0 : cfg_.play_timeout.count();
    b.multiple = multiple_;
    b.cards_left = cards_left();
    services_->send_to_table(b);
    if (won) {
        finish(chair);
        return Errno::kOk;
    }
    current_ = next;
    begin_turn();
    return Errno::kOk;
}

codec::Errno LandlordsLogic::pass(Chair chair) {
    if (phase_ != Phase::kPlaying) return Errno::kWrongTableStatus;
    if (chair != current_) return Errno::kNotYourTurn;
    if (leading()) return Errno::kIllegalMove;  // the leader must play
    services_->kill_timer(kTimerTurn);
    services_->kill_timer(kTimerAct);
    ++passes_;
    // After two passes in a row the last player leads again (leading() sees last_chair_).
    current_ = next_chair(chair);
    services_->send_to_table(msg::BroadcastPass{chair, current_, cfg_.play_timeout.count()});
    begin_turn();
    return Errno::kOk;
}

void LandlordsLogic::finish(Chair winner) {
    phase_ = Phase::kConcluded;
    services_->kill_timer(kTimerTurn);
    services_->kill_timer(kTimerAct);
    landlord_win_ = winner == landlord_;
    int farmer_plays = 0;
    for (Chair c = 0; c < kChairCount; ++c) {
        if (c != landlord_) farmer_plays += plays_[static_cast<size_t>(c)];
    }
    spring_ = landlord_win_ ? farmer_plays == 0 : plays_[static_cast<size_t>(landlord_)] == 1;
    if (spring_) double_multiple();
    const int64_t unit = services_->base_score() * base_bid_ * multiple_;
    RoundOutcome out;
    for (Chair c = 0; c < kChairCount; ++c) {
        if (c == landlord_) continue;
        if (landlord_win_) {
            out.transfers.push_back({c, landlord_, unit});
        } else {
            out.transfers.push_back({landlord_, c, unit});
        }
    }
    out.seed = hex64(seed_);
    out.result = "{\"landlord\":" + std::to_string(landlord_) +
                 ",\"landlord_win\":" + (landlord_win_ ? "true" : "false") +
                 ",\"bid\":" + std::to_string(base_bid_) +
                 ",\"multiple\":" + std::to_string(multiple_) +
                 ",\"spring\":" + (spring_ ? "true" : "false") +
                 ",\"deals\":" + std::to_string(deals_) + "}";
    services_->conclude(std::move(out));
}

void LandlordsLogic::on_conclude(const std::vector<int64_t>& scores) {
    msg::BroadcastConclude b;
    b.landlord_win = landlord_win_;
    b.spring = spring_;
    b.multiple = multiple_;
    b.scores = scores;
    for (const auto& h : hands_) b.hands.push_back(h);
    services_->send_to_table(b);
    phase_ = Phase::kWaiting;
}

void LandlordsLogic::double_multiple() noexcept {
    multiple_ = std::min(cfg_.max_multiple, multiple_ * 2);
}

// ---------------------------------------------------------------------------------------------
// Clocks, trustee, robots

std::chrono::milliseconds LandlordsLogic::turn_timeout() const noexcept {
    return phase_ == Phase::kBidding ? cfg_.bid_timeout : cfg_.play_timeout;
}

bool LandlordsLogic::played_for(Chair chair) const {
    const SeatView* s = services_->seat(chair);
    return s == nullptr || s->robot || s->offline || trustee_[static_cast<size_t>(chair)];
}

void LandlordsLogic::begin_turn() {
    services_->set_timer(kTimerTurn, turn_timeout() + cfg_.grace);
    if (played_for(current_)) services_->set_timer(kTimerAct, services_->think_time());
}

void LandlordsLogic::on_timer(int timer_id) {
    if (!playing()) return;
    if (timer_id == kTimerAct) {
        act_for(current_);
        return;
    }
    if (timer_id != kTimerTurn) return;
    const Chair chair = current_;
    auto& streak = timeouts_[static_cast<size_t>(chair)];
    ++streak;
    if (streak >= 2 && !trustee_[static_cast<size_t>(chair)]) set_trustee(chair, true);
    act_for(chair);
}

void LandlordsLogic::act_for(Chair chair) {
    const auto& ids = hands_[static_cast<size_t>(chair)];
    const Counts hand = counts_of_cards(as_int(ids));
    if (phase_ == Phase::kBidding) {
        call_score(chair, choose_bid(hand, highest_bid_));
        return;
    }
    TableView view;
    view.hand = hand;
    view.chair = chair;
    view.landlord = landlord_;
    if (!leading()) view.last = last_;
    view.last_chair = last_chair_;
    for (Chair c = 0; c < kChairCount; ++c) {
        view.cards_left[static_cast<size_t>(c)] =
            static_cast<int>(hands_[static_cast<size_t>(c)].size());
    }
    const auto choice = choose_play(view);
    if (choice) {
        if (auto picked = pick_cards(as_int(ids), choice->cards)) {
            std::vector<int32_t> cards(picked->begin(), picked->end());
            const std::string type(type_name(choice->play.type));
            if (play_cards(chair, cards, leading() ? type : std::string()) == Errno::kOk) return;
        }
    }
    if (!leading() && pass(chair) == Errno::kOk) return;
    // The strategy must always find a lead; should it not, the lowest single keeps the game
    // going rather than stalling the table.
    play_cards(chair, {ids.front()}, {});
}

void LandlordsLogic::set_trustee(Chair chair, bool on) {
    if (trustee_[static_cast<size_t>(chair)] == on) return;
    trustee_[static_cast<size_t>(chair)] = on;
    services_->send_to_table(msg::BroadcastTrustee{chair, on});
}

void LandlordsLogic::acted_by_person(Chair chair) {
    timeouts_[static_cast<size_t>(chair)] = 0;
    const SeatView* s = services_->seat(chair);
    if (s != nullptr && !s->robot && !s->offline) set_trustee(chair, false);
}

// ---------------------------------------------------------------------------------------------
// Frame events and messages

codec::Errno LandlordsLogic::on_message(Chair chair, uint32_t type, std::string_view body) {
    if (type == msg::Trustee::kType) {
        msg::Trustee t;
        if (codec::decode(body, t) != codec::MsgError::kOk) return Errno::kMalformed;
        if (!playing()) return Errno::kWrongTableStatus;
        set_trustee(chair, t.on);
        if (!t.on) {
            timeouts_[static_cast<size_t>(chair)] = 0;
        } else if (chair == current_) {
            services_->set_timer(kTimerAct, services_->think_time());
        }
        return Errno::kOk;
    }
    Errno e = Errno::kUnknownCommand;
    if (type == msg::CallScore::kType) {
        msg::CallScore c;
        if (codec::decode(body, c) != codec::MsgError::kOk) return Errno::kMalformed;
        e = call_score(chair, c.score);
    } else if (type == msg::PlayCards::kType) {
        msg::PlayCards p;
        if (codec::decode(body, p) != codec::MsgError::kOk) return Errno::kMalformed;
        e = play_cards(chair, p.cards, p.type);
    } else if (type == codec::kMsgLandlordsPass) {
        e = pass(chair);
    }
    if (e == Errno::kOk) acted_by_person(chair);
    return e;
}

void LandlordsLogic::on_sit(Chair chair) {
    services_->send_to_chair(chair, scene(chair));
}

void LandlordsLogic::on_stand(Chair) {}

void LandlordsLogic::on_reconnect(Chair chair) {
    services_->send_to_chair(chair, scene(chair));
}

void LandlordsLogic::on_offline(Chair chair) {
    // Offline players are on trustee at once, played for after the think time.
    set_trustee(chair, true);
    if (playing() && chair == current_) services_->set_timer(kTimerAct, services_->think_time());
}

void LandlordsLogic::on_abort() {
    services_->kill_timer(kTimerTurn);
    services_->kill_timer(kTimerAct);
    phase_ = Phase::kWaiting;
}

int64_t LandlordsLogic::remaining_ms() const {
    const auto left = services_->timer_left(kTimerTurn) - cfg_.grace;
    return std::max<int64_t>(0, left.count());
}

std::vector<int32_t> LandlordsLogic::cards_left() const {
    std::vector<int32_t> out;
    for (const auto& h : hands_) out.push_back(static_cast<int32_t>(h.size()));
    return out;
}

msg::NotifyScene LandlordsLogic::scene(Chair chair) const {
    msg::NotifyScene s;
    s.phase = static_cast<int32_t>(phase_);
    s.landlord_chair = landlord_;
    s.base_score = base_bid_;
    s.multiple = multiple_;
    s.trustee.assign(trustee_.begin(), trustee_.end());
    if (!playing()) {
        s.cards_left.assign(kChairCount, 0);
        s.current_chair = -1;
        return s;
    }
    s.hand = hands_[static_cast<size_t>(chair)];
    s.cards_left = cards_left();
    if (landlord_ >= 0) s.bottom_cards = bottom_;
    s.current_chair = current_;
    s.remaining_ms = remaining_ms();
    if (last_ && !leading()) {
        s.last_play.chair_id = last_chair_;
        s.last_play.cards = last_cards_;
        s.last_play.type = std::string(type_name(last_->type));
    } else {
        s.last_play.chair_id = -1;
    }
    return s;
}

// ---------------------------------------------------------------------------------------------

const GameKind& landlords_kind() {
    static const GameKind kind{
        "landlords", codec::kGameTypeLandlords, kChairCount, [](common::ConfigSchema& schema) {
            auto cfg = std::make_shared<LandlordsConfig>();
            bind_landlords_config(schema, *cfg);
            return LogicFactory([cfg] { return std::make_unique<LandlordsLogic>(*cfg); });
        }};
    return kind;
}

}  // namespace tb::game::landlords
