#include "tools/bot/options.h"

#include <CLI/CLI.hpp>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <random>

namespace tb::bot {

std::string_view mode_name(ModeKind m) noexcept {
    switch (m) {
        case ModeKind::kIdle: return "idle";
        case ModeKind::kLogin: return "login";
        case ModeKind::kChaos: return "chaos";
        case ModeKind::kGomoku: return "gomoku";
        case ModeKind::kLandlords: return "landlords";
    }
    return "?";
}

bool is_game_mode(ModeKind m) noexcept {
    return m == ModeKind::kGomoku || m == ModeKind::kLandlords;
}

std::string_view strategy_name(Strategy s) noexcept {
    return s == Strategy::kRandom ? "random" : "robot";
}

bool split_host_port(std::string_view text, std::string& host, uint16_t& port, std::string& why) {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
        why = "--proxy must be HOST:PORT, got '" + std::string(text) + "'";
        return false;
    }
    std::string_view h = text.substr(0, colon);
    const std::string_view p = text.substr(colon + 1);
    if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
    if (h.empty() || h.find_first_of(" \t[]") != std::string_view::npos) {
        why = "--proxy has no usable host in '" + std::string(text) + "'";
        return false;
    }
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
    if (p.empty() || ec != std::errc() || end != p.data() + p.size() || value == 0 ||
        value > 65535) {
        why = "--proxy port must be 1..65535, got '" + std::string(p) + "'";
        return false;
    }
    host = std::string(h);
    port = static_cast<uint16_t>(value);
    return true;
}

bool fits_fd_limit(int players, uint64_t hard_limit, std::string& why) {
    const uint64_t need = static_cast<uint64_t>(players) + kReservedFds;
    if (need <= hard_limit) return true;
    why = "--players " + std::to_string(players) + " needs about " + std::to_string(need) +
          " open files but this process may open at most " + std::to_string(hard_limit) +
          " (RLIMIT_NOFILE hard limit): use at most " +
          std::to_string(hard_limit > kReservedFds ? hard_limit - kReservedFds : 0) +
          " players per tb-bot, or run several tb-bot processes";
    return false;
}

bool valid_account(std::string_view account) noexcept {
    if (account.empty() || account.size() > 32) return false;
    for (const char ch : account) {
        const auto u = static_cast<unsigned char>(ch);
        if (std::isalnum(u) == 0 && ch != '_' && ch != '.' && ch != '@' && ch != '-') return false;
    }
    return true;
}

std::string machine_id(std::string_view account, std::string_view run_id) {
    // FNV-1a 64 over "run id/account": no need for strength, only for stability and spread.
    uint64_t h = 0xcbf29ce484222325ull;
    auto mix = [&h](std::string_view s) {
        for (const char ch : s) {
            h ^= static_cast<unsigned char>(ch);
            h *= 0x100000001b3ull;
        }
    };
    mix(run_id);
    mix("/");
    mix(account);
    char buf[21];
    std::snprintf(buf, sizeof buf, "bot-%016llx", static_cast<unsigned long long>(h));
    return buf;
}

namespace {

std::string random_hex(std::size_t digits) {
    std::random_device rd;
    std::string out;
    static constexpr char kHex[] = "0123456789abcdef";
    for (std::size_t i = 0; i < digits; ++i) out += kHex[rd() % 16];
    return out;
}

}  // namespace

