// The bus with real processes, where the behaviour is about processes: a frozen worker, a
// worker killed under load, a manager killed and restarted, CURVE refusing an unknown key.
// Each test case starts its own tb-manager and tb-test-worker processes on its own ports.
#include <signal.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <fstream>
#include <string_view>
#include <thread>

#include "bus/client.h"
#include "bus/message.h"
#include "bus/protocol.h"
#include "bus/security.h"
#include "codec/fields.h"
#include "tests/support/process.h"
#include "tests/support/wait.h"

using namespace std::chrono_literals;
using tb::bus::BusClient;
using tb::bus::ClientOptions;
using tb::bus::Reply;
using tb::codec::BusCode;
using tb::test::bin;
using tb::test::ChildProcess;
using tb::test::wait_for;

namespace {

struct Cluster {
    uint16_t base;
    std::string bus;
    std::string announce;
    std::vector<std::string> manager_extra;
    std::unique_ptr<ChildProcess> manager;
    std::vector<std::unique_ptr<ChildProcess>> workers;
    zmq::context_t ctx;

    explicit Cluster(int slot, std::vector<std::string> extra = {})
        : base(tb::test::port_base(slot)),
          bus("tcp://127.0.0.1:" + std::to_string(base)),
          announce("tcp://127.0.0.1:" + std::to_string(base + 1)),
          manager_extra(std::move(extra)) {
        start_manager();
    }

    // A "VmRSS:" or "VmHWM:" line of the manager's /proc/<pid>/status, in KiB (0 if absent).
    long manager_status_kib(std::string_view key) const {
        std::ifstream status("/proc/" + std::to_string(manager->pid()) + "/status");
        std::string line;
        while (std::getline(status, line)) {
            if (line.starts_with(key)) return std::stol(line.substr(key.size()));
        }
        return 0L;
    }

    void start_manager() {
        std::vector<std::string> argv{bin("tb-manager").string(), "--base-port",
                                      std::to_string(base), "--set", "manager.metrics=off"};
        argv.insert(argv.end(), manager_extra.begin(), manager_extra.end());
        manager = std::make_unique<ChildProcess>(argv);
    }

    ChildProcess& worker(std::string service, int id, std::vector<std::string> extra = {}) {
        std::vector<std::string> argv{bin("tb-test-worker").string(),
                                      "--manager",
                                      bus,
                                      "--service",
                                      service,
                                      "--id",
                                      std::to_string(id)};
        argv.insert(argv.end(), extra.begin(), extra.end());
        workers.push_back(std::make_unique<ChildProcess>(argv));
        return *workers.back();
    }

    std::optional<Reply> call(std::string target, std::string body = "x",
                              std::chrono::milliseconds timeout = 5s, ClientOptions o = {}) {
        o.manager = bus;
        BusClient c(ctx, o);
        return c.call(target, body, timeout);
    }

    // Registered workers of `service` as the broker sees them (-1 when it does not answer).
    int workers_of(const std::string& service) {
        tb::bus::ServiceQuery q{service};
        auto r = call(std::string(tb::bus::kMmiService), tb::codec::encode(q), 500ms);
        if (!r || !r->ok()) return -1;
        tb::bus::ServiceList list;
        if (tb::codec::decode(r->body, list) != tb::codec::MsgError::kOk) return -1;
        return list.services.empty() ? 0 : static_cast<int>(list.services[0].workers);
    }

    static std::string served_by(const std::optional<Reply>& r) {
        if (!r || !r->ok()) return "";
        return r->body.substr(0, r->body.find('|'));
    }
};

}  // namespace

TEST_CASE("a frozen worker leaves the rotation within 4 s and its request is answered",
          "[bus][process]") {
    Cluster c(10);
    auto& a = c.worker("svc", 1);
    c.worker("svc", 2);
    REQUIRE(wait_for([&] { return c.workers_of("svc") == 2; }, 10s));

    REQUIRE(a.signal(SIGSTOP));
    const auto frozen_at = std::chrono::steady_clock::now();
    // Least-recently-used rotation sends one of the next two calls to the frozen worker; that
    // call is answered (worker lost) once the broker expires it.
    bool saw_lost = false;
    for (int i = 0; i < 2; ++i) {
        auto r = c.call("svc", "x", 6s);
        REQUIRE(r.has_value());
        if (r->code == tb::codec::to_int(BusCode::kWorkerLost)) saw_lost = true;
    }
    CHECK(saw_lost);
    REQUIRE(wait_for([&] { return c.workers_of("svc") == 1; }, 5s));
    CHECK(std::chrono::steady_clock::now() - frozen_at < 4500ms);
    for (int i = 0; i < 5; ++i) CHECK(Cluster::served_by(c.call("svc")) == "worker-2");

    // After SIGCONT it is told it is unknown, registers again and serves again.
    REQUIRE(a.signal(SIGCONT));
    REQUIRE(wait_for([&] { return c.workers_of("svc") == 2; }, 6s));
    std::set<std::string> seen;
    for (int i = 0; i < 6; ++i) seen.insert(Cluster::served_by(c.call("svc")));
    CHECK(seen.count("worker-1") == 1);
}

