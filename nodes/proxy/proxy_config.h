#pragma once
// tb-proxy's settings (conf/proxy.toml).

#include <cstdint>
#include <string>

#include "nodes/common/config.h"

namespace tb::proxy {

struct ProxyConfig {
    common::NodeConfig node;
    std::string listen_host = "0.0.0.0";
    int32_t listen_port = 0;          // 0: base_port + 3333 (8888 by default)
    int32_t max_connections = 16000;  // a process here may open at most 20,000 files
    int32_t max_per_ip = 0;           // 0: no per-IP cap
    // File descriptors kept free for the bus, logs and the accept path: sessions are capped at
    // min(max_connections, RLIMIT_NOFILE - reserved_fds), so clients alone never exhaust them.
    int32_t reserved_fds = 64;
    int32_t keepalive_interval_ms = 10000;
    double rate_per_s = 50;  // frames per second per connection, on average
    double rate_burst = 100;
    int32_t rate_strikes = 20;       // rate-limited frames before the connection is closed
    int32_t max_output_kib = 256;    // unsent bytes before a client that does not read is closed
    int32_t socket_sndbuf_kib = 64;  // kernel send buffer per client (bounds kernel memory too)
    std::string ticket_secret;       // shared with the game nodes (TB_TICKET_SECRET)
    int32_t ticket_ttl_ms = 30000;
    int32_t request_timeout_ms = 5000;

    uint16_t client_port() const;
};

void bind_proxy_config(common::ConfigSchema& schema, ProxyConfig& cfg);

}  // namespace tb::proxy
