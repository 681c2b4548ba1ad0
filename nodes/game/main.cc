// tb-game: hosts the tables of one game kind and level on the bus.
//   tb-game --game gomoku|landlords --level N [--config conf/game.toml] [--id N] [--set k=v]...
#include <CLI/CLI.hpp>
#include <cstdio>

#include "bus/event_loop.h"
#include "nodes/common/config.h"
#include "nodes/common/logging.h"
#include "nodes/common/scheduling.h"
#include "nodes/common/signals.h"
#include "nodes/game/game_config.h"
#include "nodes/game/game_kinds.h"
#include "nodes/game/game_service.h"

int main(int argc, char** argv) try {
    tb::common::SignalWatcher signals;
    tb::game::GameConfig cfg;
    tb::common::ConfigSchema schema;
    tb::game::bind_game_config(schema, cfg);
    // Every kind's keys are known, so one conf/game.toml can hold all their sections.
    std::map<std::string_view, tb::game::LogicFactory> factories;
    for (const auto* kind : tb::game::game_kinds()) {
        factories.emplace(kind->name, kind->configure(schema));
    }

    CLI::App app{"tb-game: hosts the tables of one game kind and level"};
    tb::common::CliOverrides cli;
    tb::common::add_cli(app, cli);
    tb::common::add_cli_alias(app, cli, schema, "--id", "node.id");
    tb::common::add_cli_alias(app, cli, schema, "--game", "game.kind");
    tb::common::add_cli_alias(app, cli, schema, "--level", "game.level");
    app.footer(schema.help_text());
    CLI11_PARSE(app, argc, argv);
    schema.load(tb::common::config_path(cli, "game"), tb::common::process_env(), cli.sets);

    const auto* kind = tb::game::find_game_kind(cfg.game);
    if (kind == nullptr) throw std::runtime_error("unknown game kind '" + cfg.game + "'");
    if (cfg.room.think_max < cfg.room.think_min) {
        throw std::runtime_error("robot.think_max_ms is less than robot.think_min_ms");
    }
    auto log = tb::common::init_logging("game", cfg.node.log);
    tb::common::log_effective_config(*log, schema);
    tb::common::apply_scheduler(cfg.node.process, *log);  // before any thread starts

    zmq::context_t ctx;
    tb::bus::EventLoop loop;
    tb::game::GameService service(ctx, loop, cfg, *kind, factories.at(kind->name));
    int exit_code = 0;
    service.node().on_fatal([&](const std::string& why) {
        log->error("{}", why);
        exit_code = 1;
        loop.quit();
    });
    loop.add_fd(signals.fd(), [&] {
        while (auto sig = signals.read()) {
            log->info("signal {}", *sig);
            service.on_signal();
        }
    });
    service.start();
    log->info("game-{} up: game.{}.{}, base score {}, min score {}, manager {}", cfg.node.id,
              kind->name, cfg.level, cfg.room.effective_base_score(cfg.level),
              cfg.room.effective_min_score(cfg.level), cfg.node.manager_endpoint());
    loop.run();
    loop.remove_fd(signals.fd());
    service.stop();
    return exit_code;
} catch (const std::exception& e) {
    std::fprintf(stderr, "tb-game: %s\n", e.what());
    return 1;
}
