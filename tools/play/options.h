#pragma once
// tb-play's command line: where the proxy is, who plays and which game. Parsing and validation
// live apart from main.cc so unit tests can check what is refused (exit status 2) without a
// server.

#include <cstdint>
#include <string>
#include <string_view>

namespace tb::play {

enum class Game : uint8_t { kGomoku, kLandlords };

std::string_view game_name(Game g) noexcept;
// The wire GameType (PROTOCOL.md §4.3): landlords 1, gomoku 2.
int32_t game_type_of(Game g) noexcept;

struct PlayOptions {
    std::string proxy;  // as given: HOST:PORT
    std::string host;   // split out of `proxy` ([v6] brackets removed)
    uint16_t port = 0;
    std::string account;
    std::string password;  // empty: a device (guest) account bound to `machine`
    std::string machine;   // derived from the account (machine_id_for) unless a password is given
    Game game = Game::kGomoku;
    int32_t level = 1;
    std::string json_log;  // a file that gets one JSON line per frame in and out; "" for none
};

enum class ParseStatus : uint8_t { kOk, kHelp, kError };

struct ParseResult {
    ParseStatus status = ParseStatus::kOk;
    std::string message;  // the help text, or what was wrong
};

// Parses and validates argv; on kOk `out` is complete (machine id filled in).
ParseResult parse_options(int argc, const char* const* argv, PlayOptions& out);

// PROTOCOL.md §4.2: 1-32 characters from [A-Za-z0-9_.@-].
bool valid_account(std::string_view account) noexcept;

// The Machine of a device account: stable for an account (so the same person logs in again from
// any run of tb-play), at least 16 characters as the protocol asks. It is derived from the
// account alone, so anyone who knows the account name can play it: a person who cares uses
// --password.
std::string machine_id_for(std::string_view account);

}  // namespace tb::play