TEST_CASE("kill -9 of a worker under load: idempotent requests are answered by the other",
          "[bus][process]") {
    Cluster c(20);
    auto& a = c.worker("db", 1, {"--idempotent", "--delay-ms", "100"});
    c.worker("db", 2, {"--idempotent", "--delay-ms", "100"});
    REQUIRE(wait_for([&] { return c.workers_of("db") == 2; }, 10s));

    std::atomic<int> ok{0};
    std::atomic<int> failed{0};
    std::atomic<bool> stop{false};
    std::vector<std::thread> callers;
    for (int t = 0; t < 8; ++t) {
        callers.emplace_back([&] {
            zmq::context_t ctx;
            ClientOptions o;
            o.manager = c.bus;
            BusClient client(ctx, o);
            while (!stop) {
                auto r = client.call("db", "settle", 5s);
                (r && r->ok() ? ok : failed)++;
            }
        });
    }
    REQUIRE(wait_for([&] { return ok.load() >= 40; }, 10s));
    a.signal(SIGKILL);
    REQUIRE(a.wait(5s).has_value());
    const int ok_at_kill = ok.load();
    REQUIRE(wait_for([&] { return ok.load() >= ok_at_kill + 80; }, 15s));
    stop = true;
    for (auto& t : callers) t.join();
    CHECK(failed.load() == 0);
    for (int i = 0; i < 5; ++i) CHECK(Cluster::served_by(c.call("db")) == "worker-2");
    CHECK(c.workers_of("db") == 1);
}

TEST_CASE("a flood past the queue cap is answered 'overloaded' and broker memory stays bounded",
          "[bus][process]") {
    // What the broker may hold: rcvhwm messages libzmq has read but the broker has not yet,
    // and queue_cap requests it has queued. Both are set small here so that the bound (about
    // 2 MiB of 1 KiB requests) is far below the 50 MiB the flood sends, however the manager's
    // threads are scheduled: a busy CI box once let a 100,000-message rcvhwm hold 37 MiB.
    Cluster c(35, {"--set", "manager.queue_cap=1000", "--set", "manager.queue_deadline_ms=60000",
                   "--set", "manager.rcvhwm=1000"});
    REQUIRE(wait_for([&] { return c.workers_of("nobody") == 0; }, 10s));
    const long before = c.manager_status_kib("VmRSS:");
    const long peak_before = c.manager_status_kib("VmHWM:");
    zmq::socket_t flood(c.ctx, zmq::socket_type::dealer);
    flood.set(zmq::sockopt::linger, 0);
    flood.set(zmq::sockopt::sndhwm, 0);
    // This side takes every answer as it comes, so the answers do not wait in the broker.
    flood.set(zmq::sockopt::rcvhwm, 0);
    flood.connect(c.bus);
    const std::string body(1024, 'x');
    constexpr int kSent = 50000;
    for (int i = 0; i < kSent; ++i) {
        tb::codec::Envelope e;
        e.command = tb::codec::Command::kRequest;
        e.target = "nobody";
        e.correlation = static_cast<uint64_t>(i) + 1;
        REQUIRE(tb::bus::send_message(flood, {}, e, body) == tb::bus::SendResult::kOk);
    }
    int overloaded = 0;
    REQUIRE(wait_for(
        [&] {
            tb::bus::Incoming in;
            while (tb::bus::recv_message(flood, false, in) == tb::bus::RecvResult::kOk) {
                if (in.env.error_code == tb::codec::to_int(BusCode::kOverloaded)) ++overloaded;
            }
            return overloaded == kSent - 1000;
        },
        30s));
    const long grown = c.manager_status_kib("VmRSS:") - before;
    const long peak_grown = c.manager_status_kib("VmHWM:") - peak_before;
    INFO("manager RSS grew by " << grown << " KiB, its peak by " << peak_grown << " KiB");
#if defined(__SANITIZE_ADDRESS__)
    // AddressSanitizer keeps freed memory in quarantine (hundreds of MiB), so RSS says nothing
    // about the broker here; the plain build of the same test holds the bound.
    WARN("RSS bound not checked under AddressSanitizer (grew " << grown << " KiB)");
#else
    CHECK(grown < 20 * 1024);
    CHECK(peak_grown < 20 * 1024);
#endif
    CHECK(Cluster::served_by(c.call(std::string(tb::bus::kMmiEcho), "still-serving")) ==
          "still-serving");
}

