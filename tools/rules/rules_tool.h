#pragma once
// tb-rules: the game rule engines and robot strategies from the command line (docs/RULES.md
// "tb-rules"). The commands live here, in tb_rules_cli, so tests run them on in-memory files;
// main.cc only passes the process's argv and standard streams.
//
//   tb-rules classify CARDS | classify --batch      readings of Dou Dizhu plays
//   tb-rules beats PLAY LAST [--last-type TYPE]      does PLAY beat LAST, as which reading
//   tb-rules hint HAND [LAST] [--farmer|--partner]   legal plays and the strategy's choice
//   tb-rules simulate --game gomoku|landlords [--games N] [--seed S] [--json]
//   tb-rules bench [--hands N] [--json] [--check]
//
// Exit status: 0 answered (also "no" and "invalid" answers), 2 a bad argument (a clear line on
// stderr), 3 bench --check missed a target, 1 anything unexpected.
// Threading: one thread per call of run().

#include <cstdio>
#include <string>
#include <string_view>

#include "nodes/game/landlords/classify.h"

namespace tb::rules {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitTargetMissed = 3;

// Where a run reads and writes; not owned (the caller keeps them open for the call).
struct Io {
    std::FILE* in = stdin;
    std::FILE* out = stdout;
    std::FILE* err = stderr;
};

// Runs one command line (argv[0] is the program name). Never throws.
int run(int argc, const char* const* argv, const Io& io);

// "airplane_single:4:12": type name, main rank in the notation, card count.
std::string format_play(const game::landlords::Play& play);

// Why `text` is not a set of cards in the notation, or "" when it is one.
std::string notation_problem(std::string_view text);

// One answer of `classify --batch` for one input line (no newline): "invalid", or every
// reading as TYPE:MAIN:COUNT separated by single spaces, in the type table's order then by
// main rank. A trailing '\r' (CRLF input) is ignored.
void append_batch_answer(std::string_view line, std::string& out);

// Reads `in` to its end and writes one answer line to `out` per input line (a last line
// without '\n' counts). Buffered in large blocks: millions of lines take seconds. Returns false
// on a read or write error.
bool classify_batch(std::FILE* in, std::FILE* out);

}  // namespace tb::rules
