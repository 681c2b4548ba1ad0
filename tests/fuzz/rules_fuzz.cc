// Fuzzes the Dou Dizhu rule engine through the card notation tb-rules reads: parse_notation,
// notation_problem and the answer `classify --batch` gives a line, then classify, beats,
// reading_to_lead/_follow, enumerate and the strategy's choose_play on what parsed. The input is up
// to four fields separated by '|': HAND|LAST|LAST_TYPE|PLAY (e.g. "33344455KK|345|straight|66677").
// The stream part of `classify --batch` is left out: it clears a 1 MiB buffer per call, which took
// nine tenths of the time here; its per-line answer (append_batch_answer) is fuzzed.
// Invariants:
// - the parser, notation_problem() and the batch answer agree on what is a set of cards, and
//   notation round-trips;
// - classify() lists distinct readings in table order, each counting every card, and the
//   no-allocation classify_readings() says the same; reading_to_lead() picks among them;
// - beats() is irreflexive and antisymmetric;
// - every play enumerate(HAND, LAST) returns is cards from HAND, one of their readings, and
//   beats LAST (and reading_to_follow() finds a reading that does); every lead is a reading;
//   PLAY, when HAND holds it, is listed with each of its readings (that beats LAST);
// - choose_play() picks one of those plays, and always leads when it must.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nodes/game/landlords/classify.h"
#include "nodes/game/landlords/strategy.h"
#include "tools/rules/rules_tool.h"

namespace ll = tb::game::landlords;

namespace {

// A real hand holds at most 20 cards; enumerating a whole deck would only measure patience.
constexpr int kMaxHand = 20;

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "rules_fuzz: invariant broken: %s\n", what);
    std::abort();
}

void check(bool ok, const char* what) {
    if (!ok) fail(what);
}

std::vector<std::string_view> split(std::string_view s, std::size_t max_fields) {
    std::vector<std::string_view> out;
    while (out.size() + 1 < max_fields) {
        const auto bar = s.find('|');
        if (bar == std::string_view::npos) break;
        out.push_back(s.substr(0, bar));
        s.remove_prefix(bar + 1);
    }
    out.push_back(s);
    return out;
}

bool has_reading(const std::vector<ll::Play>& readings, const ll::Play& p) {
    for (const ll::Play& r : readings)
        if (r == p) return true;
    return false;
}

bool listed(const std::vector<ll::Candidate>& list, const ll::Counts& cards, const ll::Play& p) {
    for (const ll::Candidate& c : list)
        if (c.cards == cards && c.play == p) return true;
    return false;
}

// The parser and both of tb-rules' views of one field; the parsed cards when they parse.
std::optional<ll::Counts> parse_field(std::string_view text) {
    const auto cards = ll::parse_notation(text);
    check(cards.has_value() == tb::rules::notation_problem(text).empty(),
          "notation_problem disagrees with parse_notation");
    std::string batch;
    tb::rules::append_batch_answer(text, batch);
    std::string_view line = text;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const auto line_cards = ll::parse_notation(line);
    const bool is_play = line_cards && !ll::classify(*line_cards).empty();
    check((batch == "invalid") != is_play, "batch answer disagrees with classify");
    if (!cards) return std::nullopt;
    check(cards->possible(), "parsed an impossible multiset");
    check(cards->total() == static_cast<int>(text.size()), "parsed count differs from text");
    check(ll::parse_notation(ll::to_notation(*cards)) == cards, "notation does not round-trip");
    return cards;
}

void check_readings(const ll::Counts& cards) {
    const std::vector<ll::Play> readings = ll::classify(cards);
    const ll::Readings fast = ll::classify_readings(cards);
    check(fast.size == static_cast<int>(readings.size()), "classify_readings size differs");
    for (std::size_t i = 0; i < readings.size(); ++i) {
        const ll::Play& r = readings[i];
        check(fast.plays[i] == r, "classify_readings differs from classify");
        check(r.count == cards.total(), "a reading does not count every card");
        check(r.main >= 0 && r.main < ll::kRanks, "main rank out of range");
        check(!ll::beats(r, r), "a play beats itself");
        check(ll::type_from_name(ll::type_name(r.type)) == r.type, "type name round trip");
        if (i > 0) {
            const ll::Play& q = readings[i - 1];
            check(q.type < r.type || (q.type == r.type && q.main < r.main),
                  "readings not distinct and in table order");
        }
        for (const ll::Play& o : readings) {
            check(!(ll::beats(r, o) && ll::beats(o, r)), "beats is not antisymmetric");
        }
    }
    const auto lead = ll::reading_to_lead(cards, std::nullopt);
    check(lead.has_value() == !readings.empty(), "reading_to_lead disagrees with classify");
    if (lead) check(*lead == readings.front(), "reading_to_lead is not the first reading");
    for (int t = 0; t < ll::kPlayTypes; ++t) {
        const auto type = static_cast<ll::PlayType>(t);
        const auto as = ll::reading_to_lead(cards, type);
        std::optional<ll::Play> lowest;
        for (const ll::Play& r : readings) {
            if (r.type == type) {
                lowest = r;
                break;
            }
        }
        check(as == lowest, "reading_to_lead(type) is not the lowest reading of that type");
    }
}

