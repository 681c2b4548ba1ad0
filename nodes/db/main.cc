// tb-db: the db service on the bus, the only process that talks to MariaDB and Redis.
//   tb-db [--config conf/db.toml] [--id N] [--migrate] [--set key=value]...
#include <CLI/CLI.hpp>
#include <cstdio>

#include "bus/event_loop.h"
#include "nodes/common/config.h"
#include "nodes/common/logging.h"
#include "nodes/common/node_main.h"
#include "nodes/common/scheduling.h"
#include "nodes/common/signals.h"
#include "nodes/db/db_service.h"

int main(int argc, char** argv) try {
    tb::common::SignalWatcher signals;
    tb::db::DbConfig cfg;
    tb::common::ConfigSchema schema;
    tb::db::bind_db_config(schema, cfg);

    CLI::App app{"tb-db: the db service (MariaDB and Redis behind the bus)"};
    tb::common::CliOverrides cli;
    tb::common::add_cli(app, cli);
    tb::common::add_cli_alias(app, cli, schema, "--id", "node.id");
    bool migrate_only = false;
    app.add_flag("--migrate", migrate_only, "apply missing schema migrations, then exit");
    app.footer(schema.help_text());
    CLI11_PARSE(app, argc, argv);
    schema.load(tb::common::config_path(cli, "db"), tb::common::process_env(), cli.sets);
    cfg.finish();

    auto log = tb::common::init_logging("db", cfg.node.log);
    tb::common::log_effective_config(*log, schema);
    tb::common::apply_scheduler(cfg.node.process, *log);  // before any thread starts

    if (migrate_only || cfg.migrate_at_start) {
        tb::db::Store store(cfg);
        try {
            const int n = store.migrate();
            log->info("schema {}: {} migration(s) applied", cfg.mysql.database, n);
        } catch (const tb::common::DbException& e) {
            // At start, storage being down is not fatal: the node serves "storage unavailable"
            // and recovers. For --migrate it is the whole job.
            if (migrate_only) throw;
            log->warn("cannot migrate now ({}); will serve degraded until storage is back",
                      e.what());
        }
        if (migrate_only) return 0;
    }

    zmq::context_t ctx;
    tb::bus::EventLoop loop;
    tb::db::DbService service(ctx, loop, cfg);
    service.start();
    log->info("db-{} up: pool {}, MariaDB {}:{}/{}, Redis {}:{}", cfg.node.id, cfg.pool_size,
              cfg.mysql.host, cfg.mysql.port, cfg.mysql.database, cfg.redis.host, cfg.redis.port);
    const int exit_code = tb::common::run_node_loop(loop, service.node(), signals, *log);
    service.node().stop();
    return exit_code;
} catch (const std::exception& e) {
    std::fprintf(stderr, "tb-db: %s\n", e.what());
    return 1;
}
