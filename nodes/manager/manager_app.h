#pragma once
// tb-manager as a library: its config (conf/manager.toml) and the app that puts the broker,
// the announcer and the /metrics page on one event loop. main.cc only parses the command line,
// starts logging and runs this; tests and tb-bench start the real binary.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "bus/broker.h"
#include "bus/event_loop.h"
#include "bus/http_metrics.h"
#include "nodes/common/config.h"

namespace tb::manager {

struct ManagerConfig {
    uint16_t base_port = common::kDefaultBasePort;
    std::string bus;       // empty: tcp://*:<base_port>
    std::string announce;  // empty: tcp://*:<base_port + 1>
    std::string metrics;   // empty: tcp://*:<base_port + 3545>; "off": no metrics page
    int64_t heartbeat_ms = 1000;
    int32_t liveness = 3;
    int64_t queue_deadline_ms = 2000;
    int64_t queue_cap = 10000;
    int64_t inflight_cap = 1000;
    int64_t rcvhwm = 10000;
    int64_t sndhwm = 100000;
    int64_t max_message_bytes = 4 << 20;
    std::vector<std::string> pack_prefixes = {"game."};
    bool curve = false;
    std::string curve_secret_key;
    std::vector<std::string> curve_allowed_keys;
    common::LogConfig log;
    common::ProcessConfig process;

    // The broker options these settings mean (base port applied to unset endpoints).
    bus::BrokerOptions broker_options() const;
    std::string metrics_endpoint() const;
    // Throws std::invalid_argument, naming the setting, for values that cannot work together
    // (a CURVE secret that is not a key).
    void check() const;
};

// Registers every key of conf/manager.toml.
void bind_manager_config(common::ConfigSchema& schema, ManagerConfig& cfg);

class ManagerApp {
public:
    // Binds every socket; throws (naming the endpoint) when one cannot be bound.
    ManagerApp(zmq::context_t& ctx, bus::EventLoop& loop, const ManagerConfig& cfg);
    ~ManagerApp();

    bus::Broker& broker() noexcept { return *broker_; }
    std::string metrics_endpoint() const;

private:
    std::unique_ptr<bus::Broker> broker_;
    std::unique_ptr<bus::HttpMetricsServer> metrics_;
};

}  // namespace tb::manager
