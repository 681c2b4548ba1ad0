#include "nodes/game/landlords/classify.h"

#include <algorithm>

namespace tb::game::landlords {

namespace {

constexpr std::array<std::string_view, kPlayTypes> kTypeNames = {
    "single",          "pair",          "trio",     "trio_single",     "trio_pair",
    "straight",        "pair_straight", "airplane", "airplane_single", "airplane_pair",
    "four_two_single", "four_two_pair", "bomb",     "rocket",
};

// Chain limits of the type table: cards per rank and the number of ranks.
struct ChainShape {
    int width;
    int min_len;
    int max_len;
};
constexpr ChainShape kStraight{1, 5, 12};
constexpr ChainShape kPairStraight{2, 3, 10};
constexpr ChainShape kAirplane{3, 2, 6};
constexpr int kAirplaneSingleMax = 5;  // 20 cards with kickers
constexpr int kAirplanePairMax = 4;
constexpr int kMaxPlayCards = 20;  // the largest play of any type

bool exact_run(const Counts& c, int start, int len, int width) noexcept {
    if (start + len - 1 > kRankAce) return false;
    for (int r = start; r < start + len; ++r)
        if (c.n[r] != width) return false;
    return true;
}

}  // namespace

std::string_view type_name(PlayType type) noexcept {
    const auto i = static_cast<size_t>(type);
    return i < kTypeNames.size() ? kTypeNames[i] : std::string_view("?");
}

std::optional<PlayType> type_from_name(std::string_view name) noexcept {
    for (size_t i = 0; i < kTypeNames.size(); ++i)
        if (kTypeNames[i] == name) return static_cast<PlayType>(i);
    return std::nullopt;
}

Readings classify_readings(const Counts& c) noexcept {
    Readings out;
    auto push = [&out](PlayType type, int main, int count) {
        out.plays[static_cast<size_t>(out.size++)] = Play{type, main, count};
    };
    // One pass gathers everything the type tests need: how many ranks hold k cards, and the
    // (last) rank holding k, which is the body when exactly one rank holds k.
    int total = 0, lo = -1, hi = -1, distinct = 0;
    std::array<int, 5> ranks_with{};
    std::array<int, 5> rank_with{};
    for (int r = 0; r < kRanks; ++r) {
        const int k = c.n[r];
        if (k == 0) continue;
        if (k > 4) return out;
        total += k;
        if (lo < 0) lo = r;
        hi = r;
        ++distinct;
        ++ranks_with[k];
        rank_with[k] = r;
    }
    if (total == 0 || total > kMaxPlayCards) return out;
    if (c.n[kRankSmallJoker] > 1 || c.n[kRankBigJoker] > 1) return out;
    const bool both_jokers = c.n[kRankSmallJoker] == 1 && c.n[kRankBigJoker] == 1;

    // Small plays have at most one reading each.
    switch (total) {
        case 1: push(PlayType::kSingle, lo, 1); return out;
        case 2:
            if (distinct == 1) push(PlayType::kPair, lo, 2);
            if (both_jokers) push(PlayType::kRocket, kRankSmallJoker, 2);
            return out;
        case 3:
            if (distinct == 1) push(PlayType::kTrio, lo, 3);
            return out;
        case 4:
            if (ranks_with[3] == 1) push(PlayType::kTrioSingle, rank_with[3], 4);
            if (distinct == 1) push(PlayType::kBomb, lo, 4);
            return out;
        default: break;
    }
    if (total == 5 && ranks_with[3] == 1 && ranks_with[2] == 1)
        push(PlayType::kTrioPair, rank_with[3], 5);

    // Plain chains: consecutive ranks, all of one width, nothing else.
    if (hi - lo + 1 == distinct && hi <= kRankAce) {
        for (const auto& [type, shape] : {std::pair{PlayType::kStraight, kStraight},
                                          std::pair{PlayType::kPairStraight, kPairStraight},
                                          std::pair{PlayType::kAirplane, kAirplane}}) {
            if (ranks_with[shape.width] == distinct && distinct >= shape.min_len &&
                distinct <= shape.max_len)
                push(type, lo, total);
        }
    }

    // Airplane with single kickers: every run of k exact trios is a body (333444555666 has
    // two), since the rest never contains a body rank. The kickers may not hold all four of a
    // rank nor both jokers, whatever the body.
    if (total % 4 == 0 && ranks_with[4] == 0 && !both_jokers) {
        const int k = total / 4;
        if (k >= 2 && k <= kAirplaneSingleMax && ranks_with[3] >= k) {
            for (int s = 0; s + k - 1 <= kRankAce; ++s)
                if (exact_run(c, s, k, 3)) push(PlayType::kAirplaneSingle, s, total);
        }
    }
    // Airplane with pair kickers: k trios in a run and k pairs of other ranks, nothing else
    // (a third trio or a four can be no pair kicker, and jokers never pair).
    if (total % 5 == 0) {
        const int k = total / 5;
        if (k >= 2 && k <= kAirplanePairMax && ranks_with[3] == k && ranks_with[2] == k) {
            int s = 0;
            while (c.n[s] != 3) ++s;
            if (exact_run(c, s, k, 3)) push(PlayType::kAirplanePair, s, total);
        }
    }
    if (total == 6 && ranks_with[4] == 1 && !both_jokers)
        push(PlayType::kFourTwoSingle, rank_with[4], 6);
    if (total == 8 && ranks_with[4] == 1 && ranks_with[2] == 2)
        push(PlayType::kFourTwoPair, rank_with[4], 8);
    return out;
}

std::vector<Play> classify(const Counts& cards) {
    const Readings r = classify_readings(cards);
    return std::vector<Play>(r.begin(), r.end());
}

bool beats(const Play& play, const Play& last) noexcept {
    if (last.type == PlayType::kRocket) return false;
    if (play.type == PlayType::kRocket) return true;
    if (play.type == PlayType::kBomb) return last.type != PlayType::kBomb || play.main > last.main;
    if (last.type == PlayType::kBomb) return false;
    return play.type == last.type && play.count == last.count && play.main > last.main;
}

std::optional<Play> reading_to_follow(const Counts& cards, const Play& last) {
    const Readings readings = classify_readings(cards);
    // Readings are sorted by main rank within a type, so the first that beats is the lowest.
    for (const Play& p : readings)
        if (p.type == last.type && beats(p, last)) return p;
    for (const Play& p : readings)
        if ((p.type == PlayType::kBomb || p.type == PlayType::kRocket) && beats(p, last)) return p;
    return std::nullopt;
}

std::optional<Play> reading_to_lead(const Counts& cards, std::optional<PlayType> requested) {
    const Readings readings = classify_readings(cards);
    if (readings.empty()) return std::nullopt;
    if (!requested) return readings.plays[0];
    for (const Play& p : readings)
        if (p.type == *requested) return p;
    return std::nullopt;
}

namespace {

// Builds the candidates of one enumerate() call. `min_main` filters by main rank (following);
// `want_count` > 0 fixes the number of cards (following), 0 allows every size (leading).
class Enumerator {
public:
    Enumerator(const Counts& hand, std::vector<Candidate>& out) : hand_(hand), out_(out) {
        // reach_[w][s]: how many consecutive ranks from s (up to the ace) hold >= w cards.
        for (int w = 1; w <= 3; ++w) {
            int run = 0;
            for (int r = kRankAce; r >= 0; --r) {
                run = hand_.n[r] >= w ? run + 1 : 0;
                reach_[w][r] = run;
            }
        }
    }

