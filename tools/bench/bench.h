#pragma once
// tb-bench's library: `tb-bench bus` compares a round trip over the tablebus bus (node runtime
// caller -> tb-manager -> node runtime echo worker) with the same round trip over plain libzmq
// (DEALER callers -> zmq_proxy ROUTER/DEALER -> raw echo), both over tcp loopback, and reports
// requests per second and latency percentiles for each and their ratios.
//
// Everything it needs it starts itself (the real tb-manager binary from the same directory and
// tb-bench's own hidden subcommands) and stops again, also on error or SIGINT.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tb::bench {

// Interruption (SIGINT/SIGTERM in main): running measurements notice within ~100 ms, return
// early and the run throws Interrupted; destructors stop every child process.
void request_stop() noexcept;
bool stop_requested() noexcept;

struct Interrupted : std::runtime_error {
    Interrupted() : std::runtime_error("interrupted") {}
};

struct BusBenchOptions {
    uint16_t base_port = 17000;  // tb-manager: base, base+1; raw proxy: base+10, base+11
    std::chrono::milliseconds duration{3000};  // per measurement
    int warmup = 1000;                         // calls before each measurement
    int callers = 16;                          // the "sync16" scenario
    int depth = 100;                           // requests in flight in the "pipelined" one
    std::size_t body_size = 64;                // request body bytes (envelope not counted)
    int repeat = 1;    // runs per scenario and side (alternating); the median by req/s is kept
    std::string only;  // "raw" or "tablebus" to run one side alone (profiling); empty: both
    std::string manager_binary;                        // empty: tb-manager next to this executable
    std::function<void(const std::string&)> progress;  // null: quiet
};

// One scenario on one side.
struct Measurement {
    uint64_t calls = 0;
    double seconds = 0;
    double rps = 0;
    double p50_us = 0;
    double p99_us = 0;
    // CPU (user + system) per call, warm-up included, of the caller process, the router
    // (zmq_proxy or tb-manager) and the echo worker: where the machine's two cores went.
    double cpu_callers_us = 0;
    double cpu_router_us = 0;
    double cpu_worker_us = 0;
};

struct SideResults {
    Measurement sync1;      // one synchronous caller
    Measurement sync16;     // `callers` synchronous callers, one thread and socket each
    Measurement pipelined;  // one caller keeping `depth` requests in flight
};

struct BusBenchResults {
    SideResults raw;
    SideResults tablebus;
};

// Starts both sides, then runs every scenario on each, alternating raw and tablebus. Throws
// std::runtime_error (naming the child process that failed, if one did) or Interrupted.
BusBenchResults run_bus_bench(const BusBenchOptions& options);

// {"raw":{...},"tablebus":{...},"ratio":{"sync1_p50":R,"sync16_rps":R,"pipelined_rps":R}}
nlohmann::ordered_json to_json(const BusBenchResults& results);

struct TargetCheck {
    std::string name;  // "sync16_rps", "pipelined_rps", "sync1_p50"
    double ratio = 0;  // tablebus / raw
    double limit = 0;
    bool at_least = true;  // ratio must be >= limit (throughput) or <= limit (latency)
    bool met = false;
};
// The targets on a 2-core machine: sync16 rps >= 0.8x raw, pipelined rps >= 0.5x raw, sync1
// p50 <= 1.5x raw.
std::vector<TargetCheck> check_targets(const BusBenchResults& results);

// The human-readable table, targets included.
std::string to_table(const BusBenchResults& results, const BusBenchOptions& options);

// ---------------------------------------------------------------------------------------------
// `tb-bench db`: the db service (tb-db) straight over the bus, with 32 requests in flight from
// bench-side nodes: logins of existing device accounts and 3-seat round settlements, against
// private MariaDB and Redis servers tb-bench starts itself (or given ones), plus what the
// disk's fsync rate allows a durable commit.

struct DbBenchOptions {
    uint16_t base_port = 17100;                   // tb-manager: base, base+1 (tb-db opens no port)
    std::chrono::milliseconds duration{5000};     // per measurement
    std::chrono::milliseconds fsync_probe{2000};  // then half as long with 4 streams
    int inflight = 32;    // requests outstanding at any time, over all callers
    int callers = 1;      // bench nodes (one thread each) sharing `inflight`
    int accounts = 1000;  // device accounts created first; also the settle players
    int warmup = 500;     // calls before each measurement
    int pool_size = 4;    // tb-db pool.size
    int db_nodes = 1;     // tb-db processes (ids 1..n)
    int64_t stake = 10;   // what each farmer pays the landlord per round
    // Given servers (mysql_port 0: start private MariaDB and Redis).
    std::string mysql_host = "127.0.0.1";
    uint16_t mysql_port = 0;
    std::string mysql_user = "tablebus";
    std::string mysql_password;
    std::string redis_host = "127.0.0.1";
    uint16_t redis_port = 0;
    std::string storage_dir;                // private servers' data + fsync probe; "" = default
    std::vector<std::string> db_sets;       // more `--set key=value` for tb-db
    std::vector<std::string> mariadb_args;  // more flags for the private mariadbd
    std::string only;                       // "login" or "settle": run one measurement alone
    bool db_over_socket = false;            // private MariaDB: tb-db connects over its unix socket
    std::string manager_binary;             // empty: next to this executable
    std::string db_binary;
    std::function<void(const std::string&)> progress;
};

