// The broker and the node runtime together, in one process over tcp loopback: one event loop
// driven by the test thread, fast heartbeats (50 ms x 3) so expiry takes 150 ms, not 3 s.
#include <catch2/catch.hpp>
#include <memory>

#include "bus/broker.h"
#include "bus/client.h"
#include "bus/node.h"
#include "codec/fields.h"

using namespace std::chrono_literals;
using namespace tb::bus;
using tb::codec::BusCode;
using tb::codec::Command;
using tb::codec::Envelope;

namespace {

constexpr auto kHeartbeat = 50ms;

struct Bus {
    zmq::context_t ctx;
    EventLoop loop;
    std::unique_ptr<Broker> broker;
    std::vector<std::unique_ptr<Node>> nodes;

    explicit Bus(BrokerOptions o = {}) {
        o.bus_endpoint = "tcp://127.0.0.1:*";
        o.announce_endpoint = "tcp://127.0.0.1:*";
        if (o.heartbeat == BrokerOptions{}.heartbeat) o.heartbeat = kHeartbeat;
        broker = std::make_unique<Broker>(ctx, loop, o);
    }

    // Runs the loop until `cond` holds or `limit` passes.
    template <class Cond>
    bool until(Cond&& cond, std::chrono::milliseconds limit = 5s) {
        // cond() is evaluated once per pass: it may consume what it checks for.
        const auto deadline = Clock::now() + limit;
        for (;;) {
            if (cond()) return true;
            if (Clock::now() >= deadline) return false;
            loop.run_once(5ms);
        }
    }
    void run_for(std::chrono::milliseconds d) {
        const auto end = Clock::now() + d;
        while (Clock::now() < end) loop.run_once(5ms);
    }

    NodeOptions options(std::string kind, int id, std::string service) {
        NodeOptions o;
        o.kind = std::move(kind);
        o.id = id;
        o.service = std::move(service);
        o.manager = broker->bus_endpoint();
        o.heartbeat = kHeartbeat;
        return o;
    }

    // A started worker answering every request with "<name>|<body>".
    Node& worker(std::string kind, int id, std::string service, int64_t capacity = 0,
                 bool idempotent = false) {
        auto o = options(std::move(kind), id, std::move(service));
        o.capacity = capacity;
        o.idempotent = idempotent;
        nodes.push_back(std::make_unique<Node>(ctx, loop, o));
        Node& n = *nodes.back();
        n.on_any_request([&n](Request& r) { n.reply(r.env, n.name() + "|" + r.body); });
        n.start();
        return n;
    }

    Node& client(int id) {
        nodes.push_back(std::make_unique<Node>(ctx, loop, options("client", id, "")));
        nodes.back()->start();
        return *nodes.back();
    }

    bool registered(std::initializer_list<Node*> ns) {
        return until([&] {
            for (Node* n : ns) {
                if (!n->registered()) return false;
            }
            return true;
        });
    }

    // Calls and waits for the answer.
    Reply call(Node& from, std::string target, std::string body = "x",
               std::chrono::milliseconds timeout = 3s) {
        std::optional<Reply> got;
        CallOptions co;
        co.timeout = timeout;
        from.request(
            target, 7, std::move(body), [&](Reply&& r) { got = std::move(r); }, co);
        REQUIRE(until([&] { return got.has_value(); }, timeout + 2s));
        return std::move(*got);
    }

    std::string served_by(Node& from, std::string target) {
        Reply r = call(from, std::move(target));
        REQUIRE(r.ok());
        return r.body.substr(0, r.body.find('|'));
    }
};

// A hand-driven DEALER for speaking the bus protocol badly or partially.
struct RawPeer {
    zmq::socket_t socket;
    RawPeer(Bus& bus, const std::string& rid) : socket(bus.ctx, zmq::socket_type::dealer) {
        socket.set(zmq::sockopt::routing_id, rid);
        socket.set(zmq::sockopt::linger, 0);
        socket.connect(bus.broker->bus_endpoint());
    }
    void send(const Envelope& e, std::string_view body = {}) {
        REQUIRE(send_message(socket, {}, e, body) == SendResult::kOk);
    }
    std::optional<Incoming> receive() {
        Incoming in;
        if (recv_message(socket, false, in) == RecvResult::kEmpty) return std::nullopt;
        return in;
    }
    void ready(const std::string& name, const std::string& service, bool idempotent = false) {
        ReadyBody r;
        r.name = name;
        r.service = service;
        r.instance = 42;
        Envelope e;
        e.command = Command::kReady;
        e.flags = idempotent ? tb::codec::kFlagIdempotent : 0;
        send(e, tb::codec::encode(r));
    }
};

}  // namespace