    void add_type(PlayType type, int min_main, int want_count) {
        switch (type) {
            case PlayType::kSingle: groups(type, 1, min_main); break;
            case PlayType::kPair: groups(type, 2, min_main); break;
            case PlayType::kTrio: groups(type, 3, min_main); break;
            case PlayType::kBomb: groups(type, 4, min_main); break;
            case PlayType::kTrioSingle: with_singles(type, 1, 3, 1, min_main, want_count); break;
            case PlayType::kTrioPair: with_pairs(type, 1, 3, 1, min_main, want_count); break;
            case PlayType::kFourTwoSingle: with_singles(type, 1, 4, 2, min_main, want_count); break;
            case PlayType::kFourTwoPair: with_pairs(type, 1, 4, 2, min_main, want_count); break;
            case PlayType::kStraight: chains(type, kStraight, min_main, want_count); break;
            case PlayType::kPairStraight: chains(type, kPairStraight, min_main, want_count); break;
            case PlayType::kAirplane: chains(type, kAirplane, min_main, want_count); break;
            case PlayType::kAirplaneSingle:
                for (int k = 2; k <= kAirplaneSingleMax; ++k)
                    with_singles(type, k, 3, k, min_main, want_count);
                break;
            case PlayType::kAirplanePair:
                for (int k = 2; k <= kAirplanePairMax; ++k)
                    with_pairs(type, k, 3, k, min_main, want_count);
                break;
            case PlayType::kRocket:
                if (hand_.n[kRankSmallJoker] > 0 && hand_.n[kRankBigJoker] > 0 &&
                    min_main <= kRankSmallJoker) {
                    Counts c;
                    c.n[kRankSmallJoker] = c.n[kRankBigJoker] = 1;
                    out_.push_back({c, Play{type, kRankSmallJoker, 2}});
                }
                break;
        }
    }

private:
    // One rank, `width` cards: singles, pairs, trios, bombs. Jokers only make singles.
    void groups(PlayType type, int width, int min_main) {
        const int top = width == 1 ? kRankBigJoker : kRankTwo;
        for (int r = std::max(min_main, 0); r <= top; ++r) {
            if (hand_.n[r] < width) continue;
            Counts c;
            c.n[r] = static_cast<uint8_t>(width);
            out_.push_back({c, Play{type, r, width}});
        }
    }

