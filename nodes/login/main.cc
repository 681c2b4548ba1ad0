// tb-login: the login service on the bus (FastRegister, SignInDays, SignIn, Ranking).
//   tb-login [--config conf/login.toml] [--id N] [--set key=value]...
#include <CLI/CLI.hpp>
#include <cstdio>

#include "bus/event_loop.h"
#include "nodes/common/config.h"
#include "nodes/common/logging.h"
#include "nodes/common/node_main.h"
#include "nodes/common/scheduling.h"
#include "nodes/common/signals.h"
#include "nodes/login/login_config.h"
#include "nodes/login/login_service.h"

int main(int argc, char** argv) try {
    tb::common::SignalWatcher signals;
    tb::login::LoginConfig cfg;
    tb::common::ConfigSchema schema;
    tb::login::bind_login_config(schema, cfg);

    CLI::App app{"tb-login: the login service (register/login, sign-in, ranking)"};
    tb::common::CliOverrides cli;
    tb::common::add_cli(app, cli);
    tb::common::add_cli_alias(app, cli, schema, "--id", "node.id");
    app.footer(schema.help_text());
    CLI11_PARSE(app, argc, argv);
    schema.load(tb::common::config_path(cli, "login"), tb::common::process_env(), cli.sets);

    auto log = tb::common::init_logging("login", cfg.node.log);
    tb::common::log_effective_config(*log, schema);
    tb::common::apply_scheduler(cfg.node.process, *log);  // before any thread starts

    zmq::context_t ctx;
    tb::bus::EventLoop loop;
    tb::login::LoginService service(ctx, loop, cfg);
    service.start();
    log->info("login-{} up: manager {}, db timeout {} ms", cfg.node.id, cfg.node.manager_endpoint(),
              cfg.db_timeout.count());
    const int exit_code = tb::common::run_node_loop(loop, service.node(), signals, *log);
    service.stop();
    return exit_code;
} catch (const std::exception& e) {
    std::fprintf(stderr, "tb-login: %s\n", e.what());
    return 1;
}
