#include "bus/security.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <iterator>
#include <mutex>
#include <optional>
#include <string>
#include <vector>
#include <zmq_addon.hpp>

#include "tests/support/loop_thread.h"
#include "tests/support/wait.h"

using namespace std::chrono_literals;
using tb::bus::CurveKeyPair;
using tb::bus::EventLoop;
using tb::bus::ZapHandler;
using tb::test::LoopThread;
using tb::test::wait_for;

namespace {

// How long a message that must not get through is given to show up anyway.
constexpr auto kNeverArrives = 300ms;

// A ROUTER on the loop that echoes every message back and remembers the ZAP user id of the last
// one. Built before the loop thread starts (add_socket is loop-thread only once it runs).
struct EchoRouter {
    EchoRouter(zmq::context_t& ctx, EventLoop& loop_in, const std::string* secret_key)
        : loop(loop_in), socket(ctx, zmq::socket_type::router) {
        socket.set(zmq::sockopt::linger, 0);
        if (secret_key != nullptr) tb::bus::apply_curve_server(socket, *secret_key);
        // A plain socket with a ZAP domain: libzmq consults ZAP for NULL clients too.
        if (secret_key == nullptr) socket.set(zmq::sockopt::zap_domain, "tablebus");
        socket.bind("tcp://127.0.0.1:*");
        endpoint = socket.get(zmq::sockopt::last_endpoint);
        loop.add_socket(socket, [this] { on_readable(); });
    }
    ~EchoRouter() { loop.remove_socket(socket); }

    void on_readable() {
        std::vector<zmq::message_t> parts;
        while (zmq::recv_multipart(socket, std::back_inserter(parts), zmq::recv_flags::dontwait)) {
            const char* user = zmq_msg_gets(parts.back().handle(), "User-Id");
            {
                std::lock_guard lock(mutex);
                user_id = user != nullptr ? user : "";
            }
            ++received;
            zmq::send_multipart(socket, parts, zmq::send_flags::dontwait);
            parts.clear();
        }
    }
    std::string last_user_id() {
        std::lock_guard lock(mutex);
        return user_id;
    }

    EventLoop& loop;
    zmq::socket_t socket;
    std::string endpoint;
    std::atomic<int> received{0};
    std::mutex mutex;
    std::string user_id;  // guarded by mutex
};

// Records on_refused calls, which arrive on the loop thread while the test thread reads.
struct Refusals {
    struct Entry {
        std::string address, key, reason;
    };
    void attach(ZapHandler& zap) {
        zap.on_refused([this](const std::string& a, const std::string& k, const std::string& r) {
            std::lock_guard lock(mutex);
            entries.push_back({a, k, r});
        });
    }
    std::optional<Entry> first() {
        std::lock_guard lock(mutex);
        if (entries.empty()) return std::nullopt;
        return entries.front();
    }

    std::mutex mutex;
    std::vector<Entry> entries;  // guarded by mutex
};

zmq::socket_t dealer_to(zmq::context_t& ctx, const std::string& endpoint,
                        const CurveKeyPair* client = nullptr,
                        const std::string& server_public = {}) {
    zmq::socket_t dealer(ctx, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::linger, 0);
    if (client != nullptr) tb::bus::apply_curve_client(dealer, *client, server_public);
    dealer.connect(endpoint);
    return dealer;
}

// Waits for the echo of what it sends; false when nothing came back before the deadline.
bool round_trip(zmq::socket_t& dealer, std::string_view text,
                std::chrono::milliseconds limit = 5s) {
    // The message queues on the connecting pipe, so it is sent even before the handshake ends.
    REQUIRE(dealer.send(zmq::buffer(text), zmq::send_flags::dontwait));
    zmq::message_t reply;
    if (!wait_for([&] { return dealer.recv(reply, zmq::recv_flags::dontwait).has_value(); },
                  limit)) {
        return false;
    }
    CHECK(reply.to_string_view() == text);
    return true;
}

}  // namespace

TEST_CASE("generated key pairs are Z85 and the public key derives from the secret", "[bus]") {
    const CurveKeyPair a = tb::bus::generate_keypair();
    const CurveKeyPair b = tb::bus::generate_keypair();
    CHECK(a.public_key.size() == 40);
    CHECK(a.secret_key.size() == 40);
    CHECK(tb::bus::is_z85_key(a.public_key));
    CHECK(tb::bus::is_z85_key(a.secret_key));
    CHECK(a.public_key != b.public_key);
    CHECK(a.secret_key != b.secret_key);
    CHECK(tb::bus::public_from_secret(a.secret_key) == a.public_key);
    CHECK(tb::bus::public_from_secret(b.secret_key) == b.public_key);
}

