#pragma once
// The end of every node's main(): run the event loop until SIGINT/SIGTERM or until the manager
// refuses the node for good (an id in use, another bus version). Kept here so each main.cc
// stays the few lines of wiring STYLE.md asks for.

#include <functional>

#include "bus/event_loop.h"
#include "bus/node.h"
#include "nodes/common/signals.h"

namespace spdlog {
class logger;
}

namespace tb::common {

struct NodeConfig;

// The bus settings every node shares (manager endpoint, and CURVE keys when configured) applied
// to its NodeOptions. Throws std::invalid_argument naming the key when only one CURVE key is
// set or a key is not Z85, so a misconfigured node stops at start instead of being refused.
void apply_node_config(const NodeConfig& cfg, bus::NodeOptions& o);

// Runs `loop` (main thread). On a signal, `on_signal` runs first (the proxy tells its clients),
// then the loop stops: exit code 0. On a fatal refusal the reason is logged: exit code 1.
int run_node_loop(bus::EventLoop& loop, bus::Node& node, SignalWatcher& signals,
                  spdlog::logger& log, std::function<void()> on_signal = {});

}  // namespace tb::common
