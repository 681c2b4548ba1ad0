#pragma once
// What a person types into tb-play, one command a line, and the texts tb-play answers with:
// `help`, and a clear sentence for every Errno the server can send (PROTOCOL.md §2). Parsing
// checks only the form of a command (a cell on the board, a bid 0..3, cards in the notation,
// a known play type); whether the move is legal now is the server's to say. Pure functions.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "nodes/game/landlords/cards.h"
#include "tools/play/options.h"

namespace tb::play {

enum class CommandKind : uint8_t {
    kNothing,  // an empty line
    kHelp,
    kQuit,
    kReady,
    kShow,  // print the board / table again
    // gomoku
    kPlace,
    kResign,
    // landlords
    kBid,
    kPass,
    kPlay,
    kTrustee,
    kHint,
};

struct Command {
    CommandKind kind = CommandKind::kNothing;
    int x = 0;                      // kPlace: PositionX (column), 0..14
    int y = 0;                      // kPlace: PositionY (row), 0..14
    int score = 0;                  // kBid: 0 (pass) .. 3
    game::landlords::Counts cards;  // kPlay
    std::string type;               // kPlay: a play type name, or "" to let the server read it
    bool on = false;                // kTrustee
};

struct ParsedCommand {
    std::optional<Command> command;  // nullopt: `error` says what is wrong, nothing is sent
    std::string error;
};

// One input line (a trailing '\r' and surrounding blanks are ignored; case does not matter).
ParsedCommand parse_command(Game game, std::string_view line);

// gomoku cells: "h8" is column h (PositionX 7), row 8 (PositionY 7), as the board is labelled;
// "7 7" or "7,7" are PositionX PositionY as on the wire, 0..14.
std::optional<std::pair<int, int>> parse_cell(std::string_view text);
// "h8" for (7, 7).
std::string cell_name(int x, int y);

// The `help` text for one game.
std::string help_text(Game game);

// A sentence for a server Errno, e.g. 10 -> "not your turn". Values this build does not know
// (a newer server) still read as a failure: "error 42".
std::string errno_message(int32_t err_no);

// What the person is told when a request fails: "<what> refused: <errno_message> (Errno N)",
// with the server's Errdesc added when it says more than the standard text.
std::string refusal_text(std::string_view what, int32_t err_no, std::string_view errdesc);

}  // namespace tb::play
