#pragma once
// Dou Dizhu cards as the rule engine sees them (docs/RULES.md "Dou Dizhu"): suits never matter,
// so a hand or a play is a multiset of ranks (`Counts`). Card ids are the wire's; the notation
// ("33344", "TJQKA", "BR") is what tb-rules, tests and logs use. Pure functions, no I/O: any
// thread may call them.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tb::game::landlords {

// Ranks 0..14, low to high: 0 = "3" ... 7 = "T" ... 11 = "A", 12 = "2", 13 = "B" (small joker),
// 14 = "R" (big joker).
inline constexpr int kRanks = 15;
inline constexpr int kRankAce = 11;  // chains end here at the highest
inline constexpr int kRankTwo = 12;
inline constexpr int kRankSmallJoker = 13;
inline constexpr int kRankBigJoker = 14;

// Wire card ids: id < 52 is rank id / 4, suit id % 4; 52 is the small joker, 53 the big one.
inline constexpr int kCards = 54;
inline constexpr int kHandCards = 17;
inline constexpr int kBottomCards = 3;

// The rank of a card id, or -1 for an id outside 0..53.
int rank_of_card(int id) noexcept;
// The notation character of a rank ('3'..'9', 'T', 'J', 'Q', 'K', 'A', '2', 'B', 'R'); '?' when
// out of range.
char rank_char(int rank) noexcept;
// The rank of a notation character, or -1.
int rank_from_char(char c) noexcept;

// A multiset of ranks: n[rank] cards of that rank. A possible set of cards has at most 4 of a
// rank and at most 1 of each joker; the rule functions treat anything else as not a play.
struct Counts {
    std::array<uint8_t, kRanks> n{};

    int total() const noexcept;
    bool empty() const noexcept;
    // True when every rank holds no more than a real deck has (4, jokers 1).
    bool possible() const noexcept;
    // True when `part` is a sub-multiset of this one.
    bool contains(const Counts& part) const noexcept;
    void add(const Counts& other) noexcept;
    // Precondition: contains(part).
    void remove(const Counts& part) noexcept;
    // 3 bits per rank (counts 0..7): a cheap key for sets and maps of hands.
    uint64_t key() const noexcept;
    bool operator==(const Counts&) const = default;
};

Counts operator+(Counts a, const Counts& b) noexcept;
// Precondition: a.contains(b).
Counts operator-(Counts a, const Counts& b) noexcept;

// Ids outside 0..53 are not counted; duplicate ids count twice (the caller checks distinctness).
Counts counts_of_cards(const std::vector<int>& ids);

// "33344", "TJQKA", "BR", in any order. nullopt on an unknown character, more than four of a
// rank, two of one joker, or empty text.
std::optional<Counts> parse_notation(std::string_view text);
// Ascending rank order: to_notation(*parse_notation("43433")) == "33344". Empty for no cards.
std::string to_notation(const Counts& cards);

// Concrete card ids from `hand_ids` realising `want`, taken in the order of `hand_ids`; nullopt
// when the hand lacks them.
std::optional<std::vector<int>> pick_cards(const std::vector<int>& hand_ids, const Counts& want);

}  // namespace tb::game::landlords
