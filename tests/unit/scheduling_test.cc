// process.scheduler: the key, and apply_scheduler() on this test process's own threads. Moving
// between SCHED_OTHER and SCHED_BATCH needs no privilege, so this runs anywhere Linux does.
// SCHED_IDLE is tried in a forked child: leaving it may need a privilege the test lacks.
#include "nodes/common/scheduling.h"

#include <sched.h>
#include <spdlog/sinks/ostream_sink.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <functional>
#include <future>
#include <sstream>
#include <thread>

#include "nodes/common/config.h"

namespace tb::common {
namespace {

std::string scheduler_of_new_thread() {
    return std::async(std::launch::async, [] { return current_scheduler(); }).get();
}

// Runs `checks` in a forked child, with a logger, and returns the child's exit status: 0 when
// every check passed, else the code of the first that failed. For settings that cannot be undone
// without a privilege (leaving SCHED_IDLE, lowering a raised nice value).
int in_child(const std::function<int(spdlog::logger&)>& checks) {
    const pid_t child = ::fork();
    if (child < 0) return -1;
    if (child == 0) {
        std::ostringstream logged;
        spdlog::logger log("sched", std::make_shared<spdlog::sinks::ostream_sink_mt>(logged));
        int code = checks(log);
        if (code == 0 && !logged.str().empty()) code = 1;  // nothing may have been refused
        ::_exit(code);
    }
    int status = 0;
    if (::waitpid(child, &status, 0) != child || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status);
}

// Puts the test process back under the default policy, whatever a test did.
struct RestoreNormal {
    ~RestoreNormal() {
        const sched_param param{};
        ::sched_setscheduler(0, SCHED_OTHER, &param);
    }
};

TEST_CASE("process.scheduler defaults to batch and takes only batch, normal or idle", "[common]") {
    NodeConfig cfg;
    ConfigSchema schema;
    bind_node_config(schema, cfg);
    schema.load("", [](const char*) -> const char* { return nullptr; }, {});
    CHECK(cfg.process.scheduler == "batch");
    CHECK(schema.find("process.scheduler")->env_name() == "TB_PROCESS_SCHEDULER");

    schema.load("", [](const char*) -> const char* { return nullptr; },
                {"process.scheduler=normal"});
    CHECK(cfg.process.scheduler == "normal");
    schema.load("", [](const char*) -> const char* { return nullptr; }, {"process.scheduler=idle"});
    CHECK(cfg.process.scheduler == "idle");
    CHECK_THROWS_WITH(schema.load("", [](const char*) -> const char* { return nullptr; },
                                  {"process.scheduler=fifo"}),
                      Catch::Contains("process.scheduler"));
}

TEST_CASE("apply_scheduler sets every thread and the threads started later", "[common]") {
    RestoreNormal restore;
    std::ostringstream logged;
    spdlog::logger log("sched", std::make_shared<spdlog::sinks::ostream_sink_mt>(logged));

    // A thread that already runs when the policy changes, waiting to report its own.
    std::promise<void> go;
    auto early = std::async(std::launch::async, [ready = go.get_future()]() mutable {
        ready.wait();
        return current_scheduler();
    });

    REQUIRE(apply_scheduler(ProcessConfig{"batch"}, log) >= 2);
    CHECK(current_scheduler() == "batch");
    CHECK(scheduler_of_new_thread() == "batch");
    go.set_value();
    CHECK(early.get() == "batch");
    CHECK(logged.str().empty());

    REQUIRE(apply_scheduler(ProcessConfig{"normal"}, log) >= 1);
    CHECK(current_scheduler() == "normal");
    CHECK(scheduler_of_new_thread() == "normal");
}

TEST_CASE("apply_scheduler idle puts the process under SCHED_IDLE", "[common]") {
    CHECK(in_child([](spdlog::logger& log) {
              if (apply_scheduler(ProcessConfig{"idle"}, log) < 1) return 2;
              if (::sched_getscheduler(0) != SCHED_IDLE || current_scheduler() != "idle") return 3;
              if (scheduler_of_new_thread() != "idle") return 4;
              return 0;
          }) == 0);
    CHECK(current_scheduler() != "idle");  // the parent is untouched
}

TEST_CASE("process.nice defaults to 0 and takes -20..19", "[common]") {
    NodeConfig cfg;
    ConfigSchema schema;
    bind_node_config(schema, cfg);
    const auto no_env = [](const char*) -> const char* { return nullptr; };
    schema.load("", no_env, {});
    CHECK(cfg.process.nice == 0);
    CHECK(schema.find("process.nice")->env_name() == "TB_PROCESS_NICE");
    schema.load("", no_env, {"process.nice=19"});
    CHECK(cfg.process.nice == 19);
    CHECK_THROWS_WITH(schema.load("", no_env, {"process.nice=20"}),
                      Catch::Contains("process.nice"));
    CHECK_THROWS_WITH(schema.load("", no_env, {"process.nice=-21"}),
                      Catch::Contains("process.nice"));
}

TEST_CASE("apply_scheduler with process.nice sets every thread's nice value", "[common]") {
    const int before = current_nice();
    CHECK(in_child([](spdlog::logger& log) {
              // A thread that already runs when the value changes, waiting to report its own.
              std::promise<void> go;
              auto early = std::async(std::launch::async, [ready = go.get_future()]() mutable {
                  ready.wait();
                  return current_nice();
              });
              ProcessConfig cfg;
              cfg.nice = 19;
              const int set = apply_scheduler(cfg, log);
              go.set_value();
              const int early_nice = early.get();
              if (set < 2) return 2;
              if (current_nice() != 19 || current_scheduler() != "batch") return 3;
              if (std::async(std::launch::async, [] { return current_nice(); }).get() != 19) {
                  return 4;
              }
              if (early_nice != 19) return 5;
              return 0;
          }) == 0);
    CHECK(current_nice() == before);  // the parent is untouched
}

}  // namespace
}  // namespace tb::common