TEST_CASE("a worker registers and serves requests routed by service", "[bus]") {
    Bus bus;
    Node& w = bus.worker("login", 1, "login");
    Node& c = bus.client(1);
    REQUIRE(bus.registered({&w}));
    CHECK(bus.broker->worker_count() == 1);
    const Reply r = bus.call(c, "login", "hello");
    INFO(r.code << " " << r.text);
    REQUIRE(r.ok());
    CHECK(r.body == "login-1|hello");
    CHECK(r.env.source == "login-1");
    CHECK(r.env.msg_type == 7);
}

TEST_CASE("least policy picks the lowest load and follows load changes", "[bus]") {
    Bus bus;
    Node& a = bus.worker("db", 1, "db");
    Node& b = bus.worker("db", 2, "db");
    Node& c = bus.client(1);
    REQUIRE(bus.registered({&a, &b}));
    a.set_load(10);
    b.set_load(1);
    bus.run_for(3 * kHeartbeat);
    for (int i = 0; i < 5; ++i) CHECK(bus.served_by(c, "db") == "db-2");
    a.set_load(0);
    b.set_load(10);
    bus.run_for(3 * kHeartbeat);
    for (int i = 0; i < 5; ++i) CHECK(bus.served_by(c, "db") == "db-1");
}

TEST_CASE("least policy with equal loads takes turns by least recently used", "[bus]") {
    Bus bus;
    Node& a = bus.worker("db", 1, "db");
    Node& b = bus.worker("db", 2, "db");
    Node& c = bus.client(1);
    REQUIRE(bus.registered({&a, &b}));
    std::set<std::string> seen;
    for (int i = 0; i < 4; ++i) seen.insert(bus.served_by(c, "db"));
    CHECK(seen.size() == 2);
}

TEST_CASE("pack policy fills the fullest worker under capacity, then the least loaded", "[bus]") {
    Bus bus;
    Node& a = bus.worker("game", 1, "game.gomoku.1", /*capacity=*/10);
    Node& b = bus.worker("game", 2, "game.gomoku.1", /*capacity=*/10);
    Node& c = bus.client(1);
    REQUIRE(bus.registered({&a, &b}));
    a.set_load(3);
    b.set_load(7);
    bus.run_for(3 * kHeartbeat);
    CHECK(bus.served_by(c, "game.gomoku.1") == "game-2");
    b.set_load(10);  // full
    bus.run_for(3 * kHeartbeat);
    CHECK(bus.served_by(c, "game.gomoku.1") == "game-1");
    a.set_load(10);  // both full: least loaded wins rather than nobody
    b.set_load(12);
    bus.run_for(3 * kHeartbeat);
    CHECK(bus.served_by(c, "game.gomoku.1") == "game-1");
}

TEST_CASE("addressed requests reach the named node whatever its service", "[bus]") {
    Bus bus;
    Node& a = bus.worker("game", 1, "game.gomoku.1");
    Node& b = bus.worker("game", 2, "game.gomoku.1");
    Node& c = bus.client(1);
    REQUIRE(bus.registered({&a, &b}));
    for (int i = 0; i < 3; ++i) CHECK(bus.served_by(c, "@game-2") == "game-2");
    const Reply r = bus.call(c, "@game-9");
    CHECK(r.code == tb::codec::to_int(BusCode::kUnknownTarget));
}

TEST_CASE("pushes and multicast pushes arrive once with their sessions", "[bus]") {
    Bus bus;
    Node& proxy = bus.worker("proxy", 1, "proxy");
    Node& game = bus.worker("game", 1, "game.gomoku.1");
    REQUIRE(bus.registered({&proxy, &game}));
    std::vector<Envelope> got;
    std::vector<std::string> bodies;
    proxy.on_any_push([&](const Envelope& e, std::string_view body) {
        got.push_back(e);
        bodies.emplace_back(body);
    });
    REQUIRE(game.push("@proxy-1", 0x00960065, "one", /*session=*/5, /*user=*/9));
    REQUIRE(game.multicast("proxy-1", 0x00960066, "many", {11, 12, 13}));
    REQUIRE(bus.until([&] { return got.size() == 2; }));
    bus.run_for(50ms);
    REQUIRE(got.size() == 2);
    CHECK(got[0].session == 5);
    CHECK(got[0].user == 9);
    CHECK(got[0].source == "game-1");
    CHECK(bodies[0] == "one");
    CHECK(got[1].sessions == std::vector<uint64_t>{11, 12, 13});
    CHECK(bodies[1] == "many");
}

