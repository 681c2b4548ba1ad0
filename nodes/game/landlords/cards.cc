#include "nodes/game/landlords/cards.h"

namespace tb::game::landlords {

namespace {

constexpr std::string_view kNotation = "3456789TJQKA2BR";

int max_of_rank(int rank) noexcept {
    return rank >= kRankSmallJoker ? 1 : 4;
}

}  // namespace

int rank_of_card(int id) noexcept {
    if (id < 0 || id >= kCards) return -1;
    if (id < 52) return id / 4;
    return id == 52 ? kRankSmallJoker : kRankBigJoker;
}

char rank_char(int rank) noexcept {
    return rank >= 0 && rank < kRanks ? kNotation[static_cast<size_t>(rank)] : '?';
}

int rank_from_char(char c) noexcept {
    const auto at = kNotation.find(c);
    return at == std::string_view::npos ? -1 : static_cast<int>(at);
}

int Counts::total() const noexcept {
    int sum = 0;
    for (const auto k : n) sum += k;
    return sum;
}

bool Counts::empty() const noexcept {
    for (const auto k : n)
        if (k != 0) return false;
    return true;
}

bool Counts::possible() const noexcept {
    for (int r = 0; r < kRanks; ++r)
        if (n[r] > max_of_rank(r)) return false;
    return true;
}

bool Counts::contains(const Counts& part) const noexcept {
    for (int r = 0; r < kRanks; ++r)
        if (part.n[r] > n[r]) return false;
    return true;
}

void Counts::add(const Counts& other) noexcept {
    for (int r = 0; r < kRanks; ++r) n[r] = static_cast<uint8_t>(n[r] + other.n[r]);
}

void Counts::remove(const Counts& part) noexcept {
    for (int r = 0; r < kRanks; ++r) n[r] = static_cast<uint8_t>(n[r] - part.n[r]);
}

uint64_t Counts::key() const noexcept {
    uint64_t k = 0;
    for (int r = 0; r < kRanks; ++r) k |= uint64_t{static_cast<uint8_t>(n[r] & 7u)} << (3 * r);
    return k;
}

Counts operator+(Counts a, const Counts& b) noexcept {
    a.add(b);
    return a;
}

Counts operator-(Counts a, const Counts& b) noexcept {
    a.remove(b);
    return a;
}

Counts counts_of_cards(const std::vector<int>& ids) {
    Counts c;
    for (const int id : ids) {
        const int r = rank_of_card(id);
        if (r >= 0) ++c.n[r];
    }
    return c;
}

std::optional<Counts> parse_notation(std::string_view text) {
    if (text.empty()) return std::nullopt;
    Counts c;
    for (const char ch : text) {
        const int r = rank_from_char(ch);
        if (r < 0 || c.n[r] >= max_of_rank(r)) return std::nullopt;
        ++c.n[r];
    }
    return c;
}

std::string to_notation(const Counts& cards) {
    std::string s;
    s.reserve(static_cast<size_t>(cards.total()));
    for (int r = 0; r < kRanks; ++r) s.append(cards.n[r], rank_char(r));
    return s;
}

std::optional<std::vector<int>> pick_cards(const std::vector<int>& hand_ids, const Counts& want) {
    Counts left = want;
    std::vector<int> picked;
    picked.reserve(static_cast<size_t>(want.total()));
    for (const int id : hand_ids) {
        const int r = rank_of_card(id);
        if (r < 0 || left.n[r] == 0) continue;
        --left.n[r];
        picked.push_back(id);
    }
    if (!left.empty()) return std::nullopt;
    return picked;
}

}  // namespace tb::game::landlords
