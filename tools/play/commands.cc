#include "tools/play/commands.h"

#include <cctype>
#include <charconv>
#include <vector>

#include "codec/errors.h"
#include "nodes/game/gomoku/gomoku_rules.h"
#include "nodes/game/landlords/classify.h"

namespace tb::play {

namespace ll = game::landlords;

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return out;
}

std::vector<std::string_view> split_words(std::string_view s) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i])) != 0) ++i;
        const std::size_t start = i;
        while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i])) == 0) ++i;
        if (i > start) out.push_back(s.substr(start, i - start));
    }
    return out;
}

std::optional<int> to_int(std::string_view s) {
    int v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return v;
}

Command cmd(CommandKind kind) {
    Command c;
    c.kind = kind;
    return c;
}

ParsedCommand ok(Command c) {
    return {std::move(c), {}};
}
ParsedCommand bad(std::string why) {
    return {std::nullopt, std::move(why)};
}

std::string type_names() {
    std::string out;
    for (int t = 0; t < ll::kPlayTypes; ++t) {
        if (t > 0) out += ", ";
        out += ll::type_name(static_cast<ll::PlayType>(t));
    }
    return out;
}

// Cards as typed: the notation in any case, "10" accepted for the ten.
std::optional<ll::Counts> parse_cards(std::string_view text) {
    std::string up;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '1' && i + 1 < text.size() && text[i + 1] == '0') {
            up += 'T';
            ++i;
            continue;
        }
        up += static_cast<char>(std::toupper(static_cast<unsigned char>(text[i])));
    }
    return ll::parse_notation(up);
}

constexpr std::string_view kCellHint =
    "columns are a-o and rows 1-15 (e.g. h8), or give PositionX PositionY as two numbers 0-14 "
    "(e.g. 7 7)";

std::string_view trim(std::string_view s) {
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return {};
    const auto last = s.find_last_not_of(" \t\r\n");
    return s.substr(first, last - first + 1);
}

// `w`: the words lower-cased; `text`: the trimmed line as typed.
ParsedCommand parse_gomoku(const std::vector<std::string_view>& w, std::string_view text) {
    const std::string_view verb = w[0];
    if (verb == "resign") {
        if (w.size() != 1) return bad("resign takes nothing after it");
        return ok(cmd(CommandKind::kResign));
    }
    // "place h8" / "move h8" read like the bare cell.
    std::string_view cell_text = text;
    if (verb == "place" || verb == "move") {
        if (w.size() < 2)
            return bad(std::string(verb) + " needs a cell: " + std::string(kCellHint));
        cell_text = trim(text.substr(verb.size()));
    }
    const auto cell = parse_cell(cell_text);
    if (!cell) {
        return bad("'" + std::string(cell_text) + "' is not a command or a cell: " +
                   std::string(kCellHint) + "; 'help' lists the commands");
    }
    Command c = cmd(CommandKind::kPlace);
    c.x = cell->first;
    c.y = cell->second;
    return ok(c);
}

// `w`: the words lower-cased; `typed`: the same words as typed (cards are shown as typed).
ParsedCommand parse_landlords(const std::vector<std::string_view>& w,
                              const std::vector<std::string_view>& typed) {
    const std::string verb(w[0]);
    if (verb == "bid" || verb == "call") {
        if (w.size() != 2) return bad("bid needs one score: bid 1, bid 2 or bid 3 (bid 0 passes)");
        const auto score = to_int(w[1]);
        if (!score || *score < 0 || *score > 3) {
            return bad("bid '" + std::string(w[1]) + "': a score 0 (pass) to 3");
        }
        Command c = cmd(CommandKind::kBid);
        c.score = *score;
        return ok(c);
    }
    if (verb == "pass") {
        if (w.size() != 1) return bad("pass takes nothing after it");
        return ok(cmd(CommandKind::kPass));
    }
    if (verb == "?" || verb == "hint" || verb == "hints") return ok(cmd(CommandKind::kHint));
    if (verb == "trustee") {
        if (w.size() == 2 && (w[1] == "on" || w[1] == "off")) {
            Command c = cmd(CommandKind::kTrustee);
            c.on = w[1] == "on";
            return ok(c);
        }
        return bad("trustee on | trustee off");
    }
    if (verb == "play") {
        if (w.size() < 2 || w.size() > 3) {
            return bad("play CARDS [TYPE], e.g. play 33344 or play 333444555666 airplane_single");
        }
        const auto cards = parse_cards(typed[1]);
        if (!cards) {
            return bad("'" + std::string(typed[1]) +
                       "' is not a set of cards: write ranks as 3456789TJQKA2BR (T the ten, "
                       "B and R the small and big joker), at most four of a rank");
        }
        Command c = cmd(CommandKind::kPlay);
        c.cards = *cards;
        if (w.size() == 3) {
            const auto type = ll::type_from_name(w[2]);
            if (!type) {
                return bad("unknown play type '" + std::string(typed[2]) + "': one of " +
                           type_names());
            }
            c.type = std::string(ll::type_name(*type));
        }
        return ok(c);
    }
    return bad("unknown command '" + verb + "'; 'help' lists the commands");
}

}  // namespace

