// The Dou Dizhu rule engine against docs/RULES.md §1.3: cards and notation, every type at its
// smallest and largest, every kicker rule both ways, every comparison rule, the readings
// recorded when leading and following, and enumerate() against a brute force.
#include <algorithm>
#include <catch2/catch.hpp>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <tuple>

#include "nodes/game/landlords/cards.h"
#include "nodes/game/landlords/classify.h"

using namespace tb::game::landlords;

namespace {

Counts cards(std::string_view text) {
    const auto c = parse_notation(text);
    REQUIRE(c.has_value());
    return *c;
}

std::string show(const Play& p) {
    return std::string(type_name(p.type)) + ":" + rank_char(p.main) + ":" + std::to_string(p.count);
}

// The readings of `text` as tb-rules prints them, "" for none.
std::string readings(std::string_view text) {
    std::string out;
    for (const Play& p : classify(cards(text))) out += (out.empty() ? "" : " ") + show(p);
    return out;
}

Play play(std::string_view text) {
    const auto p = reading_to_lead(cards(text), std::nullopt);
    REQUIRE(p.has_value());
    return *p;
}

Play play_as(std::string_view text, PlayType type) {
    const auto p = reading_to_lead(cards(text), type);
    REQUIRE(p.has_value());
    return *p;
}

// `n` cards dealt from a deck shuffled by `rng`.
Counts deal(std::mt19937_64& rng, int n) {
    std::array<int, kCards> deck{};
    std::iota(deck.begin(), deck.end(), 0);
    std::shuffle(deck.begin(), deck.end(), rng);
    Counts c;
    for (int i = 0; i < n; ++i) ++c.n[rank_of_card(deck[static_cast<size_t>(i)])];
    return c;
}

using Entry = std::tuple<uint64_t, int, int, int>;  // cards key, type, main, count

Entry entry(const Counts& c, const Play& p) {
    return {c.key(), static_cast<int>(p.type), p.main, p.count};
}

// Every (sub-multiset, reading) of `hand` that is a lead (last == nullptr) or beats *last.
std::set<Entry> brute_force(const Counts& hand, const Play* last) {
    std::set<Entry> out;
    Counts cur;
    auto walk = [&](auto&& self, int r) -> void {
        if (r == kRanks) {
            if (cur.empty()) return;
            for (const Play& p : classify(cur))
                if (last == nullptr || beats(p, *last)) out.insert(entry(cur, p));
            return;
        }
        for (int k = 0; k <= hand.n[r]; ++k) {
            cur.n[r] = static_cast<uint8_t>(k);
            self(self, r + 1);
        }
        cur.n[r] = 0;
    };
    walk(walk, 0);
    return out;
}

std::set<Entry> enumerated(const Counts& hand, const Play* last) {
    std::set<Entry> out;
    const auto list = enumerate(hand, last);
    for (const Candidate& c : list) out.insert(entry(c.cards, c.play));
    CHECK(out.size() == list.size());  // each (cards, reading) once
    return out;
}

}  // namespace

// ---- cards -------------------------------------------------------------------------------

TEST_CASE("card ids map to ranks as the wire protocol says", "[landlords]") {
    CHECK(rank_of_card(0) == 0);  // a 3
    CHECK(rank_of_card(3) == 0);
    CHECK(rank_of_card(4) == 1);  // a 4
    CHECK(rank_of_card(44) == kRankAce);
    CHECK(rank_of_card(48) == kRankTwo);
    CHECK(rank_of_card(51) == kRankTwo);
    CHECK(rank_of_card(52) == kRankSmallJoker);
    CHECK(rank_of_card(53) == kRankBigJoker);
    CHECK(rank_of_card(-1) == -1);
    CHECK(rank_of_card(54) == -1);
    std::vector<int> all(kCards);
    std::iota(all.begin(), all.end(), 0);
    const Counts deck = counts_of_cards(all);
    CHECK(deck.total() == 54);
    CHECK(deck.possible());
    CHECK(to_notation(deck) == "3333444455556666777788889999TTTTJJJJQQQQKKKKAAAA2222BR");
}

TEST_CASE("the notation parses in any order and prints in rank order", "[landlords]") {
    CHECK(to_notation(cards("43433")) == "33344");
    CHECK(to_notation(cards("RBAKQJT98765432")) == "3456789TJQKA2BR");
    CHECK(cards("2222").n[kRankTwo] == 4);
    CHECK(to_notation(Counts{}).empty());
}

