#include "nodes/common/scheduling.h"

#include <dirent.h>
#include <sched.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace tb::common {

namespace {

int policy_of(const std::string& scheduler) {
    if (scheduler == "batch") return SCHED_BATCH;
    if (scheduler == "idle") return SCHED_IDLE;
    return SCHED_OTHER;
}

// The ids of this process's threads (/proc/self/task).
std::vector<pid_t> threads() {
    std::vector<pid_t> out;
    DIR* dir = ::opendir("/proc/self/task");
    if (dir == nullptr) return out;
    while (const dirent* e = ::readdir(dir)) {
        char* end = nullptr;
        const long tid = std::strtol(e->d_name, &end, 10);
        if (end != e->d_name && *end == '\0' && tid > 0) out.push_back(static_cast<pid_t>(tid));
    }
    ::closedir(dir);
    return out;
}

}  // namespace

int apply_scheduler(const ProcessConfig& cfg, spdlog::logger& log) {
    const int policy = policy_of(cfg.scheduler);
    const sched_param param{};  // every policy offered takes priority 0
    // Without /proc, at least this thread, and the threads it starts later, are set.
    std::vector<pid_t> tids = threads();
    if (tids.empty()) tids.push_back(0);
    int set = 0;
    bool nice_refused = false;
    for (const pid_t tid : tids) {
        // The nice value is per thread on Linux, and new threads take their creator's, as they
        // take its policy. A refusal is reported once and leaves the policy to be set.
        if (cfg.nice != 0 && !nice_refused &&
            ::setpriority(PRIO_PROCESS, static_cast<id_t>(tid), cfg.nice) != 0 && errno != ESRCH) {
            log.warn(
                "process.nice={}: setpriority on thread {} failed ({}); running at the "
                "current nice value",
                cfg.nice, tid, std::strerror(errno));
            nice_refused = true;
        }
        if (::sched_setscheduler(tid, policy, &param) == 0) {
            ++set;
        } else if (errno != ESRCH) {  // ESRCH: the thread ended meanwhile
            log.warn(
                "process.scheduler={}: sched_setscheduler on thread {} failed ({}); "
                "running under the current policy",
                cfg.scheduler, tid, std::strerror(errno));
            return set;
        }
    }
    return set;
}

int current_nice() {
    errno = 0;
    const int nice = ::getpriority(PRIO_PROCESS, 0);  // this thread (a tid of 0)
    return errno == 0 ? nice : 0;
}

std::string current_scheduler() {
    const int policy = ::sched_getscheduler(0);
    if (policy == SCHED_BATCH) return "batch";
    if (policy == SCHED_IDLE) return "idle";
    if (policy == SCHED_OTHER) return "normal";
    return std::to_string(policy);
}

}  // namespace tb::common
