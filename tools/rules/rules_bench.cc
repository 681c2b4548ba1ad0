#include "tools/rules/rules_bench.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <numeric>
#include <random>
#include <vector>

#include "nodes/game/landlords/strategy.h"

namespace tb::rules {

namespace {

namespace ll = tb::game::landlords;
using Clock = std::chrono::steady_clock;

// Classify passes are repeated until about this many calls, so one pass's cache warm-up and
// the clock's resolution do not show in the mean.
constexpr int64_t kClassifyCalls = 4'000'000;

// Written once after the timed loops, so the compiler cannot drop the calls.
volatile uint64_t g_sink = 0;

double ns_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::nano>(b - a).count();
}

std::vector<ll::Counts> deal_hands(int hands, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::array<int, ll::kCards> deck{};
    std::iota(deck.begin(), deck.end(), 0);
    std::vector<ll::Counts> out;
    out.reserve(static_cast<size_t>(hands));
    for (int h = 0; h < hands; ++h) {
        for (size_t i = deck.size() - 1; i > 0; --i) {
            std::uniform_int_distribution<size_t> pick(0, i);
            std::swap(deck[i], deck[pick(rng)]);
        }
        ll::Counts c;
        for (size_t i = 0; i < ll::kHandCards + ll::kBottomCards; ++i)
            ++c.n[ll::rank_of_card(deck[i])];
        out.push_back(c);
    }
    return out;
}

}  // namespace

BenchResult run_bench(const BenchOptions& options) {
    BenchResult r;
    r.hands = options.hands;
    const std::vector<ll::Counts> hands = deal_hands(options.hands, options.seed);

    // enumerate(): one timed call per hand after one untimed warm-up pass over a few hands.
    std::vector<ll::Counts> plays;
    std::vector<double> enum_us;
    enum_us.reserve(hands.size());
    for (size_t i = 0; i < std::min<size_t>(hands.size(), 50); ++i)
        (void)ll::enumerate(hands[i], nullptr);
    for (const ll::Counts& hand : hands) {
        const auto t0 = Clock::now();
        const std::vector<ll::Candidate> leads = ll::enumerate(hand, nullptr);
        const auto t1 = Clock::now();
        enum_us.push_back(ns_between(t0, t1) / 1000.0);
        for (const ll::Candidate& c : leads) plays.push_back(c.cards);
    }
    if (!enum_us.empty()) {
        std::sort(enum_us.begin(), enum_us.end());
        r.enumerate_leads_median_us = enum_us[enum_us.size() / 2];
        r.enumerate_leads_p99_us = enum_us[std::min(enum_us.size() - 1, enum_us.size() * 99 / 100)];
        r.enumerate_leads_mean_plays = double(plays.size()) / double(enum_us.size());
    }
    r.plays = static_cast<int64_t>(plays.size());

    // classify over every lead of every hand.
    if (!plays.empty()) {
        const int64_t passes = std::max<int64_t>(1, kClassifyCalls / r.plays);
        uint64_t sink = 0;
        auto t0 = Clock::now();
        for (int64_t p = 0; p < passes; ++p)
            for (const ll::Counts& c : plays) {
                const ll::Readings readings = ll::classify_readings(c);
                sink += static_cast<uint64_t>(readings.size + readings.plays[0].main);
            }
        auto t1 = Clock::now();
        r.classify_mean_ns = ns_between(t0, t1) / double(passes * r.plays);
        t0 = Clock::now();
        for (int64_t p = 0; p < passes; ++p)
            for (const ll::Counts& c : plays) sink += ll::classify(c).size();
        t1 = Clock::now();
        r.classify_vector_mean_ns = ns_between(t0, t1) / double(passes * r.plays);
        g_sink = sink;
    }

    if (options.simulate_games > 0) {
        const auto t0 = Clock::now();
        const ll::SimulationResult sim = ll::simulate(options.simulate_games, options.seed);
        const auto t1 = Clock::now();
        r.simulate_games_per_s = sim.games / (ns_between(t0, t1) / 1e9);
        r.simulate_win_rate = sim.win_rate();
    }
    return r;
}

}  // namespace tb::rules