struct DbMeasurement {
    uint64_t calls = 0;
    double rps = 0;
    double p50_ms = 0;
    double p99_ms = 0;
    // CPU (user + sys) per request, warm-up included: name -> microseconds.
    std::vector<std::pair<std::string, double>> cpu_us;
    double machine_busy = 0;  // share of all cores busy during it (0..1), anyone's work
    // InnoDB counters per request (SHOW GLOBAL STATUS deltas); -1 when unknown.
    double log_writes = -1;   // Innodb_log_writes: redo writes, each synced (durable commits)
    double data_fsyncs = -1;  // Innodb_data_fsyncs
    double row_lock_waits = -1;
    double deadlocks = -1;
};

struct DbBenchResults {
    DbMeasurement registrations;        // the setup: creating the device accounts
    DbMeasurement logins;               // existing device accounts
    DbMeasurement settles;              // 3 seats, 2 transfers
    double fsyncs_per_s = 0;            // one stream, nothing else of ours running
    double fsyncs_per_s_4_streams = 0;  // four streams at once, summed
    std::string fsync_dir;
    bool private_storage = true;
    std::string mariadb_version;
    int pool_size = 0;
    int db_nodes = 0;
    int inflight = 0;
};

// Starts what it needs, measures, stops everything. Throws std::runtime_error or Interrupted.
DbBenchResults run_db_bench(const DbBenchOptions& options);

// {"db_device_logins_per_s":..,"login_p50_ms":..,"login_p99_ms":..,"settles_per_s":..,
//  "settle_p50_ms":..,"settle_p99_ms":..,"fsyncs_per_s":..,"pool_size":..,"db_nodes":.., ...}
nlohmann::ordered_json to_json(const DbBenchResults& results);

// Targets on a 2-core machine: >= 2,000 device logins/s, >= 1,000 settles/s.
std::vector<TargetCheck> check_targets(const DbBenchResults& results);

std::string to_table(const DbBenchResults& results, const DbBenchOptions& options);

// ---------------------------------------------------------------------------------------------
// `tb-bench path`: the action path's shape on plain sockets and plain libzmq, nothing of
// tablebus in it: players on TCP -> a gateway (epoll inside zmq_poll, one DEALER) -> zmq_proxy
// -> a libzmq echo -> back -> the gateway writes each move to both players of its table, and
// the opponent's copy starts the opponent's move (closed loop, as gomoku). What the machine
// allows this shape is the ceiling for tablebus's action figures.

struct PathBenchOptions {
    uint16_t base_port = 17200;  // zmq_proxy: base, base+1; the gateway's TCP listener: base+2
    int players = 100;           // even: two per table
    std::chrono::milliseconds duration{10000};
    std::chrono::milliseconds warmup{2000};
    std::size_t body_size = 32;  // payload bytes of a move (a gomoku move frame is about this)
    // The gateway's, the broker's and the echo's scheduling policy, as tablebus's
    // process.scheduler: "batch" (its default) or "normal". The players keep the default, like
    // tb-bot.
    std::string scheduler = "batch";
    std::function<void(const std::string&)> progress;
};

struct PathBenchResults {
    int players = 0;
    uint64_t actions = 0;  // moves sent in the window whose broadcast came back to the mover
    double seconds = 0;
    double actions_per_s = 0;
    double p50_ms = 0, p90_ms = 0, p99_ms = 0, p999_ms = 0;
    // CPU (user + sys) per action in the window: the players (tb-bench), the gateway, the
    // broker and the echo (the "table").
    double cpu_players_us = 0, cpu_gateway_us = 0, cpu_broker_us = 0, cpu_table_us = 0;
    double machine_busy = 0;  // share of all cores busy during the window, anyone's work
    std::string scheduler;    // as given
};

// Starts the broker, the echo and the gateway, plays, stops them. Throws std::runtime_error
// (naming a child that died, or the table that stalled) or Interrupted.
PathBenchResults run_path_bench(const PathBenchOptions& options);
// {"players":..,"actions_per_s":..,"p50_ms":..,"p99_ms":..,"p999_ms":..,
//  "cpu_us_per_action":{"players":..,"gateway":..,"broker":..,"table":..},"machine_busy_pct":..}
nlohmann::ordered_json to_json(const PathBenchResults& results);
std::string to_table(const PathBenchResults& results, const PathBenchOptions& options);

// Hidden subcommands (the child processes). Each runs until SIGTERM/SIGINT; returns the exit
// code.
int raw_proxy_main(const std::string& frontend, const std::string& backend);
int raw_echo_main(const std::string& connect);
int echo_worker_main(const std::string& manager, int32_t id);
int raw_gateway_main(uint16_t port, const std::string& broker);

}  // namespace tb::bench