void check_play_against(const ll::Counts& cards, const ll::Play& last) {
    const std::vector<ll::Play> readings = ll::classify(cards);
    bool any = false;
    for (const ll::Play& r : readings) any = any || ll::beats(r, last);
    const auto follow = ll::reading_to_follow(cards, last);
    check(follow.has_value() == any, "reading_to_follow disagrees with beats");
    if (follow) {
        check(has_reading(readings, *follow), "reading_to_follow is not a reading");
        check(ll::beats(*follow, last), "reading_to_follow does not beat last");
    }
}

void check_hand(const ll::Counts& hand, const std::optional<ll::Play>& last,
                const std::optional<ll::Counts>& play) {
    const std::vector<ll::Candidate> leads = ll::enumerate(hand, nullptr);
    for (std::size_t i = 0; i < leads.size(); ++i) {
        const ll::Candidate& c = leads[i];
        check(!c.cards.empty() && hand.contains(c.cards), "a lead is not from the hand");
        check(has_reading(ll::classify(c.cards), c.play), "a lead is not one of its readings");
        if (i > 0) check(!(leads[i - 1] == c), "a lead listed twice in a row");
    }
    check(hand.empty() || !leads.empty(), "no lead from a non-empty hand");
    std::vector<ll::Candidate> follows;
    if (last) {
        follows = ll::enumerate(hand, &*last);
        for (const ll::Candidate& c : follows) {
            check(hand.contains(c.cards), "a follow is not from the hand");
            check(has_reading(ll::classify(c.cards), c.play), "a follow is not a reading");
            check(ll::beats(c.play, *last), "enumerate returned a play that does not beat last");
            const auto rec = ll::reading_to_follow(c.cards, *last);
            check(rec.has_value() && ll::beats(*rec, *last), "follow without a recorded reading");
        }
    }
    if (play && !play->empty() && hand.contains(*play)) {
        for (const ll::Play& r : ll::classify(*play)) {
            check(listed(leads, *play, r), "enumerate misses a lead");
            if (last && ll::beats(r, *last)) check(listed(follows, *play, r), "misses a follow");
        }
    }

    // The strategy, as the table asks it: chair 1 of 3, the landlord at chair 0 or 1.
    ll::TableView view;
    view.hand = hand;
    view.chair = 1;
    view.landlord = hand.total() % 2;
    view.last = last;
    view.last_chair = last ? 2 : -1;
    view.cards_left = {17, hand.total(), 17};
    const auto choice = ll::choose_play(view);
    if (!last) {
        check(hand.empty() || choice.has_value(), "the strategy did not lead");
        if (choice) check(listed(leads, choice->cards, choice->play), "strategy lead not legal");
    } else if (choice) {
        check(hand.contains(choice->cards), "strategy play not from the hand");
        check(ll::beats(choice->play, *last), "strategy play does not beat last");
        check(ll::reading_to_follow(choice->cards, *last) == choice->play,
              "strategy play is not recorded as reading_to_follow says");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    if (size > 512) return 0;
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto fields = split(input, 4);
    std::vector<std::optional<ll::Counts>> parsed;
    for (const std::string_view f : fields) parsed.push_back(parse_field(f));
    for (const auto& p : parsed)
        if (p) check_readings(*p);

    std::optional<ll::Play> last;
    if (parsed.size() > 1 && parsed[1]) {
        std::optional<ll::PlayType> type;
        if (parsed.size() > 2 && !fields[2].empty()) type = ll::type_from_name(fields[2]);
        last = ll::reading_to_lead(*parsed[1], type);
    }
    if (last) {
        for (const auto& p : parsed)
            if (p) check_play_against(*p, *last);
    }
    if (parsed[0] && parsed[0]->total() <= kMaxHand) {
        const std::optional<ll::Counts> play = parsed.size() > 3 ? parsed[3] : std::nullopt;
        check_hand(*parsed[0], last, play);
    }
    return 0;
}
