// tb-proxy with real processes and raw TCP clients: keep-alive timings, bad input, rate
// limits, caps, slow readers, notices and shutdown. Login flows are in login_test.cc.
#include <signal.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <memory>
#include <thread>

#include "bus/client.h"
#include "bus/protocol.h"
#include "codec/fields.h"
#include "tests/support/cluster.h"
#include "tests/support/process.h"
#include "tests/support/tcp_client.h"
#include "tests/support/wait.h"

using namespace std::chrono_literals;
using tb::test::bin;
using tb::test::ChildProcess;
using tb::test::json_int;
using tb::test::TcpClient;
using tb::test::wait_for;

namespace {

struct ProxyCluster : tb::test::BusQueries {
    uint16_t base;
    uint16_t client_port;
    std::unique_ptr<ChildProcess> manager;
    std::unique_ptr<ChildProcess> proxy;

    explicit ProxyCluster(int slot, std::vector<std::string> proxy_sets = {})
        : BusQueries(tb::test::port_base(slot), 1s),
          base(tb::test::port_base(slot)),
          client_port(static_cast<uint16_t>(base + 3333)) {
        manager = std::make_unique<ChildProcess>(std::vector<std::string>{
            bin("tb-manager").string(), "--base-port", std::to_string(base), "--set",
            "manager.metrics=off", "--set", "manager.queue_deadline_ms=300"});
        std::vector<std::string> argv{bin("tb-proxy").string(), "--set",
                                      tb::test::base_port_setting(base), "--set",
                                      "ticket.secret=proxy-test-secret"};
        for (auto& s : proxy_sets) {
            argv.push_back("--set");
            argv.push_back(s);
        }
        proxy = std::make_unique<ChildProcess>(argv);
        // Generous: on a loaded 2-core machine a cold start can take seconds; passing is fast.
        if (!wait_for([&] { return proxy_registered(); }, 20s)) {
            FAIL("the proxy did not register\n"
                 << manager->describe() << "\n"
                 << proxy->describe());
        }
    }

    bool proxy_registered() {
        const auto h = health("proxy-1");
        return h && h->registered;
    }

    int64_t proxy_load() {
        const auto list = worker_list("proxy");
        return list.empty() ? -1 : list[0].load;
    }
};

std::string raw_header(uint16_t magic, uint16_t length, uint16_t mcmd = 1, uint16_t scmd = 1) {
    std::string h;
    for (uint16_t v : {magic, length, mcmd, scmd}) {
        h.push_back(static_cast<char>(v >> 8));
        h.push_back(static_cast<char>(v & 0xff));
    }
    return h;
}

}  // namespace

TEST_CASE("the proxy probes a silent client and drops it, and never answers a client's (0,0)",
          "[proxy]") {
    ProxyCluster c(30 + 6, {"proxy.keepalive_interval_ms=300"});
    TcpClient silent(c.client_port);
    TcpClient pinger(c.client_port);
    REQUIRE(pinger.send(0, 0));
    // The probe comes after 1-2 intervals of silence, as (0,0).
    const auto start = std::chrono::steady_clock::now();
    auto probe = silent.read(2s);
    REQUIRE(probe.has_value());
    CHECK(probe->is_keep_alive());
    const auto probed_after = std::chrono::steady_clock::now() - start;
    CHECK(probed_after >= 250ms);
    CHECK(probed_after < 1000ms);
    // Not answering it: closed about one interval later.
    CHECK(silent.wait_closed(2s));
    // The pinger's (0,0) was never answered: all it got was the server's own probe.
    auto f = pinger.read(100ms);
    CHECK((!f || f->is_keep_alive()));
}

TEST_CASE("a client that echoes every probe stays connected with no ping-pong", "[proxy]") {
    ProxyCluster c(30 + 7, {"proxy.keepalive_interval_ms=500"});
    TcpClient client(c.client_port);
    int probes = 0;
    const auto end = std::chrono::steady_clock::now() + 4s;
    while (std::chrono::steady_clock::now() < end) {
        auto f = client.read(100ms);
        if (client.closed()) break;
        if (f && f->is_keep_alive()) {
            ++probes;
            client.send(0, 0);
        }
    }
    CHECK_FALSE(client.closed());
    // One probe per two intervals at most: about 4 in 4 s, never a storm.
    CHECK(probes >= 2);
    CHECK(probes <= 6);
}

TEST_CASE("malformed streams are closed, bad requests get error frames, others see nothing",
          "[proxy]") {
    ProxyCluster c(30 + 8);
    TcpClient good(c.client_port);

    for (const std::string& bad :
         {std::string("GET / HTTP/1.1\r\n\r\n"), raw_header(0x5277, 7), raw_header(0x5277, 8193),
          raw_header(0x5277, 65535), raw_header(0x5278, 8, 0, 0) + raw_header(0x5277, 8, 0, 0)}) {
        TcpClient client(c.client_port);
        client.send_raw(bad);
        CHECK(client.wait_closed(2s));
    }

    TcpClient client(c.client_port);
    REQUIRE(client.send(100, 3));  // Ready before login
    auto f = client.read_until(100, 3);
    REQUIRE(f.has_value());
    CHECK(json_int(f->body, "Errno") == 4);
    REQUIRE(client.send(150, 1, R"({"PositionX":7,"PositionY":7})"));
    f = client.read_until(150, 1);
    REQUIRE(f.has_value());
    CHECK(json_int(f->body, "Errno") == 4);
    REQUIRE(client.send(7, 1));
    f = client.read_until(7, 1);
    REQUIRE(f.has_value());
    CHECK(json_int(f->body, "Errno") == 3);
    REQUIRE(client.send(1, 1, R"({"Account":)"));
    f = client.read_until(1, 1);
    REQUIRE(f.has_value());
    CHECK(json_int(f->body, "Errno") == 2);
    REQUIRE(client.send(1, 1, R"({"Account":7})"));  // wrong type
    f = client.read_until(1, 1);
    REQUIRE(f.has_value());
    CHECK(json_int(f->body, "Errno") == 2);
    // No login service running: the broker's queue deadline, then Errno 7 (no service).
    REQUIRE(client.send(1, 1, R"({"Account":"ann","Machine":"m-0123456789abcdef"})"));
    f = client.read_until(1, 1);
    REQUIRE(f.has_value());
    CHECK(json_int(f->body, "Errno") == 7);
    CHECK(f->body.find("Errdesc") != std::string::npos);
    CHECK_FALSE(client.closed());

    // The well-behaved client beside them saw nothing at all.
    CHECK_FALSE(good.read(200ms).has_value());
    CHECK_FALSE(good.closed());
}

