// tb-ctl: operate a running cluster through its manager.
//   tb-ctl [--manager EP] [--json] shut NODE | open NODE | notice TEXT [--level L]
//          | kick USERID [--reason R] | health NODE | tables NODE | keygen
// Exit: 0 ok, 1 refused by the manager or bad argument (health: not registered or degraded),
// 2 the manager did not answer (tools/mon/tool.h).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <limits>

#include "tools/ctl/control.h"
#include "tools/mon/tool.h"

int main(int argc, char** argv) try {
    using tb::tools::add_connection_options;
    tb::tools::Connection conn;
    CLI::App app{
        "tb-ctl: shut and open nodes, send notices, kick users, probe health, list a game node's "
        "tables"};
    app.require_subcommand(1);
    add_connection_options(app, conn, /*with_announce=*/false);
    app.footer(
        "Exit status: 0 ok, 1 refused by the manager or bad argument (health: not registered or "
        "degraded), 2 the manager did not answer within --timeout-ms.\nRun 'tb-ctl COMMAND "
        "--help' for a command's options.");

    std::string node;
    auto* shut = app.add_subcommand(
        "shut", "stop routing service requests to NODE (\"@NODE\" requests still reach it)");
    shut->add_option("NODE", node, "bus identity, e.g. game-2")->required();
    add_connection_options(*shut, conn, false);

    auto* open = app.add_subcommand("open", "route service requests to NODE again");
    open->add_option("NODE", node, "bus identity, e.g. game-2")->required();
    add_connection_options(*open, conn, false);

    std::string text;
    int32_t level = 0;
    auto* notice = app.add_subcommand("notice", "announce a notice to every subscriber (proxies)");
    notice->add_option("TEXT", text, "the notice")->required();
    notice->add_option("-l,--level", level, "0, 1 or 2")
        ->check(CLI::Range(0, 2))
        ->capture_default_str();
    add_connection_options(*notice, conn, false);

    int64_t user_id = 0;
    std::string reason;
    auto* kick = app.add_subcommand("kick", "tell every proxy to drop USERID's session");
    kick->add_option("USERID", user_id, "the user id (> 0)")
        ->required()
        ->check(CLI::Range(int64_t{1}, std::numeric_limits<int64_t>::max()));
    kick->add_option("-r,--reason", reason, "why, for logs and the client");
    add_connection_options(*kick, conn, false);

    auto* health = app.add_subcommand(
        "health",
        "probe NODE: exit 0 when registered and not degraded, 1 otherwise, 2 when the manager "
        "does not answer");
    health->add_option("NODE", node, "bus identity, e.g. db-1")->required();
    add_connection_options(*health, conn, false);

    auto* tables = app.add_subcommand(
        "tables", "list game node NODE's tables: phase, time in it, round and who sits where");
    tables->add_option("NODE", node, "bus identity of a game node, e.g. game-2")->required();
    add_connection_options(*tables, conn, false);

    auto* keygen = app.add_subcommand(
        "keygen", "print a new CURVE key pair as TOML lines (public = ..., secret = ...)");
    keygen->add_flag("--json", conn.json, "print {\"public\": ..., \"secret\": ...}");

    CLI11_PARSE(app, argc, argv);

    if (keygen->parsed()) return tb::ctl::keygen(conn.json, std::cout, std::cerr);
    tb::tools::Session session(conn, "tb-ctl", std::cerr);
    if (shut->parsed()) return tb::ctl::set_open(session, node, false, std::cout);
    if (open->parsed()) return tb::ctl::set_open(session, node, true, std::cout);
    if (notice->parsed()) return tb::ctl::notice(session, text, level, std::cout);
    if (kick->parsed()) return tb::ctl::kick(session, user_id, reason, std::cout);
    if (health->parsed()) return tb::ctl::health(session, node, std::cout);
    if (tables->parsed()) return tb::ctl::tables(session, node, std::cout);
    return tb::tools::kExitFailed;
} catch (const std::exception& e) {
    std::fprintf(stderr, "tb-ctl: %s\n", e.what());
    return tb::tools::kExitFailed;
}
