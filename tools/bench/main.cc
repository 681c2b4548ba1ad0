// tb-bench: benchmarks that start what they measure and stop it again.
//   tb-bench bus [--json] [--seconds S | --short] [--base-port B] [--repeat N] [--check]
//   tb-bench db [--json] [--seconds S | --short] [--check] [--pool-size N] [--db-nodes N]
//               [--mysql-host H --mysql-port P --mysql-user U --mysql-password W
//                --redis-port R] [--base-port B] ...
// Hidden subcommands are the child processes tb-bench starts from its own executable:
//   tb-bench raw-proxy --frontend EP --backend EP   (plain zmq_proxy, ROUTER/DEALER)
//   tb-bench raw-echo --connect EP                  (plain libzmq echo)
//   tb-bench echo-worker --manager EP --id N        (node runtime, service bench.echo)
//   tb-bench raw-gateway --listen PORT --broker EP  (the path's TCP gateway, plain libzmq)
#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <thread>

#include "tools/bench/bench.h"

namespace {

// SIGINT/SIGTERM become tb::bench::request_stop(): blocked in every thread (the mask is
// inherited, so this runs before any other thread starts) and collected by one watcher thread;
// the run then unwinds and its destructors stop the children.
class StopOnSignal {
public:
    StopOnSignal() {
        sigemptyset(&set_);
        sigaddset(&set_, SIGINT);
        sigaddset(&set_, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &set_, &previous_);
        ::signal(SIGPIPE, SIG_IGN);
        watcher_ = std::thread([this] {
            const timespec slice{0, 100 * 1000 * 1000};
            while (!done_) {
                if (sigtimedwait(&set_, nullptr, &slice) > 0) tb::bench::request_stop();
            }
        });
    }
    ~StopOnSignal() {
        done_ = true;
        watcher_.join();
    }
    StopOnSignal(const StopOnSignal&) = delete;
    StopOnSignal& operator=(const StopOnSignal&) = delete;

private:
    sigset_t set_{};
    sigset_t previous_{};
    std::atomic<bool> done_{false};
    std::thread watcher_;
};

// Runs one benchmark (`run` is run_bus_bench or run_db_bench) and prints its results; exit 2
// with --check when a target is missed, 130 when interrupted.
template <class Options, class Run>
int run_bench(Options o, bool json, bool check, Run run) {
    StopOnSignal stop;
    if (!json)
        o.progress = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
    decltype(run(o)) r;
    try {
        r = run(o);
    } catch (const tb::bench::Interrupted&) {
        std::fprintf(stderr, "tb-bench: interrupted\n");
        return 130;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "tb-bench: %s\n", e.what());
        return 1;
    }
    if (json) {
        std::cout << tb::bench::to_json(r).dump() << std::endl;
    } else {
        std::cout << tb::bench::to_table(r, o) << std::flush;
    }
    // The path has no targets of its own: it is the baseline the action figures are divided by.
    if constexpr (requires { tb::bench::check_targets(r); }) {
        if (check) {
            for (const auto& t : tb::bench::check_targets(r)) {
                if (!t.met) return 2;
            }
        }
    }
    return 0;
}

int run_bus(tb::bench::BusBenchOptions o, bool json, bool check) {
    return run_bench(std::move(o), json, check, [](const tb::bench::BusBenchOptions& x) {
        return tb::bench::run_bus_bench(x);
    });
}

int run_db(tb::bench::DbBenchOptions o, bool json, bool check) {
    return run_bench(std::move(o), json, check,
                     [](const tb::bench::DbBenchOptions& x) { return tb::bench::run_db_bench(x); });
}

int run_path(tb::bench::PathBenchOptions o, bool json) {
    return run_bench(std::move(o), json, false, [](const tb::bench::PathBenchOptions& x) {
        return tb::bench::run_path_bench(x);
    });
}

}  // namespace