TEST_CASE("the notation refuses what is not a possible set of cards", "[landlords]") {
    CHECK_FALSE(parse_notation(""));
    CHECK_FALSE(parse_notation("33x"));
    CHECK_FALSE(parse_notation("1"));
    CHECK_FALSE(parse_notation("10"));
    CHECK_FALSE(parse_notation("t"));  // ranks are upper case
    CHECK_FALSE(parse_notation("3 4"));
    CHECK_FALSE(parse_notation("33333"));
    CHECK_FALSE(parse_notation("BB"));
    CHECK_FALSE(parse_notation("RR"));
    CHECK(parse_notation("3333"));
    CHECK(parse_notation("BR"));
}

TEST_CASE("counts add, remove and contain as multisets", "[landlords]") {
    const Counts hand = cards("33456BR");
    CHECK(hand.total() == 7);
    CHECK(hand.contains(cards("34")));
    CHECK(hand.contains(cards("33")));
    CHECK_FALSE(hand.contains(cards("333")));
    CHECK_FALSE(hand.contains(cards("7")));
    CHECK(hand - cards("3B") == cards("3456R"));
    CHECK(cards("3") + cards("3") == cards("33"));
    CHECK(cards("33").key() != cards("4").key());
    CHECK_FALSE(cards("3").empty());
    Counts five;
    five.n[0] = 5;
    CHECK_FALSE(five.possible());
}

TEST_CASE("pick_cards takes real card ids of the wanted ranks from the hand", "[landlords]") {
    const std::vector<int> hand = {0, 1, 5, 52, 53, 48};  // 3 3 4 B R 2
    const auto got = pick_cards(hand, cards("34R"));
    REQUIRE(got);
    CHECK(*got == std::vector<int>{0, 5, 53});
    CHECK(counts_of_cards(*pick_cards(hand, cards("33"))) == cards("33"));
    CHECK_FALSE(pick_cards(hand, cards("333")));
    CHECK_FALSE(pick_cards(hand, cards("5")));
    CHECK(pick_cards(hand, Counts{})->empty());
}

// ---- types -------------------------------------------------------------------------------

TEST_CASE("type names round-trip and follow the table order", "[landlords]") {
    const std::vector<std::string> names = {
        "single",          "pair",          "trio",     "trio_single",     "trio_pair",
        "straight",        "pair_straight", "airplane", "airplane_single", "airplane_pair",
        "four_two_single", "four_two_pair", "bomb",     "rocket"};
    for (size_t i = 0; i < names.size(); ++i) {
        CHECK(type_name(static_cast<PlayType>(i)) == names[i]);
        CHECK(type_from_name(names[i]) == static_cast<PlayType>(i));
    }
    CHECK_FALSE(type_from_name("Single"));
    CHECK_FALSE(type_from_name(""));
}

TEST_CASE("single, pair and trio in their smallest and largest forms", "[landlords]") {
    CHECK(readings("3") == "single:3:1");
    CHECK(readings("R") == "single:R:1");
    CHECK(readings("33") == "pair:3:2");
    CHECK(readings("22") == "pair:2:2");
    CHECK(readings("34").empty());
    CHECK(readings("333") == "trio:3:3");
    CHECK(readings("222") == "trio:2:3");
    CHECK(readings("2BR").empty());
}

TEST_CASE("the joker pair is a rocket and not a pair", "[landlords]") {
    CHECK(readings("BR") == "rocket:B:2");
    CHECK(readings("2B").empty());
}

TEST_CASE("trio with a single and trio with a pair", "[landlords]") {
    CHECK(readings("3334") == "trio_single:3:4");
    CHECK(readings("222R") == "trio_single:2:4");
    CHECK(readings("4333") == "trio_single:3:4");
    CHECK(readings("33344") == "trio_pair:3:5");
    CHECK(readings("22233") == "trio_pair:2:5");
    CHECK(readings("33322") == "trio_pair:3:5");
    CHECK(readings("33345").empty());  // two singles are no pair
}