TEST_CASE("a second live node with an id in use is refused with a reason", "[bus]") {
    Bus bus;
    Node& first = bus.worker("login", 1, "login");
    REQUIRE(bus.registered({&first}));
    auto o = bus.options("login", 1, "login");
    Node second(bus.ctx, bus.loop, o);
    std::string reason;
    second.on_fatal([&](const std::string& why) { reason = why; });
    second.start();
    REQUIRE(bus.until([&] { return !reason.empty(); }));
    CHECK(second.state() == NodeState::kRefused);
    CHECK_THAT(reason, Catch::Contains("login-1 is in use"));
    CHECK(first.registered());
    CHECK(bus.broker->worker_count() == 1);
}

TEST_CASE("a request with no worker gets 'no service' after the queue deadline", "[bus]") {
    BrokerOptions o;
    o.queue_deadline = 200ms;
    Bus bus(o);
    Node& c = bus.client(1);
    const auto start = Clock::now();
    const Reply r = bus.call(c, "login");
    CHECK(r.code == tb::codec::to_int(BusCode::kNoService));
    CHECK(Clock::now() - start >= 190ms);
    CHECK(tb::codec::client_errno(r.code) == tb::codec::Errno::kNoService);
}

TEST_CASE("a queued request is served when a worker arrives in time", "[bus]") {
    Bus bus;
    Node& c = bus.client(1);
    std::optional<Reply> got;
    c.request("late", 1, "q", [&](Reply&& r) { got = std::move(r); });
    bus.run_for(100ms);
    CHECK_FALSE(got.has_value());
    bus.worker("late", 1, "late");
    REQUIRE(bus.until([&] { return got.has_value(); }));
    CHECK(got->body == "late-1|q");
}

TEST_CASE("a flood past the queue cap is answered 'overloaded' at once", "[bus]") {
    BrokerOptions o;
    o.queue_cap = 5;
    o.queue_deadline = 1s;
    Bus bus(o);
    Node& c = bus.client(1);
    int overloaded = 0;
    int other = 0;
    for (int i = 0; i < 20; ++i) {
        c.request("nobody", 1, "x", [&](Reply&& r) {
            if (r.code == tb::codec::to_int(BusCode::kOverloaded)) {
                ++overloaded;
            } else {
                ++other;
            }
        });
    }
    REQUIRE(bus.until([&] { return overloaded == 15; }, 500ms));
    CHECK(other == 0);
    REQUIRE(bus.until([&] { return other == 5; }));
    CHECK(bus.broker->stats().find_service("nobody")->queue_depth == 0);
}

TEST_CASE("malformed frames are dropped and counted while the broker keeps serving", "[bus]") {
    Bus bus;
    Node& w = bus.worker("login", 1, "login");
    Node& c = bus.client(1);
    REQUIRE(bus.registered({&w}));
    zmq::socket_t raw(bus.ctx, zmq::socket_type::dealer);
    raw.set(zmq::sockopt::linger, 0);
    raw.connect(bus.broker->bus_endpoint());
    raw.send(zmq::str_buffer("garbage"), zmq::send_flags::none);  // one frame only
    raw.send(zmq::str_buffer("\x01\x03short"), zmq::send_flags::sndmore);
    raw.send(zmq::str_buffer("body"), zmq::send_flags::none);
    REQUIRE(bus.until([&] { return bus.broker->stats().malformed() >= 2; }));
    CHECK(bus.call(c, "login").ok());
}

