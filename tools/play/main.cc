// tb-play: a person plays gomoku or Dou Dizhu from a terminal (docs/PROTOCOL.md as the client).
//   tb-play --proxy HOST:PORT --account NAME --game gomoku|landlords [--password PW]
//           [--level N] [--json-log FILE]
// Exit status: 0 after quit / end of input / Ctrl-C, 1 when the login is refused or the session
// is kicked, 2 for bad arguments.
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <iostream>

#include "tools/play/options.h"
#include "tools/play/play_client.h"

int main(int argc, char** argv) {
    tb::play::PlayOptions o;
    const auto parsed = tb::play::parse_options(argc, argv, o);
    if (parsed.status == tb::play::ParseStatus::kHelp) {
        std::cout << parsed.message;
        return 0;
    }
    if (parsed.status == tb::play::ParseStatus::kError) {
        std::fprintf(stderr, "tb-play: %s\n", parsed.message.c_str());
        return 2;
    }
    try {
        return tb::play::run_client(o, STDIN_FILENO, std::cout);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "tb-play: %s\n", e.what());
        return 1;
    }
}
