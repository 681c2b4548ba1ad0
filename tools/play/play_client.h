#pragma once
// tb-play's loop: one TCP connection to the proxy, stdin read line by line, SIGINT/SIGTERM, and
// a clock, all in one poll(); everything they bring goes to a Session (session.h), whose frames
// are written back and whose text goes to `out`. Reconnects with the session's backoff when the
// connection drops. Blocking in the caller's thread until the session finishes.

#include <ostream>

#include "tools/play/options.h"

namespace tb::play {

// Runs until `quit`, the end of stdin, a signal, or a fatal refusal; returns the exit status
// (0 or 1). `input_fd` is where commands are read (stdin). Throws std::runtime_error when the
// JSON log cannot be opened.
int run_client(const PlayOptions& options, int input_fd, std::ostream& out);

}  // namespace tb::play
