#pragma once
// Bodies of the bus's own traffic: READY and HEARTBEAT from nodes, the broker's mmi.* answers
// and the announcements on the PUB socket. They are msgpack maps with snake_case keys (client
// messages use the protocol's PascalCase), so tools can print them as JSON as they come.
// Like client bodies, they decode leniently: a newer peer may add fields.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "codec/fields.h"

namespace tb::bus {

// Special targets answered by the broker itself.
inline constexpr std::string_view kMmiPrefix = "mmi.";
inline constexpr std::string_view kMmiService = "mmi.service";
inline constexpr std::string_view kMmiSnapshot = "mmi.snapshot";
inline constexpr std::string_view kMmiWorkers = "mmi.workers";
inline constexpr std::string_view kMmiStats = "mmi.stats";
inline constexpr std::string_view kMmiEcho = "mmi.echo";
inline constexpr std::string_view kMmiShut = "mmi.shut";
inline constexpr std::string_view kMmiOpen = "mmi.open";
inline constexpr std::string_view kMmiNotice = "mmi.notice";
inline constexpr std::string_view kMmiKick = "mmi.kick";
inline constexpr std::string_view kMmiHealth = "mmi.health";

// PUB topics (first frame of every announcement).
inline constexpr std::string_view kTopicTable = "table";
inline constexpr std::string_view kTopicHugz = "hugz";
inline constexpr std::string_view kTopicEvent = "event";
inline constexpr std::string_view kTopicStats = "stats";
inline constexpr std::string_view kTopicNotice = "notice";

// Bus-level message types (the client protocol's types are (mcmd << 16) | scmd with mcmd
// below 0xF000, so this range never collides with them).
inline constexpr uint32_t kMsgKickUser = 0xF0000001;   // PUSH to proxies: body KickBody
inline constexpr uint32_t kMsgBenchEcho = 0xF0000002;  // tb-bench's echo workers

// The service that proxies register under; nothing is routed to it by service name.
inline constexpr std::string_view kProxyService = "proxy";

struct ReadyBody {
    std::string service;
    std::string name;  // bus identity, "<kind>-<id>"
    std::string kind;
    int32_t id = 0;
    int64_t capacity = 0;  // the most load this node takes (seated players for game nodes)
    std::string version;
    int64_t pid = 0;
    std::string host;
    uint64_t instance = 0;  // random per process start: tells a restart from a duplicate

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("service", s.service);
        f("name", s.name);
        f("kind", s.kind);
        f("id", s.id);
        f("capacity", s.capacity);
        f("version", s.version);
        f("pid", s.pid);
        f("host", s.host);
        f("instance", s.instance);
    }
};

// The broker's answer to READY carries its heartbeat timing, and the node adopts it: both ends
// then heartbeat on one schedule and give up on each other after the same silence, whatever the
// manager's settings. An empty body (a manager before this field) leaves the node's own.
inline constexpr int64_t kMinHeartbeatMs = 50;
inline constexpr int64_t kMaxHeartbeatMs = 60000;
inline constexpr int32_t kMinLiveness = 2;
inline constexpr int32_t kMaxLiveness = 100;

struct ReadyAckBody {
    int64_t heartbeat_ms = 0;
    int32_t liveness = 0;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("heartbeat_ms", s.heartbeat_ms);
        f("liveness", s.liveness);
    }
};

struct HeartbeatBody {
    int64_t load = 0;
    bool degraded = false;  // e.g. db with storage down: registered but failing fast

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("load", s.load);
        f("degraded", s.degraded);
    }
};

struct WorkerInfo {
    std::string name;
    std::string service;
    std::string kind;
    int32_t id = 0;
    int64_t capacity = 0;
    int64_t load = 0;
    int64_t inflight = 0;
    bool open = true;
    bool degraded = false;
    bool idempotent = false;
    std::string version;
    int64_t pid = 0;
    std::string host;
    int64_t since_ms = 0;  // unix time of registration
    uint64_t requests = 0;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("name", s.name);
        f("service", s.service);
        f("kind", s.kind);
        f("id", s.id);
        f("capacity", s.capacity);
        f("load", s.load);
        f("inflight", s.inflight);
        f("open", s.open);
        f("degraded", s.degraded);
        f("idempotent", s.idempotent);
        f("version", s.version);
        f("pid", s.pid);
        f("host", s.host);
        f("since_ms", s.since_ms);
        f("requests", s.requests);
    }
};

