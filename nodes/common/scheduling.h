#pragma once
// How the kernel schedules a tablebus process: process.scheduler (ProcessConfig, config.h) in
// every node's config.
//
// "batch" (the default) puts every thread under SCHED_BATCH. Such a thread is not allowed to
// preempt the running one when it wakes; it runs when that one blocks or its slice ends. An
// action crosses a dozen threads (proxy, manager, game and their libzmq I/O threads), and under
// SCHED_OTHER each message handed to a sleeping thread preempts the sender at once, so on a
// busy machine every hand-off is a context switch that carries one message. Without the
// preemption the receiver finds several messages waiting when it runs, and the same work takes
// fewer switches: the gomoku closed loop ran 1.3-1.6x faster with a lower p99 on 2 cores
// (docs/BENCHMARKS.md). On an idle core a woken thread still runs at once, so a quiet machine
// sees no change. "normal" leaves SCHED_OTHER, for hosts where tablebus must not yield to
// interactive work.
//
// "idle" (SCHED_IDLE) is for the storage side (tb-db, and MariaDB and Redis through chrt) when
// it shares the cores with the action path: any other thread that wakes takes the core from
// it at once, and a core running only idle threads counts as free when the kernel places a
// woken thread. A settlement transaction holds a core for up to a millisecond, and under
// "batch" a proxy, manager or game thread woken meanwhile waits for it; that was most of the
// 20-player gomoku p99 (docs/BENCHMARKS.md). The price: while the other threads keep every
// core busy, an idle thread gets almost nothing, so logins and settlements wait out an
// overload. Never for a node on the action path. No privilege is needed for any of the three
// (leaving "idle" again needs CAP_SYS_NICE or a RLIMIT_NICE allowance).
//
// process.nice (default 0: as started) sets every thread's nice value. Under "batch" at nice 19
// the storage side weighs 15 against a nice-0 thread's 1024 when the kernel shares a busy core:
// it is picked rarely while the action path has work, yet never starved as "idle" is when the
// cores are saturated. Raising it needs no privilege; lowering it does.
//
// Both act only between threads of one scheduling group: with autogroup on, a session; under
// a cgroup cpu controller, a cgroup. Processes in groups of their own share the cores as
// equals whatever their policies (docs/operations.md, "Scheduling").

#include <spdlog/logger.h>

#include <string>

#include "nodes/common/config.h"

namespace tb::common {

// Applies cfg.scheduler, and cfg.nice when not 0, to every thread the process has now; threads
// started afterwards inherit both from their creator, so call it in main before the ZeroMQ
// context and any pool.
// A refusal by the kernel (a seccomp profile, say) is logged as a warning and the process goes
// on under its current policy: scheduling is a matter of speed, not of correctness. Returns
// how many threads were set. Main thread.
int apply_scheduler(const ProcessConfig& cfg, spdlog::logger& log);

// The calling thread's nice value. For tests and diagnostics; any thread.
int current_nice();

// The calling thread's policy as a process.scheduler value ("batch", "normal", "idle", or the
// kernel's number for another policy). For tests and diagnostics; any thread.
std::string current_scheduler();

}  // namespace tb::common
