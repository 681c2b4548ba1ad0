#pragma once
// The Dou Dizhu robot and trustee strategies (docs/RULES.md "Robots"): bidding by hand strength,
// playing from a plan of the hand, the uniform random legal player they are measured against,
// and the offline simulation behind `tb-rules simulate --game landlords`. Pure functions of their
// arguments (the random ones of the generator they are given): any thread may call them.

#include <array>
#include <cstdint>
#include <optional>
#include <random>
#include <vector>

#include "nodes/game/landlords/cards.h"
#include "nodes/game/landlords/classify.h"

namespace tb::game::landlords {

inline constexpr int kChairs = 3;

// The bid for `hand` (17 cards) when the highest bid so far is `highest_bid` (0: none): 0 to
// pass, else a score above highest_bid, at most 3. Strength counts jokers, 2s and bombs, and
// how few plays the hand needs.
int choose_bid(const Counts& hand, int highest_bid);

// What a seat knows when it must act in play.
struct TableView {
    Counts hand;                            // own cards
    int chair = 0;                          // own chair, 0..2
    int landlord = 0;                       // the landlord's chair
    std::optional<Play> last;               // the play to beat; nullopt when leading
    int last_chair = -1;                    // who made `last`; == chair also means leading
    std::array<int, kChairs> cards_left{};  // cards in each chair's hand

    bool leading() const noexcept { return !last || last_chair == chair; }
};

// The strategy's play, with the reading the table records (reading_to_follow when following,
// the named reading when leading); nullopt to pass. Never nullopt when leading with cards in
// hand; whatever it returns is a legal play from view.hand that beats view.last.
//
// Leads the group of its plan (the fewest plays that empty the hand) that sheds the lowest
// cards, preferring chains and kicker plays over a lone card of the same rank; follows with the
// smallest play that beats without breaking the plan much; bombs only when it wins or an
// opponent is close to going out; never beats a fellow farmer unless the play empties the hand.
std::optional<Candidate> choose_play(const TableView& view);

// Uniform over enumerate(hand, last) plus passing when following (last != nullptr); nullopt is
// a pass. The candidate's reading is the one enumerate() listed; the table records
// reading_to_follow() of it when following.
std::optional<Candidate> random_play(const Counts& hand, const Play* last, std::mt19937_64& rng);

// The fewest plays that empty `hand` by the strategy's plan (bombs and the rocket kept whole).
int plan_steps(const Counts& hand);

struct SimulationResult {
    int games = 0;
    int wins = 0;  // the strategy's (as landlord)
    int losses = 0;
    double win_rate() const noexcept { return games == 0 ? 0.0 : double(wins) / games; }
};

// `games` seeded deals (std::mt19937_64 from `seed`): the strategy is landlord with the three
// bottom cards and leads; two random legal players are the farmers. Deterministic per seed.
SimulationResult simulate(int games, uint64_t seed);

}  // namespace tb::game::landlords