TEST_CASE("straights run 5 to 12 ranks from 3 to A", "[landlords]") {
    CHECK(readings("34567") == "straight:3:5");
    CHECK(readings("TJQKA") == "straight:T:5");
    CHECK(readings("3456789TJQKA") == "straight:3:12");
    CHECK(readings("3456").empty());
    CHECK(readings("JQKA2").empty());  // never a 2
    CHECK(readings("A2345").empty());  // no wrap-around
    CHECK(readings("QKA2B").empty());
    CHECK(readings("34568").empty());  // not consecutive
    CHECK(readings("345677").empty());
}

TEST_CASE("pair straights run 3 to 10 pairs from 3 to A", "[landlords]") {
    CHECK(readings("334455") == "pair_straight:3:6");
    CHECK(readings("QQKKAA") == "pair_straight:Q:6");
    CHECK(readings("33445566778899TTJJQQ") == "pair_straight:3:20");
    CHECK(readings("44556677889TT9JJQQKK") == "pair_straight:4:20");
    CHECK(readings("3344").empty());
    CHECK(readings("33445566778899TTJJQQKK").empty());  // 11 pairs
    CHECK(readings("KKAA22").empty());
    CHECK(readings("334466").empty());
}

TEST_CASE("airplanes run 2 to 6 trios from 3 to A", "[landlords]") {
    CHECK(readings("333444") == "airplane:3:6");
    CHECK(readings("KKKAAA") == "airplane:K:6");
    CHECK(readings("333444555666777888") == "airplane:3:18");
    CHECK(readings("333444555666777888999").empty());  // 7 trios
    CHECK(readings("AAA222").empty());
    CHECK(readings("333555").empty());
}

TEST_CASE("airplanes with single kickers take 2 to 5 trios", "[landlords]") {
    CHECK(readings("33344456") == "airplane_single:3:8");
    CHECK(readings("KKKAAA34") == "airplane_single:K:8");
    CHECK(readings("33344455566677789TJQ") == "airplane_single:3:20");
    CHECK(readings("AAA22234").empty());   // no 2 in the chain
    CHECK(readings("3334445").empty());    // one kicker short
    CHECK(readings("333444567").empty());  // one kicker too many
}

TEST_CASE("airplanes with pair kickers take 2 to 4 trios", "[landlords]") {
    CHECK(readings("3334445566") == "airplane_pair:3:10");
    CHECK(readings("KKKAAA3322") == "airplane_pair:K:10");
    CHECK(readings("333444555666778899TT") == "airplane_pair:3:20");
    CHECK(readings("33344455667").empty());
}

TEST_CASE("four with two singles and four with two pairs", "[landlords]") {
    CHECK(readings("444435") == "four_two_single:4:6");
    CHECK(readings("22223R") == "four_two_single:2:6");
    CHECK(readings("44443355") == "four_two_pair:4:8");
    CHECK(readings("2222AAKK") == "four_two_pair:2:8");
    CHECK(readings("44443").empty());
    CHECK(readings("4444335").empty());
}

TEST_CASE("bombs of every rank", "[landlords]") {
    CHECK(readings("3333") == "bomb:3:4");
    CHECK(readings("2222") == "bomb:2:4");
}

TEST_CASE("the documented example reads three ways in table order", "[landlords]") {
    CHECK(readings("333444555666") == "airplane:3:12 airplane_single:3:12 airplane_single:4:12");
    CHECK(readings("666555444333") == "airplane:3:12 airplane_single:3:12 airplane_single:4:12");
    // Five trios and a kicker: two bodies of four.
    CHECK(readings("3334445556667778") == "airplane_single:3:16 airplane_single:4:16");
    CHECK(readings("333444555666777888TJ") == "airplane_single:3:20 airplane_single:4:20");
}

TEST_CASE("nothing impossible or too big is a play", "[landlords]") {
    Counts five;
    five.n[0] = 5;
    CHECK(classify(five).empty());
    Counts jokers;
    jokers.n[kRankBigJoker] = 2;
    CHECK(classify(jokers).empty());
    CHECK(classify(Counts{}).empty());
    CHECK(readings("33445566778899TTJJQQK").empty());  // 21 cards
}

// ---- kicker rules ------------------------------------------------------------------------