TEST_CASE("a peer speaking another bus version is told so", "[bus]") {
    Bus bus;
    zmq::socket_t raw(bus.ctx, zmq::socket_type::dealer);
    raw.set(zmq::sockopt::linger, 0);
    raw.connect(bus.broker->bus_endpoint());
    std::string header;
    Envelope e;
    e.command = Command::kReady;
    REQUIRE(tb::codec::encode_envelope(e, header));
    header[0] = 9;
    raw.send(zmq::buffer(header), zmq::send_flags::sndmore);
    raw.send(zmq::str_buffer(""), zmq::send_flags::none);
    Incoming in;
    REQUIRE(bus.until([&] { return recv_message(raw, false, in) == RecvResult::kOk; }));
    CHECK(in.env.command == Command::kDisconnect);
    CHECK(in.env.error_code == tb::codec::to_int(BusCode::kVersion));
}

TEST_CASE("a heartbeat from an unknown worker is answered with DISCONNECT", "[bus]") {
    Bus bus;
    RawPeer peer(bus, "ghost-1.abc");
    Envelope hb;
    hb.command = Command::kHeartbeat;
    peer.send(hb);
    std::optional<Incoming> in;
    REQUIRE(bus.until([&] { return (in = peer.receive()).has_value(); }));
    CHECK(in->env.command == Command::kDisconnect);
    CHECK(in->env.error_code == tb::codec::to_int(BusCode::kNotRegistered));
}

TEST_CASE("a silent worker expires and its in-flight request is answered", "[bus]") {
    Bus bus;
    RawPeer silent(bus, "mute-1.abc");
    silent.ready("mute-1", "slow");
    Node& c = bus.client(1);
    REQUIRE(bus.until([&] { return bus.broker->worker_count() == 1; }));
    const auto start = Clock::now();
    const Reply r = bus.call(c, "slow");
    CHECK(r.code == tb::codec::to_int(BusCode::kWorkerLost));
    CHECK(Clock::now() - start < 1s);
    CHECK(bus.broker->worker_count() == 0);
}

TEST_CASE("an idempotent request on a worker that dies is requeued to another", "[bus]") {
    Bus bus;
    RawPeer dying(bus, "db-1.abc");
    dying.ready("db-1", "db", /*idempotent=*/true);
    REQUIRE(bus.until([&] { return bus.broker->worker_count() == 1; }));
    Node& c = bus.client(1);
    std::optional<Reply> got;
    c.request("db", 1, "settle", [&](Reply&& r) { got = std::move(r); });
    // The request reaches the dying worker, which never answers; then a healthy one joins.
    std::optional<Incoming> in;
    REQUIRE(bus.until([&] {
        while (auto m = dying.receive()) {
            if (m->env.command == Command::kRequest) in = std::move(m);
        }
        return in.has_value();
    }));
    bus.worker("db", 2, "db", 0, /*idempotent=*/true);
    REQUIRE(bus.until([&] { return got.has_value(); }));
    REQUIRE(got->ok());
    CHECK(got->body == "db-2|settle");
}

TEST_CASE("a shut worker gets no service traffic but keeps addressed traffic", "[bus]") {
    Bus bus;
    Node& a = bus.worker("game", 1, "game.gomoku.1");
    Node& b = bus.worker("game", 2, "game.gomoku.1");
    Node& c = bus.client(1);
    REQUIRE(bus.registered({&a, &b}));
    std::optional<bool> told;
    a.on_drain([&](bool open) { told = open; });
    NodeQuery q{"game-1"};
    REQUIRE(bus.call(c, std::string(kMmiShut), tb::codec::encode(q)).ok());
    REQUIRE(bus.until([&] { return told.has_value(); }));
    CHECK_FALSE(*told);
    CHECK_FALSE(a.open());
    for (int i = 0; i < 4; ++i) CHECK(bus.served_by(c, "game.gomoku.1") == "game-2");
    CHECK(bus.served_by(c, "@game-1") == "game-1");
    REQUIRE(bus.call(c, std::string(kMmiOpen), tb::codec::encode(q)).ok());
    REQUIRE(bus.until([&] { return a.open(); }));
    std::set<std::string> seen;
    for (int i = 0; i < 4; ++i) seen.insert(bus.served_by(c, "game.gomoku.1"));
    CHECK(seen.count("game-1") == 1);
}

