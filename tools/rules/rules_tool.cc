#include "tools/rules/rules_tool.h"

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "nodes/game/gomoku/gomoku_rules.h"
#include "nodes/game/landlords/strategy.h"
#include "tools/rules/rules_bench.h"

namespace tb::rules {

namespace {

namespace ll = tb::game::landlords;
using Json = nlohmann::ordered_json;

// A bad argument found after parsing: one line on stderr, exit 2.
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

constexpr size_t kBatchBlock = 1 << 20;

void put(std::FILE* f, std::string_view s) {
    std::fwrite(s.data(), 1, s.size(), f);
}

ll::Counts cards_argument(std::string_view what, std::string_view text) {
    if (const auto c = ll::parse_notation(text)) return *c;
    throw UsageError(std::string(what) + " '" + std::string(text) +
                     "' is not a set of cards: " + notation_problem(text));
}

std::optional<ll::PlayType> type_argument(const std::string& name) {
    if (name.empty()) return std::nullopt;
    if (const auto t = ll::type_from_name(name)) return t;
    throw UsageError("unknown play type '" + name +
                     "' (single, pair, trio, trio_single, trio_pair, straight, pair_straight, "
                     "airplane, airplane_single, airplane_pair, four_two_single, "
                     "four_two_pair, bomb, rocket)");
}

// LAST as it was led: the named reading, else its first reading.
ll::Play last_argument(const ll::Counts& cards, const std::string& type_name) {
    const auto type = type_argument(type_name);
    if (const auto p = ll::reading_to_lead(cards, type)) return *p;
    const std::string text = ll::to_notation(cards);
    if (ll::classify_readings(cards).empty()) throw UsageError("LAST '" + text + "' is not a play");
    throw UsageError("LAST '" + text + "' cannot be read as " + type_name);
}

Json play_json(const ll::Play& p) {
    return Json{{"type", ll::type_name(p.type)},
                {"main", std::string(1, ll::rank_char(p.main))},
                {"count", p.count}};
}

std::string readings_text(const ll::Counts& cards) {
    std::string out;
    append_batch_answer(ll::to_notation(cards), out);
    return out;
}

int cmd_classify(const Io& io, const std::string& cards_text, bool batch, bool json) {
    if (batch) {
        if (!cards_text.empty()) throw UsageError("classify takes CARDS or --batch, not both");
        return classify_batch(io.in, io.out) ? kExitOk : kExitFailed;
    }
    if (cards_text.empty()) throw UsageError("classify needs CARDS (or --batch)");
    const ll::Counts cards = cards_argument("CARDS", cards_text);
    if (json) {
        Json readings = Json::array();
        for (const ll::Play& p : ll::classify_readings(cards)) readings.push_back(play_json(p));
        put(io.out, Json{{"cards", ll::to_notation(cards)}, {"readings", readings}}.dump() + "\n");
    } else {
        put(io.out, readings_text(cards) + "\n");
    }
    return kExitOk;
}

int cmd_beats(const Io& io, const std::string& play_text, const std::string& last_text,
              const std::string& last_type, bool json) {
    const ll::Counts play = cards_argument("PLAY", play_text);
    const ll::Counts last_cards = cards_argument("LAST", last_text);
    const ll::Play last = last_argument(last_cards, last_type);
    const auto reading = ll::reading_to_follow(play, last);
    const bool is_play = !ll::classify_readings(play).empty();
    if (json) {
        put(io.out, Json{{"play", ll::to_notation(play)},
                         {"last", ll::to_notation(last_cards)},
                         {"last_reading", play_json(last)},
                         {"beats", reading.has_value()},
                         {"reading", reading ? play_json(*reading) : Json(nullptr)}}
                            .dump() +
                        "\n");
        return kExitOk;
    }
    const std::string p = ll::to_notation(play), l = ll::to_notation(last_cards);
    std::string line;
    if (reading)
        line = "yes: " + p + " as " + format_play(*reading) + " beats " + l + " as " +
               format_play(last);
    else if (!is_play)
        line = "no: " + p + " is not a play";
    else
        line = "no: " + p + " (" + readings_text(play) + ") does not beat " + l + " as " +
               format_play(last);
    put(io.out, line + "\n");
    return kExitOk;
}

struct HintArgs {
    std::string hand;
    std::string last;
    std::string last_type;
    bool farmer = false;   // we are a farmer and LAST came from the landlord
    bool partner = false;  // we are a farmer and LAST came from the other farmer
    int limit = 0;
    bool json = false;
};

int cmd_hint(const Io& io, const HintArgs& a) {
    const ll::Counts hand = cards_argument("HAND", a.hand);
    std::optional<ll::Play> last;
    if (!a.last.empty())
        last = last_argument(cards_argument("LAST", a.last), a.last_type);
    else if (!a.last_type.empty())
        throw UsageError("--last-type needs LAST");
    if (a.farmer && a.partner) throw UsageError("--farmer and --partner exclude each other");

    // We sit in chair 0; LAST came from chair 1 (the landlord with --farmer, a farmer with
    // --partner, else an opponent farmer); everyone else holds a full hand.
    ll::TableView view;
    view.hand = hand;
    view.chair = 0;
    view.landlord = a.farmer ? 1 : a.partner ? 2 : 0;
    view.last = last;
    view.last_chair = last ? 1 : -1;
    for (int c = 0; c < ll::kChairs; ++c)
        view.cards_left[static_cast<size_t>(c)] = c == 0               ? hand.total()
                                                  : c == view.landlord ? 20
                                                                       : ll::kHandCards;

    const std::vector<ll::Candidate> plays = ll::enumerate(hand, last ? &*last : nullptr);
    const auto choice = ll::choose_play(view);
    const size_t shown =
        a.limit > 0 ? std::min(plays.size(), static_cast<size_t>(a.limit)) : plays.size();

    if (a.json) {
        Json list = Json::array();
        for (size_t i = 0; i < shown; ++i) {
            Json j = play_json(plays[i].play);
            j["cards"] = ll::to_notation(plays[i].cards);
            list.push_back(j);
        }
        Json out{{"hand", ll::to_notation(hand)},
                 {"last", last ? play_json(*last) : Json(nullptr)},
                 {"legal_plays", plays.size()},
                 {"plays", list}};
        if (choice) {
            Json j = play_json(choice->play);
            j["cards"] = ll::to_notation(choice->cards);
            out["choice"] = j;
        } else {
            out["choice"] = nullptr;  // pass
        }
        put(io.out, out.dump() + "\n");
        return kExitOk;
    }
    std::string text = "hand " + ll::to_notation(hand) + " (" + std::to_string(hand.total()) +
                       " cards), " +
                       (last ? "following " + format_play(*last) : std::string("leading")) + ": " +
                       std::to_string(plays.size()) + " legal plays\n";
    for (size_t i = 0; i < shown; ++i)
        text += "  " + format_play(plays[i].play) + " " + ll::to_notation(plays[i].cards) + "\n";
    if (shown < plays.size())
        text += "  ... " + std::to_string(plays.size() - shown) + " more (--limit)\n";
    text += "choice: " +
            (choice ? format_play(choice->play) + " " + ll::to_notation(choice->cards)
                    : std::string("pass")) +
            "\n";
    put(io.out, text);
    return kExitOk;
}

int cmd_simulate(const Io& io, const std::string& game, int games, uint64_t seed, bool json) {
    const auto t0 = std::chrono::steady_clock::now();
    double rate = 0;
    std::string detail;
    if (game == "landlords") {
        const auto r = ll::simulate(games, seed);
        rate = r.win_rate();
        detail =
            "the robot as landlord against two random legal players: " + std::to_string(r.wins) +
            " won, " + std::to_string(r.losses) + " lost";
    } else {
        const auto r = tb::game::gomoku::simulate(games, seed);
        rate = r.win_rate();
        detail = "the robot against a random legal player: " + std::to_string(r.wins) + " won, " +
                 std::to_string(r.losses) + " lost, " + std::to_string(r.draws) + " drawn";
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (json) {
        put(io.out, Json{{"game", game}, {"games", games}, {"win_rate", rate}}.dump() + "\n");
        return kExitOk;
    }
    char tail[128];
    std::snprintf(tail, sizeof tail, " of %d games: win rate %.3f (seed %llu, %.2f s)\n", games,
                  rate, static_cast<unsigned long long>(seed), seconds);
    put(io.out, game + ": " + detail + tail);
    return kExitOk;
}

double rounded(double x, int decimals) {
    const double scale = std::pow(10.0, decimals);
    return std::round(x * scale) / scale;
}

int cmd_bench(const Io& io, const BenchOptions& o, bool json, bool check) {
    const BenchResult r = run_bench(o);
    if (json) {
        put(io.out, Json{{"hands", r.hands},
                         {"plays", r.plays},
                         {"classify_mean_ns", rounded(r.classify_mean_ns, 1)},
                         {"classify_vector_mean_ns", rounded(r.classify_vector_mean_ns, 1)},
                         {"enumerate_leads_median_us", rounded(r.enumerate_leads_median_us, 2)},
                         {"enumerate_leads_p99_us", rounded(r.enumerate_leads_p99_us, 2)},
                         {"enumerate_leads_mean_plays", rounded(r.enumerate_leads_mean_plays, 1)},
                         {"simulate_games_per_s", std::round(r.simulate_games_per_s)},
                         {"simulate_win_rate", r.simulate_win_rate}}
                            .dump() +
                        "\n");
    } else {
        char buf[1024];
        std::snprintf(
            buf, sizeof buf,
            "%d seeded 20-card hands, %lld leads among them\n"
            "classify (fixed buffer)   mean %8.1f ns   target < 1000 ns: %s\n"
            "classify (std::vector)    mean %8.1f ns\n"
            "enumerate leads           median %6.1f us, p99 %.1f us, %.0f plays per hand   "
            "target median < 100 us: %s\n"
            "simulate (landlord)       %.0f games/s, win rate %.3f\n",
            r.hands, static_cast<long long>(r.plays), r.classify_mean_ns,
            r.classify_met() ? "met" : "MISSED", r.classify_vector_mean_ns,
            r.enumerate_leads_median_us, r.enumerate_leads_p99_us, r.enumerate_leads_mean_plays,
            r.enumerate_met() ? "met" : "MISSED", r.simulate_games_per_s, r.simulate_win_rate);
        put(io.out, buf);
    }
    if (check && !(r.classify_met() && r.enumerate_met())) return kExitTargetMissed;
    return kExitOk;
}

}  // namespace

std::string format_play(const ll::Play& play) {
    std::string s(ll::type_name(play.type));
    s += ':';
    s += ll::rank_char(play.main);
    s += ':';
    s += std::to_string(play.count);
    return s;
}

std::string notation_problem(std::string_view text) {
    if (text.empty()) return "no cards";
    std::array<int, ll::kRanks> n{};
    for (const char ch : text) {
        const int r = ll::rank_from_char(ch);
        if (r < 0) {
            const auto u = static_cast<unsigned char>(ch);
            char buf[64];
            if (u >= 0x20 && u < 0x7f)
                std::snprintf(buf, sizeof buf, "unknown character '%c'", ch);
            else
                std::snprintf(buf, sizeof buf, "unknown byte 0x%02x", u);
            return std::string(buf) + " (ranks are 3456789TJQKA2, B and R for the jokers)";
        }
        ++n[static_cast<size_t>(r)];
        if (r >= ll::kRankSmallJoker && n[static_cast<size_t>(r)] > 1)
            return std::string("two ") + (r == ll::kRankSmallJoker ? "small" : "big") +
                   " jokers ('" + ch + "')";
        if (n[static_cast<size_t>(r)] > 4) return std::string("more than four '") + ch + "'";
    }
    return "";
}

void append_batch_answer(std::string_view line, std::string& out) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const auto cards = ll::parse_notation(line);
    const ll::Readings readings = cards ? ll::classify_readings(*cards) : ll::Readings{};
    if (readings.empty()) {
        out += "invalid";
        return;
    }
    for (int i = 0; i < readings.size; ++i) {
        const ll::Play& p = readings.plays[static_cast<size_t>(i)];
        if (i > 0) out += ' ';
        out += ll::type_name(p.type);
        out += ':';
        out += ll::rank_char(p.main);
        out += ':';
        if (p.count >= 10) out += static_cast<char>('0' + p.count / 10);
        out += static_cast<char>('0' + p.count % 10);
    }
}

bool classify_batch(std::FILE* in, std::FILE* out) {
    std::vector<char> buf(kBatchBlock);
    std::string pending;  // a line split across two reads
    std::string answers;
    answers.reserve(kBatchBlock + 4096);
    bool ok = true;
    auto flush = [&] {
        if (!answers.empty() &&
            std::fwrite(answers.data(), 1, answers.size(), out) != answers.size())
            ok = false;
        answers.clear();
    };
    for (;;) {
        const size_t got = std::fread(buf.data(), 1, buf.size(), in);
        if (got == 0) break;
        std::string_view chunk(buf.data(), got);
        for (;;) {
            const auto nl = chunk.find('\n');
            if (nl == std::string_view::npos) {
                pending.append(chunk);
                break;
            }
            if (pending.empty()) {
                append_batch_answer(chunk.substr(0, nl), answers);
            } else {
                pending.append(chunk.substr(0, nl));
                append_batch_answer(pending, answers);
                pending.clear();
            }
            answers += '\n';
            chunk.remove_prefix(nl + 1);
        }
        if (answers.size() >= kBatchBlock) flush();
    }
    if (std::ferror(in)) ok = false;
    if (!pending.empty()) {
        append_batch_answer(pending, answers);
        answers += '\n';
    }
    flush();
    if (std::fflush(out) != 0) ok = false;
    return ok;
}

int run(int argc, const char* const* argv, const Io& io) {
    CLI::App app{"tb-rules: the game rule engines and robot strategies from the command line"};
    app.require_subcommand(1);
    app.footer(
        "Cards: ranks 3456789TJQKA2, B (small joker), R (big joker), in any order, e.g. 33344, "
        "TJQKA, BR.\nReadings: TYPE:MAIN:COUNT (RULES.md type names; MAIN the main rank).\n"
        "Exit status: 0 answered, 2 bad argument, 3 bench --check missed a target.\n"
        "Run 'tb-rules COMMAND --help' for a command's options.");

    std::string classify_cards;
    bool batch = false, classify_json = false;
    auto* classify = app.add_subcommand("classify", "every reading of a set of cards");
    classify->add_option("CARDS", classify_cards, "the cards, e.g. 333444555666");
    classify->add_flag("--batch", batch,
                       "read plays one per line until end of input; print one line each: "
                       "'invalid' or the readings");
    classify->add_flag("--json", classify_json, "one JSON object (not with --batch)");

    std::string beats_play, beats_last, beats_last_type;
    bool beats_json = false;
    auto* beats =
        app.add_subcommand("beats", "whether PLAY beats LAST, and the reading PLAY is recorded as");
    beats->add_option("PLAY", beats_play, "the cards played")->required();
    beats->add_option("LAST", beats_last, "the play to beat")->required();
    beats->add_option("--last-type", beats_last_type,
                      "LAST's reading when it has several (default: its first, as when led "
                      "without a Type)");
    beats->add_flag("--json", beats_json, "one JSON object");

    HintArgs hint_args;
    auto* hint = app.add_subcommand(
        "hint", "every legal play from HAND (on LAST, or leading) and the strategy's choice");
    hint->add_option("HAND", hint_args.hand, "your cards")->required();
    hint->add_option("LAST", hint_args.last, "the play to beat (omit when leading)");
    hint->add_option("--last-type", hint_args.last_type, "LAST's reading when it has several");
    hint->add_flag("--farmer", hint_args.farmer,
                   "you are a farmer and LAST came from the landlord (default: you are the "
                   "landlord)");
    hint->add_flag("--partner", hint_args.partner,
                   "you are a farmer and LAST came from the other farmer");
    hint->add_option("--limit", hint_args.limit, "list at most N plays (0: all)")
        ->check(CLI::NonNegativeNumber);
    hint->add_flag("--json", hint_args.json, "one JSON object");

    std::string game;
    int games = 1000;
    uint64_t seed = 1;
    bool sim_json = false;
    auto* simulate = app.add_subcommand(
        "simulate",
        "the robot strategy against random legal players, offline: landlords (as landlord vs "
        "two) or gomoku (vs one); prints its win rate");
    simulate->add_option("--game", game, "gomoku or landlords")
        ->required()
        ->check(CLI::IsMember({"gomoku", "landlords"}));
    simulate->add_option("--games", games, "games to play")
        ->capture_default_str()
        ->check(CLI::Range(1, 10'000'000));
    simulate->add_option("--seed", seed, "random seed (same seed, same games)")
        ->capture_default_str();
    simulate->add_flag("--json", sim_json, "print only {\"game\":G,\"games\":N,\"win_rate\":W}");

    BenchOptions bench_opts;
    bool bench_json = false, bench_check = false;
    auto* bench = app.add_subcommand(
        "bench", "time classify (mean over all leads of many hands) and enumerate (median)");
    bench->add_option("--hands", bench_opts.hands, "seeded random 20-card hands")
        ->capture_default_str()
        ->check(CLI::Range(1, 1'000'000));
    bench->add_option("--seed", bench_opts.seed, "random seed")->capture_default_str();
    bench
        ->add_option("--games", bench_opts.simulate_games,
                     "landlord games for the strategy's speed (0: skip)")
        ->capture_default_str()
        ->check(CLI::Range(0, 10'000'000));
    bench->add_flag("--json", bench_json, "print only the results as one JSON object");
    bench->add_flag("--check", bench_check, "exit 3 when a target is missed");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        std::ostringstream out, err;
        const int code = app.exit(e, out, err);
        put(io.out, out.str());
        put(io.err, err.str());
        return code == 0 ? kExitOk : kExitUsage;
    }
    try {
        if (classify->parsed()) return cmd_classify(io, classify_cards, batch, classify_json);
        if (beats->parsed())
            return cmd_beats(io, beats_play, beats_last, beats_last_type, beats_json);
        if (hint->parsed()) return cmd_hint(io, hint_args);
        if (simulate->parsed()) return cmd_simulate(io, game, games, seed, sim_json);
        if (bench->parsed()) return cmd_bench(io, bench_opts, bench_json, bench_check);
        return kExitUsage;
    } catch (const UsageError& e) {
        std::fprintf(io.err, "tb-rules: %s\n", e.what());
        return kExitUsage;
    } catch (const std::exception& e) {
        std::fprintf(io.err, "tb-rules: %s\n", e.what());
        return kExitFailed;
    }
}

}  // namespace tb::rules