TEST_CASE("a kicker never has the rank of a card in the body", "[landlords]") {
    CHECK(readings("3333") == "bomb:3:4");    // not trio_single 333 + 3
    CHECK(readings("33334").empty());         // not 333 with 3 and 4
    CHECK(readings("33334444").empty());      // neither airplane_single nor four_two_pair
    CHECK(readings("33334445").empty());      // 333444 + 3 + 5: the 3 is a body rank
    CHECK(readings("333444455566").empty());  // the fourth 4 cannot kick 333444555
    CHECK(readings("44445").empty());
    // The same cards with the extra card of another rank are plays.
    CHECK(readings("33344456") == "airplane_single:3:8");
    CHECK(readings("333444555667") == "airplane_single:3:12");
}

TEST_CASE("single kickers may repeat a rank", "[landlords]") {
    CHECK(readings("444455") == "four_two_single:4:6");
    CHECK(readings("333344") == "four_two_single:3:6");
    CHECK(readings("33344455") == "airplane_single:3:8");
    CHECK(readings("333444555777") == "airplane_single:3:12");  // three 7s kick
}

TEST_CASE("single kickers may not hold all four cards of a rank", "[landlords]") {
    CHECK(readings("3334445556667777").empty());
    CHECK(readings("3334445556667778") == "airplane_single:3:16 airplane_single:4:16");
    CHECK(readings("33344455566677788889").empty());
    CHECK(readings("33344455566677788899") == "airplane_single:3:20 airplane_single:4:20");
    CHECK(readings("3334445556662222").empty());
    CHECK(readings("3334445556662228") == "airplane_single:3:16");
}

TEST_CASE("single kickers may not be both jokers", "[landlords]") {
    CHECK(readings("333444BR").empty());
    CHECK(readings("4444BR").empty());
    CHECK(readings("333444555BR6").empty());
    CHECK(readings("333444B5") == "airplane_single:3:8");
    CHECK(readings("333444R5") == "airplane_single:3:8");
    CHECK(readings("4444B3") == "four_two_single:4:6");
    CHECK(readings("4444R2") == "four_two_single:4:6");
    CHECK(readings("333B") == "trio_single:3:4");
}

TEST_CASE("pair kickers are real pairs of different ranks", "[landlords]") {
    CHECK(readings("33344BR").empty());  // jokers never pair
    CHECK(readings("333BR").empty());
    CHECK(readings("3334445555").empty());  // two pairs of one rank
    CHECK(readings("44445555").empty());
    CHECK(readings("333444BR55").empty());
    CHECK(readings("3334445566") == "airplane_pair:3:10");
    CHECK(readings("44445566") == "four_two_pair:4:8");
    CHECK(readings("4444556").empty());
    CHECK(readings("3334445556").empty());  // a trio and a single are no two pairs
}

// ---- comparison --------------------------------------------------------------------------

TEST_CASE("a rocket beats everything and nothing beats it", "[landlords]") {
    const Play rocket = play("BR");
    for (const char* other :
         {"3", "2", "R", "22", "2222", "3333", "3456789TJQKA", "33445566778899TTJJQQ"}) {
        INFO(other);
        CHECK(beats(rocket, play(other)));
        CHECK_FALSE(beats(play(other), rocket));
    }
}

TEST_CASE("a bomb beats every non-bomb and bombs compare by rank", "[landlords]") {
    const Play bomb = play("3333");
    for (const char* other : {"R", "22", "222B", "22233", "3456789TJQKA", "33445566778899TTJJQQ",
                              "333444555666777888", "2222AAKK", "22223R"}) {
        INFO(other);
        CHECK(beats(bomb, play(other)));
        CHECK_FALSE(beats(play(other), bomb));
    }
    CHECK(beats(play("4444"), bomb));
    CHECK(beats(play("2222"), play("AAAA")));
    CHECK_FALSE(beats(bomb, play("4444")));
    CHECK_FALSE(beats(bomb, bomb));
}

TEST_CASE("other plays beat only the same type and count with a higher main rank", "[landlords]") {
    CHECK(beats(play("4"), play("3")));
    CHECK(beats(play("B"), play("2")));
    CHECK(beats(play("R"), play("B")));
    CHECK_FALSE(beats(play("3"), play("3")));
    CHECK_FALSE(beats(play("3"), play("4")));
    CHECK_FALSE(beats(play("44"), play("3")));      // other type
    CHECK_FALSE(beats(play("4445"), play("333")));  // other type
    CHECK(beats(play("45678"), play("34567")));
    CHECK_FALSE(beats(play("456789"), play("34567")));       // same type, other count
    CHECK_FALSE(beats(play("44455567"), play("33445566")));  // same count, other type
    CHECK(beats(play("4443"), play("333A")));                // kicker types: the body counts
    CHECK_FALSE(beats(play("3332"), play("4443")));
    CHECK_FALSE(beats(play("444555666789"), play("33344456")));  // 12 cards against 8
    CHECK(beats(play("44455536"), play("333444AK")));
    CHECK(beats(play_as("444555666777", PlayType::kAirplane), play("333444555666")));
    CHECK_FALSE(beats(play("333444555666"), play_as("333444555666", PlayType::kAirplane)));
}

