#include "nodes/proxy/proxy_config.h"

namespace tb::proxy {

uint16_t ProxyConfig::client_port() const {
    if (listen_port > 0) return static_cast<uint16_t>(listen_port);
    return common::ports_from_base(node.base_port).clients;
}

void bind_proxy_config(common::ConfigSchema& schema, ProxyConfig& cfg) {
    common::bind_node_config(schema, cfg.node);
    schema.add("proxy.listen_host", &cfg.listen_host, "address clients connect to");
    schema.add("proxy.listen_port", &cfg.listen_port, "client port (0: node.base_port + 3333)")
        .range(0, 65535);
    schema.add("proxy.max_connections", &cfg.max_connections, "client connections in total")
        .range(1, 1000000);
    schema.add("proxy.max_per_ip", &cfg.max_per_ip, "client connections per IP (0: no cap)")
        .range(0, 1000000);
    schema
        .add("proxy.reserved_fds", &cfg.reserved_fds,
             "file descriptors kept free for the bus and logs: client connections are capped "
             "at the open-files limit (RLIMIT_NOFILE) minus this")
        .range(0, 100000);
    schema
        .add("proxy.keepalive_interval_ms", &cfg.keepalive_interval_ms,
             "keep-alive check interval (a silent client is dropped after 2-3 intervals)")
        .range(10, 3600000);
    schema.add("proxy.rate_per_s", &cfg.rate_per_s, "frames per second per connection")
        .range(0.1, 100000.0);
    schema.add("proxy.rate_burst", &cfg.rate_burst, "burst of frames per connection")
        .range(1.0, 100000.0);
    schema
        .add("proxy.rate_strikes", &cfg.rate_strikes,
             "frames refused for rate before the connection is closed")
        .range(1, 1000000);
    schema
        .add("proxy.max_output_kib", &cfg.max_output_kib,
             "unsent bytes (KiB) before a client that does not read is closed")
        .range(16, 65536);
    schema
        .add("proxy.socket_sndbuf_kib", &cfg.socket_sndbuf_kib,
             "kernel send buffer per client; with max_output_kib it bounds what a client that "
             "does not read can cost")
        .range(4, 65536);
    schema.add("ticket.secret", &cfg.ticket_secret, "FastLogin ticket key, shared with game nodes")
        .secret()
        .non_empty();
    schema.add("ticket.ttl_ms", &cfg.ticket_ttl_ms, "FastLogin ticket lifetime")
        .range(1000, 600000);
    schema.add("proxy.request_timeout_ms", &cfg.request_timeout_ms, "deadline of bus requests")
        .range(100, 600000);
}

}  // namespace tb::proxy
