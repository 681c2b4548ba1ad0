// Security checks end to end (issue 10, "Security") with real tb-manager, tb-db, tb-login,
// tb-game and tb-proxy processes over real MariaDB and Redis:
// - tickets: a real game node refuses forged, expired, mismatched, malformed and replayed
//   FastLogin tickets with Errno 20 (the test plays a proxy on the bus to send them);
// - a client can never set its own user id, IP or ticket: the proxy fills them in;
// - passwords are never logged (every node at debug level) or returned, and are stored hashed.
// Lockout and device accounts through the proxy: client_login_test.cc; CURVE and the ZAP
// allow-list with tb-mon showing the refusal: bus_process_test.cc.
#include <catch2/catch.hpp>
#include <memory>
#include <random>

#include "bus/client.h"
#include "bus/message.h"
#include "bus/protocol.h"
#include "codec/errors.h"
#include "codec/fields.h"
#include "codec/messages.h"
#include "nodes/common/proxy_api.h"
#include "nodes/common/ticket.h"
#include "tests/support/cluster.h"
#include "tests/support/process.h"
#include "tests/support/storage.h"
#include "tests/support/tcp_client.h"
#include "tests/support/wait.h"

using namespace std::chrono_literals;
using namespace tb;
using test::bin;
using test::ChildProcess;
using test::json_int;
using test::TcpClient;

namespace {

constexpr const char* kSecret = "security-test-ticket-secret";

struct Stack : test::BusQueries {
    test::TestSchema schema;
    test::TestRedisPrefix prefix;
    uint16_t base;
    uint16_t client_port;
    std::string bus_endpoint;
    std::vector<std::unique_ptr<ChildProcess>> procs;

    explicit Stack(int slot)
        : BusQueries(test::port_base(slot)),
          schema(test::shared_storage()),
          prefix(test::shared_storage()),
          base(test::port_base(slot)),
          client_port(static_cast<uint16_t>(base + 3333)),
          bus_endpoint("tcp://127.0.0.1:" + std::to_string(base)) {
        const auto& s = test::shared_storage();
        const std::string b = test::base_port_setting(base);
        // Every node logs at debug level: the most it ever writes.
        start({bin("tb-manager").string(), "--base-port", std::to_string(base), "--set",
               "manager.metrics=off", "--set", "log.level=debug"});
        start(test::db_node_argv(base, s, schema.name(), prefix.prefix(),
                                 {"login.lockout_failures=3", "log.level=debug"}));
        start({bin("tb-login").string(), "--set", b, "--set", "log.level=debug"});
        start({bin("tb-game").string(), "--game", "gomoku", "--level", "1", "--id", "1", "--set", b,
               "--set", std::string("ticket.secret=") + kSecret, "--set", "robot.enabled=false",
               "--set", "log.level=debug"});
        start({bin("tb-proxy").string(), "--set", b, "--set",
               std::string("ticket.secret=") + kSecret, "--set", "log.level=debug"});
        REQUIRE(test::wait_for(
            [&] {
                return workers("db") == 1 && workers("login") == 1 && workers("proxy") == 1 &&
                       workers("game.gomoku.1") == 1;
            },
            20s));
    }

    void start(std::vector<std::string> argv) {
        procs.push_back(std::make_unique<ChildProcess>(std::move(argv)));
    }

    // Everything every node has written so far.
    std::string all_output() const {
        std::string out;
        for (const auto& p : procs) out += p->stdout_text() + p->stderr_text();
        return out;
    }
};

// Plays a proxy on the bus: a DEALER with its own identity (the envelope's `source` the game
// node sees) sending FastLogin requests with the session and user a proxy would vouch for.
class BusProxy {
public:
    BusProxy(zmq::context_t& ctx, const std::string& manager)
        : socket_(ctx, zmq::socket_type::dealer) {
        std::random_device rd;
        // No dots: the ticket is dot-separated and names the proxy.
        identity_ = "proxy-sec-" + std::to_string(rd());
        socket_.set(zmq::sockopt::routing_id, identity_);
        socket_.set(zmq::sockopt::linger, 0);
        socket_.connect(manager);
    }

    const std::string& identity() const { return identity_; }

