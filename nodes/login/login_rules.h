#pragma once
// The login node's pure rules, apart from the bus so they are tested exhaustively: which
// FastRegister fields are acceptable (docs/PROTOCOL.md §4.2) and the defaults a client may leave
// out, the GameID of a game node's identity, and the Top of a Ranking request.
//
// The db node checks accounts again before it writes; checking here as well answers a bad field
// without a round trip to storage, and lets the limits that are the protocol's (rather than the
// schema's) live next to the protocol's other login rules.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "codec/messages.h"
#include "nodes/common/db_api.h"
#include "nodes/common/proxy_api.h"

namespace tb::login {

inline constexpr std::size_t kMaxAccountBytes = 32;
inline constexpr std::size_t kMaxNameBytes = 32;
inline constexpr std::size_t kMaxPasswordBytes = 64;
inline constexpr std::size_t kMaxMachineBytes = 128;
// The proxy writes IP from the connection; an IPv6 text address is at most 45 bytes.
inline constexpr std::size_t kMaxIpBytes = 64;

inline constexpr int32_t kGenderMale = 1;
inline constexpr int32_t kGenderFemale = 2;
inline constexpr int32_t kGenderUnknown = 3;

inline constexpr int32_t kDefaultRankingTop = 10;
using common::kMaxRankingTop;

// Account: 1..32 characters of [A-Za-z0-9_.@-].
bool valid_account(std::string_view account) noexcept;
// Name: 1..32 bytes of UTF-8 with no control characters (it is shown to other players).
bool valid_name(std::string_view name) noexcept;

// The outcome of checking a FastRegister.
struct RegisterCheck {
    // Empty when the request is acceptable; otherwise a short client-facing Errdesc for Errno 19
    // (a static string: it never echoes the client's input).
    std::string_view error;
    // The db request with the protocol's defaults applied: an empty Name becomes the Account,
    // Gender 0 becomes 3 (unknown). Meaningful only when ok().
    common::RegisterRequest request;

    bool ok() const noexcept { return error.empty(); }
};

// Checks every FastRegister field. A device account (empty Password) needs a Machine; the
// protocol tells clients to use at least 16 characters, but any non-empty Machine is accepted
// so that a shipped client with a shorter device id is not locked out.
RegisterCheck check_register(const codec::FastRegisterRequest& in);

// The GameID of a game node's bus identity (nodes/common/proxy_api.h).
using common::game_id_of_node;

// The Top a Ranking asks for: 0 (left out) means 10, 1..100 as given, anything else nullopt.
std::optional<int32_t> ranking_top(int32_t top) noexcept;

}  // namespace tb::login