TEST_CASE("a msgpack client gets msgpack answers", "[proxy]") {
    ProxyCluster c(30 + 9);
    TcpClient client(c.client_port, tb::codec::Magic::kMsgpack);
    REQUIRE(client.send(100, 3));
    auto f = client.read_until(100, 3);
    REQUIRE(f.has_value());
    CHECK(f->magic == tb::codec::Magic::kMsgpack);
    CHECK(json_int(f->body, "Errno") == 4);
}

TEST_CASE("a flood past the rate limit gets Errno 16, then the connection is closed", "[proxy]") {
    ProxyCluster c(40 + 1, {"proxy.rate_per_s=5", "proxy.rate_burst=5", "proxy.rate_strikes=10"});
    TcpClient good(c.client_port);
    TcpClient flood(c.client_port);
    std::string burst;
    for (int i = 0; i < 100; ++i) burst += raw_header(0x5277, 8, 100, 3);
    flood.send_raw(burst);
    int limited = 0;
    for (;;) {
        auto f = flood.read(2s);
        if (!f) break;
        if (json_int(f->body, "Errno") == 16) ++limited;
    }
    CHECK(flood.closed());
    CHECK(limited >= 1);
    CHECK(limited <= 10);
    REQUIRE(good.send(100, 3));
    auto f = good.read_until(100, 3);
    REQUIRE(f.has_value());
    CHECK(json_int(f->body, "Errno") == 4);  // its own, ordinary answer
}

TEST_CASE("connections over the per-IP cap are refused at once", "[proxy]") {
    ProxyCluster c(40 + 2, {"proxy.max_per_ip=3"});
    std::vector<std::unique_ptr<TcpClient>> held;
    for (int i = 0; i < 3; ++i) held.push_back(std::make_unique<TcpClient>(c.client_port));
    REQUIRE(wait_for([&] { return c.proxy_load() == 3; }, 5s));
    TcpClient extra(c.client_port);
    CHECK(extra.wait_closed(2s));
    for (auto& h : held) CHECK_FALSE(h->closed());
    held.pop_back();
    REQUIRE(wait_for([&] { return c.proxy_load() == 2; }, 5s));
    TcpClient again(c.client_port);
    CHECK_FALSE(again.wait_closed(300ms));
}

TEST_CASE("notices reach every session, and a client that does not read is dropped", "[proxy]") {
    ProxyCluster c(40 + 3, {"proxy.max_output_kib=256", "proxy.socket_sndbuf_kib=8"});
    TcpClient reader(c.client_port);
    TcpClient stuck(c.client_port, tb::codec::Magic::kJson, /*rcvbuf=*/2048);
    REQUIRE(wait_for([&] { return c.proxy_load() == 2; }, 5s));
    tb::bus::NoticeBody n{"maintenance at 03:00", 1};
    REQUIRE(c.call(std::string(tb::bus::kMmiNotice), tb::codec::encode(n))->ok());
    auto f = reader.read_until(0, 1);
    REQUIRE(f.has_value());
    CHECK(f->body.find("maintenance at 03:00") != std::string::npos);
    CHECK(json_int(f->body, "Level") == 1);
    // Many notices, long ones: the stuck client's queue passes its cap and it is closed, while
    // the reader (on its own thread, reading all the time) keeps up and stays.
    std::atomic<bool> stop{false};
    std::atomic<int> received{0};
    std::thread reading([&] {
        while (!stop && !reader.closed()) {
            if (reader.read(50ms)) ++received;
        }
    });
    tb::bus::NoticeBody big{std::string(2000, 'x'), 0};
    const auto encoded = tb::codec::encode(big);
    for (int i = 0; i < 1000 && c.proxy_load() != 1; ++i) {
        c.call(std::string(tb::bus::kMmiNotice), encoded);
    }
    const bool dropped = wait_for([&] { return c.proxy_load() == 1; }, 10s);
    stop = true;
    reading.join();
    CHECK(dropped);
    CHECK_FALSE(reader.closed());
    CHECK(received.load() > 0);
}

TEST_CASE("SIGTERM: clients are told (Errno 17) and closed, and the proxy exits 0", "[proxy]") {
    ProxyCluster c(40 + 4);
    TcpClient client(c.client_port);
    REQUIRE(wait_for([&] { return c.proxy_load() == 1; }, 5s));
    c.proxy->signal(SIGTERM);
    auto f = client.read_until(100, 105);
    REQUIRE(f.has_value());
    CHECK(json_int(f->body, "Errno") == 17);
    CHECK(client.wait_closed(2s));
    CHECK(c.proxy->wait(5s) == std::optional<int>(0));
}
