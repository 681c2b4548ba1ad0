#include "bus/socket_monitor.h"

#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "bus/security.h"

using namespace std::chrono_literals;
using tb::bus::Clock;
using tb::bus::EventLoop;
using tb::bus::SocketEvent;
using tb::bus::SocketMonitor;
using Kind = tb::bus::SocketEvent::Kind;

namespace {

// The test thread drives the loop, so events and sockets all live on one thread.
template <class Cond>
bool spin_until(EventLoop& loop, Cond&& cond, std::chrono::milliseconds limit = 5s) {
    const auto deadline = Clock::now() + limit;
    while (!cond() && Clock::now() < deadline) loop.run_once(10ms);
    return cond();
}

const SocketEvent* find(const std::vector<SocketEvent>& events, Kind kind) {
    for (const auto& e : events) {
        if (e.kind == kind) return &e;
    }
    return nullptr;
}

std::string header(uint16_t event, uint32_t value) {
    std::string h(6, '\0');
    std::memcpy(h.data(), &event, sizeof event);
    std::memcpy(h.data() + sizeof event, &value, sizeof value);
    return h;
}

}  // namespace

TEST_CASE("a monitor message decodes into event, value and endpoint", "[bus]") {
    const auto accepted = tb::bus::decode_socket_event(header(ZMQ_EVENT_ACCEPTED, 17), "tcp://x:1");
    REQUIRE(accepted.has_value());
    CHECK(accepted->kind == Kind::kAccepted);
    CHECK(accepted->raw_event == ZMQ_EVENT_ACCEPTED);
    CHECK(accepted->value == 17);
    CHECK(accepted->endpoint == "tcp://x:1");

    const auto auth =
        tb::bus::decode_socket_event(header(ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, 400), "");
    REQUIRE(auth.has_value());
    CHECK(auth->kind == Kind::kHandshakeFailed);
    CHECK(auth->is_auth_failure());
    CHECK(auth->value == 400);

    const auto protocol =
        tb::bus::decode_socket_event(header(ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, 1), "");
    REQUIRE(protocol.has_value());
    CHECK(protocol->kind == Kind::kHandshakeFailed);
    CHECK_FALSE(protocol->is_auth_failure());

    const auto retried = tb::bus::decode_socket_event(header(ZMQ_EVENT_CONNECT_RETRIED, 0), "");
    REQUIRE(retried.has_value());
    CHECK(retried->kind == Kind::kOther);
    CHECK(tb::bus::raw_event_name(retried->raw_event) == "connect_retried");

    CHECK_FALSE(tb::bus::decode_socket_event("short", "").has_value());
    CHECK_FALSE(tb::bus::decode_socket_event(header(1, 1) + "x", "").has_value());
}

TEST_CASE("event kinds have stable snake_case names", "[bus]") {
    CHECK(tb::bus::event_name(Kind::kListening) == "listening");
    CHECK(tb::bus::event_name(Kind::kAccepted) == "accepted");
    CHECK(tb::bus::event_name(Kind::kConnected) == "connected");
    CHECK(tb::bus::event_name(Kind::kDisconnected) == "disconnected");
    CHECK(tb::bus::event_name(Kind::kClosed) == "closed");
    CHECK(tb::bus::event_name(Kind::kHandshakeSucceeded) == "handshake_succeeded");
    CHECK(tb::bus::event_name(Kind::kHandshakeFailed) == "handshake_failed");
    CHECK(tb::bus::event_name(Kind::kOther) == "other");
    CHECK(tb::bus::raw_event_name(ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) == "handshake_failed_auth");
    CHECK(tb::bus::raw_event_name(0x8000) == "unknown");
}

TEST_CASE("a router's monitor reports accepted and disconnected as a dealer comes and goes",
          "[bus]") {
    zmq::context_t ctx;
    EventLoop loop;
    zmq::socket_t router(ctx, zmq::socket_type::router);
    router.set(zmq::sockopt::linger, 0);
    std::vector<SocketEvent> events;
    SocketMonitor monitor(ctx, router, loop, [&](const SocketEvent& e) { events.push_back(e); });
    CHECK(monitor.endpoint().rfind("inproc://monitor-", 0) == 0);
    router.bind("tcp://127.0.0.1:*");
    const std::string endpoint = router.get(zmq::sockopt::last_endpoint);

    REQUIRE(spin_until(loop, [&] { return find(events, Kind::kListening) != nullptr; }));
    CHECK(find(events, Kind::kListening)->endpoint == endpoint);

    zmq::socket_t dealer(ctx, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::linger, 0);
    dealer.connect(endpoint);
    REQUIRE(spin_until(loop, [&] { return find(events, Kind::kHandshakeSucceeded) != nullptr; }));
    const SocketEvent* accepted = find(events, Kind::kAccepted);
    REQUIRE(accepted != nullptr);
    CHECK(accepted->endpoint == endpoint);
    CHECK(accepted->raw_event == ZMQ_EVENT_ACCEPTED);
    CHECK(find(events, Kind::kDisconnected) == nullptr);

    dealer.close();
    REQUIRE(spin_until(loop, [&] { return find(events, Kind::kDisconnected) != nullptr; }));
    CHECK(find(events, Kind::kHandshakeFailed) == nullptr);
}

