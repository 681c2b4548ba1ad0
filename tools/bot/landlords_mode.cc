#include <algorithm>

#include "codec/messages.h"
#include "nodes/game/landlords/cards.h"
#include "nodes/game/landlords/strategy.h"
#include "tools/bot/game_modes.h"

namespace tb::bot {

namespace ll = game::landlords;

namespace {

bool valid_cards(const std::vector<int32_t>& ids) {
    std::array<bool, ll::kCards> seen{};
    for (const int32_t id : ids) {
        if (id < 0 || id >= ll::kCards || seen[static_cast<std::size_t>(id)]) return false;
        seen[static_cast<std::size_t>(id)] = true;
    }
    return true;
}

// Takes `cards` out of `hand`; false (hand unchanged) when one of them is not there.
bool remove_cards(std::vector<int>& hand, const std::vector<int32_t>& cards) {
    std::vector<int> left = hand;
    for (const int32_t id : cards) {
        const auto it = std::find(left.begin(), left.end(), id);
        if (it == left.end()) return false;
        left.erase(it);
    }
    hand = std::move(left);
    return true;
}

}  // namespace

LandlordsMode::LandlordsMode(GameSettings settings)
    : TableMode(codec::kGameTypeLandlords, settings) {}

void LandlordsMode::attach(Engine& engine, std::size_t bots) {
    TableMode::attach(engine, bots);
    games_.assign(bots, Game{});
}

void LandlordsMode::reset_game(Client& c) {
    games_[c.slot()] = Game{};
}

void LandlordsMode::set_turn(Client& c, int32_t chair) {
    Game& g = games_[c.slot()];
    g.turn = chair;
    if (g.phase != Phase::kWaiting && chair >= 0 && chair == my_chair(c)) {
        turn_begins(c);
    } else {
        turn_ends(c);
    }
}

std::optional<ll::Play> LandlordsMode::reading_of(const Game& g, const std::vector<int>& cards,
                                                  std::string_view type, int32_t chair) const {
    // The table records the reading RULES.md §1.3 says; Type alone does not give the main rank
    // of a multiset with two readings of one type.
    const ll::Counts counts = ll::counts_of_cards(cards);
    const auto named = ll::type_from_name(type);
    const bool lead = !g.last || g.last_chair == chair;
    const auto r =
        lead ? ll::reading_to_lead(counts, named) : ll::reading_to_follow(counts, *g.last);
    if (r) return r;
    for (const ll::Play& p : ll::classify(counts))
        if (!named || p.type == *named) return p;
    return std::nullopt;
}

void LandlordsMode::on_game_frame(Client& c, const codec::Frame& f, int32_t err_no) {
    Game& g = games_[c.slot()];
    const int32_t me = my_chair(c);
    switch (codec::msg_type(f.mcmd, f.scmd)) {
        case codec::kMsgLandlordsCallScore:
        case codec::kMsgLandlordsPlayCards:
            // Only ever errors (already counted). A bid the bot thought legal (after a return
            // the scene does not say the highest bid) or a play it read wrong: take the safe
            // action once, which is always legal if the bot's view is right; else resync.
            if (err_no == 0) return;
            action_dropped(c);
            if (!g.cautious && g.phase != Phase::kWaiting && g.turn == me) {
                g.cautious = true;
                act(c);
            } else {
                resync(c);
            }
            return;
        case codec::kMsgLandlordsPass:
            if (err_no == 0) return;
            action_dropped(c);
            resync(c);  // the bot thought it followed when it leads: its view is wrong
            return;
        case codec::kMsgLandlordsNotifyScene: {
            codec::landlords::NotifyScene m;
            if (!decode_body(f, m)) return;
            if (!valid_cards(m.hand) || !valid_cards(m.last_play.cards)) {
                ++engine_->counters().violations;
                return;
            }
            g = Game{};
            g.phase = m.phase == 1   ? Phase::kBidding
                      : m.phase == 2 ? Phase::kPlaying
                                     : Phase::kWaiting;
            g.hand.assign(m.hand.begin(), m.hand.end());
            g.landlord = m.landlord_chair;
            if (m.cards_left.size() == kChairs)
                std::copy(m.cards_left.begin(), m.cards_left.end(), g.cards_left.begin());
            // The scene does not say the highest bid so far; BaseScore is the best guess, and a
            // bid refused for being too low makes the bot pass.
            if (g.phase == Phase::kBidding) g.highest_bid = m.base_score;
            if (g.phase == Phase::kPlaying && !m.last_play.cards.empty()) {
                const std::vector<int> cards(m.last_play.cards.begin(), m.last_play.cards.end());
                g.last = reading_of(g, cards, m.last_play.type, m.last_play.chair_id);
                g.last_chair = g.last ? m.last_play.chair_id : -1;
            }
            set_turn(c, g.phase == Phase::kWaiting ? -1 : m.current_chair);
            return;
        }
        case codec::kMsgLandlordsNotifyDeal: {
            codec::landlords::NotifyDeal m;
            if (!decode_body(f, m)) return;
            if (!valid_cards(m.cards)) {
                ++engine_->counters().violations;
                return;
            }
            action_dropped(c);
            g = Game{};
            g.phase = Phase::kBidding;
            g.hand.assign(m.cards.begin(), m.cards.end());
            g.cards_left.fill(ll::kHandCards);
            set_turn(c, m.first_chair);
            return;
        }
        case codec::kMsgLandlordsBroadcastCallScore: {
            codec::landlords::BroadcastCallScore m;
            if (!decode_body(f, m) || g.phase != Phase::kBidding) return;
            if (m.chair_id == me) action_confirmed(c);
            ++g.bids;
            g.highest_bid = std::max(g.highest_bid, static_cast<int>(m.score));
            g.cautious = false;
            // A 3, or everyone having acted, ends the bidding whatever NextChair says;
            // BroadcastLandlord or BroadcastRedeal follows.
            const bool over = m.score >= 3 || g.bids >= kChairs;
            set_turn(c, over ? -1 : m.next_chair);
            return;
        }
        case codec::kMsgLandlordsBroadcastLandlord: {
            codec::landlords::BroadcastLandlord m;
            if (!decode_body(f, m)) return;
            if (m.chair_id < 0 || m.chair_id >= kChairs || !valid_cards(m.bottom_cards)) {
                ++engine_->counters().violations;
                return;
            }
            action_dropped(c);  // a last bid not broadcast on its own
            g.phase = Phase::kPlaying;
            g.landlord = m.chair_id;
            g.last.reset();
            g.last_chair = -1;
            g.cautious = false;
            g.cards_left[static_cast<std::size_t>(m.chair_id)] = ll::kHandCards + ll::kBottomCards;
            if (m.chair_id == me) {
                for (const int32_t id : m.bottom_cards)
                    if (std::find(g.hand.begin(), g.hand.end(), id) == g.hand.end())
                        g.hand.push_back(id);
            }
            set_turn(c, m.chair_id);  // the landlord leads
            return;
        }
        case codec::kMsgLandlordsBroadcastPlay: {
            codec::landlords::BroadcastPlay m;
            if (!decode_body(f, m) || g.phase != Phase::kPlaying) return;
            if (m.chair_id < 0 || m.chair_id >= kChairs || !valid_cards(m.cards)) {
                ++engine_->counters().violations;
                return;
            }
            const std::vector<int> cards(m.cards.begin(), m.cards.end());
            const auto reading = reading_of(g, cards, m.type, m.chair_id);
            if (!reading || (m.chair_id == me && !remove_cards(g.hand, m.cards))) {
                // Not a play, or not from our hand: the server and we disagree.
                ++engine_->counters().violations;
                resync(c);
                return;
            }
            if (m.chair_id == me) action_confirmed(c);
            g.cautious = false;
            g.last = reading;
            g.last_chair = m.chair_id;
            if (m.cards_left.size() == kChairs) {
                std::copy(m.cards_left.begin(), m.cards_left.end(), g.cards_left.begin());
            } else {
                auto& left = g.cards_left[static_cast<std::size_t>(m.chair_id)];
                left = std::max(0, left - static_cast<int>(m.cards.size()));
            }
            if (g.cards_left[static_cast<std::size_t>(m.chair_id)] == 0) {
                g.phase = Phase::kWaiting;  // out of cards: BroadcastConclude follows
                set_turn(c, -1);
                return;
            }
            set_turn(c, m.next_chair);
            return;
        }
        case codec::kMsgLandlordsBroadcastPass: {
            codec::landlords::BroadcastPass m;
            if (!decode_body(f, m) || g.phase != Phase::kPlaying) return;
            if (m.chair_id == me) action_confirmed(c);
            g.cautious = false;
            set_turn(c, m.next_chair);  // back at last_chair: it leads (TableView::leading)
            return;
        }
        case codec::kMsgLandlordsBroadcastConclude: {
            codec::landlords::BroadcastConclude m;
            if (!decode_body(f, m)) return;
            action_dropped(c);
            g.phase = Phase::kWaiting;
            set_turn(c, -1);
            game_concluded(c);
            return;
        }
        case codec::kMsgLandlordsBroadcastRedeal:
            action_dropped(c);
            g.phase = Phase::kWaiting;  // NotifyDeal follows
            set_turn(c, -1);
            return;
        default: return;  // BroadcastTrustee, and whatever a newer server adds
    }
}

void LandlordsMode::act(Client& c) {
    Game& g = games_[c.slot()];
    if (acting(c) || g.turn != my_chair(c)) return;
    if (g.phase == Phase::kBidding) bid(c, g);
    if (g.phase == Phase::kPlaying) play(c, g);
}

void LandlordsMode::bid(Client& c, Game& g) {
    int score = 0;  // a pass: always legal
    if (!g.cautious) {
        if (settings().strategy == Strategy::kRandom) {
            // Uniform over pass and every legal bid.
            const int options = 1 + std::max(0, 3 - g.highest_bid);
            const int pick = static_cast<int>(engine_->rng()() % static_cast<uint64_t>(options));
            score = pick == 0 ? 0 : g.highest_bid + pick;
        } else {
            score = ll::choose_bid(ll::counts_of_cards(g.hand), g.highest_bid);
        }
    }
    codec::landlords::CallScore m;
    m.score = score;
    engine_->send(c, codec::kMcmdGame, codec::scmd_of(codec::kMsgLandlordsCallScore),
                  codec::encode(m));
    if (c.open()) action_sent(c, false);
}

void LandlordsMode::send_pass(Client& c) {
    engine_->send(c, codec::kMcmdGame, codec::scmd_of(codec::kMsgLandlordsPass), "");
    if (c.open()) action_sent(c);
}

void LandlordsMode::play(Client& c, Game& g) {
    const int32_t me = my_chair(c);
    const bool leading = !g.last || g.last_chair == me;
    if (g.hand.empty()) return;
    std::optional<ll::Candidate> choice;
    if (!g.cautious) {
        const ll::Counts hand = ll::counts_of_cards(g.hand);
        if (settings().strategy == Strategy::kRandom) {
            choice = ll::random_play(hand, leading ? nullptr : &*g.last, engine_->rng());
        } else {
            ll::TableView view;
            view.hand = hand;
            view.chair = me;
            view.landlord = g.landlord;
            if (!leading) view.last = g.last;
            view.last_chair = leading ? me : g.last_chair;
            view.cards_left = g.cards_left;
            choice = ll::choose_play(view);
        }
    }
    std::vector<int32_t> ids;
    std::string type;
    if (choice) {
        const auto picked = ll::pick_cards(g.hand, choice->cards);
        if (picked) ids.assign(picked->begin(), picked->end());
        if (leading) type = std::string(ll::type_name(choice->play.type));
    }
    if (ids.empty()) {
        if (!leading) {
            send_pass(c);
            return;
        }
        // A lead must play: the lowest single is always one.
        const auto low = std::min_element(g.hand.begin(), g.hand.end(), [](int a, int b) {
            return ll::rank_of_card(a) < ll::rank_of_card(b);
        });
        ids = {*low};
        type = std::string(ll::type_name(ll::PlayType::kSingle));
    }
    codec::landlords::PlayCards m;
    m.cards = std::move(ids);
    m.type = std::move(type);
    engine_->send(c, codec::kMcmdGame, codec::scmd_of(codec::kMsgLandlordsPlayCards),
                  codec::encode(m));
    if (c.open()) action_sent(c);
}

}  // namespace tb::bot
