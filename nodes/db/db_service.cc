#include "nodes/db/db_service.h"
#include "nodes/common/node_main.h"

#include <spdlog/spdlog.h>

#include "codec/errors.h"
#include "codec/fields.h"

namespace tb::db {

using codec::BusCode;
using common::DbException;

namespace {

bus::NodeOptions node_options(const DbConfig& cfg) {
    bus::NodeOptions o;
    o.kind = "db";
    o.id = cfg.node.id;
    o.service = std::string(common::kDbService);
    common::apply_node_config(cfg.node, o);
    o.announce = cfg.node.announce_endpoint();  // the replica tells stale online entries
    o.capacity = cfg.queue_cap;
    // Every operation is safe to run twice: treasure changes are keyed, creation is unique.
    o.idempotent = true;
    return o;
}

}  // namespace

DbService::DbService(zmq::context_t& ctx, bus::EventLoop& loop, const DbConfig& cfg,
                     std::function<int64_t()> now)
    : cfg_(cfg), loop_(loop), node_(ctx, loop, node_options(cfg)), now_(std::move(now)) {
    using namespace common;
    serve<RegisterRequest>(kDbRegisterOrLogin, [](Store& s, const RegisterRequest& r) {
        return s.register_or_login(r);
    });
    serve_user(kDbLoadUser, [](Store& s, int64_t uid) { return s.load_user(uid); });
    // Settlements queue as data, not closures: a pool thread takes every settlement waiting
    // behind the one it picks (up to pool.settle_batch) and settles them in one transaction.
    node_.on_request(kDbSettle, [this](bus::Request& req) {
        SettleRequest decoded;
        if (codec::decode(req.body, decoded) != codec::MsgError::kOk) {
            node_.fail(req.env, codec::to_int(codec::Errno::kMalformed), "malformed");
            return;
        }
        Job job;
        job.settle = std::move(decoded);
        job.env = req.env;
        submit_request(req.env, std::move(job));
    });
    serve<ChangeTreasureRequest>(kDbChangeTreasure, [](Store& s, const ChangeTreasureRequest& r) {
        return s.change_treasure(r);
    });
    serve<TopUpRequest>(kDbTopUp, [](Store& s, const TopUpRequest& r) { return s.top_up(r); });
    serve_user(kDbSignInDays, [](Store& s, int64_t uid) { return s.sign_in_days(uid); });
    serve_user(kDbSignIn, [](Store& s, int64_t uid) { return s.sign_in(uid); });
    serve<OnlineEntry>(kDbOnlineSet,
                       [](Store& s, const OnlineEntry& e) { return s.online_set(e); });
    serve<OnlineEntry>(kDbOnlineDelete,
                       [](Store& s, const OnlineEntry& e) { return s.online_delete(e); });
    serve<NodeEntries>(kDbOnlineClearNode,
                       [](Store& s, const NodeEntries& n) { return s.online_clear_node(n.node); });
    serve<RankingRequest>(kDbRanking,
                          [](Store& s, const RankingRequest& r) { return s.ranking(r); });
    serve<RobotRequest>(kDbRobotAcquire,
                        [](Store& s, const RobotRequest& r) { return s.robots(r); });

    // Online get: an entry that points at a node no longer on the bus is treated as absent, so
    // a crashed game node can never lock its players out.
    node_.on_request(kDbOnlineGet, [this](bus::Request& req) {
        UserQuery q;
        if (codec::decode(req.body, q) != codec::MsgError::kOk) {
            node_.fail(req.env, codec::to_int(codec::Errno::kMalformed), "malformed");
            return;
        }
        auto env = req.env;
        Job job;
        job.run = [this, env, q](Store& store) {
            auto out = store.online_get(q.user_id);
            loop_.post([this, env, entry = std::move(out.value)] { answer_online(env, entry); });
        };
        submit_request(env, std::move(job));
    });

    for (int i = 0; i < cfg_.pool_size; ++i) {
        threads_.emplace_back([this] { worker_main(); });
    }
}

DbService::~DbService() {
    loop_.cancel(health_timer_);
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
}

void DbService::start() {
    node_.start();
    // Storage health goes out with the heartbeats; while down, probe so that recovery does not
    // wait for the next client request.
    health_timer_ = loop_.add_repeating(std::chrono::milliseconds(500), [this] {
        node_.set_degraded(storage_down_.load());
        if (storage_down_.load() && !probing_.exchange(true)) probe();
        report_expired();
    });
}

std::size_t DbService::queued() const {
    std::lock_guard lock(mutex_);
    return jobs_.size();
}

template <class Req, class Op>
void DbService::serve(uint32_t type, Op op) {
    node_.on_request(type, [this, op](bus::Request& req) {
        Req decoded;
        if (codec::decode(req.body, decoded) != codec::MsgError::kOk) {
            node_.fail(req.env, codec::to_int(codec::Errno::kMalformed), "malformed");
            return;
        }
        auto env = req.env;
        Job job;
        job.run = [this, env, op, decoded = std::move(decoded)](Store& store) {
            post_answer(env, op(store, decoded));
        };
        submit_request(env, std::move(job));
    });
}

template <class T>
void DbService::post_answer(const codec::Envelope& env, Outcome<T> out) {
    loop_.post([this, env, out = std::move(out)] {
        if (out.ok()) {
            node_.reply(env, codec::encode(out.value));
        } else {
            node_.fail(env, out.code, out.text);
        }
    });
}

template <class Op>
void DbService::serve_user(uint32_t type, Op op) {
    serve<common::UserQuery>(
        type, [op](Store& s, const common::UserQuery& q) { return op(s, q.user_id); });
}

bool DbService::submit(Job job) {
    bool wake_all = false;
    {
        std::lock_guard lock(mutex_);
        if (jobs_.size() >= static_cast<std::size_t>(cfg_.queue_cap)) return false;
        if (job.settle) {
            ++settles_queued_;
            const auto now = bus::Clock::now();
            settle_gap_ = now - last_settle_at_;
            last_settle_at_ = now;
        }
        jobs_.push_back(std::move(job));
        // The gathering thread waits on the same condition as the idle ones: a notify_one
        // could wake it for a job only another thread may take, and that job would wait.
        wake_all = gathering_;
    }
    if (wake_all) {
        cv_.notify_all();
    } else {
        cv_.notify_one();
    }
    return true;
}

bool DbService::runnable() const {
    return !jobs_.empty() && (!gathering_ || jobs_.size() > settles_queued_);
}

DbService::Job DbService::pop_runnable() {
    auto it = jobs_.begin();
    if (gathering_) {
        while (it->settle) ++it;  // runnable(): a job that is not a settlement is queued
    }
    Job job = std::move(*it);
    jobs_.erase(it);
    if (job.settle) --settles_queued_;
    return job;
}

void DbService::submit_request(const codec::Envelope& env, Job job) {
    job.fail = answer_failure(env);
    job.deadline = bus::deadline_of(env);
    if (!submit(std::move(job))) {
        node_.fail(env, codec::to_int(BusCode::kOverloaded), "overloaded");
    }
}

void DbService::worker_main() {
    Store store(cfg_, now_);
    PoolThread thread;
    for (;;) {
        std::vector<Job> batch;
        {
            std::unique_lock lock(mutex_);
            ++idle_;
            cv_.wait(lock, [this] { return stopping_ || runnable(); });
            --idle_;
            if (stopping_) return;
            batch.push_back(pop_runnable());
            if (batch.front().settle) gather_settlements(lock, batch);
        }
        std::vector<Job> live;
        for (auto& job : batch) {
            if (bus::Clock::now() >= job.deadline) {
                expired_.fetch_add(1);
                if (job.fail) job.fail(codec::to_int(BusCode::kTimeout), "expired in the db queue");
                continue;
            }
            live.push_back(std::move(job));
        }
        if (live.empty()) continue;
        if (live.front().settle) {
            run_settlements(store, thread, live);
        } else {
            run_job(store, thread, live.front().run, live.front().fail);
        }
    }
}

void DbService::take_settlements(std::vector<Job>& batch) {
    // Only the head of the queue is searched: a long queue is a backlog, and the scan runs
    // under the lock every other pool thread waits on.
    std::size_t scanned = 0;
    for (auto it = jobs_.begin(); it != jobs_.end() && scanned < kSettleScan &&
                                  batch.size() < static_cast<std::size_t>(cfg_.settle_batch);
         ++scanned) {
        if (it->settle) {
            batch.push_back(std::move(*it));
            it = jobs_.erase(it);
            --settles_queued_;
        } else {
            ++it;
        }
    }
}

void DbService::gather_settlements(std::unique_lock<std::mutex>& lock, std::vector<Job>& batch) {
    take_settlements(batch);
    const auto want = static_cast<std::size_t>(cfg_.settle_batch);
    const std::chrono::milliseconds linger(cfg_.settle_linger_ms);
    // (No other thread gathers now: while one does, pop_runnable() hands out no settlement.)
    if (linger.count() <= 0 || batch.size() >= want || settle_gap_ >= linger) return;
    // Group commit: under load, settlements arrive faster than transactions commit, and each
    // transaction costs MariaDB about the same whatever the number of rounds in it. Other
    // threads leave settlements queued for this one meanwhile and take every other job; when
    // none is idle to take one, the gathering ends, so that nothing else waits behind it.
    gathering_ = true;
    cv_.wait_until(lock, bus::Clock::now() + linger, [&] {
        return stopping_ || batch.size() + settles_queued_ >= want ||
               (idle_ == 0 && jobs_.size() > settles_queued_);
    });
    gathering_ = false;
    take_settlements(batch);
    // Settlements beyond this batch are any thread's again.
    if (settles_queued_ > 0) cv_.notify_all();
}

void DbService::run_settlements(Store& store, PoolThread& thread, std::vector<Job>& jobs) {
    settle_runs_.fetch_add(1);
    std::vector<const common::SettleRequest*> reqs;
    for (const auto& job : jobs) reqs.push_back(&*job.settle);
    run_job(
        store, thread,
        [&](Store& s) {
            auto outs = s.settle_many(reqs);
            for (std::size_t k = 0; k < jobs.size(); ++k) {
                post_answer(jobs[k].env, std::move(outs[k]));
            }
        },
        [&](int32_t code, const std::string& text) {
            for (const auto& job : jobs) job.fail(code, text);
        });
}

void DbService::report_expired() {
    // At most one line per 10 s: under overload every queued request could expire.
    const auto now = bus::Clock::now();
    const uint64_t total = expired_.load();
    if (total == expired_logged_ || now - expired_logged_at_ < std::chrono::seconds(10)) return;
    spdlog::warn(
        "db: {} request(s) expired in the queue since the last report (callers gave up "
        "before a pool thread was free): the pool is too small for the load or storage "
        "is slow; {} queued now",
        total - expired_logged_, queued());
    expired_logged_ = total;
    expired_logged_at_ = now;
}

void DbService::answer_online(const codec::Envelope& env, common::OnlineEntry entry) {
    if (entry.node.empty() || (node_.synced() && node_.table().contains(entry.node))) {
        node_.reply(env, codec::encode(entry));
        return;
    }
    // Not in our replica: it may have just joined (the replica lags by up to a heartbeat), so
    // ask the broker before declaring the entry stale.
    bus::NodeQuery q{entry.node};
    node_.request(bus::kMmiHealth, 0, codec::encode(q), [this, env, entry](bus::Reply&& r) mutable {
        bus::HealthReply h;
        const bool live =
            r.ok() && codec::decode(r.body, h) == codec::MsgError::kOk && h.registered;
        if (!live) {
            const int64_t uid = entry.user_id;
            entry = common::OnlineEntry{};
            entry.user_id = uid;
        }
        node_.reply(env, codec::encode(entry));
    });
}

DbService::Job::fail_type DbService::answer_failure(const codec::Envelope& env) {
    return [this, env](int32_t code, std::string text) {
        loop_.post([this, env, code, text = std::move(text)] { node_.fail(env, code, text); });
    };
}

void DbService::run_job(Store& store, PoolThread& thread, const std::function<void(Store&)>& run,
                        const std::function<void(int32_t, const std::string&)>& fail) {
    try {
        const auto now = std::chrono::steady_clock::now();
        // A connection that sat idle may have died with a server restart no request saw; it
        // would fail this job. Checked only after pool.ping_idle_ms of idleness, so a busy pool
        // pays nothing.
        if (store.connected() &&
            now - thread.last_used >= std::chrono::milliseconds(cfg_.ping_idle_ms) &&
            !store.ping()) {
            spdlog::info("db: a pool connection died while idle; reconnecting");
            store.disconnect();
        }
        if (!store.connected()) {
            // Fail fast while storage is down: one connect attempt per thread per second, not
            // one connect timeout per request. Once another thread has reached storage again
            // the back-off is over: waiting it out would refuse requests storage could serve.
            if (now < thread.retry_after && storage_down_.load()) {
                throw DbException(common::DbStatus::kConnection, 0, "storage unavailable");
            }
            try {
                store.connect();
            } catch (const DbException&) {
                thread.retry_after = now + std::chrono::seconds(1);
                throw;
            }
        }
        thread.last_used = now;
        run(store);
        storage_down_.store(false);
    } catch (const DbException& e) {
        if (e.connection_lost()) {
            store.disconnect();
            storage_down_.store(true);
            spdlog::debug("db: storage unavailable: {}", e.what());
            if (fail) fail(codec::to_int(BusCode::kStorage), "storage unavailable");
            return;
        }
        spdlog::error("db: storage error {}: {}", e.code(), e.what());
        if (fail) fail(codec::to_int(codec::Errno::kFailure), "failure");
    } catch (const std::exception& e) {
        spdlog::error("db: request failed: {}", e.what());
        if (fail) fail(codec::to_int(codec::Errno::kFailure), "failure");
    }
}

void DbService::probe() {
    Job job;
    job.run = [this](Store& store) {
        if (!store.ping()) {
            store.disconnect();
            throw DbException(common::DbStatus::kConnection, 0, "probe failed");
        }
    };
    job.fail = [this](int32_t, std::string) { probing_.store(false); };
    const auto done = job.run;
    job.run = [this, done](Store& store) {
        done(store);
        probing_.store(false);
        spdlog::info("db: storage reachable again");
    };
    if (!submit(std::move(job))) probing_.store(false);
}

}  // namespace tb::db