int main(int argc, char** argv) try {
    CLI::App app{"tb-bench: tablebus benchmarks (each starts and stops what it measures)"};
    app.require_subcommand(1);

    tb::bench::BusBenchOptions o;
    bool json = false;
    bool short_run = false;
    bool check = false;
    double seconds = 3.0;
    CLI::App* bus = app.add_subcommand(
        "bus", "round trips: node runtime via tb-manager vs plain libzmq via zmq_proxy");
    bus->add_flag("--json", json, "print only the results as one JSON object");
    auto* seconds_opt = bus->add_option("--seconds", seconds, "seconds per measurement (default 3)")
                            ->check(CLI::Range(0.1, 3600.0));
    bus->add_flag("--short", short_run, "1 s per measurement (CI smoke)");
    bus->add_option("--base-port", o.base_port,
                    "tb-manager on base and base+1, the raw proxy on base+10 and base+11")
        ->capture_default_str()
        ->check(CLI::Range(1024, 65515));
    bus->add_option("--warmup", o.warmup, "warm-up calls before each measurement")
        ->capture_default_str();
    bus->add_option("--manager-bin", o.manager_binary,
                    "tb-manager to start (default: the one next to tb-bench)");
    bus->add_option("--repeat", o.repeat,
                    "runs per scenario and side, alternating; the median (by req/s) is reported")
        ->capture_default_str()
        ->check(CLI::Range(1, 100));
    bus->add_flag("--check", check, "exit 2 when a target ratio is missed");
    // For profiling one side (perf, callgrind): the output then lacks the other side.
    bus->add_option("--only", o.only)->check(CLI::IsMember({"raw", "tablebus"}))->group("");

    tb::bench::DbBenchOptions dbo;
    bool db_json = false;
    bool db_short = false;
    bool db_check = false;
    double db_seconds = 5.0;
    CLI::App* db = app.add_subcommand(
        "db", "the db service over the bus: device logins and 3-seat settles, 32 in flight");
    db->add_flag("--json", db_json, "print only the results as one JSON object");
    auto* db_seconds_opt =
        db->add_option("--seconds", db_seconds, "seconds per measurement (default 5)")
            ->check(CLI::Range(0.1, 3600.0));
    db->add_flag("--short", db_short, "1 s per measurement and for the fsync probe (CI smoke)");
    db->add_flag("--check", db_check, "exit 2 when a target is missed");
    db->add_option("--base-port", dbo.base_port, "tb-manager on base and base+1")
        ->capture_default_str()
        ->check(CLI::Range(1024, 61990));
    db->add_option("--pool-size", dbo.pool_size, "tb-db pool.size")
        ->capture_default_str()
        ->check(CLI::Range(1, 64));
    db->add_option("--db-nodes", dbo.db_nodes, "tb-db processes")
        ->capture_default_str()
        ->check(CLI::Range(1, 8));
    db->add_option("--inflight", dbo.inflight, "requests outstanding")
        ->capture_default_str()
        ->check(CLI::Range(1, 10000));
    db->add_option("--callers", dbo.callers, "bench nodes (threads) sharing them")
        ->capture_default_str()
        ->check(CLI::Range(1, 64));
    db->add_option("--accounts", dbo.accounts, "device accounts created first (the players)")
        ->capture_default_str()
        ->check(CLI::Range(3, 1000000));
    db->add_option("--warmup", dbo.warmup, "calls before each measurement")->capture_default_str();
    db->add_option("--mysql-host", dbo.mysql_host, "given MariaDB (default: a private one)");
    db->add_option("--mysql-port", dbo.mysql_port, "given MariaDB port (with --redis-port)");
    db->add_option("--mysql-user", dbo.mysql_user, "given MariaDB user")->capture_default_str();
    db->add_option("--mysql-password", dbo.mysql_password, "given MariaDB password")
        ->envname("TB_MYSQL_PASSWORD");
    db->add_option("--redis-host", dbo.redis_host, "given Redis host")->capture_default_str();
    db->add_option("--redis-port", dbo.redis_port, "given Redis port (with --mysql-port)");
    db->add_option("--storage-dir", dbo.storage_dir,
                   "private servers' data and the fsync probe (default: <build>/bench-storage)");
    db->add_option("--db-set", dbo.db_sets, "more --set key=value for tb-db (repeatable)");
    db->add_option("--manager-bin", dbo.manager_binary, "tb-manager to start");
    db->add_option("--db-bin", dbo.db_binary, "tb-db to start");
    // Experiments only: more mariadbd flags, one measurement alone.
    db->add_option("--mariadb-arg", dbo.mariadb_args)->group("");
    db->add_option("--only", dbo.only)->check(CLI::IsMember({"login", "settle"}))->group("");
    db->add_flag("--db-over-socket", dbo.db_over_socket)->group("");

    tb::bench::PathBenchOptions po;
    bool path_json = false;
    bool path_short = false;
    double path_seconds = 10.0;
    CLI::App* path = app.add_subcommand(
        "path",
        "the action path's shape on plain sockets and libzmq (players -> gateway -> zmq_proxy -> "
        "echo and back, closed loop): the ceiling tablebus's action figures are measured against");
    path->add_flag("--json", path_json, "print only the results as one JSON object");
    path->add_option("--players", po.players, "players, two per table")
        ->capture_default_str()
        ->check(CLI::Range(2, 10000));
    auto* path_seconds_opt =
        path->add_option("--seconds", path_seconds, "seconds measured (default 10)")
            ->check(CLI::Range(0.1, 3600.0));
    path->add_flag("--short", path_short, "1 s warm-up, 2 s measured (CI smoke)");
    path->add_option("--base-port", po.base_port,
                     "zmq_proxy on base and base+1, the gateway's TCP listener on base+2")
        ->capture_default_str()
        ->check(CLI::Range(1024, 65532));
    path->add_option("--scheduler", po.scheduler,
                     "the gateway's, broker's and echo's policy, as tablebus's process.scheduler")
        ->capture_default_str()
        ->check(CLI::IsMember({"batch", "normal"}));
    path->add_option("--body", po.body_size, "payload bytes per move (at least 14)")
        ->capture_default_str()
        ->check(CLI::Range(14, 1024));

    std::string frontend, backend, connect, manager;
    std::string broker;
    uint16_t listen_port = 0;
    int32_t id = 1;
    CLI::App* proxy = app.add_subcommand("raw-proxy", "")->group("");
    proxy->add_option("--frontend", frontend)->required();
    proxy->add_option("--backend", backend)->required();
    CLI::App* echo = app.add_subcommand("raw-echo", "")->group("");
    echo->add_option("--connect", connect)->required();
    CLI::App* worker = app.add_subcommand("echo-worker", "")->group("");
    worker->add_option("--manager", manager)->required();
    worker->add_option("--id", id)->required();

    CLI::App* gateway = app.add_subcommand("raw-gateway", "")->group("");
    gateway->add_option("--listen", listen_port)->required();
    gateway->add_option("--broker", broker)->required();

    CLI11_PARSE(app, argc, argv);

    if (proxy->parsed()) return tb::bench::raw_proxy_main(frontend, backend);
    if (echo->parsed()) return tb::bench::raw_echo_main(connect);
    if (worker->parsed()) return tb::bench::echo_worker_main(manager, id);
    if (gateway->parsed()) return tb::bench::raw_gateway_main(listen_port, broker);
    if (path->parsed()) {
        if (path_short && path_seconds_opt->count() == 0) path_seconds = 2.0;
        if (path_short) po.warmup = std::chrono::milliseconds(1000);
        po.duration = std::chrono::milliseconds(static_cast<int64_t>(path_seconds * 1000.0));
        return run_path(po, path_json);
    }
    if (db->parsed()) {
        if (db_short && db_seconds_opt->count() == 0) db_seconds = 1.0;
        if (db_short) dbo.fsync_probe = std::chrono::milliseconds(1000);
        dbo.duration = std::chrono::milliseconds(static_cast<int64_t>(db_seconds * 1000.0));
        return run_db(dbo, db_json, db_check);
    }
    if (short_run && seconds_opt->count() == 0) seconds = 1.0;
    o.duration = std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000.0));
    return run_bus(o, json, check);
} catch (const std::exception& e) {
    std::fprintf(stderr, "tb-bench: %s\n", e.what());
    return 1;
}