    // FastLogin to @game-1 with `ticket`; the client Errno of the answer (0: seated), -1 when
    // nothing came back.
    int32_t fast_login(const std::string& ticket, uint64_t user, uint64_t session) {
        const uint64_t id = next_correlation_++;
        codec::Envelope e;
        e.command = codec::Command::kRequest;
        e.target = "@game-1";
        e.msg_type = codec::kMsgFastLogin;
        e.correlation = id;
        e.session = session;
        e.user = user;
        e.timeout_ms = 5000;
        const common::FastLoginForward fwd{0, 2, 1, ticket};
        if (bus::send_message(socket_, {}, e, codec::encode(fwd)) != bus::SendResult::kOk) {
            return -1;
        }
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (std::chrono::steady_clock::now() < deadline) {
            zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
            zmq::poll(&item, 1, 100ms);
            bus::Incoming in;
            while (bus::recv_message(socket_, false, in) != bus::RecvResult::kEmpty) {
                if (in.header_error != codec::EnvelopeError::kOk || in.env.correlation != id ||
                    (in.env.command != codec::Command::kReply &&
                     in.env.command != codec::Command::kError)) {
                    continue;
                }
                const bus::Reply r = bus::reply_from(std::move(in));
                if (!r.ok()) return codec::to_int(codec::client_errno(r.code));
                codec::ErrorBody err;
                if (codec::decode(r.body, err) != codec::MsgError::kOk) return -1;
                return err.err_no;
            }
        }
        return -1;
    }

private:
    zmq::socket_t socket_;
    std::string identity_;
    uint64_t next_correlation_ = 1;
};

std::string register_body(const std::string& account, const std::string& password,
                          const std::string& extra = "") {
    return R"({"Account":")" + account + R"(","Password":")" + password +
           R"(","Machine":"machine-0123456789abcdef","Name":")" + account +
           R"(","Icon":1,"Gender":2)" + extra + "}";
}

codec::Frame request(TcpClient& c, uint16_t mcmd, uint16_t scmd, const std::string& body = {}) {
    REQUIRE(c.send(mcmd, scmd, body));
    auto f = c.read_until(mcmd, scmd, 10s);
    REQUIRE(f.has_value());
    return *f;
}

int64_t registered(TcpClient& c, const std::string& account, const std::string& extra = "") {
    const auto f = request(c, 1, 1, register_body(account, "pw", extra));
    INFO(f.body);
    const auto uid = json_int(f.body, "UserID");
    REQUIRE(uid > 0);
    return uid;
}

}  // namespace

TEST_CASE(
    "a real game node refuses forged, expired, mismatched and replayed tickets with "
    "Errno 20",
    "[security]") {
    Stack s(0);
    TcpClient c(s.client_port);
    const auto uid = static_cast<uint64_t>(registered(c, "tina"));
    BusProxy proxy(s.context(), s.bus_endpoint);
    constexpr uint64_t kSession = 777;
    const auto claims = [&] {
        common::TicketClaims t;
        t.user = uid;
        t.session = kSession;
        t.proxy = proxy.identity();
        t.expires_ms = bus::unix_ms() + 30000;
        t.nonce = common::ticket_nonce();
        return t;
    };
    constexpr int32_t kInvalid = 20;
    // Forged: signed with another key.
    CHECK(proxy.fast_login(common::sign_ticket(claims(), "not-the-secret"), uid, kSession) ==
          kInvalid);
    // Expired.
    auto old = claims();
    old.expires_ms = bus::unix_ms() - 1000;
    CHECK(proxy.fast_login(common::sign_ticket(old, kSecret), uid, kSession) == kInvalid);
    // Signed for another user, another session, another proxy than the envelope says.
    auto other_user = claims();
    other_user.user = uid + 1;
    CHECK(proxy.fast_login(common::sign_ticket(other_user, kSecret), uid, kSession) == kInvalid);
    CHECK(proxy.fast_login(common::sign_ticket(claims(), kSecret), uid, kSession + 1) == kInvalid);
    auto other_proxy = claims();
    other_proxy.proxy = "proxy-1";
    CHECK(proxy.fast_login(common::sign_ticket(other_proxy, kSecret), uid, kSession) == kInvalid);
    // A valid ticket with its signature or its user edited.
    auto edited = common::sign_ticket(claims(), kSecret);
    edited.back() = edited.back() == '0' ? '1' : '0';
    CHECK(proxy.fast_login(edited, uid, kSession) == kInvalid);
    const auto genuine_for_other = common::sign_ticket(other_user, kSecret);
    CHECK(proxy.fast_login(
              std::to_string(uid) + genuine_for_other.substr(genuine_for_other.find('.')), uid,
              kSession) == kInvalid);
    // Malformed and missing.
    CHECK(proxy.fast_login("", uid, kSession) == kInvalid);
    CHECK(proxy.fast_login("1.2.3", uid, kSession) == kInvalid);
    CHECK(proxy.fast_login(std::string(4000, '.'), uid, kSession) == kInvalid);
    // The genuine article seats the user once; the same ticket again is a replay.
    const auto good = common::sign_ticket(claims(), kSecret);
    CHECK(proxy.fast_login(good, uid, kSession) == 0);
    CHECK(proxy.fast_login(good, uid, kSession) == kInvalid);
    // The game node said why in its log, without the ticket itself.
    const auto log = s.procs[3]->stderr_text();
    CHECK(log.find("ticket already used") != std::string::npos);
    CHECK(log.find("ticket bad signature") != std::string::npos);
    CHECK(log.find("ticket expired") != std::string::npos);
    CHECK(log.find(good) == std::string::npos);
    CHECK(s.all_output().find(kSecret) == std::string::npos);
}