TEST_CASE("mmi answers service, workers, echo and health", "[bus]") {
    Bus bus;
    Node& a = bus.worker("login", 1, "login");
    Node& b = bus.worker("login", 2, "login");
    Node& c = bus.client(1);
    REQUIRE(bus.registered({&a, &b}));
    ServiceList list;
    REQUIRE(tb::codec::decode(bus.call(c, std::string(kMmiService), {}).body, list) ==
            tb::codec::MsgError::kOk);
    REQUIRE(list.services.size() == 1);
    CHECK(list.services[0].service == "login");
    CHECK(list.services[0].workers == 2);
    CHECK(list.services[0].open_workers == 2);
    CHECK(list.services[0].policy == "least");
    WorkerList workers;
    REQUIRE(tb::codec::decode(bus.call(c, std::string(kMmiWorkers), {}).body, workers) ==
            tb::codec::MsgError::kOk);
    REQUIRE(workers.workers.size() == 2);
    CHECK(workers.workers[0].name == "login-1");
    CHECK(bus.call(c, std::string(kMmiEcho), "ping").body == "ping");
    HealthReply h;
    REQUIRE(tb::codec::decode(
                bus.call(c, std::string(kMmiHealth), tb::codec::encode(NodeQuery{"login-2"})).body,
                h) == tb::codec::MsgError::kOk);
    CHECK(h.registered);
    CHECK_FALSE(h.degraded);
    CHECK(bus.call(c, "mmi.nonsense").code == tb::codec::to_int(BusCode::kNoService));
}

TEST_CASE("a degraded worker is passed over while a healthy one exists", "[bus]") {
    Bus bus;
    Node& a = bus.worker("db", 1, "db");
    Node& b = bus.worker("db", 2, "db");
    Node& c = bus.client(1);
    REQUIRE(bus.registered({&a, &b}));
    a.set_degraded(true);
    bus.run_for(2 * kHeartbeat);
    for (int i = 0; i < 4; ++i) CHECK(bus.served_by(c, "db") == "db-2");
}

TEST_CASE("a late joiner's table replica matches the broker after churn", "[bus]") {
    Bus bus;
    std::vector<Node*> early;
    for (int i = 1; i <= 5; ++i) early.push_back(&bus.worker("game", i, "game.gomoku.1"));
    REQUIRE(bus.until([&] { return bus.broker->worker_count() == 5; }));
    auto o = bus.options("proxy", 1, "proxy");
    o.announce = bus.broker->announce_endpoint();
    Node watcher(bus.ctx, bus.loop, o);
    watcher.start();
    // Churn while the watcher subscribes and takes its snapshot.
    for (int i = 6; i <= 15; ++i) {
        bus.worker("login", i, "login");
        bus.loop.run_once(1ms);
    }
    early[0]->stop();
    early[1]->stop();
    auto matches = [&] {
        if (!watcher.synced()) return false;
        const Snapshot s = bus.broker->snapshot();
        if (s.workers.size() != watcher.table().size()) return false;
        for (const auto& w : s.workers) {
            if (!watcher.table().contains(w.name)) return false;
        }
        return watcher.table_seq() == s.seq;
    };
    // 5 - 2 + 10 + the watcher itself
    REQUIRE(bus.until([&] { return bus.broker->worker_count() == 14 && matches(); }));
    CHECK(watcher.table().size() == 14);
}

TEST_CASE("a node re-registers after the broker forgets it", "[bus]") {
    BrokerOptions o;
    Bus bus(o);
    Node& w = bus.worker("login", 1, "login");
    REQUIRE(bus.registered({&w}));
    const std::string endpoint = bus.broker->bus_endpoint();
    // A new broker on the same port: the node's heartbeats get DISCONNECT, it READYs again.
    bus.broker.reset();
    BrokerOptions again;
    again.bus_endpoint = endpoint;
    again.announce_endpoint = "tcp://127.0.0.1:*";
    again.heartbeat = kHeartbeat;
    // The old socket closes asynchronously (libzmq's reaper), so the port frees a moment later.
    REQUIRE(bus.until([&] {
        try {
            bus.broker = std::make_unique<Broker>(bus.ctx, bus.loop, again);
            return true;
        } catch (const zmq::error_t&) {
            return false;
        }
    }));
    REQUIRE(bus.until([&] { return bus.broker->worker_count() == 1; }));
    Node& c = bus.client(1);
    CHECK(bus.call(c, "login").ok());
}

