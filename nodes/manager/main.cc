// tb-manager: the bus broker, service registry, announcer and /metrics page.
//   tb-manager [--config conf/manager.toml] [--set manager.base_port=6000] ...
#include <CLI/CLI.hpp>
#include <cstdio>

#include "bus/event_loop.h"
#include "nodes/common/config.h"
#include "nodes/common/logging.h"
#include "nodes/common/scheduling.h"
#include "nodes/common/signals.h"
#include "nodes/manager/manager_app.h"

int main(int argc, char** argv) try {
    tb::common::SignalWatcher signals;
    tb::manager::ManagerConfig cfg;
    tb::common::ConfigSchema schema;
    tb::manager::bind_manager_config(schema, cfg);

    CLI::App app{"tb-manager: the tablebus broker (bus ROUTER, announcements PUB, /metrics)"};
    tb::common::CliOverrides cli;
    tb::common::add_cli(app, cli);
    tb::common::add_cli_alias(app, cli, schema, "--base-port", "manager.base_port");
    app.footer(schema.help_text());
    CLI11_PARSE(app, argc, argv);
    schema.load(tb::common::config_path(cli, "manager"), tb::common::process_env(), cli.sets);

    auto log = tb::common::init_logging("manager", cfg.log);
    tb::common::log_effective_config(*log, schema);
    tb::common::apply_scheduler(cfg.process, *log);  // before any thread starts

    zmq::context_t ctx;
    tb::bus::EventLoop loop;
    tb::manager::ManagerApp manager(ctx, loop, cfg);
    loop.add_fd(signals.fd(), [&] {
        while (auto sig = signals.read()) {
            log->info("signal {}: stopping", *sig);
            loop.quit();
        }
    });
    log->info("manager up: bus {}, announce {}, metrics {}", manager.broker().bus_endpoint(),
              manager.broker().announce_endpoint(), manager.metrics_endpoint());
    loop.run();
    log->info("manager stopped");
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "tb-manager: %s\n", e.what());
    return 1;
}