TEST_CASE("malformed Z85 keys are recognised and rejected", "[bus]") {
    const std::string good = tb::bus::generate_keypair().public_key;
    CHECK_FALSE(tb::bus::is_z85_key(""));
    CHECK_FALSE(tb::bus::is_z85_key(good.substr(0, 39)));
    CHECK_FALSE(tb::bus::is_z85_key(good + "0"));
    CHECK_FALSE(tb::bus::is_z85_key(std::string(39, '0') + " "));  // not in the alphabet
    CHECK_FALSE(tb::bus::is_z85_key(std::string(39, '0') + "\""));
    CHECK_FALSE(tb::bus::is_z85_key(std::string(40, '#')));  // every group overflows 32 bits
    CHECK(tb::bus::is_z85_key(std::string(40, '0')));
    CHECK_THROWS_AS(tb::bus::public_from_secret("short"), std::invalid_argument);

    zmq::context_t ctx;
    zmq::socket_t s(ctx, zmq::socket_type::router);
    CHECK_THROWS_AS(tb::bus::apply_curve_server(s, "short"), std::invalid_argument);
    const CurveKeyPair bad{good, "not a key"};
    CHECK_THROWS_AS(tb::bus::apply_curve_client(s, bad, good), std::invalid_argument);
}

TEST_CASE("a CURVE client on the allow-list exchanges messages with a CURVE router", "[bus]") {
    zmq::context_t ctx;
    EventLoop loop;
    const CurveKeyPair server = tb::bus::generate_keypair();
    const CurveKeyPair client = tb::bus::generate_keypair();
    ZapHandler zap(ctx, loop, {tb::bus::generate_keypair().public_key, client.public_key});
    Refusals refusals;
    refusals.attach(zap);
    EchoRouter router(ctx, loop, &server.secret_key);
    zmq::socket_t dealer = dealer_to(ctx, router.endpoint, &client, server.public_key);
    LoopThread thread(loop);

    REQUIRE(round_trip(dealer, "hello"));
    CHECK(round_trip(dealer, "again"));
    CHECK(router.received == 2);
    // The handler's user id is the client key, so the broker can tell nodes apart by key.
    CHECK(router.last_user_id() == client.public_key);
    CHECK(zap.admitted() == 1);
    CHECK(zap.refused() == 0);
    CHECK_FALSE(refusals.first().has_value());
}

TEST_CASE("a CURVE client with an unlisted key gets nothing through and is reported", "[bus]") {
    zmq::context_t ctx;
    EventLoop loop;
    const CurveKeyPair server = tb::bus::generate_keypair();
    const CurveKeyPair listed = tb::bus::generate_keypair();
    const CurveKeyPair intruder = tb::bus::generate_keypair();
    ZapHandler zap(ctx, loop, {listed.public_key});
    Refusals refusals;
    refusals.attach(zap);
    EchoRouter router(ctx, loop, &server.secret_key);
    // The intruder knows the server key: CURVE alone would let it in; the allow-list must not.
    zmq::socket_t dealer = dealer_to(ctx, router.endpoint, &intruder, server.public_key);
    // Sent before the loop runs: ZAP cannot answer yet, so the connecting pipe still exists.
    REQUIRE(dealer.send(zmq::str_buffer("let me in"), zmq::send_flags::dontwait));
    LoopThread thread(loop);

    REQUIRE(wait_for([&] { return refusals.first().has_value(); }));
    const auto refusal = *refusals.first();
    CHECK(refusal.key == intruder.public_key);
    CHECK(refusal.address == "127.0.0.1");
    CHECK_THAT(refusal.reason, Catch::Contains("allow-list"));
    CHECK_FALSE(wait_for([&] { return router.received > 0; }, kNeverArrives));
    zmq::message_t reply;
    CHECK_FALSE(dealer.recv(reply, zmq::recv_flags::dontwait).has_value());
    CHECK(zap.admitted() == 0);
    CHECK(zap.refused() >= 1);  // the client may retry, and is refused every time
}

TEST_CASE("a plain NULL client gets nothing through a CURVE router", "[bus]") {
    zmq::context_t ctx;
    EventLoop loop;
    const CurveKeyPair server = tb::bus::generate_keypair();
    ZapHandler zap(ctx, loop, {tb::bus::generate_keypair().public_key});
    EchoRouter router(ctx, loop, &server.secret_key);
    zmq::socket_t dealer = dealer_to(ctx, router.endpoint);
    // Sent straight after connect, while the TCP connection and handshake are still in flight.
    REQUIRE(dealer.send(zmq::str_buffer("plain"), zmq::send_flags::dontwait));
    LoopThread thread(loop);

    // The mechanisms differ, so libzmq drops the connection before ZAP is ever asked.
    CHECK_FALSE(wait_for([&] { return router.received > 0; }, kNeverArrives));
    CHECK(zap.admitted() == 0);
}