    void chains(PlayType type, const ChainShape& shape, int min_main, int want_count) {
        int lo_len = shape.min_len, hi_len = shape.max_len;
        if (want_count > 0) {
            if (want_count % shape.width != 0) return;
            lo_len = hi_len = want_count / shape.width;
        }
        for (int s = std::max(min_main, 0); s <= kRankAce; ++s) {
            const int reach = std::min(reach_[shape.width][s], hi_len);
            for (int len = lo_len; len <= reach; ++len) {
                Counts c;
                for (int r = s; r < s + len; ++r) c.n[r] = static_cast<uint8_t>(shape.width);
                out_.push_back({c, Play{type, s, len * shape.width}});
            }
        }
    }

    // Bodies of `len` ranks of `width` cards starting at s: a trio or four (len 1) or the
    // trios of an airplane (len >= 2, consecutive, up to the ace).
    template <typename F>
    void bodies(int len, int width, int min_main, F&& with_body) {
        const int last_start = len == 1 ? kRankTwo : kRankAce - len + 1;
        for (int s = std::max(min_main, 0); s <= last_start; ++s) {
            if (len == 1 ? hand_.n[s] < width : reach_[width][s] < len) continue;
            if (width == 4 && hand_.n[s] != 4) continue;
            Counts body;
            for (int r = s; r < s + len; ++r) body.n[r] = static_cast<uint8_t>(width);
            with_body(s, body);
        }
    }

    void with_singles(PlayType type, int len, int width, int kickers, int min_main,
                      int want_count) {
        const int count = len * width + kickers;
        if (want_count > 0 && want_count != count) return;
        bodies(len, width, min_main, [&](int s, const Counts& body) {
            // Kicker capacity per rank: never a body rank, never all four of a rank.
            std::array<uint8_t, kRanks> cap{};
            for (int r = 0; r < kRanks; ++r)
                cap[r] = body.n[r] ? uint8_t{0} : std::min<uint8_t>(hand_.n[r], 3);
            std::array<int, kRanks + 1> room{};  // kicker cards available from rank r up
            for (int r = kRanks - 1; r >= 0; --r) room[r] = room[r + 1] + cap[r];
            Counts cards = body;
            single_kickers(cards, cap, room, 0, kickers, Play{type, s, count});
        });
    }

    void single_kickers(Counts& cards, const std::array<uint8_t, kRanks>& cap,
                        const std::array<int, kRanks + 1>& room, int from, int left,
                        const Play& play) {
        if (left == 0) {
            out_.push_back({cards, play});
            return;
        }
        for (int r = from; r < kRanks && room[r] >= left; ++r) {
            // Both jokers are never kickers together (they would be a rocket).
            if (r == kRankBigJoker && cards.n[kRankSmallJoker] > 0) break;
            const int most = std::min<int>(cap[r], left);
            for (int take = 1; take <= most; ++take) {
                cards.n[r] = static_cast<uint8_t>(cards.n[r] + 1);
                single_kickers(cards, cap, room, r + 1, left - take, play);
            }
            cards.n[r] = static_cast<uint8_t>(cards.n[r] - most);
        }
    }

    void with_pairs(PlayType type, int len, int width, int kickers, int min_main, int want_count) {
        const int count = len * width + 2 * kickers;
        if (want_count > 0 && want_count != count) return;
        bodies(len, width, min_main, [&](int s, const Counts& body) {
            std::array<int, kRanks> ranks{};
            int n = 0;
            for (int r = 0; r <= kRankTwo; ++r)
                if (body.n[r] == 0 && hand_.n[r] >= 2) ranks[n++] = r;
            Counts cards = body;
            pair_kickers(cards, ranks, n, 0, kickers, Play{type, s, count});
        });
    }

    void pair_kickers(Counts& cards, const std::array<int, kRanks>& ranks, int n, int from,
                      int left, const Play& play) {
        if (left == 0) {
            out_.push_back({cards, play});
            return;
        }
        for (int i = from; i + left <= n; ++i) {
            cards.n[ranks[i]] = 2;
            pair_kickers(cards, ranks, n, i + 1, left - 1, play);
            cards.n[ranks[i]] = 0;
        }
    }

    const Counts& hand_;
    std::vector<Candidate>& out_;
    std::array<std::array<int, kRanks>, 4> reach_{};
};

}  // namespace

std::vector<Candidate> enumerate(const Counts& hand, const Play* last) {
    std::vector<Candidate> out;
    if (!hand.possible()) return out;
    Enumerator e(hand, out);
    if (last == nullptr) {
        out.reserve(256);
        for (int t = 0; t < kPlayTypes; ++t) e.add_type(static_cast<PlayType>(t), 0, 0);
        return out;
    }
    if (last->type == PlayType::kRocket) return out;
    out.reserve(32);
    if (last->type != PlayType::kBomb) e.add_type(last->type, last->main + 1, last->count);
    e.add_type(PlayType::kBomb, last->type == PlayType::kBomb ? last->main + 1 : 0, 4);
    e.add_type(PlayType::kRocket, 0, 2);
    return out;
}

}  // namespace tb::game::landlords