TEST_CASE("nodes take the broker's heartbeat timing from its answer to READY", "[bus]") {
    // Each way round, the node's own timing would not fit the broker's: left alone, the node
    // would be expired between two of its heartbeats, or give up on a broker that heartbeats
    // less often than its own window.
    int64_t broker_ms = 0;
    std::chrono::milliseconds node_heartbeat{};
    int node_liveness = 0;
    SECTION("a broker faster than the node") {
        broker_ms = 60;  // expires a worker silent for 180 ms
        node_heartbeat = 400ms;
        node_liveness = 3;
    }
    SECTION("a broker slower than the node") {
        broker_ms = 300;  // heartbeats every 300 ms
        node_heartbeat = 50ms;
        node_liveness = 2;  // would give up after 100 ms of silence
    }
    BrokerOptions bo;
    bo.heartbeat = std::chrono::milliseconds(broker_ms);
    bo.liveness = 3;
    Bus bus(bo);
    NodeOptions no = bus.options("login", 1, "login");
    no.heartbeat = node_heartbeat;
    no.liveness = node_liveness;
    Node node(bus.ctx, bus.loop, no);
    int registrations = 0;
    node.on_registered([&] { ++registrations; });
    node.start();
    REQUIRE(bus.until([&] { return registrations > 0; }, 3s));
    CHECK(node.heartbeat() == std::chrono::milliseconds(broker_ms));
    CHECK(node.liveness() == 3);
    // Idle for several of either window: the node stays registered the whole time, once.
    bool always = true;
    bus.until(
        [&] {
            always = always && bus.broker->worker_count() == 1 && node.registered();
            return false;
        },
        1500ms);
    CHECK(always);
    CHECK(registrations == 1);
    node.stop();
}

TEST_CASE("a request past its caller's deadline fails with timeout", "[bus]") {
    Bus bus;
    auto o = bus.options("slow", 1, "slow");
    Node slow(bus.ctx, bus.loop, o);
    slow.on_any_request([](Request&) {});  // never answers
    slow.start();
    Node& c = bus.client(1);
    REQUIRE(bus.registered({&slow}));
    const Reply r = bus.call(c, "slow", "x", 200ms);
    CHECK(r.code == tb::codec::to_int(BusCode::kTimeout));
    CHECK(c.pending() == 0);
}

TEST_CASE("a handler that throws answers failure and the node keeps serving", "[bus]") {
    Bus bus;
    auto o = bus.options("login", 1, "login");
    Node n(bus.ctx, bus.loop, o);
    n.on_request(1, [](Request&) { throw std::runtime_error("bug"); });
    n.on_request(2, [&n](Request& r) { n.reply(r.env, "fine"); });
    n.start();
    Node& c = bus.client(1);
    REQUIRE(bus.registered({&n}));
    std::optional<Reply> a;
    std::optional<Reply> b;
    c.request("login", 1, {}, [&](Reply&& r) { a = std::move(r); });
    c.request("login", 2, {}, [&](Reply&& r) { b = std::move(r); });
    c.request("login", 3, {}, [&](Reply&&) {});
    REQUIRE(bus.until([&] { return a && b; }));
    CHECK(a->code == tb::codec::to_int(tb::codec::Errno::kFailure));
    CHECK(b->body == "fine");
}

TEST_CASE("the metrics page counts requests per service", "[bus]") {
    Bus bus;
    Node& w = bus.worker("login", 1, "login");
    Node& c = bus.client(1);
    REQUIRE(bus.registered({&w}));
    for (int i = 0; i < 3; ++i) REQUIRE(bus.call(c, "login").ok());
    const std::string page = bus.broker->render_metrics();
    CHECK_THAT(page, Catch::Contains("tablebus_requests_total{service=\"login\"} 3"));
    CHECK_THAT(page, Catch::Contains("tablebus_workers{service=\"login\"} 1"));
}

TEST_CASE("announce endpoints follow the bus port", "[bus]") {
    CHECK(announce_endpoint_for("tcp://10.0.0.5:5555") == "tcp://10.0.0.5:5556");
    CHECK(announce_endpoint_for("tcp://host") == "");
    CHECK(announce_endpoint_for("tcp://host:x") == "");
}

TEST_CASE("identity_of reads the bus identity from a name or a routing id", "[bus]") {
    CHECK(tb::bus::identity_of("game-1") == "game-1");
    CHECK(tb::bus::identity_of("game-1.0a1b2c3d") == "game-1");
    CHECK(tb::bus::identity_of("proxy-12.ffffffff") == "proxy-12");
    CHECK(tb::bus::identity_of("").empty());
}
