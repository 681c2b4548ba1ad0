#include "nodes/db/rules.h"

#include <catch2/catch.hpp>

#include "nodes/db/migrations.h"

using namespace tb::db;
using tb::common::Transfer;

TEST_CASE("PBKDF2 matches the RFC 7914 test vector and depends on salt and cost", "[db]") {
    // RFC 7914 §11: PBKDF2-HMAC-SHA256 P="passwd" S="salt" c=1 dkLen=64 starts 55ac046e56e3089f.
    const auto h = hash_password("passwd", "salt", 1);
    REQUIRE(h.size() == 32);
    CHECK(static_cast<unsigned char>(h[0]) == 0x55);
    CHECK(static_cast<unsigned char>(h[1]) == 0xac);
    CHECK(static_cast<unsigned char>(h[2]) == 0x04);
    CHECK(static_cast<unsigned char>(h[3]) == 0x6e);
    CHECK(hash_password("passwd", "salt", 2) != h);
    CHECK(hash_password("passwd", "salT", 1) != h);
    CHECK(equal_secret(h, hash_password("passwd", "salt", 1)));
    CHECK_FALSE(equal_secret(h, h.substr(0, 31)));
    CHECK(random_bytes(16).size() == 16);
    CHECK(random_bytes(16) != random_bytes(16));
}

TEST_CASE("UTC offsets parse and bad ones are refused", "[db]") {
    CHECK(parse_utc_offset("+08:00") == 480);
    CHECK(parse_utc_offset("-05:30") == -330);
    CHECK(parse_utc_offset("UTC") == 0);
    CHECK_THROWS_AS(parse_utc_offset("Asia/Shanghai"), std::invalid_argument);
    CHECK_THROWS_AS(parse_utc_offset("+25:00"), std::invalid_argument);
}

TEST_CASE("the sign-in day turns over at local midnight", "[db]") {
    // 2026-11-25 15:59:59 UTC is 23:59:59 in +08:00; one second later is the next local day.
    const int64_t t = 1795622399;
    CHECK(day_of(t + 1, 480) == day_of(t, 480) + 1);
    CHECK(day_of(t + 1, 0) == day_of(t, 0));
    CHECK(day_of(-1, 0) == -1);
}

TEST_CASE("the sign-in streak grows daily, resets after a missed day and cycles after 7", "[db]") {
    auto s = sign_in_state(0, 0, 100);
    CHECK(s.can);
    CHECK(s.next_day == 1);
    s = sign_in_state(100, 1, 100);  // already today
    CHECK_FALSE(s.can);
    CHECK(s.streak == 1);
    s = sign_in_state(100, 1, 101);  // next day
    CHECK(s.can);
    CHECK(s.next_day == 2);
    s = sign_in_state(100, 3, 102);  // a day missed
    CHECK(s.can);
    CHECK(s.streak == 0);
    CHECK(s.next_day == 1);
    s = sign_in_state(100, 7, 101);  // after day 7: day 1 again
    CHECK(s.next_day == 1);
}

TEST_CASE("gomoku: a loser short of a unit pays what they have", "[db]") {
    const std::vector<Transfer> t{{2, 1, 100}};
    auto d = clamp_transfers(t, {{1, 500}, {2, 40}});
    CHECK(d[1] == 40);
    CHECK(d[2] == -40);
    d = clamp_transfers(t, {{1, 500}, {2, 1000}});
    CHECK(d[1] == 100);
    CHECK(d[2] == -100);
}

TEST_CASE("landlords: a landlord short of two units pays each farmer half, rounded down", "[db]") {
    // Landlord 1 loses: pays 300 to each of 2 and 3, but has only 451.
    const std::vector<Transfer> t{{1, 2, 300}, {1, 3, 300}};
    auto d = clamp_transfers(t, {{1, 451}, {2, 0}, {3, 10}});
    CHECK(d[2] == 225);
    CHECK(d[3] == 225);
    CHECK(d[1] == -450);
    // Landlord wins: each farmer pays one unit; a poor farmer pays what they have.
    const std::vector<Transfer> w{{2, 1, 300}, {3, 1, 300}};
    d = clamp_transfers(w, {{1, 0}, {2, 1000}, {3, 120}});
    CHECK(d[1] == 420);
    CHECK(d[2] == -300);
    CHECK(d[3] == -120);
}

TEST_CASE("clamped rounds are zero-sum and never overdraw, whatever the balances", "[db]") {
    for (int64_t b1 = 0; b1 < 50; b1 += 7) {
        for (int64_t b2 = 0; b2 < 50; b2 += 5) {
            const std::vector<Transfer> t{{1, 2, 17}, {1, 3, 17}, {2, 3, 9}};
            const std::map<int64_t, int64_t> bal{{1, b1}, {2, b2}, {3, 3}};
            const auto d = clamp_transfers(t, bal);
            int64_t sum = 0;
            for (const auto& [u, v] : d) {
                sum += v;
                CHECK(bal.at(u) + v >= 0);
            }
            CHECK(sum == 0);
        }
    }
}

TEST_CASE("invalid transfers are refused", "[db]") {
    CHECK(valid_transfers({{1, 2, 5}}));
    CHECK_FALSE(valid_transfers({{1, 1, 5}}));
    CHECK_FALSE(valid_transfers({{1, 2, 0}}));
    CHECK_FALSE(valid_transfers({{1, 2, -5}}));
    CHECK_FALSE(valid_transfers({{0, 2, 5}}));
}

TEST_CASE("accounts and names follow the protocol's field rules", "[db]") {
    CHECK(valid_account("ann_1.x@y-z"));
    CHECK_FALSE(valid_account(""));
    CHECK_FALSE(valid_account(std::string(33, 'a')));
    CHECK_FALSE(valid_account("ann bob"));
    CHECK_FALSE(valid_account("ann'; DROP"));
    CHECK(valid_name("斗地主玩家"));
    CHECK_FALSE(valid_name(""));
    CHECK_FALSE(valid_name("\xff"));
    CHECK_FALSE(valid_name("a\nb"));
    CHECK_FALSE(valid_name(std::string(33, 'a')));
}

TEST_CASE("migrations are embedded in order and split into statements", "[db]") {
    const auto& all = migrations();
    REQUIRE_FALSE(all.empty());
    CHECK(all[0].version == 1);
    for (std::size_t i = 1; i < all.size(); ++i) CHECK(all[i].version > all[i - 1].version);
    const auto stmts = split_sql(all[0].sql);
    CHECK(stmts.size() == 5);
    for (const auto& s : stmts) CHECK(s.find("CREATE TABLE") != std::string::npos);
    CHECK(split_sql("-- only a comment\nSELECT 1;\nSELECT 2;\n").size() == 2);
}
