#include "tools/play/options.h"

#include <CLI/CLI.hpp>
#include <cctype>

#include "codec/messages.h"
#include "tools/bot/options.h"

namespace tb::play {

std::string_view game_name(Game g) noexcept {
    return g == Game::kGomoku ? "gomoku" : "landlords";
}

int32_t game_type_of(Game g) noexcept {
    return g == Game::kGomoku ? codec::kGameTypeGomoku : codec::kGameTypeLandlords;
}

bool valid_account(std::string_view account) noexcept {
    if (account.empty() || account.size() > 32) return false;
    for (const char ch : account) {
        const auto u = static_cast<unsigned char>(ch);
        if (std::isalnum(u) == 0 && ch != '_' && ch != '.' && ch != '@' && ch != '-') return false;
    }
    return true;
}

std::string machine_id_for(std::string_view account) {
    // FNV-1a 64: only stability and spread matter here, not secrecy (see the header).
    uint64_t h = 0xcbf29ce484222325ull;
    for (const char ch : account) {
        h ^= static_cast<unsigned char>(ch);
        h *= 0x100000001b3ull;
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = "tb-play-";
    for (int shift = 60; shift >= 0; shift -= 4) out += kHex[(h >> shift) & 0xF];
    return out;
}

ParseResult parse_options(int argc, const char* const* argv, PlayOptions& out) {
    CLI::App app{
        "tb-play: play gomoku or Dou Dizhu (landlords) from a terminal against people and robots\n"
        "on a tablebus cluster. Type `help` once it runs for the game's commands; the board or\n"
        "the table is printed as plain text after every change, so it also works in a pipe.\n"
        "Exit status: 0 after `quit` (or the end of input), 1 when the server refuses the\n"
        "login or kicks the session, 2 for bad arguments."};
    std::string game = "gomoku";
    app.add_option("--proxy", out.proxy, "the proxy's client port, HOST:PORT")->required();
    app.add_option("--account", out.account,
                   "account to register on first use, then log in to: 1-32 of [A-Za-z0-9_.@-]")
        ->required();
    app.add_option("--game", game, "gomoku | landlords")
        ->required()
        ->check(CLI::IsMember({"gomoku", "landlords"}));
    app.add_option("--password", out.password,
                   "password of the account; without one it is a device (guest) account bound to "
                   "a machine id derived from the account name");
    app.add_option("--level", out.level, "GameLevel (1-4: novice ... expert)")
        ->capture_default_str()
        ->check(CLI::Range(1, 4));
    app.add_option("--json-log", out.json_log,
                   "append every frame sent and received to FILE, one JSON object a line");
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        return {ParseStatus::kHelp, app.help()};
    } catch (const CLI::ParseError& e) {
        return {ParseStatus::kError, e.what()};
    }
    out.game = game == "landlords" ? Game::kLandlords : Game::kGomoku;
    std::string why;
    if (!bot::split_host_port(out.proxy, out.host, out.port, why))
        return {ParseStatus::kError, why};
    if (!valid_account(out.account)) {
        return {ParseStatus::kError,
                "--account '" + out.account + "': 1-32 characters from [A-Za-z0-9_.@-]"};
    }
    if (out.password.size() > 64) return {ParseStatus::kError, "--password: at most 64 bytes"};
    out.machine = machine_id_for(out.account);
    return {};
}

}  // namespace tb::play
