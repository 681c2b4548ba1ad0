#pragma once
// What a set of cards is as a Dou Dizhu play (docs/RULES.md §1.3): its readings, whether one
// play beats another, which reading a play is recorded as, and every legal play of a hand. The
// table logic, the strategies, tb-rules and tb-bot share these, so there is one rule book.
// Pure functions, no I/O: any thread may call them.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "nodes/game/landlords/cards.h"

namespace tb::game::landlords {

// In the order of the type table of RULES.md §1.3; readings are sorted by it.
enum class PlayType : uint8_t {
    kSingle,
    kPair,
    kTrio,
    kTrioSingle,
    kTrioPair,
    kStraight,
    kPairStraight,
    kAirplane,
    kAirplaneSingle,
    kAirplanePair,
    kFourTwoSingle,
    kFourTwoPair,
    kBomb,
    kRocket,
};
inline constexpr int kPlayTypes = 14;

// "single", "pair", "trio", "trio_single", "trio_pair", "straight", "pair_straight",
// "airplane", "airplane_single", "airplane_pair", "four_two_single", "four_two_pair", "bomb",
// "rocket" (the names of RULES.md, also on the wire as PlayCards `Type`).
std::string_view type_name(PlayType type) noexcept;
std::optional<PlayType> type_from_name(std::string_view name) noexcept;

// One reading of a set of cards. `main` is the rank the comparison uses: the body's rank (the
// trio or four of kicker types), the lowest rank of a chain (airplane trios included), B for a
// rocket. `count` is the number of cards, kickers included.
struct Play {
    PlayType type = PlayType::kSingle;
    int main = 0;
    int count = 0;
    bool operator==(const Play&) const = default;
};

// A multiset has at most 3 readings (333444555666: one airplane, two airplane_single); the
// buffer leaves room so the bound is never a question.
inline constexpr int kMaxReadings = 8;

// The no-allocation form of classify() for the hot path (enumeration, tables, benchmarks).
struct Readings {
    std::array<Play, kMaxReadings> plays{};
    int size = 0;

    const Play* begin() const noexcept { return plays.data(); }
    const Play* end() const noexcept { return plays.data() + size; }
    bool empty() const noexcept { return size == 0; }
};
Readings classify_readings(const Counts& cards) noexcept;

// Every distinct reading, ordered by the type table then by main rank; empty when the cards
// are not a play (including impossible multisets such as five 3s).
std::vector<Play> classify(const Counts& cards);

// RULES.md §1.3 comparison: a rocket beats everything, a bomb every non-bomb and lower bombs,
// anything else only the same type with the same card count and a lower main rank.
bool beats(const Play& play, const Play& last) noexcept;

// The reading recorded for `cards` played on `last`: the lowest reading of last's type that
// beats it, else a bomb or rocket reading that does; nullopt when no reading beats `last`.
std::optional<Play> reading_to_follow(const Counts& cards, const Play& last);

// The reading recorded for `cards` played as a lead: the lowest reading of type `requested`
// when given (PlayCards `Type`), else the first reading in table order. nullopt when the cards
// are not a play or `requested` is not one of their readings.
std::optional<Play> reading_to_lead(const Counts& cards, std::optional<PlayType> requested);

struct Candidate {
    Counts cards;
    Play play;  // one reading of `cards`
    bool operator==(const Candidate&) const = default;
};

// Every legal play from `hand` that beats `*last` (last == nullptr: every lead), each distinct
// (cards, reading) pair once, ordered by type table, then main rank, then kickers. When
// following, a multiset with two readings that beat `last` appears twice; the table records it
// as reading_to_follow() says.
std::vector<Candidate> enumerate(const Counts& hand, const Play* last);

}  // namespace tb::game::landlords
