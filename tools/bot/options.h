#pragma once
// tb-bot's command line: what to run (mode, players, duration, pacing) and where (the proxy).
// Parsing and validation live here, apart from main.cc, so tests can check that bad input is
// refused (exit status 2) without starting anything.

#include <cstdint>
#include <string>
#include <string_view>

#include "codec/frame.h"

namespace tb::bot {

enum class ModeKind : uint8_t { kIdle, kLogin, kChaos, kGomoku, kLandlords };

std::string_view mode_name(ModeKind m) noexcept;
bool is_game_mode(ModeKind m) noexcept;

// How a game bot chooses its actions: the rule library's robot strategy (the one the server's
// robots and trustee use), or uniformly among the legal actions.
enum class Strategy : uint8_t { kRobot, kRandom };

std::string_view strategy_name(Strategy s) noexcept;

struct BotOptions {
    std::string proxy;  // as given: HOST:PORT
    std::string host;   // split out of `proxy` ([v6] brackets removed)
    uint16_t port = 0;
    ModeKind mode = ModeKind::kIdle;
    int players = 0;
    double duration_s = 0;
    double rate = 0;   // logins (connects in idle mode) per second overall; 0: no cap
    int think_ms = 0;  // login mode: pause between logins; game modes: before each action
    int level = 1;     // game modes: the GameLevel to FastLogin at
    Strategy strategy = Strategy::kRobot;  // game modes
    bool json = false;
    std::string account_prefix;  // empty until finalize(): then "bot<run_id>_" unless given
    codec::Magic encoding = codec::Magic::kJson;
    uint64_t seed = 0;
    bool seed_given = false;
    int threads = 1;
    int timeout_ms = 10000;  // a request unanswered this long is an error
    int inflight = 64;       // connects + logins outstanding at once per thread (ramp guard)
    std::string run_id;      // random hex 6 unless given
};

// What a game mode needs from the command line.
struct GameSettings {
    int level = 1;
    Strategy strategy = Strategy::kRobot;
};

enum class ParseStatus : uint8_t { kOk, kHelp, kError };

struct ParseResult {
    ParseStatus status = ParseStatus::kOk;
    std::string message;  // the help text, or what was wrong
};

// Parses and validates argv. On kOk `out` is complete: run id, account prefix and seed are filled
// in (randomly where not given).
ParseResult parse_options(int argc, const char* const* argv, BotOptions& out);

// HOST:PORT, [V6]:PORT. False with a reason when it is not one.
bool split_host_port(std::string_view text, std::string& host, uint16_t& port, std::string& why);

// File descriptors a run needs beyond one per player (listening for nothing, but epoll, stdio,
// the resolver and some slack).
inline constexpr int kReservedFds = 64;

// Whether `players` connections fit under `hard_limit` open files; the message says what to do
// when they do not.
bool fits_fd_limit(int players, uint64_t hard_limit, std::string& why);

// An account name the protocol accepts: 1-32 characters from [A-Za-z0-9_.@-].
bool valid_account(std::string_view account) noexcept;

// The device id sent as Machine: 20 characters, stable for one (account, run id) pair so a
// device account logs in again from the same "device" throughout a run.
std::string machine_id(std::string_view account, std::string_view run_id);

}  // namespace tb::bot