TEST_CASE("a frame past manager.max_message_bytes disconnects its sender before it is read",
          "[bus][process]") {
    Cluster c(38, {"--set", "manager.max_message_bytes=65536"});
    REQUIRE(wait_for([&] { return c.workers_of("nobody") == 0; }, 10s));
    // Just under the limit (the envelope is a few dozen bytes) still goes through and back.
    const std::string fits(60000, 'f');
    CHECK(Cluster::served_by(c.call(std::string(tb::bus::kMmiEcho), fits)) == fits);

    const long peak_before = c.manager_status_kib("VmHWM:");
    zmq::socket_t big(c.ctx, zmq::socket_type::dealer);
    big.set(zmq::sockopt::linger, 0);
    big.connect(c.bus);
    tb::codec::Envelope e;
    e.command = tb::codec::Command::kRequest;
    e.target = std::string(tb::bus::kMmiEcho);
    e.correlation = 1;
    const std::string body(64 << 20, 'x');
    REQUIRE(tb::bus::send_message(big, {}, e, body) == tb::bus::SendResult::kOk);
    // The manager drops the connection: no answer comes, and the rest of the bus is served.
    tb::bus::Incoming in;
    const bool answered = wait_for(
        [&] { return tb::bus::recv_message(big, false, in) == tb::bus::RecvResult::kOk; }, 3s);
    CHECK_FALSE(answered);
    CHECK(Cluster::served_by(c.call(std::string(tb::bus::kMmiEcho), "still-serving")) ==
          "still-serving");
    const long peak_grown = c.manager_status_kib("VmHWM:") - peak_before;
    INFO("manager peak RSS grew by " << peak_grown << " KiB for a 64 MiB frame");
    CHECK(peak_grown < 16 * 1024);
}

TEST_CASE("after a manager restart every worker is registered again within 5 s", "[bus][process]") {
    Cluster c(30);
    for (int i = 1; i <= 3; ++i) c.worker("login", i);
    c.worker("game.gomoku.1", 1, {"--kind", "game"});
    REQUIRE(wait_for([&] { return c.workers_of("login") == 3; }, 10s));

    c.manager->signal(SIGKILL);
    REQUIRE(c.manager->wait(5s).has_value());
    c.start_manager();
    const auto restarted = std::chrono::steady_clock::now();
    REQUIRE(wait_for(
        [&] { return c.workers_of("login") == 3 && c.workers_of("game.gomoku.1") == 1; }, 8s));
    CHECK(std::chrono::steady_clock::now() - restarted < 5s);
    CHECK(Cluster::served_by(c.call("login")).starts_with("worker-"));
}

TEST_CASE("with CURVE a node whose key is not listed cannot register and the refusal is announced",
          "[bus][process]") {
    const auto server = tb::bus::generate_keypair();
    const auto listed = tb::bus::generate_keypair();
    const auto unknown = tb::bus::generate_keypair();
    Cluster c(40, {"--set", "curve.enabled=true", "--set", "curve.secret_key=" + server.secret_key,
                   "--set", "curve.allowed_keys=" + listed.public_key});
    auto curve_args = [&](const tb::bus::CurveKeyPair& k) {
        return std::vector<std::string>{"--curve-public", k.public_key,     "--curve-secret",
                                        k.secret_key,     "--curve-server", server.public_key};
    };
    ClientOptions admin;
    admin.curve_public_key = listed.public_key;
    admin.curve_secret_key = listed.secret_key;
    admin.curve_server_key = server.public_key;
    auto workers_seen = [&](const std::string& service) {
        tb::bus::ServiceQuery q{service};
        auto r = c.call(std::string(tb::bus::kMmiService), tb::codec::encode(q), 500ms, admin);
        tb::bus::ServiceList list;
        if (!r || tb::codec::decode(r->body, list) != tb::codec::MsgError::kOk) return -1;
        return list.services.empty() ? 0 : static_cast<int>(list.services[0].workers);
    };
    c.worker("good", 1, curve_args(listed));
    REQUIRE(wait_for([&] { return workers_seen("good") == 1; }, 10s));

    // A subscriber with a listed key watches the events while the unknown node tries.
    zmq::socket_t sub(c.ctx, zmq::socket_type::sub);
    sub.set(zmq::sockopt::linger, 0);
    tb::bus::apply_curve_client(sub, listed, server.public_key);
    sub.set(zmq::sockopt::subscribe, std::string(tb::bus::kTopicEvent));
    sub.connect(c.announce);
    auto& intruder = c.worker("bad", 2, curve_args(unknown));
    bool refused = false;
    REQUIRE(wait_for(
        [&] {
            zmq::message_t topic;
            zmq::message_t body;
            while (sub.recv(topic, zmq::recv_flags::dontwait)) {
                if (!sub.recv(body, zmq::recv_flags::dontwait)) break;
                tb::bus::SocketEventBody e;
                if (tb::codec::decode(body.to_string_view(), e) != tb::codec::MsgError::kOk) {
                    continue;
                }
                if (e.event == "refused" && e.detail == unknown.public_key) refused = true;
            }
            return refused;
        },
        10s));
    CHECK(workers_seen("bad") == 0);
    CHECK(intruder.running());
    // The operator's view: tb-mon events shows the refused handshake with the key.
    ChildProcess mon({bin("tb-mon").string(), "events", "--json", "-t", "event", "--manager", c.bus,
                      "--curve-secret", listed.secret_key, "--curve-server", server.public_key});
    REQUIRE(
        wait_for([&] { return mon.stderr_text().find("listening") != std::string::npos; }, 10s));
    c.worker("bad", 3, curve_args(unknown));
    CHECK(wait_for(
        [&] {
            const auto out = mon.stdout_text();
            return out.find("refused") != std::string::npos &&
                   out.find(unknown.public_key) != std::string::npos;
        },
        10s));
    INFO(mon.stdout_text());
    CHECK(mon.stop() == 0);
    // A plain client without keys gets no answer at all.
    CHECK_FALSE(c.call(std::string(tb::bus::kMmiEcho), "x", 500ms).has_value());
}

