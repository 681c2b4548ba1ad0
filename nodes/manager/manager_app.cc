#include "nodes/manager/manager_app.h"

#include <fmt/format.h>

#include <stdexcept>

#include "bus/node.h"
#include "bus/protocol.h"
#include "bus/security.h"

namespace tb::manager {

namespace {

std::string any_interface(uint16_t port) {
    return "tcp://*:" + std::to_string(port);
}

}  // namespace

bus::BrokerOptions ManagerConfig::broker_options() const {
    const auto ports = common::ports_from_base(base_port);
    bus::BrokerOptions o;
    o.bus_endpoint = bus.empty() ? any_interface(ports.bus) : bus;
    o.announce_endpoint = announce.empty() ? any_interface(ports.announce) : announce;
    o.heartbeat = std::chrono::milliseconds(heartbeat_ms);
    o.liveness = liveness;
    o.queue_deadline = std::chrono::milliseconds(queue_deadline_ms);
    o.queue_cap = static_cast<std::size_t>(queue_cap);
    o.inflight_cap = static_cast<std::size_t>(inflight_cap);
    o.rcvhwm = static_cast<int>(rcvhwm);
    o.sndhwm = static_cast<int>(sndhwm);
    o.max_message_bytes = max_message_bytes;
    o.pack_prefixes = pack_prefixes;
    if (curve) {
        o.curve_secret_key = curve_secret_key;
        o.allowed_keys = curve_allowed_keys;
    }
    return o;
}

std::string ManagerConfig::metrics_endpoint() const {
    if (metrics == "off") return {};
    return metrics.empty() ? any_interface(common::ports_from_base(base_port).metrics) : metrics;
}

void bind_manager_config(common::ConfigSchema& schema, ManagerConfig& cfg) {
    schema
        .add("manager.base_port", &cfg.base_port,
             "shifts the default ports: bus = base, announcements = base+1, metrics = base+3545")
        .range(common::kMinBasePort, common::kMaxBasePort);
    schema.add("manager.bus", &cfg.bus, "ROUTER endpoint nodes connect to (empty: tcp://*:base)");
    schema.add("manager.announce", &cfg.announce,
               "PUB endpoint for service-table announcements (empty: tcp://*:base+1)");
    schema.add(
        "manager.metrics", &cfg.metrics,
        "endpoint of the Prometheus page GET /metrics (empty: tcp://*:base+3545; off: none)");
    schema
        .add("manager.heartbeat_ms", &cfg.heartbeat_ms,
             "heartbeat interval both ways (nodes take it from the manager)")
        .range(bus::kMinHeartbeatMs, bus::kMaxHeartbeatMs);
    schema
        .add("manager.liveness", &cfg.liveness,
             "missed heartbeats before a worker expires, or a node gives up on the manager")
        .range(bus::kMinLiveness, bus::kMaxLiveness);
    schema
        .add("manager.queue_deadline_ms", &cfg.queue_deadline_ms,
             "how long a request waits for a worker before 'no service'")
        .range(1, 600000);
    schema
        .add("manager.queue_cap", &cfg.queue_cap, "requests queued per service before 'overloaded'")
        .range(1, 10000000);
    schema
        .add("manager.inflight_cap", &cfg.inflight_cap,
             "requests in flight per worker before it gets no more")
        .range(1, 10000000);
    // The queue caps bound what the broker holds once it has read a request; these bound what
    // libzmq holds per connection before the broker reads it (in) or the node reads it (out).
    schema
        .add("manager.rcvhwm", &cfg.rcvhwm,
             "messages buffered per node connection before its TCP connection is back-pressured")
        .range(100, 1000000);
    schema
        .add("manager.sndhwm", &cfg.sndhwm,
             "messages buffered per node connection out; past it one to that node is dropped")
        .range(1000, 10000000);
    schema
        .add("manager.max_message_bytes", &cfg.max_message_bytes,
             "largest frame a node may send; a larger one disconnects it, unread")
        .range(int64_t{64} * 1024, int64_t{1} << 30);
    schema.add("manager.pack_prefixes", &cfg.pack_prefixes,
               "services with these prefixes use the pack policy; all others least");
    schema.add("curve.enabled", &cfg.curve, "CURVE encryption and the ZAP key allow-list");
    schema.add("curve.secret_key", &cfg.curve_secret_key, "the manager's secret key (Z85)")
        .secret();
    schema.add("curve.allowed_keys", &cfg.curve_allowed_keys,
               "public keys (Z85) of the nodes allowed on the bus");
    common::bind_log_config(schema, cfg.log);
    common::bind_process_config(schema, cfg.process);
}

void ManagerConfig::check() const {
    if (curve && !bus::is_z85_key(curve_secret_key)) {
        throw std::invalid_argument("curve.enabled is true but curve.secret_key is not a Z85 key");
    }
    // Heartbeat timing needs no check against the nodes': they take the manager's from its
    // answer to READY (bus::ReadyAckBody), within the same ranges as the settings here.
}

ManagerApp::ManagerApp(zmq::context_t& ctx, bus::EventLoop& loop, const ManagerConfig& cfg) {
    cfg.check();
    const auto options = cfg.broker_options();
    try {
        broker_ = std::make_unique<bus::Broker>(ctx, loop, options);
    } catch (const zmq::error_t& e) {
        throw std::runtime_error("cannot bind " + options.bus_endpoint + " / " +
                                 options.announce_endpoint + ": " + e.what());
    }
    if (const auto ep = cfg.metrics_endpoint(); !ep.empty()) {
        try {
            metrics_ = std::make_unique<bus::HttpMetricsServer>(
                ctx, loop, ep, [this] { return broker_->render_metrics(); });
        } catch (const zmq::error_t& e) {
            throw std::runtime_error("cannot bind metrics " + ep + ": " + e.what());
        }
    }
}

ManagerApp::~ManagerApp() = default;

std::string ManagerApp::metrics_endpoint() const {
    return metrics_ ? metrics_->endpoint() : "";
}

}  // namespace tb::manager
