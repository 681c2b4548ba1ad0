#include "tools/play/landlords_view.h"

#include <algorithm>
#include <set>

#include "nodes/game/landlords/strategy.h"

namespace tb::play {

namespace ll = game::landlords;

namespace {

std::string signed_text(int64_t v) {
    return (v > 0 ? "+" : "") + std::to_string(v);
}

bool valid_chair(int32_t chair) {
    return chair >= 0 && chair < LandlordsView::kChairs;
}

std::string play_text(const ll::Counts& cards, ll::PlayType type) {
    return ll::to_notation(cards) + " (" + std::string(ll::type_name(type)) + ")";
}

}  // namespace

std::string LandlordsView::notation_of(const std::vector<int>& ids) {
    return ll::to_notation(ll::counts_of_cards(ids));
}

void LandlordsView::reset() {
    *this = LandlordsView{};
}

void LandlordsView::set_turn(int32_t chair, Clock::time_point now, int64_t ms) {
    current_ = chair;
    if (chair >= 0) {
        deadline_ = now + std::chrono::milliseconds(ms);
    } else {
        deadline_.reset();
    }
}

std::optional<ll::Play> LandlordsView::reading_of(const std::vector<int>& cards,
                                                  const std::string& type, int32_t chair) const {
    // The server names the type but not the main rank, which a multiset with two readings of
    // one type needs: read it the way the table records it (RULES.md §1.3).
    const ll::Counts counts = ll::counts_of_cards(cards);
    const auto named = ll::type_from_name(type);
    const auto r =
        leading(chair) ? ll::reading_to_lead(counts, named) : ll::reading_to_follow(counts, *last_);
    if (r) return r;
    for (const ll::Play& p : ll::classify(counts)) {
        if (!named || p.type == *named) return p;
    }
    return std::nullopt;
}

ViewUpdate LandlordsView::on_scene(const codec::landlords::NotifyScene& m, const TableInfo&,
                                   Clock::time_point now) {
    reset();
    phase_ = m.phase >= 0 && m.phase <= 3 ? static_cast<Phase>(m.phase) : Phase::kWaiting;
    hand_ = m.hand;
    std::sort(hand_.begin(), hand_.end());
    for (std::size_t c = 0; c < cards_left_.size() && c < m.cards_left.size(); ++c) {
        cards_left_[c] = m.cards_left[c];
    }
    for (std::size_t c = 0; c < trustee_.size() && c < m.trustee.size(); ++c) {
        trustee_[c] = m.trustee[c];
    }
    landlord_ = m.landlord_chair;
    bottom_ = m.bottom_cards;
    base_score_ = m.base_score;
    multiple_ = m.multiple > 0 ? m.multiple : 1;
    // The scene does not list the bids; the base score is the highest so far.
    if (phase_ == Phase::kBidding) highest_bid_ = m.base_score;
    if (phase_ == Phase::kPlaying && valid_chair(m.last_play.chair_id) &&
        !m.last_play.cards.empty()) {
        last_cards_ = m.last_play.cards;
        std::sort(last_cards_.begin(), last_cards_.end());
        last_type_ = m.last_play.type;
        // The scene names the type but not the main rank: the lowest reading of that type is
        // the guess, wrong only for the rare cards with two readings of one type.
        last_ = reading_of(last_cards_, last_type_, m.last_play.chair_id);
        last_chair_ = m.last_play.chair_id;
    }
    const bool running = phase_ == Phase::kBidding || phase_ == Phase::kPlaying;
    set_turn(running ? m.current_chair : -1, now, m.remaining_ms);
    return {{}, running};
}

ViewUpdate LandlordsView::on_deal(const codec::landlords::NotifyDeal& m, const TableInfo& t,
                                  Clock::time_point now) {
    const auto trustee = trustee_;
    reset();
    trustee_ = trustee;  // trustee outlives a redeal; BroadcastTrustee says when it changes
    phase_ = Phase::kBidding;
    hand_ = m.cards;
    std::sort(hand_.begin(), hand_.end());
    cards_left_.fill(ll::kHandCards);
    set_turn(m.first_chair, now, kBidClockMs);
    return {"Cards dealt. " + t.name_of(m.first_chair) + " bid" +
                (m.first_chair == t.my_chair ? "" : "s") + " first.\n",
            true};
}

ViewUpdate LandlordsView::on_call_score(const codec::landlords::BroadcastCallScore& m,
                                        const TableInfo& t, Clock::time_point now) {
    bids_.emplace_back(m.chair_id, m.score);
    highest_bid_ = std::max(highest_bid_, m.score);
    const bool me = m.chair_id == t.my_chair;
    std::string text = t.name_of(m.chair_id) + " ";
    text +=
        m.score == 0 ? (me ? "pass" : "passes") : (me ? "bid " : "bids ") + std::to_string(m.score);
    text += "\n";
    // A 3, or everyone having acted, ends the bidding: BroadcastLandlord or Redeal follows.
    const bool over = m.score >= 3 || bids_.size() >= kChairs || m.next_chair < 0;
    set_turn(over ? -1 : m.next_chair, now, m.remaining_ms > 0 ? m.remaining_ms : kBidClockMs);
    return {text, my_turn(t)};
}

ViewUpdate LandlordsView::on_landlord(const codec::landlords::BroadcastLandlord& m,
                                      const TableInfo& t, Clock::time_point now) {
    if (!valid_chair(m.chair_id)) return {};
    landlord_ = m.chair_id;
    bottom_ = m.bottom_cards;
    base_score_ = m.base_score;
    phase_ = Phase::kPlaying;
    last_.reset();
    last_chair_ = -1;
    last_cards_.clear();
    last_type_.clear();
    if (m.chair_id == t.my_chair) {
        for (const int id : bottom_) {
            if (std::find(hand_.begin(), hand_.end(), id) == hand_.end()) hand_.push_back(id);
        }
        std::sort(hand_.begin(), hand_.end());
    }
    cards_left_[static_cast<std::size_t>(m.chair_id)] = ll::kHandCards + ll::kBottomCards;
    set_turn(m.chair_id, now, kPlayClockMs);
    const bool me = m.chair_id == t.my_chair;
    return {t.name_of(m.chair_id) + (me ? " are" : " is") + " the landlord (bid " +
                std::to_string(m.base_score) + "), bottom cards " + notation_of(bottom_) + "\n",
            true};
}

ViewUpdate LandlordsView::on_play(const codec::landlords::BroadcastPlay& m, const TableInfo& t,
                                  Clock::time_point now) {
    if (!valid_chair(m.chair_id)) return {};
    std::vector<int> cards = m.cards;
    std::sort(cards.begin(), cards.end());
    last_ = reading_of(cards, m.type, m.chair_id);
    last_chair_ = m.chair_id;
    last_cards_ = cards;
    last_type_ = m.type;
    if (m.chair_id == t.my_chair) {
        for (const int id : cards) {
            const auto it = std::find(hand_.begin(), hand_.end(), id);
            if (it != hand_.end()) hand_.erase(it);
        }
    }
    auto& left = cards_left_[static_cast<std::size_t>(m.chair_id)];
    if (m.cards_left.size() == kChairs) {
        for (std::size_t c = 0; c < kChairs; ++c) cards_left_[c] = m.cards_left[c];
    } else {
        left = std::max(0, left - static_cast<int>(cards.size()));
    }
    const int32_t old_multiple = multiple_;
    if (m.multiple > 0) multiple_ = m.multiple;
    const bool me = m.chair_id == t.my_chair;
    std::string text = t.name_of(m.chair_id) + (me ? " play " : " plays ") + notation_of(cards) +
                       " (" + m.type + "), " + std::to_string(left) + " card" +
                       (left == 1 ? "" : "s") + " left";
    if (multiple_ != old_multiple) text += ", multiple now x" + std::to_string(multiple_);
    text += "\n";
    set_turn(left == 0 ? -1 : m.next_chair, now,
             m.remaining_ms > 0 ? m.remaining_ms : kPlayClockMs);
    return {text, my_turn(t)};
}

ViewUpdate LandlordsView::on_pass(const codec::landlords::BroadcastPass& m, const TableInfo& t,
                                  Clock::time_point now) {
    set_turn(m.next_chair, now, m.remaining_ms > 0 ? m.remaining_ms : kPlayClockMs);
    std::string text = t.name_of(m.chair_id) + (m.chair_id == t.my_chair ? " pass" : " passes");
    if (last_ && m.next_chair == last_chair_) {
        text += "; " + t.name_of(m.next_chair) + " lead" + (m.next_chair == t.my_chair ? "" : "s") +
                " again";
    }
    return {text + "\n", my_turn(t)};
}

ViewUpdate LandlordsView::on_conclude(const codec::landlords::BroadcastConclude& m,
                                      const TableInfo& t) {
    phase_ = Phase::kConcluded;
    set_turn(-1, Clock::time_point{}, 0);
    if (m.multiple > 0) multiple_ = m.multiple;
    std::string s = "Game over: ";
    const int32_t me = t.my_chair;
    const bool landlord_known = valid_chair(landlord_);
    if (me >= 0 && landlord_known) {
        const bool won = (me == landlord_) == m.landlord_win;
        s += won ? "you win" : "you lose";
        s += m.landlord_win ? " (the landlord wins" : " (the farmers win";
        s += me == landlord_ ? ", you were the landlord)" : ", you were a farmer)";
    } else {
        s += m.landlord_win ? "the landlord wins" : "the farmers win";
    }
    if (m.spring) s += ", spring";
    s += ", multiple x" + std::to_string(multiple_) + "\n";
    if (!m.scores.empty()) {
        s += "Score changes:";
        for (std::size_t c = 0; c < m.scores.size(); ++c) {
            s += (c == 0 ? " " : ", ") + t.name_of(static_cast<int32_t>(c)) + " " +
                 signed_text(m.scores[c]);
        }
        s += "\n";
    }
    std::string held;
    for (std::size_t c = 0; c < m.hands.size(); ++c) {
        if (m.hands[c].empty()) continue;
        held += (held.empty() ? " " : ", ") + t.name_of(static_cast<int32_t>(c)) + " " +
                notation_of(m.hands[c]);
    }
    if (!held.empty()) s += "Cards still held:" + held + "\n";
    hand_.clear();
    return {s, false};
}

ViewUpdate LandlordsView::on_trustee(const codec::landlords::BroadcastTrustee& m,
                                     const TableInfo& t) {
    if (!valid_chair(m.chair_id)) return {};
    trustee_[static_cast<std::size_t>(m.chair_id)] = m.on;
    if (m.chair_id == t.my_chair) {
        return {m.on ? "You are on trustee: the server plays for you ('trustee off' stops it)\n"
                     : "Trustee off: you play yourself again\n",
                false};
    }
    return {t.name_of(m.chair_id) + (m.on ? " is on trustee\n" : " is off trustee\n"), false};
}

ViewUpdate LandlordsView::on_redeal() {
    phase_ = Phase::kWaiting;
    set_turn(-1, Clock::time_point{}, 0);
    return {"Everyone passed: the cards are dealt again\n", false};
}

std::string LandlordsView::render(const TableInfo& t, Clock::time_point now) const {
    std::string s = "Dou Dizhu, table " + std::to_string(t.table_id);
    if (t.my_chair >= 0) s += ", you are chair " + std::to_string(t.my_chair);
    s += "\n";
    for (int32_t c = 0; c < kChairs; ++c) {
        const auto i = static_cast<std::size_t>(c);
        std::string name = t.name_of(c);
        if (name.size() < 12) name.resize(12, ' ');
        std::string role = "        ";
        if (valid_chair(landlord_) && phase_ == Phase::kPlaying) {
            role = c == landlord_ ? "landlord" : "farmer  ";
        }
        s += std::string(c == current_ ? "> " : "  ") + "chair " + std::to_string(c) + "  " + name +
             " " + role + " ";
        if (phase_ == Phase::kBidding || phase_ == Phase::kPlaying) {
            s += std::to_string(cards_left_[i]) + " cards";
        }
        if (trustee_[i]) s += "  [trustee]";
        s.erase(s.find_last_not_of(' ') + 1);
        s += "\n";
    }
    if (phase_ == Phase::kBidding) {
        s += "Bidding:";
        if (bids_.empty()) s += " no bids yet";
        for (std::size_t i = 0; i < bids_.size(); ++i) {
            s += (i == 0 ? " " : ", ") + t.name_of(bids_[i].first) + " " +
                 (bids_[i].second == 0 ? std::string("pass") : std::to_string(bids_[i].second));
        }
        if (highest_bid_ > 0) s += " (highest " + std::to_string(highest_bid_) + ")";
        s += "\n";
    } else if (phase_ == Phase::kPlaying) {
        s += "Landlord: " + t.name_of(landlord_) + ", bid " + std::to_string(base_score_) +
             ", bottom cards " + notation_of(bottom_) + ", multiple x" + std::to_string(multiple_) +
             "\n";
        if (!last_cards_.empty() && current_ >= 0 && last_chair_ != current_) {
            s += "Last play: " + t.name_of(last_chair_) + " " + notation_of(last_cards_) + " (" +
                 last_type_ + ")\n";
        } else if (current_ >= 0) {
            s += "Last play: none, " + t.name_of(current_) + " lead" +
                 (current_ == t.my_chair ? "" : "s") + "\n";
        }
    }
    if (!hand_.empty()) {
        s += "Your hand (" + std::to_string(hand_.size()) + "): " + notation_of(hand_) + "\n";
    }
    const std::string left =
        deadline_ ? ", " + std::to_string(seconds_left(*deadline_, now)) + " s left" : "";
    if (current_ >= 0 && current_ == t.my_chair) {
        if (phase_ == Phase::kBidding) {
            s += "Your bid" + left + ": bid 1|2|3 (above the highest) or pass; ? for a hint\n";
        } else if (leading(current_)) {
            s += "Your lead" + left + ": play CARDS [TYPE]; ? for hints\n";
        } else {
            s += "Your turn" + left + ": play CARDS or pass; ? for hints\n";
        }
    } else if (current_ >= 0) {
        s += "Waiting for " + t.name_of(current_) + left + "\n";
    } else if (phase_ == Phase::kWaiting || phase_ == Phase::kConcluded) {
        s += "No round running: waiting for the table to fill and everyone to be ready\n";
    }
    return s;
}

std::string LandlordsView::hints(const TableInfo& t, std::size_t limit) const {
    const int32_t me = t.my_chair;
    const ll::Counts hand = ll::counts_of_cards(hand_);
    const bool my_turn = me >= 0 && current_ == me;
    const std::string not_now = my_turn ? "" : " (not your turn now)";
    if (phase_ == Phase::kBidding) {
        std::string s = "Legal bids: pass";
        for (int b = highest_bid_ + 1; b <= 3; ++b) s += ", " + std::to_string(b);
        const int bid = ll::choose_bid(hand, highest_bid_);
        s += "\nSuggestion (the robot strategy): " +
             (bid == 0 ? std::string("pass") : "bid " + std::to_string(bid)) + not_now + "\n";
        return s;
    }
    if (phase_ != Phase::kPlaying || hand_.empty() || me < 0) {
        return "No hand in play: hints come once the cards are dealt\n";
    }
    // When it is not our turn: what we could do if it came to us now.
    const bool lead = leading(me);
    const auto legal = ll::enumerate(hand, lead ? nullptr : &*last_);
    std::vector<std::string> shown;
    std::set<std::string> seen;
    if (!lead) shown.emplace_back("pass");
    for (const ll::Candidate& c : legal) {
        std::string text = play_text(c.cards, c.play.type);
        if (seen.insert(text).second) shown.push_back(std::move(text));
    }
    std::string s = lead ? "You lead. Legal plays"
                         : "To beat " + t.name_of(last_chair_) + "'s " + notation_of(last_cards_) +
                               " (" + last_type_ + "):";
    if (lead) s += " (" + std::to_string(shown.size()) + "):";
    for (std::size_t i = 0; i < shown.size() && i < limit; ++i)
        s += (i == 0 ? " " : ", ") + shown[i];
    if (shown.size() > limit) s += ", and " + std::to_string(shown.size() - limit) + " more";
    s += "\n";

    ll::TableView view;
    view.hand = hand;
    view.chair = me;
    view.landlord = landlord_;
    if (!lead) view.last = last_;
    view.last_chair = lead ? me : last_chair_;
    for (std::size_t c = 0; c < kChairs; ++c) view.cards_left[c] = cards_left_[c];
    const auto choice = ll::choose_play(view);
    s += "Suggestion (the robot strategy): ";
    if (!choice) {
        s += "pass";
    } else {
        s += "play " + ll::to_notation(choice->cards);
        // The type only matters when leading with cards that read more than one way.
        if (lead && ll::classify(choice->cards).size() > 1) {
            s += " " + std::string(ll::type_name(choice->play.type));
        }
    }
    return s + not_now + "\n";
}

}  // namespace tb::play