// A change of the service table. op: "up" (registered), "update" (open/shut/degraded changed),
// "down" (left, expired or refused).
struct TableDelta {
    uint64_t seq = 0;
    std::string op;
    std::string reason;
    WorkerInfo worker;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("seq", s.seq);
        f("op", s.op);
        f("reason", s.reason);
        f("worker", s.worker);
    }
};

struct Snapshot {
    uint64_t seq = 0;
    std::vector<WorkerInfo> workers;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("seq", s.seq);
        f("workers", s.workers);
    }
};

struct Hugz {
    uint64_t seq = 0;
    int64_t workers = 0;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("seq", s.seq);
        f("workers", s.workers);
    }
};

struct ServiceQuery {
    std::string service;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("service", s.service);
    }
};

struct ServiceStatus {
    std::string service;
    std::string policy;
    int64_t workers = 0;
    int64_t open_workers = 0;
    int64_t load = 0;
    int64_t capacity = 0;
    int64_t queue = 0;
    int64_t inflight = 0;
    uint64_t requests = 0;
    uint64_t replies = 0;
    uint64_t errors = 0;
    int64_t p50_us = 0;
    int64_t p99_us = 0;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("service", s.service);
        f("policy", s.policy);
        f("workers", s.workers);
        f("open_workers", s.open_workers);
        f("load", s.load);
        f("capacity", s.capacity);
        f("queue", s.queue);
        f("inflight", s.inflight);
        f("requests", s.requests);
        f("replies", s.replies);
        f("errors", s.errors);
        f("p50_us", s.p50_us);
        f("p99_us", s.p99_us);
    }
};

struct ServiceList {
    std::vector<ServiceStatus> services;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("services", s.services);
    }
};

struct WorkerList {
    std::vector<WorkerInfo> workers;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("workers", s.workers);
    }
};

struct CodeCount {
    int32_t code = 0;
    std::string name;
    uint64_t count = 0;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("code", s.code);
        f("name", s.name);
        f("count", s.count);
    }
};

struct ServiceStats {
    std::string service;
    uint64_t requests = 0;
    uint64_t replies = 0;
    uint64_t errors = 0;
    int64_t queue = 0;
    int64_t p50_us = 0;
    int64_t p90_us = 0;
    int64_t p99_us = 0;
    std::vector<CodeCount> errors_by_code;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("service", s.service);
        f("requests", s.requests);
        f("replies", s.replies);
        f("errors", s.errors);
        f("queue", s.queue);
        f("p50_us", s.p50_us);
        f("p90_us", s.p90_us);
        f("p99_us", s.p99_us);
        f("errors_by_code", s.errors_by_code);
    }
};

struct StatsReply {
    int64_t uptime_ms = 0;
    uint64_t drops = 0;
    uint64_t malformed = 0;
    int64_t workers = 0;
    std::vector<ServiceStats> services;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("uptime_ms", s.uptime_ms);
        f("drops", s.drops);
        f("malformed", s.malformed);
        f("workers", s.workers);
        f("services", s.services);
    }
};

struct NodeQuery {
    std::string node;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("node", s.node);
    }
};

struct HealthReply {
    std::string node;
    bool registered = false;
    bool open = false;
    bool degraded = false;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("node", s.node);
        f("registered", s.registered);
        f("open", s.open);
        f("degraded", s.degraded);
    }
};

struct KickBody {
    int64_t user_id = 0;
    std::string reason;
    int32_t errno_code = 18;   // the NotifyKick Errno (18 kicked)
    std::string except_proxy;  // a login elsewhere: the session that stays
    uint64_t except_session = 0;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("user_id", s.user_id);
        f("reason", s.reason);
        f("errno", s.errno_code);
        f("except_proxy", s.except_proxy);
        f("except_session", s.except_session);
    }
};

struct NoticeBody {
    std::string text;
    int32_t level = 0;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("text", s.text);
        f("level", s.level);
    }
};

struct SocketEventBody {
    std::string socket;  // "bus" or "announce"
    std::string event;   // "accepted", "disconnected", "handshake_failed", "refused"...
    std::string endpoint;
    std::string detail;  // e.g. the refused public key
    int64_t time_ms = 0;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("socket", s.socket);
        f("event", s.event);
        f("endpoint", s.endpoint);
        f("detail", s.detail);
        f("time_ms", s.time_ms);
    }
};

struct OkBody {
    bool ok = true;
    std::string detail;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("ok", s.ok);
        f("detail", s.detail);
    }
};

int64_t unix_ms() noexcept;

}  // namespace tb::bus
