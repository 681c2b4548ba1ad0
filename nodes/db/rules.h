#pragma once
// The db node's pure rules, apart from any storage so they are tested exhaustively:
// password hashing, the sign-in calendar, and the settlement clamp of a round.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "nodes/common/db_api.h"

namespace tb::db {

// PBKDF2-HMAC-SHA256 (OpenSSL) of `password` with `salt`: 32 bytes. Any thread.
std::string hash_password(std::string_view password, std::string_view salt, int iterations);
// `n` bytes from OpenSSL's CSPRNG. Throws std::runtime_error if it fails.
std::string random_bytes(std::size_t n);
// Constant-time comparison, so a timing side channel cannot guess a hash byte by byte.
bool equal_secret(std::string_view a, std::string_view b) noexcept;

// Parses "+08:00" / "-05:30" / "Z" / "UTC" into minutes east of UTC; throws
// std::invalid_argument naming the value.
int parse_utc_offset(std::string_view text);
// The calendar day (days since 1970-01-01) of `unix_seconds` in a zone `offset_minutes` east.
int64_t day_of(int64_t unix_seconds, int offset_minutes) noexcept;

// The sign-in state machine (a 7-day cycle): what a user with `last_day`/`streak` (0 when
// never signed in) may do on `today`, and the streak a sign-in today gives.
struct SignInState {
    bool can = false;      // not yet signed in today
    int32_t streak = 0;    // the streak as of today (0 after a missed day)
    int32_t next_day = 1;  // the day of the cycle a sign-in today would be (1..7)
};
SignInState sign_in_state(int64_t last_day, int32_t streak, int64_t today) noexcept;

// Settlement clamp: each payer pays at most their balance. A payer whose transfers total more
// than the balance pays each of them amount * balance / total, rounded down, so the round stays
// zero-sum and nobody goes below zero. Returns the delta per user (every user in `transfers`
// appears, possibly with 0). Transfers with a non-positive amount or from == to are invalid:
// the caller rejects them before (see valid_transfers).
std::map<int64_t, int64_t> clamp_transfers(const std::vector<common::Transfer>& transfers,
                                           const std::map<int64_t, int64_t>& balances);
bool valid_transfers(const std::vector<common::Transfer>& transfers) noexcept;

// Account: 1..32 of [A-Za-z0-9_.@-]. Name: 1..32 bytes of UTF-8 without control characters.
bool valid_account(std::string_view account) noexcept;
bool valid_name(std::string_view name) noexcept;

}  // namespace tb::db
