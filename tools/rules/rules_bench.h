#pragma once
// `tb-rules bench`: how fast the Dou Dizhu rule engine is (docs/BENCHMARKS.md "Rule engine").
// Seeded random 20-card hands (a landlord's hand): their leads from enumerate() are the plays
// classify is timed over, and enumerate() itself is timed once per hand.

#include <cstdint>

namespace tb::rules {

struct BenchOptions {
    int hands = 1000;
    uint64_t seed = 1;
    int simulate_games = 1000;  // for the strategy's games per second
};

struct BenchResult {
    int hands = 0;
    int64_t plays = 0;                     // leads of all hands: the plays classify is timed on
    double classify_mean_ns = 0;           // classify_readings(): fixed buffer, no allocation
    double classify_vector_mean_ns = 0;    // classify(): the std::vector form
    double enumerate_leads_median_us = 0;  // enumerate(hand, nullptr), one call per hand
    double enumerate_leads_p99_us = 0;
    double enumerate_leads_mean_plays = 0;
    double simulate_games_per_s = 0;  // simulate(): robot landlord vs two random players
    double simulate_win_rate = 0;

    // RULES.md targets: classify under 1 us on average, enumerate leads under 100 us (median).
    bool classify_met() const noexcept { return classify_mean_ns < 1000.0; }
    bool enumerate_met() const noexcept { return enumerate_leads_median_us < 100.0; }
};

// Takes a few seconds; uses the steady clock. Any thread.
BenchResult run_bench(const BenchOptions& options);

}  // namespace tb::rules
