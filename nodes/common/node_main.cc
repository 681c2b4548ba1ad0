#include "nodes/common/node_main.h"

#include <spdlog/spdlog.h>

namespace tb::common {

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
