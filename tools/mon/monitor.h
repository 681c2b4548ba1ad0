#pragma once
// tb-mon's commands as a library (main.cc only parses the command line): each asks the manager
// through a tools::Session, prints to `out` (aligned tables, or JSON with --json and nothing
// else) and returns the exit status of tools/mon/tool.h. Failures are reported on the
// session's error stream.
//
// The long-running commands (ping with a count, events, top) stop cleanly when a signal is
// pending on `signal_fd` (a signalfd for SIGINT/SIGTERM; -1 for none).
//
// Threading: one thread per Session.

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "bus/protocol.h"
#include "tools/mon/tool.h"

namespace tb::mon {

// mmi.service: one row per service with workers (or just `service`). --json: an array of
// objects with every ServiceStatus key (service, workers, open_workers, load, requests,
// errors...).
int services(tools::Session& s, const std::string& service, std::ostream& out);

// mmi.workers: every worker (or those of `service`), by name. --json: an array of WorkerInfo
// objects.
int workers(tools::Session& s, const std::string& service, std::ostream& out);

// mmi.stats: uptime, counters and per-service latencies. --json: the StatsReply object.
int stats(tools::Session& s, std::ostream& out);

struct PingOptions {
    std::string target;  // a service, "@node", or "manager" (mmi.echo)
    int64_t count = 1;   // 0: until interrupted
    int64_t interval_ms = 1000;
};
// Requests of msg_type 0 with an empty body; prints who answered and the round-trip time.
// --json: one object per line {seq, target, status ok|error|timeout|no_manager, from, rtt_us,
// code, error, bytes}. Exit 0 when all were answered, 2 when the manager stopped answering,
// 1 for error answers or a silent service.
int ping(tools::Session& s, const PingOptions& o, int signal_fd, std::ostream& out);

struct EventsOptions {
    std::vector<std::string> topics = {"table", "event", "notice"};  // empty: every topic
    int64_t count = 0;                                               // 0: until interrupted
};
// Subscribes to the manager's announcements and prints one line per announcement of the
// chosen topics. Checks first that the manager answers (exit 2 otherwise), and writes
// "listening" on stderr once the first announcement (the heartbeat "hugz") proves the
// subscription live. --json: one {topic, received_ms, body} object per line.
int events(tools::Session& s, const EventsOptions& o, int signal_fd, std::ostream& out);

struct TopOptions {
    int64_t interval_ms = 1000;
    int64_t iterations = -1;  // snapshots to print; -1: forever on a terminal, else 1
    bool terminal = false;    // stdout is a terminal: redraw in place
};
// Services and workers with rates (req/s, err/s from counter deltas). On a terminal without
// --json it redraws every interval until interrupted; otherwise (a pipe, or --json) it prints
// `iterations` snapshots, each one interval after the previous sample, and exits.
// --json: one {time_ms, interval_ms, services, workers} object per snapshot and line, with
// req_per_s / err_per_s added to each entry.
int top(tools::Session& s, const TopOptions& o, int signal_fd, std::ostream& out);

// Rendering, exposed for tests.
void print_services(const std::vector<bus::ServiceStatus>& services, std::ostream& out);
void print_workers(const std::vector<bus::WorkerInfo>& workers, int64_t now_ms, std::ostream& out);
std::string describe_announcement(std::string_view topic, std::string_view body,
                                  int64_t received_ms);
std::string announcement_json(std::string_view topic, std::string_view body, int64_t received_ms);

}  // namespace tb::mon