// ---- readings when leading and following ----------------------------------------------

TEST_CASE("a lead is read as the named type or else the first reading", "[landlords]") {
    const Counts c = cards("333444555666");
    CHECK(show(*reading_to_lead(c, std::nullopt)) == "airplane:3:12");
    CHECK(show(*reading_to_lead(c, PlayType::kAirplane)) == "airplane:3:12");
    CHECK(show(*reading_to_lead(c, PlayType::kAirplaneSingle)) == "airplane_single:3:12");
    CHECK_FALSE(reading_to_lead(c, PlayType::kAirplanePair));
    CHECK_FALSE(reading_to_lead(c, PlayType::kBomb));
    CHECK_FALSE(reading_to_lead(cards("3456"), std::nullopt));
    CHECK_FALSE(reading_to_lead(cards("3456"), PlayType::kSingle));
    CHECK(show(*reading_to_lead(cards("2222"), PlayType::kBomb)) == "bomb:2:4");
}

TEST_CASE("a follow is read as the lowest reading of the last type that beats it", "[landlords]") {
    const Play last3 = play_as("333444555789", PlayType::kAirplaneSingle);  // main 3
    const Counts four_trios = cards("444555666777");
    // airplane:4, airplane_single:4 and airplane_single:5 are its readings.
    CHECK(show(*reading_to_follow(four_trios, last3)) == "airplane_single:4:12");
    const Play last4 = play_as("444555666789", PlayType::kAirplaneSingle);
    CHECK(show(*reading_to_follow(four_trios, last4)) == "airplane_single:5:12");
    const Play last5 = play_as("555666777389", PlayType::kAirplaneSingle);
    CHECK_FALSE(reading_to_follow(four_trios, last5));
    // On an airplane of four trios it is an airplane.
    CHECK(show(*reading_to_follow(four_trios, play("333444555666"))) == "airplane:4:12");
    // 333444555666 on airplane_single:4 has :3 and :4, neither higher.
    CHECK_FALSE(reading_to_follow(cards("333444555666"), last4));
}

TEST_CASE("a bomb or rocket follow is read as bomb or rocket", "[landlords]") {
    CHECK(show(*reading_to_follow(cards("5555"), play("333444555666"))) == "bomb:5:4");
    CHECK(show(*reading_to_follow(cards("5555"), play("4444"))) == "bomb:5:4");
    CHECK_FALSE(reading_to_follow(cards("3333"), play("4444")));
    CHECK(show(*reading_to_follow(cards("BR"), play("2222"))) == "rocket:B:2");
    CHECK_FALSE(reading_to_follow(cards("2222"), play("BR")));
    CHECK_FALSE(reading_to_follow(cards("3456"), play("3")));
    CHECK_FALSE(reading_to_follow(cards("44"), play("3")));
}

// ---- enumerate ----------------------------------------------------------------------------

TEST_CASE("enumerate lists every lead of a small hand", "[landlords]") {
    std::set<std::string> got;
    for (const Candidate& c : enumerate(cards("3345"), nullptr))
        got.insert(show(c.play) + " " + to_notation(c.cards));
    CHECK(got ==
          std::set<std::string>{"single:3:1 3", "single:4:1 4", "single:5:1 5", "pair:3:2 33"});
    CHECK(enumerate(Counts{}, nullptr).empty());
}

TEST_CASE("enumerate lists both readings of an ambiguous follow", "[landlords]") {
    const Play last = play_as("333444555789", PlayType::kAirplaneSingle);
    std::set<std::string> got;
    for (const Candidate& c : enumerate(cards("444555666777"), &last))
        got.insert(show(c.play) + " " + to_notation(c.cards));
    CHECK(got == std::set<std::string>{"airplane_single:4:12 444555666777",
                                       "airplane_single:5:12 444555666777"});
}

