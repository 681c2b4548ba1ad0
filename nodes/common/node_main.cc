#include "nodes/common/node_main.h"

#include <spdlog/spdlog.h>

#include <stdexcept>

#include "bus/security.h"
#include "nodes/common/config.h"

namespace tb::common {

void apply_node_config(const NodeConfig& cfg, bus::NodeOptions& o) {
    o.manager = cfg.manager_endpoint();
    if (cfg.curve_secret_key.empty() && cfg.curve_server_key.empty()) return;
    if (!bus::is_z85_key(cfg.curve_secret_key)) {
        throw std::invalid_argument("curve.secret_key is not a Z85 key (40 characters)");
    }
    if (!bus::is_z85_key(cfg.curve_server_key)) {
        throw std::invalid_argument(
            "curve.server_key (the manager's public key) is not a Z85 key (40 characters)");
    }
    o.curve_secret_key = cfg.curve_secret_key;
    o.curve_public_key = bus::public_from_secret(cfg.curve_secret_key);
    o.curve_server_key = cfg.curve_server_key;
}

int run_node_loop(bus::EventLoop& loop, bus::Node& node, SignalWatcher& signals,
                  spdlog::logger& log, std::function<void()> on_signal) {
    int exit_code = 0;
    node.on_fatal([&](const std::string& why) {
        log.error("{}", why);
        exit_code = 1;
        loop.quit();
    });
    loop.add_fd(signals.fd(), [&] {
        while (auto sig = signals.read()) {
            log.info("signal {}: stopping", *sig);
            if (on_signal) on_signal();
            loop.quit();
        }
    });
    loop.run();
    loop.remove_fd(signals.fd());
    return exit_code;
}

}  // namespace tb::common