std::optional<std::pair<int, int>> parse_cell(std::string_view text) {
    const std::string t = lower(text);
    const auto words = split_words(t);
    if (words.size() == 1 && words[0].size() >= 2 && words[0][0] >= 'a' && words[0][0] <= 'z') {
        const int x = words[0][0] - 'a';
        const auto row = to_int(words[0].substr(1));
        if (!row || !game::gomoku::Board::inside(x, *row - 1)) return std::nullopt;
        return std::pair{x, *row - 1};
    }
    std::string_view xs, ys;
    if (words.size() == 2) {
        xs = words[0];
        ys = words[1];
    } else if (words.size() == 1 && words[0].find(',') != std::string_view::npos) {
        const auto comma = words[0].find(',');
        xs = words[0].substr(0, comma);
        ys = words[0].substr(comma + 1);
    } else {
        return std::nullopt;
    }
    const auto x = to_int(xs);
    const auto y = to_int(ys);
    if (!x || !y || !game::gomoku::Board::inside(*x, *y)) return std::nullopt;
    return std::pair{*x, *y};
}

std::string cell_name(int x, int y) {
    return std::string(1, static_cast<char>('a' + x)) + std::to_string(y + 1);
}

ParsedCommand parse_command(Game game, std::string_view line) {
    const std::string text = lower(line);
    const auto words = split_words(text);
    const auto typed = split_words(line);
    if (words.empty()) return ok(cmd(CommandKind::kNothing));
    const std::string_view verb = words[0];
    const bool bare = words.size() == 1;
    if (verb == "help" || verb == "quit" || verb == "exit" || verb == "ready" || verb == "show") {
        if (!bare) return bad(std::string(verb) + " takes nothing after it");
        if (verb == "help") return ok(cmd(CommandKind::kHelp));
        if (verb == "ready") return ok(cmd(CommandKind::kReady));
        if (verb == "show") return ok(cmd(CommandKind::kShow));
        return ok(cmd(CommandKind::kQuit));
    }
    if (game == Game::kGomoku) {
        if (verb == "?" || verb == "hint") {
            if (!bare) return bad(std::string(verb) + " takes nothing after it");
            return ok(cmd(CommandKind::kHint));
        }
        if (verb == "bid" || verb == "play" || verb == "pass" || verb == "trustee") {
            return bad("'" + std::string(verb) +
                       "' is a landlords command; this is gomoku: type a cell like h8, or "
                       "'help'");
        }
        return parse_gomoku(words, trim(line));
    }
    if (verb == "resign") {
        return bad(
            "landlords has no resign: play or pass, or 'trustee on' to let the server "
            "play for you");
    }
    return parse_landlords(words, typed);
}

std::string help_text(Game game) {
    std::string out;
    if (game == Game::kGomoku) {
        out =
            "Gomoku: five or more stones in a row (across, down or diagonal) win.\n"
            "  h8            place a stone: column h, row 8, as the board is labelled\n"
            "  7 7           the same with PositionX PositionY, 0-14 (also 7,7 or place h8)\n"
            "  resign        give up the running game\n"
            "  ?             the robot strategy's suggestion (also: hint)\n";
    } else {
        out =
            "Dou Dizhu (landlords): cards are written 3456789TJQKA2BR (T ten, B/R jokers).\n"
            "  bid N         bid 1, 2 or 3 (higher than the highest bid); bid 0 passes\n"
            "  pass          pass (in bidding: bid 0)\n"
            "  play CARDS [TYPE]\n"
            "                play cards from your hand, e.g. play 33344, play 10JQKA;\n"
            "                TYPE picks the reading when you lead, e.g.\n"
            "                play 333444555666 airplane_single\n"
            "  ?             legal plays and the robot strategy's suggestion (also: hint)\n"
            "  trustee on|off  let the server play for you, or stop it\n";
    }
    out +=
        "  show          print the board / table again\n"
        "  ready         ready for the next game (sent by itself when you sit down or a\n"
        "                game ends)\n"
        "  help          this text\n"
        "  quit          stand up and leave (also Ctrl-D or Ctrl-C)\n";
    return out;
}

std::string errno_message(int32_t err_no) {
    switch (err_no) {
        case 0: return "ok";
        case 1: return "the server could not do it";
        case 2: return "the server could not read the message";
        case 3: return "the server does not know this command";
        case 4: return "not logged in";
        case 5: return "wrong password for this account";
        case 6: return "too many failed logins; try again later";
        case 7: return "no game server for this game and level";
        case 8: return "the server timed out; try again";
        case 9: return "you are seated in another game";
        case 10: return "not your turn";
        case 11: return "illegal move or play";
        case 12: return "not enough score for this level";
        case 13: return "wrong table status: no game is running, or not in this phase";
        case 14: return "you are not seated at a table";
        case 15: return "the server's storage is unavailable; try again later";
        case 16: return "too many requests; slow down";
        case 17: return "the server is draining (shutting down)";
        case 18: return "kicked: logged in elsewhere, or by an admin";
        case 19: return "a value is not allowed";
        case 20: return "signature or ticket invalid";
        default: return "error " + std::to_string(err_no);
    }
}

std::string refusal_text(std::string_view what, int32_t err_no, std::string_view errdesc) {
    std::string out = std::string(what) + " refused: " + errno_message(err_no) + " (Errno " +
                      std::to_string(err_no) + ")";
    const bool standard =
        errdesc.empty() || (err_no >= 0 && err_no <= codec::kMaxKnownErrno &&
                            errdesc == codec::errno_text(static_cast<codec::Errno>(err_no)));
    if (!standard) out += ": " + std::string(errdesc);
    return out;
}

}  // namespace tb::play