ParseResult parse_options(int argc, const char* const* argv, BotOptions& out) {
    CLI::App app{
        "tb-bot: robot clients over real TCP against a tablebus proxy.\n"
        "Modes: idle (hold N logged-in connections), login (register/login churn),\n"
        "chaos (malformed and abusive clients; they expect to be closed or refused),\n"
        "gomoku and landlords (play whole games, ready again after each)."};
    std::string mode = "idle";
    std::string strategy = "robot";
    std::string encoding = "json";
    std::string seed_text;
    app.add_option("--proxy", out.proxy, "the proxy's client port, HOST:PORT")->required();
    app.add_option("--mode", mode, "idle | login | chaos | gomoku | landlords")
        ->capture_default_str()
        ->check(CLI::IsMember({"idle", "login", "chaos", "gomoku", "landlords"}));
    app.add_option("--players", out.players, "simultaneous bots (connections)")->required();
    app.add_option("--duration", out.duration_s, "seconds to run")->required();
    app.add_option("--rate", out.rate,
                   "cap on logins per second overall (idle: on the initial logins); 0: none")
        ->capture_default_str();
    app.add_option("--think-ms", out.think_ms,
                   "pause between a bot's logins (login mode); before each action (game modes)")
        ->capture_default_str();
    app.add_option("--level", out.level, "game modes: the GameLevel to play at")
        ->capture_default_str();
    app.add_option("--strategy", strategy,
                   "game modes: robot (the rule library's robot strategy) | random (uniform "
                   "over the legal actions)")
        ->capture_default_str()
        ->check(CLI::IsMember({"robot", "random"}));
    app.add_flag("--json", out.json, "print only one JSON object with the results on stdout");
    app.add_option("--account-prefix", out.account_prefix,
                   "account names are prefix + bot index (default bot<runid>_)");
    app.add_option("--encoding", encoding, "json (magic 0x5277) | msgpack (0x5278)")
        ->capture_default_str()
        ->check(CLI::IsMember({"json", "msgpack"}));
    app.add_option("--seed", seed_text, "seed for the bots' random choices (default: random)");
    app.add_option("--threads", out.threads, "event loops (each drives players / threads bots)")
        ->capture_default_str();
    app.add_option("--timeout-ms", out.timeout_ms, "a request unanswered this long is an error")
        ->capture_default_str();
    app.add_option("--inflight", out.inflight,
                   "connects + logins outstanding at once per thread, so a big ramp does not "
                   "overflow the proxy's accept backlog")
        ->capture_default_str();
    app.add_option("--run-id", out.run_id,
                   "the run id (default: random hex 6); Machine ids derive from it, so reuse it "
                   "with --account-prefix to log the same device accounts in again");
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        return {ParseStatus::kHelp, app.help()};
    } catch (const CLI::ParseError& e) {
        return {ParseStatus::kError, e.what()};
    }

    auto fail = [](std::string why) { return ParseResult{ParseStatus::kError, std::move(why)}; };
    std::string why;
    if (!split_host_port(out.proxy, out.host, out.port, why)) return fail(why);
    out.mode = mode == "login"       ? ModeKind::kLogin
               : mode == "chaos"     ? ModeKind::kChaos
               : mode == "gomoku"    ? ModeKind::kGomoku
               : mode == "landlords" ? ModeKind::kLandlords
                                     : ModeKind::kIdle;
    out.strategy = strategy == "random" ? Strategy::kRandom : Strategy::kRobot;
    out.encoding = encoding == "msgpack" ? codec::Magic::kMsgpack : codec::Magic::kJson;
    if (out.players <= 0) return fail("--players must be at least 1");
    if (!(out.duration_s > 0) || out.duration_s > 7 * 24 * 3600.0)
        return fail("--duration must be a positive number of seconds");
    if (!(out.rate >= 0)) return fail("--rate must be >= 0");
    if (out.think_ms < 0) return fail("--think-ms must be >= 0");
    // GameLevel is a small positive number (1-4 in the shipped config); the server refuses a
    // level it does not host, so only what can never be a level is refused here.
    if (out.level < 1 || out.level > 1000) return fail("--level must be 1..1000");
    if (out.threads < 1 || out.threads > 64) return fail("--threads must be 1..64");
    if (out.timeout_ms < 1) return fail("--timeout-ms must be positive");
    if (out.inflight < 1) return fail("--inflight must be positive");
    if (!seed_text.empty()) {
        const auto [end, ec] =
            std::from_chars(seed_text.data(), seed_text.data() + seed_text.size(), out.seed);
        if (ec != std::errc() || end != seed_text.data() + seed_text.size())
            return fail("--seed must be an unsigned integer");
        out.seed_given = true;
    } else {
        out.seed = (static_cast<uint64_t>(std::random_device{}()) << 32) | std::random_device{}();
    }
    if (out.run_id.empty()) {
        out.run_id = random_hex(6);
    } else if (out.run_id.size() > 16 || !valid_account(out.run_id)) {
        return fail("--run-id must be 1..16 characters from [A-Za-z0-9_.@-]");
    }
    if (out.account_prefix.empty()) out.account_prefix = "bot" + out.run_id + "_";
    // The longest account is the prefix plus the last index; every account must be valid.
    const std::string last = out.account_prefix + std::to_string(out.players - 1);
    if (!valid_account(last))
        return fail("--account-prefix gives accounts like '" + last +
                    "': an account is 1-32 characters from [A-Za-z0-9_.@-]");
    return {};
}

}  // namespace tb::bot