TEST_CASE("real nodes join a CURVE manager with the keys of their config and a bad key stops them",
          "[bus][process]") {
    const auto server = tb::bus::generate_keypair();
    const auto listed = tb::bus::generate_keypair();
    const auto unknown = tb::bus::generate_keypair();
    Cluster c(44, {"--set", "curve.enabled=true", "--set", "curve.secret_key=" + server.secret_key,
                   "--set", "curve.allowed_keys=" + listed.public_key});
    ClientOptions admin;
    admin.curve_public_key = listed.public_key;
    admin.curve_secret_key = listed.secret_key;
    admin.curve_server_key = server.public_key;
    auto logins = [&] {
        tb::bus::ServiceQuery q{"login"};
        auto r = c.call(std::string(tb::bus::kMmiService), tb::codec::encode(q), 500ms, admin);
        tb::bus::ServiceList list;
        if (!r || tb::codec::decode(r->body, list) != tb::codec::MsgError::kOk) return -1;
        return list.services.empty() ? 0 : static_cast<int>(list.services[0].workers);
    };
    const std::string base = "node.base_port=" + std::to_string(c.base);
    // The secret key comes from the environment, as in production (TB_CURVE_SECRET_KEY).
    const auto login = [&](int id, const tb::bus::CurveKeyPair& k) {
        return std::make_unique<ChildProcess>(std::vector<std::string>{
            "/usr/bin/env", "TB_CURVE_SECRET_KEY=" + k.secret_key, bin("tb-login").string(), "--id",
            std::to_string(id), "--set", base, "--set", "curve.server_key=" + server.public_key});
    };
    auto good = login(1, listed);
    REQUIRE(wait_for([&] { return logins() == 1; }, 10s));
    auto bad = login(2, unknown);
    // The unknown key never gets in: still one login node while it keeps trying.
    CHECK_FALSE(wait_for([&] { return logins() == 2; }, 3s));
    CHECK(bad->running());
    // A key that is not a key stops the node at start with a message naming the setting.
    const auto broken = tb::test::run_command(
        {bin("tb-login").string(), "--id", "3", "--set", base, "--set", "curve.secret_key=short",
         "--set", "curve.server_key=" + server.public_key},
        10s);
    CHECK(broken.exit_code == 1);
    CHECK(broken.err.find("curve.secret_key") != std::string::npos);
}

TEST_CASE("tb-manager refuses heartbeat timing out of range, naming the setting",
          "[bus][process]") {
    const auto manager = [](std::vector<std::string> sets) {
        std::vector<std::string> argv{bin("tb-manager").string(), "--base-port",
                                      std::to_string(tb::test::port_base(45)), "--set",
                                      "manager.metrics=off"};
        for (auto& s : sets) {
            argv.push_back("--set");
            argv.push_back(std::move(s));
        }
        return tb::test::run_command(argv, 10s);
    };
    // Any timing inside the ranges works (the nodes take it from the manager); outside them,
    // the manager does not start.
    const auto fast = manager({"manager.heartbeat_ms=10"});
    CHECK(fast.exit_code == 1);
    CHECK(fast.err.find("manager.heartbeat_ms") != std::string::npos);
    const auto deaf = manager({"manager.liveness=1"});
    CHECK(deaf.exit_code == 1);
    CHECK(deaf.err.find("manager.liveness") != std::string::npos);
}