TEST_CASE("a router's monitor reports an auth handshake failure for a refused CURVE client",
          "[bus]") {
    zmq::context_t ctx;
    EventLoop loop;
    const auto server = tb::bus::generate_keypair();
    const auto intruder = tb::bus::generate_keypair();
    tb::bus::ZapHandler zap(ctx, loop, {tb::bus::generate_keypair().public_key});
    zmq::socket_t router(ctx, zmq::socket_type::router);
    router.set(zmq::sockopt::linger, 0);
    tb::bus::apply_curve_server(router, server.secret_key);
    std::vector<SocketEvent> events;
    SocketMonitor monitor(ctx, router, loop, [&](const SocketEvent& e) { events.push_back(e); });
    router.bind("tcp://127.0.0.1:*");
    const std::string endpoint = router.get(zmq::sockopt::last_endpoint);

    zmq::socket_t dealer(ctx, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::linger, 0);
    tb::bus::apply_curve_client(dealer, intruder, server.public_key);
    dealer.connect(endpoint);

    REQUIRE(spin_until(loop, [&] { return find(events, Kind::kHandshakeFailed) != nullptr; }));
    const SocketEvent* failed = find(events, Kind::kHandshakeFailed);
    CHECK(failed->is_auth_failure());
    CHECK(failed->value == 400);  // the ZAP status code
    CHECK(find(events, Kind::kHandshakeSucceeded) == nullptr);
    CHECK(zap.refused() >= 1);
}

TEST_CASE("a NULL client at a CURVE router shows up as a protocol handshake failure", "[bus]") {
    zmq::context_t ctx;
    EventLoop loop;
    const auto server = tb::bus::generate_keypair();
    tb::bus::ZapHandler zap(ctx, loop, {});
    zmq::socket_t router(ctx, zmq::socket_type::router);
    router.set(zmq::sockopt::linger, 0);
    tb::bus::apply_curve_server(router, server.secret_key);
    std::vector<SocketEvent> events;
    SocketMonitor monitor(ctx, router, loop, [&](const SocketEvent& e) { events.push_back(e); });
    router.bind("tcp://127.0.0.1:*");

    zmq::socket_t dealer(ctx, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::linger, 0);
    dealer.connect(router.get(zmq::sockopt::last_endpoint));

    REQUIRE(spin_until(loop, [&] { return find(events, Kind::kHandshakeFailed) != nullptr; }));
    const SocketEvent* failed = find(events, Kind::kHandshakeFailed);
    CHECK(failed->raw_event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL);
    CHECK(failed->value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH);
    CHECK(zap.refused() == 0);  // ZAP is never asked: the mechanisms do not even match
}

TEST_CASE("a destroyed monitor stops reporting and the socket can be monitored again", "[bus]") {
    zmq::context_t ctx;
    EventLoop loop;
    zmq::socket_t router(ctx, zmq::socket_type::router);
    router.set(zmq::sockopt::linger, 0);
    router.bind("tcp://127.0.0.1:*");
    const std::string endpoint = router.get(zmq::sockopt::last_endpoint);

    std::vector<SocketEvent> first;
    {
        SocketMonitor monitor(ctx, router, loop, [&](const SocketEvent& e) { first.push_back(e); });
        zmq::socket_t dealer(ctx, zmq::socket_type::dealer);
        dealer.set(zmq::sockopt::linger, 0);
        dealer.connect(endpoint);
        REQUIRE(spin_until(loop, [&] { return find(first, Kind::kAccepted) != nullptr; }));
    }
    const std::size_t seen = first.size();

    std::vector<SocketEvent> second;
    SocketMonitor monitor(ctx, router, loop, [&](const SocketEvent& e) { second.push_back(e); });
    zmq::socket_t dealer(ctx, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::linger, 0);
    dealer.connect(endpoint);
    REQUIRE(spin_until(loop, [&] { return find(second, Kind::kAccepted) != nullptr; }));
    CHECK(first.size() == seen);
}

TEST_CASE("monitoring a closed socket throws", "[bus]") {
    zmq::context_t ctx;
    EventLoop loop;
    zmq::socket_t closed(ctx, zmq::socket_type::dealer);
    closed.close();
    CHECK_THROWS_AS(SocketMonitor(ctx, closed, loop, {}), std::runtime_error);
}