TEST_CASE("the ZAP handler refuses a NULL client in CURVE-only mode", "[bus]") {
    zmq::context_t ctx;
    EventLoop loop;
    ZapHandler zap(ctx, loop, {});
    CHECK(zap.mode() == ZapHandler::Mode::kCurveOnly);
    Refusals refusals;
    refusals.attach(zap);
    EchoRouter router(ctx, loop, nullptr);  // NULL mechanism, but with a ZAP domain
    zmq::socket_t dealer = dealer_to(ctx, router.endpoint);
    // Sent before the loop runs: ZAP cannot answer yet, so the connecting pipe still exists.
    REQUIRE(dealer.send(zmq::str_buffer("plain"), zmq::send_flags::dontwait));
    LoopThread thread(loop);

    REQUIRE(wait_for([&] { return refusals.first().has_value(); }));
    const auto refusal = *refusals.first();
    CHECK(refusal.key.empty());
    CHECK_THAT(refusal.reason, Catch::Contains("NULL"));
    CHECK_FALSE(wait_for([&] { return router.received > 0; }, kNeverArrives));
    CHECK(zap.admitted() == 0);
}

TEST_CASE("the ZAP handler admits a NULL client when NULL is allowed", "[bus]") {
    zmq::context_t ctx;
    EventLoop loop;
    ZapHandler zap(ctx, loop, {}, ZapHandler::Mode::kCurveOrNull);
    EchoRouter router(ctx, loop, nullptr);
    zmq::socket_t dealer = dealer_to(ctx, router.endpoint);
    LoopThread thread(loop);

    REQUIRE(round_trip(dealer, "plain"));
    CHECK(zap.admitted() == 1);
    CHECK(zap.refused() == 0);
}

TEST_CASE("an allow-list with a malformed entry throws naming the entry", "[bus]") {
    zmq::context_t ctx;
    EventLoop loop;
    const std::string good = tb::bus::generate_keypair().public_key;
    CHECK_THROWS_WITH(ZapHandler(ctx, loop, {good, "not-a-key"}), Catch::Contains("not-a-key"));
    CHECK_THROWS_AS(ZapHandler(ctx, loop, {good.substr(1)}), std::invalid_argument);

    // The failed constructions left the ZAP endpoint free.
    ZapHandler zap(ctx, loop, {good});
    CHECK_THROWS_WITH(zap.set_allowed({good, "bad entry"}), Catch::Contains("bad entry"));
    CHECK(zap.is_allowed(good));  // the old list stays
    CHECK(zap.allowed_count() == 1);
}

TEST_CASE("a second ZAP handler on the same context is refused", "[bus]") {
    zmq::context_t ctx;
    EventLoop loop;
    ZapHandler first(ctx, loop, {});
    CHECK_THROWS_WITH(ZapHandler(ctx, loop, {}), Catch::Contains("one ZAP handler per context"));

    zmq::context_t other;
    CHECK_NOTHROW(ZapHandler(other, loop, {}));
}

TEST_CASE("a key added to the allow-list at runtime is admitted", "[bus]") {
    zmq::context_t ctx;
    EventLoop loop;
    const CurveKeyPair server = tb::bus::generate_keypair();
    const CurveKeyPair client = tb::bus::generate_keypair();
    ZapHandler zap(ctx, loop, {});
    Refusals refusals;
    refusals.attach(zap);
    EchoRouter router(ctx, loop, &server.secret_key);
    zmq::socket_t early = dealer_to(ctx, router.endpoint, &client, server.public_key);
    // Sent before the loop runs: ZAP cannot answer yet, so the connecting pipe still exists.
    REQUIRE(early.send(zmq::str_buffer("too early"), zmq::send_flags::dontwait));
    LoopThread thread(loop);

    REQUIRE(wait_for([&] { return refusals.first().has_value(); }));

    std::atomic<bool> updated{false};
    loop.post([&] {
        zap.set_allowed({client.public_key});
        updated = true;
    });
    REQUIRE(wait_for([&] { return updated.load(); }));
    zmq::socket_t later = dealer_to(ctx, router.endpoint, &client, server.public_key);
    CHECK(round_trip(later, "now"));
    CHECK(zap.admitted() >= 1);
}