TEST_CASE("nothing follows a rocket and only bombs and the rocket follow a bomb", "[landlords]") {
    const Counts hand = cards("3333444455556666BR");
    const Play rocket = play("BR");
    CHECK(enumerate(hand, &rocket).empty());
    std::set<std::string> got;
    const Play bomb4 = play("4444");
    for (const Candidate& c : enumerate(hand, &bomb4)) got.insert(show(c.play));
    CHECK(got == std::set<std::string>{"bomb:5:4", "bomb:6:4", "rocket:B:2"});
}

TEST_CASE("enumerated plays are legal readings from the hand that beat the last play",
          "[landlords]") {
    std::mt19937_64 rng(20240601);
    for (int round = 0; round < 300; ++round) {
        const Counts hand = deal(rng, 1 + round % 20);
        const auto leads = enumerate(hand, nullptr);
        CHECK_FALSE(leads.empty());
        for (const Candidate& c : leads) {
            REQUIRE(hand.contains(c.cards));
            const auto rs = classify(c.cards);
            REQUIRE(std::find(rs.begin(), rs.end(), c.play) != rs.end());
        }
        // A last play from another hand, then every follow of this one.
        const Counts other = deal(rng, 20);
        const auto others = enumerate(other, nullptr);
        const Play last = others[static_cast<size_t>(rng() % others.size())].play;
        for (const Candidate& c : enumerate(hand, &last)) {
            INFO(to_notation(hand)
                 << " on " << show(last) << ": " << show(c.play) << " " << to_notation(c.cards));
            REQUIRE(hand.contains(c.cards));
            const auto rs = classify(c.cards);
            REQUIRE(std::find(rs.begin(), rs.end(), c.play) != rs.end());
            REQUIRE(beats(c.play, last));
            REQUIRE(reading_to_follow(c.cards, last).has_value());
        }
    }
}

TEST_CASE("enumerate misses nothing on small hands against a brute force", "[landlords]") {
    std::mt19937_64 rng(7);
    for (int round = 0; round < 400; ++round) {
        const Counts hand = deal(rng, 4 + round % 9);  // 4..12 cards
        INFO(to_notation(hand));
        REQUIRE(enumerated(hand, nullptr) == brute_force(hand, nullptr));
        // Follow the hand's own plays and plays of another hand.
        const auto mine = enumerate(hand, nullptr);
        const auto theirs = enumerate(deal(rng, 20), nullptr);
        for (const auto* list : {&mine, &theirs}) {
            const Play last = (*list)[static_cast<size_t>(rng() % list->size())].play;
            INFO("last " << show(last));
            REQUIRE(enumerated(hand, &last) == brute_force(hand, &last));
        }
    }
}

TEST_CASE("enumerate misses nothing on hands rich in trios and fours", "[landlords]") {
    // Built to exercise airplanes, kickers and four-with-two: a brute force over all subsets.
    for (const char* h :
         {"333444555666789TBR", "3334445556667777", "3333444455556666", "33344455566677788899",
          "4444555566BR", "33445566778899TTJJQQ", "3456789TJQKA2222BR", "333444555666777888TJ"}) {
        const Counts hand = cards(h);
        INFO(h);
        const auto all = brute_force(hand, nullptr);
        REQUIRE(enumerated(hand, nullptr) == all);
        for (const Candidate& c : enumerate(hand, nullptr)) {
            if (c.play.count < 6 && c.play.type != PlayType::kBomb) continue;  // keep it quick
            REQUIRE(enumerated(hand, &c.play) == brute_force(hand, &c.play));
        }
    }
}

TEST_CASE("enumerate misses nothing on full 20-card hands against a brute force", "[landlords]") {
    std::mt19937_64 rng(99);
    size_t most_readings = 0;
    for (int round = 0; round < 40; ++round) {
        const Counts hand = deal(rng, 20);
        INFO(to_notation(hand));
        const auto all = brute_force(hand, nullptr);
        REQUIRE(enumerated(hand, nullptr) == all);
        for (const Candidate& c : enumerate(hand, nullptr))
            most_readings = std::max(most_readings, classify(c.cards).size());
    }
    CHECK(most_readings <= static_cast<size_t>(kMaxReadings));
}