TEST_CASE("a client can never set its own user id, IP or ticket", "[security]") {
    Stack s(2);
    TcpClient bob(s.client_port);
    const auto bob_id = registered(bob, "bob");
    // Claims of another user's id, an IP and a ticket in FastRegister are ignored.
    TcpClient ann(s.client_port);
    const auto ann_id =
        registered(ann, "ann", R"(,"UserID":)" + std::to_string(bob_id) + R"(,"IP":"6.6.6.6")");
    CHECK(ann_id != bob_id);
    CHECK(s.schema.exec("SELECT DISTINCT register_ip FROM accounts") == "127.0.0.1\n");
    // Before a login a UserID in the body buys nothing.
    TcpClient anon(s.client_port);
    const auto f = request(
        anon, 100, 1, R"({"GameType":2,"GameLevel":1,"UserID":)" + std::to_string(bob_id) + "}");
    CHECK(json_int(f.body, "Errno") == 4);
    CHECK(json_int(request(anon, 1, 3, R"({"UserID":)" + std::to_string(bob_id) + "}").body,
                   "Errno") == 4);
    // A sign-in naming bob signs ann in.
    const auto signin = request(ann, 1, 3, R"({"UserID":)" + std::to_string(bob_id) + "}");
    CHECK(json_int(signin.body, "Errno") == 0);
    CHECK(s.schema.exec("SELECT user_id FROM signin") == std::to_string(ann_id) + "\n");
    // FastLogin naming bob, with a made-up ticket: ann sits, as ann, with the proxy's ticket.
    const auto seat = request(ann, 100, 1,
                              R"({"GameType":2,"GameLevel":1,"UserID":)" + std::to_string(bob_id) +
                                  R"(,"Ticket":")" + std::to_string(bob_id) +
                                  R"(.1.proxy-1.9999999999999.0000000000000000.00"})");
    INFO(seat.body);
    CHECK(json_int(seat.body, "Errno") == 0);
    CHECK(json_int(seat.body, "GameID") == 1);
    auto sit = ann.read_until(100, 101, 5s);
    REQUIRE(sit.has_value());
    CHECK(json_int(sit->body, "UserID") == ann_id);
    // Bob was not seated by it: his own FastLogin seats him, as himself, in a chair of his own.
    const auto bob_seat = request(bob, 100, 1, R"({"GameType":2,"GameLevel":1})");
    INFO(bob_seat.body);
    CHECK(json_int(bob_seat.body, "Errno") == 0);
    CHECK(json_int(bob_seat.body, "ChairID") != json_int(seat.body, "ChairID"));
    auto bob_sit = bob.read_until(100, 101, 5s);
    for (int i = 0; i < 3 && bob_sit && json_int(bob_sit->body, "UserID") != bob_id; ++i) {
        bob_sit = bob.read_until(100, 101, 5s);
    }
    REQUIRE(bob_sit.has_value());
    CHECK(json_int(bob_sit->body, "UserID") == bob_id);
    CHECK(json_int(bob_sit->body, "ChairID") == json_int(bob_seat.body, "ChairID"));
}

TEST_CASE("passwords are never logged or returned, and are stored only as hashes", "[security]") {
    Stack s(4);
    const std::string right = "S3cret-Pa55word-right";
    const std::string wrong = "Wr0ng-Pa55word-guess";
    std::string replies;
    {
        TcpClient c(s.client_port);
        replies += request(c, 1, 1, register_body("pat", right)).body;  // created
    }
    TcpClient c(s.client_port);
    replies += request(c, 1, 1, register_body("pat", right)).body;  // logged in again
    for (int i = 0; i < 3; ++i) {
        const auto f = request(c, 1, 1, register_body("pat", wrong));
        CHECK(json_int(f.body, "Errno") == 5);
        replies += f.body;
    }
    const auto locked = request(c, 1, 1, register_body("pat", right));
    CHECK(json_int(locked.body, "Errno") == 6);
    replies += locked.body;
    // Msgpack clients too.
    TcpClient m(s.client_port, codec::Magic::kMsgpack);
    replies += request(m, 1, 1, register_body("pam", right)).body;
    CHECK(replies.find("Pa55word") == std::string::npos);
    // Not in any node's output, at debug level, after successes, failures and a lockout.
    const auto logs = s.all_output();
    CHECK(logs.find("Pa55word") == std::string::npos);
    CHECK(logs.find("account pat logged in") != std::string::npos);  // debug lines were written
    // MariaDB holds a salted hash: neither password, and two accounts with the same password
    // do not share a hash.
    CHECK(s.schema.exec("SELECT COUNT(*) FROM accounts WHERE password_hash LIKE '%Pa55word%' OR "
                        "password_salt LIKE '%Pa55word%' OR machine LIKE '%Pa55word%'") == "0\n");
    CHECK(s.schema.exec("SELECT COUNT(DISTINCT password_hash) FROM accounts WHERE account IN "
                        "('pat', 'pam')") == "2\n");
    CHECK(s.schema.exec("SELECT COUNT(*) FROM accounts WHERE LENGTH(password_salt) >= 16") ==
          "2\n");
}
