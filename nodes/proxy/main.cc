// tb-proxy: game clients over raw TCP onto the bus.
//   tb-proxy [--config conf/proxy.toml] [--id N] [--port P] [--set key=value]...
#include <CLI/CLI.hpp>
#include <cstdio>

#include "bus/event_loop.h"
#include "nodes/common/config.h"
#include "nodes/common/logging.h"
#include "nodes/common/node_main.h"
#include "nodes/common/scheduling.h"
#include "nodes/common/signals.h"
#include "nodes/proxy/proxy_service.h"

int main(int argc, char** argv) try {
    tb::common::SignalWatcher signals;
    tb::proxy::ProxyConfig cfg;
    tb::common::ConfigSchema schema;
    tb::proxy::bind_proxy_config(schema, cfg);

    CLI::App app{"tb-proxy: game clients over raw TCP onto the tablebus bus"};
    tb::common::CliOverrides cli;
    tb::common::add_cli(app, cli);
    tb::common::add_cli_alias(app, cli, schema, "--id", "node.id");
    tb::common::add_cli_alias(app, cli, schema, "--port", "proxy.listen_port");
    app.footer(schema.help_text());
    CLI11_PARSE(app, argc, argv);
    schema.load(tb::common::config_path(cli, "proxy"), tb::common::process_env(), cli.sets);

    auto log = tb::common::init_logging("proxy", cfg.node.log);
    tb::common::log_effective_config(*log, schema);
    tb::common::apply_scheduler(cfg.node.process, *log);  // before any thread starts

    zmq::context_t ctx;
    tb::bus::EventLoop loop;
    tb::proxy::ProxyService proxy(ctx, loop, cfg);
    proxy.start();
    log->info("proxy-{} up: clients on {}:{}", cfg.node.id, cfg.listen_host, proxy.port());
    const int exit_code =
        tb::common::run_node_loop(loop, proxy.node(), signals, *log, [&] { proxy.shutdown(); });
    proxy.node().stop();
    return exit_code;
} catch (const std::exception& e) {
    std::fprintf(stderr, "tb-proxy: %s\n", e.what());
    return 1;
}
