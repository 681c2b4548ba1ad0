// tb-mon: look at a running cluster through its manager.
//   tb-mon [--manager EP] [--json] services [SERVICE] | workers [SERVICE] | stats
//          | ping TARGET [--count N] | events [--topic T]... [--count N] | top
// Exit: 0 ok, 1 error answer or bad argument, 2 the manager did not answer (tools/mon/tool.h).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "nodes/common/signals.h"
#include "tools/mon/monitor.h"
#include "tools/mon/tool.h"

int main(int argc, char** argv) try {
    using tb::tools::add_connection_options;
    tb::tools::Connection conn;
    CLI::App app{"tb-mon: services, workers, statistics and live events of a tablebus cluster"};
    app.require_subcommand(1);
    add_connection_options(app, conn, /*with_announce=*/true);
    app.footer(
        "Exit status: 0 ok, 1 error answer or bad argument, 2 the manager did not answer within "
        "--timeout-ms.\nRun 'tb-mon COMMAND --help' for a command's options.");

    std::string service;
    auto* services = app.add_subcommand(
        "services", "one row per service: workers, open workers, load, requests, errors, latency");
    services->add_option("SERVICE", service, "only this service");
    add_connection_options(*services, conn, false);

    auto* workers = app.add_subcommand("workers", "every worker (node) on the bus, by name");
    workers->add_option("SERVICE", service, "only the workers of this service");
    add_connection_options(*workers, conn, false);

    auto* stats = app.add_subcommand("stats", "uptime, drops and per-service latency and errors");
    add_connection_options(*stats, conn, false);

    tb::mon::PingOptions ping_opts;
    auto* ping = app.add_subcommand(
        "ping", "round-trip time of a request (msg_type 0, empty body) to a service");
    ping->add_option("TARGET", ping_opts.target,
                     "a service, @node for one node, or 'manager' (mmi.echo)")
        ->required();
    ping->add_option("-c,--count", ping_opts.count, "requests to send; 0: until interrupted")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    ping->add_option("-i,--interval-ms", ping_opts.interval_ms, "pause between requests")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    add_connection_options(*ping, conn, false);

    tb::mon::EventsOptions events_opts;
    std::vector<std::string> topics;
    bool all_topics = false;
    auto* events = app.add_subcommand(
        "events",
        "live announcements, one line each: table deltas, socket events, notices (until "
        "interrupted or --count)");
    events->add_option("-t,--topic", topics,
                       "topics to show: table, event, notice, hugz, stats (repeatable; default "
                       "table, event and notice)");
    events->add_flag("--all", all_topics, "every topic, heartbeats (hugz) and stats included");
    events->add_option("-n,--count", events_opts.count, "exit after this many lines; 0: never")
        ->check(CLI::NonNegativeNumber);
    add_connection_options(*events, conn, true);

    tb::mon::TopOptions top_opts;
    auto* top = app.add_subcommand(
        "top",
        "services and workers with req/s, refreshed every second. On a terminal it redraws until "
        "Ctrl-C; when stdout is not a terminal (or with --json) it prints --iterations snapshots "
        "(default 1), each measured over one interval, and exits");
    top->add_option("-i,--interval-ms", top_opts.interval_ms, "refresh interval")
        ->check(CLI::Range(int64_t{100}, int64_t{3600000}))
        ->capture_default_str();
    top->add_option("-n,--iterations", top_opts.iterations,
                    "snapshots to print, then exit (default: forever on a terminal, else 1)")
        ->check(CLI::NonNegativeNumber);
    add_connection_options(*top, conn, false);

    CLI11_PARSE(app, argc, argv);

    if (events->parsed()) {
        events_opts.topics = all_topics ? std::vector<std::string>{} : topics;
        if (!all_topics && topics.empty()) events_opts.topics = tb::mon::EventsOptions{}.topics;
    }
    top_opts.terminal = ::isatty(STDOUT_FILENO) == 1;

    // Long-running commands stop on SIGINT/SIGTERM; the watcher must exist before the ZeroMQ
    // context starts its threads.
    const bool long_running = events->parsed() || top->parsed() || ping->parsed();
    std::optional<tb::common::SignalWatcher> signals;
    if (long_running) signals.emplace();
    const int signal_fd = signals ? signals->fd() : -1;

    tb::tools::Session session(conn, "tb-mon", std::cerr);
    if (services->parsed()) return tb::mon::services(session, service, std::cout);
    if (workers->parsed()) return tb::mon::workers(session, service, std::cout);
    if (stats->parsed()) return tb::mon::stats(session, std::cout);
    if (ping->parsed()) return tb::mon::ping(session, ping_opts, signal_fd, std::cout);
    if (events->parsed()) return tb::mon::events(session, events_opts, signal_fd, std::cout);
    if (top->parsed()) return tb::mon::top(session, top_opts, signal_fd, std::cout);
    return tb::tools::kExitFailed;
} catch (const std::exception& e) {
    std::fprintf(stderr, "tb-mon: %s\n", e.what());
    return tb::tools::kExitFailed;
}
