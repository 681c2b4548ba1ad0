// `tb-bench db`: the db service straight over the bus. tb-bench starts private MariaDB and
// Redis (unless given servers), a tb-manager and one or more tb-db, creates device accounts,
// then measures logins of those accounts and settlements of 3-seat rounds with `inflight`
// requests outstanding from bench-side nodes, and stops everything again. Children are owned by
// scope (declared in start order, destroyed in reverse), so an error or an interrupt stops
// them on the way out.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>

#include "bus/event_loop.h"
#include "bus/node.h"
#include "bus/protocol.h"
#include "codec/errors.h"
#include "codec/fields.h"
#include "nodes/common/db_api.h"
#include "nodes/common/mariadb.h"
#include "nodes/common/redis.h"
#include "tools/bench/bench.h"
#include "tools/bench/harness.h"
#include "tools/bench/process.h"
#include "tools/bench/storage.h"

namespace tb::bench {

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto kReadyLimit = 30s;

void say(const DbBenchOptions& o, const std::string& text) {
    if (o.progress) o.progress(text);
}

std::string fmt(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

// ---------------------------------------------------------------------------------------------
// Callers

// One bench node: its own loop and client-only node (kind "bench", no service).
class DbCaller {
public:
    DbCaller(zmq::context_t& ctx, const std::string& manager, int32_t id, const StartLine* line)
        : node_(ctx, loop_, options(manager, id)) {
        node_.start();
        // Interrupts and failures elsewhere end a run within 100 ms, even with nothing coming.
        loop_.add_repeating(100ms, [this, line] {
            if (stop_requested() || (line != nullptr && line->aborted())) loop_.quit();
        });
    }
    ~DbCaller() { node_.stop(); }
    DbCaller(const DbCaller&) = delete;
    DbCaller& operator=(const DbCaller&) = delete;

    bus::EventLoop& loop() noexcept { return loop_; }
    bus::Node& node() noexcept { return node_; }

private:
    static bus::NodeOptions options(const std::string& manager, int32_t id) {
        bus::NodeOptions o;
        o.kind = "bench";
        o.id = id;
        o.manager = manager;
        o.default_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(kCallTimeout);
        return o;
    }

    bus::EventLoop loop_;
    bus::Node node_;
};

// One request to the db service; `tag` identifies it to the checker.
struct Call {
    uint32_t type = 0;
    std::string body;
    uint64_t tag = 0;
};
// The next call to make, or nullopt when there is nothing more to ask.
using NextFn = std::function<std::optional<Call>()>;
// Checks an answer (ok, decodes, says what it should); throws std::runtime_error if not.
using CheckFn = std::function<void(const Call&, const bus::Reply&)>;

std::string describe_failure(const bus::Reply& r) {
    return "code " + std::to_string(r.code) + " " + std::string(codec::code_name(r.code)) +
           (r.text.empty() ? std::string() : " (" + r.text + ")");
}

// Keeps `depth` requests outstanding on one caller until `max_calls` were sent, `next` has no
// more, or `end` passed; each answer is checked and its latency recorded (into `out` when
// given). Callbacks hold the state by shared_ptr, so a node stopped with requests pending
// calls back into live memory, which then ignores the call.
class Chains : public std::enable_shared_from_this<Chains> {
public:
    Chains(DbCaller& caller, NextFn next, CheckFn check, uint64_t max_calls, Clock::time_point end,
           Samples* out)
        : caller_(caller),
          next_(std::move(next)),
          check_(std::move(check)),
          max_calls_(max_calls),
          end_(end),
          out_(out) {}

    void run(int depth) {
        for (int i = 0; i < depth && more(Clock::now()); ++i) issue();
        if (outstanding_ > 0) caller_.loop().run();
        active_ = false;
        if (!error_.empty()) throw std::runtime_error(error_);
        if (stop_requested()) throw Interrupted();
        if (outstanding_ > 0) throw std::runtime_error("db caller: aborted");
    }

private:
    bool more(Clock::time_point now) const {
        return !exhausted_ && issued_ < max_calls_ && now < end_;
    }

    void issue() {
        auto call = next_();
        if (!call) {
            exhausted_ = true;
            if (outstanding_ == 0) caller_.loop().quit();
            return;
        }
        ++issued_;
        ++outstanding_;
        const auto sent = Clock::now();
        auto shared = std::make_shared<Call>(std::move(*call));
        std::string body = shared->body;
        caller_.node().request(common::kDbService, shared->type, std::move(body),
                               [self = shared_from_this(), sent, shared](bus::Reply&& r) {
                                   self->answered(sent, *shared, r);
                               });
    }

    void answered(Clock::time_point sent, const Call& call, const bus::Reply& r) {
        if (!active_) return;
        const auto now = Clock::now();
        --outstanding_;
        try {
            if (!r.ok()) throw std::runtime_error("db call failed: " + describe_failure(r));
            check_(call, r);
        } catch (const std::exception& e) {
            if (error_.empty()) error_ = e.what();
            caller_.loop().quit();
            return;
        }
        if (out_ != nullptr) out_->record(sent, now);
        if (more(now)) issue();
        if (outstanding_ == 0) caller_.loop().quit();
    }

    DbCaller& caller_;
    NextFn next_;
    CheckFn check_;
    const uint64_t max_calls_;
    const Clock::time_point end_;
    Samples* out_;
    uint64_t issued_ = 0;
    int outstanding_ = 0;
    bool exhausted_ = false;
    bool active_ = true;
    std::string error_;
};

void chains(DbCaller& c, NextFn next, CheckFn check, int depth, uint64_t max_calls,
            Clock::time_point end, Samples* out) {
    std::make_shared<Chains>(c, std::move(next), std::move(check), max_calls, end, out)->run(depth);
}

// ---------------------------------------------------------------------------------------------
// What each measurement asks

std::string device_account(int i) {
    return "bench_dev_" + std::to_string(i);
}

Call register_call(int i) {
    common::RegisterRequest r;
    r.account = device_account(i);
    r.machine = "bench-machine-" + std::to_string(i);
    r.ip = "127.0.0.1";
    return {common::kDbRegisterOrLogin, codec::encode(r), static_cast<uint64_t>(i)};
}

template <class T>
T decode_reply(const bus::Reply& r, const char* what) {
    T out;
    if (codec::decode(r.body, out) != codec::MsgError::kOk) {
        throw std::runtime_error(std::string("undecodable ") + what + " reply");
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Observation: CPU of the processes, the machine, InnoDB counters

struct Watched {
    std::string name;
    pid_t pid;
};

using InnoDbCounters = std::map<std::string, double>;

class Monitor {
public:
    explicit Monitor(common::MariaDbConfig cfg) : db_(std::move(cfg)) {}

    InnoDbCounters read() {
        InnoDbCounters out;
        try {
            if (!db_.connected()) db_.connect();
            for (const auto& row :
                 db_.query("SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_log_writes', "
                           "'Innodb_data_fsyncs', 'Innodb_row_lock_waits', 'Innodb_deadlocks')")) {
                out[row.str(0)] = static_cast<double>(row.i64(1));
            }
        } catch (const common::DbException&) {
            db_.close();
        }
        return out;
    }
    std::string version() {
        try {
            if (!db_.connected()) db_.connect();
            const auto rows = db_.query("SELECT VERSION()");
            return rows.empty() ? std::string() : rows[0].str(0);
        } catch (const common::DbException&) {
            return {};
        }
    }
    common::MariaDb& db() { return db_; }

private:
    common::MariaDb db_;
};

// ---------------------------------------------------------------------------------------------
// The run

struct RunDir {
    fs::path path;
    ~RunDir() {
        if (path.empty()) return;
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

}  // namespace

DbBenchResults run_db_bench(const DbBenchOptions& o) {
    if (o.base_port < 1024 || o.base_port > 65535 - 3545) {
        throw std::invalid_argument("--base-port must be in 1024..61990");
    }
    if (o.inflight < 1 || o.callers < 1 || o.callers > o.inflight || o.accounts < 3 ||
        o.pool_size < 1 || o.db_nodes < 1 || o.warmup < 0 || o.duration.count() <= 0) {
        throw std::invalid_argument(
            "inflight, callers (<= inflight), accounts (>= 3), pool size, db nodes and duration "
            "must be positive");
    }
    const bool private_storage = o.mysql_port == 0;
    if (private_storage != (o.redis_port == 0)) {
        throw std::invalid_argument("give both --mysql-port and --redis-port, or neither");
    }
    DbBenchResults res;
    res.private_storage = private_storage;
    res.pool_size = o.pool_size;
    res.db_nodes = o.db_nodes;
    res.inflight = o.inflight;

    // Storage and the disk under it.
    const fs::path root = o.storage_dir.empty() ? default_storage_root() : fs::path(o.storage_dir);
    fs::create_directories(root);
    remove_stale_runs(root);
    RunDir run{fs::absolute(root) / ("run-" + std::to_string(::getpid()))};
    fs::create_directories(run.path);
    res.fsync_dir = run.path.string();
    say(o, "disk: 4 KiB write + fdatasync in " + run.path.string() + " ...");
    res.fsyncs_per_s = measure_fsyncs(run.path, o.fsync_probe);
    res.fsyncs_per_s_4_streams = measure_fsyncs(run.path, o.fsync_probe / 2, 4);
    say(o, "disk: " + fmt(res.fsyncs_per_s, 0) + " fsyncs/s, " +
               fmt(res.fsyncs_per_s_4_streams, 0) + " over 4 streams");

    std::optional<BenchMariaDb> mariadb;
    std::optional<BenchRedis> redis;
    common::MariaDbConfig sql;
    common::RedisConfig kv;
    std::string database = "tablebus_bench";
    std::string key_prefix = "tbbench:";
    if (private_storage) {
        say(o, "starting private MariaDB and Redis under " + run.path.string() + " ...");
        mariadb.emplace(run.path, fs::absolute(root) / "mariadb-template", free_loopback_port(),
                        o.mariadb_args);
        redis.emplace(run.path, free_loopback_port());
        sql.host = "127.0.0.1";
        sql.port = mariadb->port();
        sql.user = storage::kUser;
        sql.password = storage::kPassword;
        kv.port = redis->port();
    } else {
        // Someone else's servers: a database and a key prefix of our own, removed at the end.
        sql.host = o.mysql_host;
        sql.port = o.mysql_port;
        sql.user = o.mysql_user;
        sql.password = o.mysql_password;
        kv.host = o.redis_host;
        kv.port = o.redis_port;
        database = "tbbench_" + std::to_string(::getpid());
        key_prefix = "tbbench:" + std::to_string(::getpid()) + ":";
    }
    Monitor monitor(sql);
    res.mariadb_version = monitor.version();
    if (res.mariadb_version.empty()) {
        throw std::runtime_error("cannot log in to MariaDB at " + sql.host + ":" +
                                 std::to_string(sql.port) + " as " + sql.user);
    }
    struct DropAfter {
        Monitor& monitor;
        std::string database;
        common::RedisConfig kv;
        std::string prefix;
        bool active;
        ~DropAfter() {
            if (!active) return;
            try {
                monitor.db().execute("DROP DATABASE IF EXISTS `" + database + "`");
            } catch (const std::exception& e) {
                std::fprintf(stderr, "tb-bench: cannot drop %s: %s\n", database.c_str(), e.what());
            }
            try {
                common::Redis r(kv);
                r.connect();
                r.command({"DEL", prefix + "rank"});
            } catch (const std::exception&) {
            }
        }
    } drop_after{monitor, database, kv, key_prefix, !private_storage};

    // The bus and the db nodes.
    const std::string manager_ep = "tcp://127.0.0.1:" + std::to_string(o.base_port);
    const std::string manager_bin =
        o.manager_binary.empty() ? sibling_binary("tb-manager") : o.manager_binary;
    const std::string db_bin = o.db_binary.empty() ? sibling_binary("tb-db") : o.db_binary;
    Child manager("tb-manager", {manager_bin, "--base-port", std::to_string(o.base_port), "--set",
                                 "manager.metrics=off", "--set", "log.level=warn"});
    std::vector<std::unique_ptr<Child>> dbs;
    for (int i = 1; i <= o.db_nodes; ++i) {
        std::vector<std::string> argv{db_bin,
                                      "--id",
                                      std::to_string(i),
                                      "--set",
                                      "node.base_port=" + std::to_string(o.base_port),
                                      "--set",
                                      "mysql.host=" + sql.host,
                                      "--set",
                                      "mysql.port=" + std::to_string(sql.port),
                                      "--set",
                                      "mysql.user=" + sql.user,
                                      "--set",
                                      "mysql.database=" + database,
                                      "--set",
                                      "redis.host=" + kv.host,
                                      "--set",
                                      "redis.port=" + std::to_string(kv.port),
                                      "--set",
                                      "redis.key_prefix=" + key_prefix,
                                      "--set",
                                      "pool.size=" + std::to_string(o.pool_size),
                                      "--set",
                                      "log.level=warn"};
        if (o.db_over_socket && mariadb) {
            argv.push_back("--set");
            argv.push_back("mysql.socket=" + mariadb->socket());
        }
        for (const auto& s : o.db_sets) {
            argv.push_back("--set");
            argv.push_back(s);
        }
        ChildOptions co;
        co.env.push_back("TB_MYSQL_PASSWORD=" + sql.password);  // not on the command line
        dbs.push_back(std::make_unique<Child>("tb-db-" + std::to_string(i), argv, co));
    }
    const auto check = [&] {
        if (!manager.running()) throw std::runtime_error(manager.describe());
        for (auto& d : dbs) {
            if (!d->running()) throw std::runtime_error(d->describe());
        }
        if (mariadb && !mariadb->child().running()) throw std::runtime_error(mariadb->describe());
        if (redis && !redis->child().running()) throw std::runtime_error(redis->describe());
    };

    zmq::context_t ctx;
    // Ready: every tb-db registered with the broker and the service answering from storage.
    {
        say(o, "waiting for " + std::to_string(o.db_nodes) + " tb-db on the bus ...");
        DbCaller c(ctx, manager_ep, 9999, nullptr);
        const auto until = Clock::now() + kReadyLimit;
        struct Probe {
            bool done = false;
            bool ok = false;
            std::string last = "no answer";
        };
        auto ask = [&](std::string_view target, uint32_t type, std::string body,
                       const std::function<bool(const bus::Reply&)>& good) {
            auto probe = std::make_shared<Probe>();
            for (;;) {
                check();
                if (Clock::now() >= until) {
                    throw std::runtime_error("db service not ready within " +
                                             std::to_string(kReadyLimit.count()) +
                                             " s: " + probe->last);
                }
                probe->done = false;
                c.node().request(
                    target, type, body,
                    [probe, good](bus::Reply&& r) {
                        probe->done = true;
                        probe->ok = good(r);
                        if (!probe->ok) probe->last = describe_failure(r);
                    },
                    bus::CallOptions{1000ms});
                while (!probe->done) {
                    if (stop_requested()) throw Interrupted();
                    c.loop().run_once(100ms);
                }
                if (probe->ok) return;
                c.loop().run_once(100ms);
            }
        };
        for (int i = 1; i <= o.db_nodes; ++i) {
            ask(bus::kMmiHealth, 0, codec::encode(bus::NodeQuery{"db-" + std::to_string(i)}),
                [](const bus::Reply& r) {
                    bus::HealthReply h;
                    return r.ok() && codec::decode(r.body, h) == codec::MsgError::kOk &&
                           h.registered && !h.degraded;
                });
        }
        common::UserQuery q;
        q.user_id = 1;
        ask(common::kDbService, common::kDbLoadUser, codec::encode(q), [](const bus::Reply& r) {
            return r.ok() || r.code == codec::to_int(codec::Errno::kInvalidField);
        });
    }

    std::vector<Watched> watched{{"bench", ::getpid()}, {"tb-manager", manager.pid()}};
    for (auto& d : dbs) watched.push_back({d->name(), d->pid()});
    if (mariadb) watched.push_back({"mariadbd", mariadb->child().pid()});
    if (redis) watched.push_back({"redis", redis->child().pid()});

    // Runs one measurement: `callers` threads, `inflight` split among them, each warming up
    // with its share of `warmup` calls then calling for `duration` (or until `next` runs dry).
    const auto measure = [&](const std::string& label, std::chrono::milliseconds duration,
                             int warmup, const std::function<NextFn(int)>& make_next,
                             const CheckFn& checker) {
        say(o, label + " ...");
        std::vector<double> cpu0;
        for (const auto& w : watched) cpu0.push_back(cpu_seconds(w.pid));
        const auto busy0 = machine_jiffies();
        const InnoDbCounters inno0 = monitor.read();
        Measurement m;
        try {
            m = run_callers(o.callers, duration, [&](int index, StartLine& line, Samples& out) {
                DbCaller c(ctx, manager_ep, index + 1, &line);
                const int depth = o.inflight / o.callers + (index < o.inflight % o.callers ? 1 : 0);
                NextFn next = make_next(index);
                const int share = warmup > 0 ? std::max(1, warmup / o.callers) : 0;
                if (share > 0) {
                    chains(c, next, checker, depth, static_cast<uint64_t>(share),
                           Clock::time_point::max(), nullptr);
                }
                const Window w = line.wait();
                chains(c, next, checker, depth, UINT64_MAX, w.end, &out);
            });
        } catch (const Interrupted&) {
            throw;
        } catch (const std::exception& e) {
            check();  // a dead child explains a failed call better
            throw std::runtime_error(label + ": " + e.what());
        }
        check();
        DbMeasurement d;
        d.calls = m.calls;
        d.rps = m.rps;
        d.p50_ms = m.p50_us / 1000.0;
        d.p99_ms = m.p99_us / 1000.0;
        const double n = static_cast<double>(m.calls) + warmup;
        for (std::size_t i = 0; i < watched.size(); ++i) {
            d.cpu_us.emplace_back(watched[i].name,
                                  (cpu_seconds(watched[i].pid) - cpu0[i]) * 1e6 / n);
        }
        const auto busy1 = machine_jiffies();
        d.machine_busy = busy1.second > busy0.second
                             ? (busy1.first - busy0.first) / (busy1.second - busy0.second)
                             : 0;
        const InnoDbCounters inno1 = monitor.read();
        const auto per = [&](const char* key) {
            const auto a = inno0.find(key);
            const auto b = inno1.find(key);
            return a == inno0.end() || b == inno1.end() ? -1.0 : (b->second - a->second) / n;
        };
        d.log_writes = per("Innodb_log_writes");
        d.data_fsyncs = per("Innodb_data_fsyncs");
        d.row_lock_waits = per("Innodb_row_lock_waits");
        d.deadlocks = per("Innodb_deadlocks");
        say(o, label + ": " + fmt(d.rps, 0) + " req/s, p50 " + fmt(d.p50_ms, 2) + " ms, p99 " +
                   fmt(d.p99_ms, 2) + " ms (" + std::to_string(d.calls) + " calls)");
        return d;
    };

    // 1. Setup: create the device accounts (one pass, no warm-up), keeping their user ids.
    std::vector<int64_t> user_ids(static_cast<std::size_t>(o.accounts), 0);
    {
        auto counter = std::make_shared<std::atomic<int>>(0);
        const int total = o.accounts;
        res.registrations = measure(
            "create " + std::to_string(total) + " device accounts", std::chrono::minutes(10), 0,
            [counter, total](int) -> NextFn {
                return [counter, total]() -> std::optional<Call> {
                    const int i = counter->fetch_add(1);
                    if (i >= total) return std::nullopt;
                    return register_call(i);
                };
            },
            [&user_ids](const Call& call, const bus::Reply& r) {
                const auto reply = decode_reply<common::RegisterReply>(r, "register");
                if (reply.user.user_id <= 0) throw std::runtime_error("register: no user id");
                user_ids[call.tag] = reply.user.user_id;
            });
        for (const int64_t id : user_ids) {
            if (id <= 0) throw std::runtime_error("setup: not every device account was created");
        }
    }

    // 2. Logins of the existing device accounts, round robin.
    if (o.only.empty() || o.only == "login") {
        auto counter = std::make_shared<std::atomic<uint64_t>>(0);
        const int total = o.accounts;
        res.logins = measure(
            "device logins", o.duration, o.warmup,
            [counter, total](int) -> NextFn {
                return [counter, total]() -> std::optional<Call> {
                    const int i = static_cast<int>(counter->fetch_add(1) % total);
                    return register_call(i);
                };
            },
            [&user_ids](const Call& call, const bus::Reply& r) {
                const auto reply = decode_reply<common::RegisterReply>(r, "login");
                if (reply.created || reply.user.user_id != user_ids[call.tag]) {
                    throw std::runtime_error("login answered another account or created one");
                }
            });
    }

    // 3. Settles: unique round ids; three distinct players drawn at random from the accounts
    // (so concurrent rounds sometimes share a row, as tables sharing a popular player would);
    // landlord wins: each farmer pays him `stake`.
    if (o.only.empty() || o.only == "settle") {
        auto counter = std::make_shared<std::atomic<uint64_t>>(0);
        const std::string run_tag = "b" + std::to_string(::getpid()) + "-";
        const std::vector<int64_t>& ids = user_ids;
        const int64_t stake = o.stake;
        res.settles = measure(
            "settles (3 seats)", o.duration, o.warmup,
            [counter, run_tag, &ids, stake](int index) -> NextFn {
                auto rng = std::make_shared<std::mt19937_64>(0x5e771eULL + index);
                return [counter, run_tag, &ids, stake, rng]() -> std::optional<Call> {
                    std::uniform_int_distribution<std::size_t> pick(0, ids.size() - 1);
                    std::size_t a = pick(*rng), b = pick(*rng), c = pick(*rng);
                    while (b == a) b = pick(*rng);
                    while (c == a || c == b) c = pick(*rng);
                    common::SettleRequest s;
                    s.round_id = run_tag + std::to_string(counter->fetch_add(1));
                    s.game = "landlords";
                    s.level = 1;
                    s.node = "bench-1";
                    s.seats = {ids[a], ids[b], ids[c]};
                    s.result = "{}";
                    s.transfers = {{ids[b], ids[a], stake}, {ids[c], ids[a], stake}};
                    return Call{common::kDbSettle, codec::encode(s), 0};
                };
            },
            [](const Call&, const bus::Reply& r) {
                const auto reply = decode_reply<common::SettleReply>(r, "settle");
                if (reply.repeated || reply.users.size() != 3) {
                    throw std::runtime_error("settle: repeated or not 3 users");
                }
            });
    }
    say(o, "stopping ...");
    return res;
}

nlohmann::ordered_json to_json(const DbBenchResults& r) {
    nlohmann::ordered_json j;
    j["db_device_logins_per_s"] = static_cast<int64_t>(std::llround(r.logins.rps));
    j["login_p50_ms"] = round_to(r.logins.p50_ms, 2);
    j["login_p99_ms"] = round_to(r.logins.p99_ms, 2);
    j["settles_per_s"] = static_cast<int64_t>(std::llround(r.settles.rps));
    j["settle_p50_ms"] = round_to(r.settles.p50_ms, 2);
    j["settle_p99_ms"] = round_to(r.settles.p99_ms, 2);
    j["fsyncs_per_s"] = static_cast<int64_t>(std::llround(r.fsyncs_per_s));
    j["fsyncs_per_s_4_streams"] = static_cast<int64_t>(std::llround(r.fsyncs_per_s_4_streams));
    j["pool_size"] = r.pool_size;
    j["db_nodes"] = r.db_nodes;
    j["inflight"] = r.inflight;
    j["device_registrations_per_s"] = static_cast<int64_t>(std::llround(r.registrations.rps));
    if (r.settles.log_writes >= 0) {
        j["settle_redo_writes_per_settle"] = round_to(r.settles.log_writes, 3);
    }
    return j;
}

std::vector<TargetCheck> check_targets(const DbBenchResults& r) {
    std::vector<TargetCheck> out;
    const auto add = [&](std::string name, double v, double limit) {
        out.push_back({std::move(name), v, limit, true, v >= limit});
    };
    if (r.logins.calls > 0) add("db_device_logins_per_s", r.logins.rps, 2000);
    if (r.settles.calls > 0) add("settles_per_s", r.settles.rps, 1000);
    return out;
}

std::string to_table(const DbBenchResults& r, const DbBenchOptions& o) {
    std::ostringstream s;
    char line[200];
    s << "tb-bench db: " << r.inflight << " requests in flight from " << o.callers
      << " bench node(s); " << r.db_nodes << " tb-db x pool " << r.pool_size << "; MariaDB "
      << r.mariadb_version << (r.private_storage ? " (private)" : " (given)") << "; "
      << fmt(static_cast<double>(o.duration.count()) / 1000.0, 1) << " s per measurement\n";
    s << "disk: " << fmt(r.fsyncs_per_s, 0)
      << " fsyncs/s (4 KiB pwrite + fdatasync, one stream, in " << r.fsync_dir << "); "
      << fmt(r.fsyncs_per_s_4_streams, 0) << " fsyncs/s summed over 4 streams at once\n\n";
    std::snprintf(line, sizeof line, "%-22s | %8s | %8s | %8s | %8s | %6s | %s\n", "measurement",
                  "req/s", "p50 ms", "p99 ms", "calls", "busy", "redo writes/req");
    s << line << std::string(std::strlen(line) - 1, '-') << "\n";
    const auto row = [&](const std::string& name, const DbMeasurement& m) {
        if (m.calls == 0) return;
        std::snprintf(line, sizeof line, "%-22s | %8.0f | %8.2f | %8.2f | %8llu | %5.0f%% | %s\n",
                      name.c_str(), m.rps, m.p50_ms, m.p99_ms,
                      static_cast<unsigned long long>(m.calls), m.machine_busy * 100,
                      m.log_writes >= 0 ? fmt(m.log_writes, 3).c_str() : "?");
        s << line;
    };
    row("create device account", r.registrations);
    row("device login", r.logins);
    row("settle (3 seats)", r.settles);
    s << "\nCPU us per request (user+sys, all threads, warm-up included):\n";
    const auto cpu = [&](const std::string& name, const DbMeasurement& m) {
        if (m.calls == 0) return;
        s << "  " << name << ":";
        double total = 0;
        for (const auto& [who, us] : m.cpu_us) {
            s << " " << who << " " << fmt(us, 0);
            total += us;
        }
        s << " (sum " << fmt(total, 0) << ")\n";
    };
    cpu("create", r.registrations);
    cpu("login ", r.logins);
    cpu("settle", r.settles);
    if (r.settles.calls > 0 && r.settles.row_lock_waits >= 0) {
        // With durable commits every redo write is a sync (fdatasync or O_DSYNC); one write
        // carries every transaction that committed meanwhile (group commit).
        s << "\nInnoDB per settle: redo log writes " << fmt(r.settles.log_writes, 3)
          << ", data fsyncs " << fmt(r.settles.data_fsyncs, 3) << ", row lock waits "
          << fmt(r.settles.row_lock_waits, 4) << ", deadlocks " << fmt(r.settles.deadlocks, 4)
          << "\nsettles/s over the disk's fsyncs/s: "
          << fmt(r.fsyncs_per_s > 0 ? r.settles.rps / r.fsyncs_per_s : 0, 2)
          << "; redo log writes/s during the settles "
          << fmt(r.settles.log_writes * r.settles.rps, 0) << " (one stream under load)\n";
    }
    s << "\ntargets:\n";
    for (const auto& t : check_targets(r)) {
        s << "  " << t.name << " " << fmt(t.ratio, 0) << " >= " << fmt(t.limit, 0) << "  "
          << (t.met ? "met" : "MISSED") << "\n";
    }
    return s.str();
}

}  // namespace tb::bench
