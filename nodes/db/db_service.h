#pragma once
// The db service on the bus: decodes each request on the loop thread, runs the storage work on
// a pool of threads (each with its own Store: its own MariaDB and Redis connections), and
// answers back on the loop thread. The loop never blocks on storage, so heartbeats keep
// flowing while MariaDB is slow or gone.
//
// Storage down: a request whose thread cannot reach storage is answered at once with
// BusCode::kStorage; threads do not retry a failed connect for a second, so a burst of
// requests fails fast instead of each waiting out a connect timeout. The node reports itself
// degraded in its heartbeats until a background probe reaches storage again.
//
// Overload: a job whose caller has given up (its envelope's timeout passed while it waited
// for a thread) is answered with BusCode::kTimeout without running, so a burst that outgrows
// the pool costs the time of the requests still wanted, not of every one queued (a backlog
// of dead work once held settles and logins up for tens of seconds). The count is logged.
//
// Threading: construct, start and destroy on the loop thread (or before the loop runs).

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "bus/event_loop.h"
#include "bus/node.h"
#include "nodes/db/db_config.h"
#include "nodes/db/store.h"

namespace tb::db {

class DbService {
public:
    // `cfg` must outlive the service. `now` (unix seconds) is for tests of the calendar.
    DbService(zmq::context_t& ctx, bus::EventLoop& loop, const DbConfig& cfg,
              std::function<int64_t()> now = {});
    ~DbService();
    DbService(const DbService&) = delete;
    DbService& operator=(const DbService&) = delete;

    void start();
    bus::Node& node() noexcept { return node_; }
    bool degraded() const noexcept { return storage_down_.load(); }
    std::size_t queued() const;
    // Jobs dropped so far because their caller's deadline passed while they were queued.
    uint64_t expired() const noexcept { return expired_.load(); }
    // Pool runs that settled rounds; one run settles every settlement queued near the head
    // (up to pool.settle_batch) together.
    uint64_t settle_runs() const noexcept { return settle_runs_.load(); }

private:
    struct Job {
        std::function<void(Store&)> run;
        // Answers the request when `run` could not (storage down, a bug): called on a pool
        // thread, so it only posts to the loop.
        using fail_type = std::function<void(int32_t code, std::string text)>;
        fail_type fail;
        // When the caller stops waiting (bus::deadline_of); a job picked up later is dropped.
        bus::Clock::time_point deadline = bus::Clock::time_point::max();
        // A settlement is queued as its request (and `run` is empty), so that a pool thread
        // can settle several in one transaction (Store::settle_many).
        std::optional<common::SettleRequest> settle;
        codec::Envelope env;  // the settlement's caller
    };
    // Settlements to share a transaction are looked for among this many queued jobs.
    static constexpr std::size_t kSettleScan = 64;

    // Registers a handler that decodes `Req`, runs `op(store, req)` on the pool and answers.
    template <class Req, class Op>
    void serve(uint32_t type, Op op);
    template <class Op>
    void serve_user(uint32_t type, Op op);
    bool submit(Job job);
    // Queues the job of the request `env` with its failure answer and its caller's deadline;
    // a full queue answers "overloaded".
    void submit_request(const codec::Envelope& env, Job job);
    // What a pool thread remembers between jobs about its connections.
    struct PoolThread {
        std::chrono::steady_clock::time_point retry_after{};  // no connect attempt before this
        std::chrono::steady_clock::time_point last_used{};    // start of the last job run
    };
    void worker_main();
    // Runs `run` on this thread's connections (reconnecting first if needed); `fail` answers
    // when storage is down or `run` threw.
    void run_job(Store& store, PoolThread& thread, const std::function<void(Store&)>& run,
                 const std::function<void(int32_t, const std::string&)>& fail);
    // Whether a waiting pool thread has a job it may take, and takes it (caller holds mutex_):
    // the head of the queue, or while another thread gathers settlements, the first job that
    // is not one.
    bool runnable() const;
    Job pop_runnable();
    // Moves the settlements queued near the head into `batch` (caller holds mutex_).
    void take_settlements(std::vector<Job>& batch);
    // take_settlements(), and with pool.settle_linger_ms set, waits for more until the batch
    // is full or the linger is over. One thread gathers at a time.
    void gather_settlements(std::unique_lock<std::mutex>& lock, std::vector<Job>& batch);
    void run_settlements(Store& store, PoolThread& thread, std::vector<Job>& jobs);
    template <class T>
    void post_answer(const codec::Envelope& env, Outcome<T> out);
    Job::fail_type answer_failure(const codec::Envelope& env);
    void probe();
    // Logs how many jobs expired since the last report (loop thread, from the health timer).
    void report_expired();
    // Answers an online lookup, treating an entry for a node not on the bus as absent.
    void answer_online(const codec::Envelope& env, common::OnlineEntry entry);

    const DbConfig& cfg_;  // owned by main, outlives the service
    bus::EventLoop& loop_;
    bus::Node node_;
    std::function<int64_t()> now_;

    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<Job> jobs_;
    std::size_t settles_queued_ = 0;  // settlements among jobs_
    bool gathering_ = false;          // a pool thread waits for settlements to join its batch
    int idle_ = 0;                    // pool threads waiting for a job
    bus::Clock::time_point last_settle_at_{};
    // Between the last two settlements queued: a thread gathers only when the next is likely
    // to come within the linger, so that a lone settlement on a quiet node never waits.
    bus::Clock::duration settle_gap_ = bus::Clock::duration::max();
    bool stopping_ = false;
    std::vector<std::thread> threads_;
    std::atomic<bool> storage_down_{false};
    std::atomic<bool> probing_{false};
    std::atomic<uint64_t> expired_{0};
    std::atomic<uint64_t> settle_runs_{0};
    uint64_t expired_logged_ = 0;  // loop thread: expired_ when last reported
    bus::Clock::time_point expired_logged_at_{};
    bus::TimerId health_timer_ = 0;
};

}  // namespace tb::db
