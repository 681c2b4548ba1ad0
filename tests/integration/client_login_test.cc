// A player's first steps end to end: a TCP client through tb-proxy, tb-login and tb-db (real
// processes, real MariaDB and Redis): register, sign in, ranking, wrong password, wrong
// device, lockout, and a second login kicking the first session.
#include <signal.h>

#include <catch2/catch.hpp>
#include <memory>

#include "bus/client.h"
#include "bus/protocol.h"
#include "codec/fields.h"
#include "tests/support/cluster.h"
#include "tests/support/process.h"
#include "tests/support/storage.h"
#include "tests/support/tcp_client.h"
#include "tests/support/wait.h"

using namespace std::chrono_literals;
using tb::test::bin;
using tb::test::ChildProcess;
using tb::test::json_int;
using tb::test::TcpClient;

namespace {

struct Stack : tb::test::BusQueries {
    tb::test::TestSchema schema;
    tb::test::TestRedisPrefix prefix;
    uint16_t base;
    uint16_t client_port;
    std::vector<std::unique_ptr<ChildProcess>> procs;

    explicit Stack(int slot)
        : BusQueries(tb::test::port_base(slot)),
          base(tb::test::port_base(slot)),
          client_port(static_cast<uint16_t>(base + 3333)) {
        const auto& s = tb::test::shared_storage();
        const std::string b = tb::test::base_port_setting(base);
        start({bin("tb-manager").string(), "--base-port", std::to_string(base), "--set",
               "manager.metrics=off"});
        start(tb::test::db_node_argv(base, s, schema.name(), prefix.prefix(),
                                     {"login.lockout_failures=3"}));
        start({bin("tb-login").string(), "--set", b});
        start({bin("tb-proxy").string(), "--set", b, "--set", "ticket.secret=client-test"});
        REQUIRE(tb::test::wait_for(
            [&] { return workers("db") == 1 && workers("login") == 1 && workers("proxy") == 1; },
            20s));
    }

    void start(std::vector<std::string> argv) {
        procs.push_back(std::make_unique<ChildProcess>(std::move(argv)));
    }
};

std::string register_body(const std::string& account, const std::string& password,
                          const std::string& machine = "machine-0123456789abcdef") {
    return R"({"Account":")" + account + R"(","Password":")" + password + R"(","Machine":")" +
           machine + R"(","Name":")" + account + R"(","Icon":1,"Gender":2,"IP":"6.6.6.6"})";
}

tb::codec::Frame login(TcpClient& c, const std::string& body) {
    REQUIRE(c.send(1, 1, body));
    auto f = c.read_until(1, 1, 10s);
    REQUIRE(f.has_value());
    return *f;
}

}  // namespace

TEST_CASE("register, sign in and ranking through the proxy", "[client]") {
    Stack s(31);
    TcpClient ann(s.client_port);
    const auto reg = login(ann, register_body("ann", "pw"));
    INFO(reg.body);
    const int64_t uid = json_int(reg.body, "UserID");
    CHECK(uid > 0);
    CHECK(json_int(reg.body, "UserScore") == 10000);
    CHECK(json_int(reg.body, "UserDiamond") == 10);
    CHECK(json_int(reg.body, "Errno") == 0);
    // The proxy filled in the IP; the client's claim was ignored.
    CHECK(s.schema.exec("SELECT register_ip FROM accounts") == "127.0.0.1\n");

    REQUIRE(ann.send(1, 2));
    auto f = ann.read_until(1, 2);
    REQUIRE(f.has_value());
    CHECK(f->body.find(R"("Can":true)") != std::string::npos);
    REQUIRE(ann.send(1, 3));
    f = ann.read_until(1, 3);
    REQUIRE(f.has_value());
    CHECK(json_int(f->body, "TotalDays") == 1);
    CHECK(json_int(f->body, "ScoreReward") == 100);

    TcpClient bob(s.client_port, tb::codec::Magic::kMsgpack);
    CHECK(json_int(login(bob, register_body("bob", "pw2")).body, "UserID") > uid);
    REQUIRE(bob.send(1, 4, R"({"Top":10})"));
    f = bob.read_until(1, 4);
    REQUIRE(f.has_value());
    CHECK(f->magic == tb::codec::Magic::kMsgpack);
    CHECK(json_int(f->body, "MyRank") == 2);
    CHECK(f->body.find(R"("UserName":"ann")") != std::string::npos);
}

TEST_CASE("wrong password, wrong device and lockout reach the client as Errno 5 and 6",
          "[client]") {
    Stack s(32);
    {
        TcpClient c(s.client_port);
        REQUIRE(json_int(login(c, register_body("carl", "right")).body, "UserID") > 0);
        REQUIRE(json_int(login(c, register_body("dev", "", "phone-aaaaaaaaaaaaaaaa")).body,
                         "UserID") > 0);
    }
    TcpClient c(s.client_port);
    CHECK(json_int(login(c, register_body("dev", "", "phone-bbbbbbbbbbbbbbbb")).body, "Errno") ==
          5);
    for (int i = 0; i < 3; ++i) {
        const auto f = login(c, register_body("carl", "wrong"));
        CHECK(json_int(f.body, "Errno") == 5);
        CHECK(f.body.find("right") == std::string::npos);
    }
    CHECK(json_int(login(c, register_body("carl", "right")).body, "Errno") == 6);
    // A failed login leaves the session logged out.
    REQUIRE(c.send(1, 3));
    auto f = c.read_until(1, 3);
    REQUIRE(f.has_value());
    CHECK(json_int(f->body, "Errno") == 4);
}

TEST_CASE("a second login of the same user kicks the first session with Errno 18", "[client]") {
    Stack s(33);
    TcpClient first(s.client_port);
    const auto uid = json_int(login(first, register_body("erin", "pw")).body, "UserID");
    REQUIRE(uid > 0);
    TcpClient second(s.client_port);
    CHECK(json_int(login(second, register_body("erin", "pw")).body, "UserID") == uid);
    auto kick = first.read_until(100, 105);
    REQUIRE(kick.has_value());
    CHECK(json_int(kick->body, "Errno") == 18);
    CHECK(first.wait_closed(3s));
    // The new session is logged in and untouched.
    REQUIRE(second.send(1, 2));
    auto f = second.read_until(1, 2);
    REQUIRE(f.has_value());
    CHECK(json_int(f->body, "Errno") == 0);
    CHECK_FALSE(second.closed());
}

TEST_CASE("tb-ctl kick closes a user's session with NotifyKick", "[client]") {
    Stack s(34);
    TcpClient c(s.client_port);
    const auto uid = json_int(login(c, register_body("fay", "pw")).body, "UserID");
    REQUIRE(uid > 0);
    const auto r = tb::test::run_command(
        {bin("tb-ctl").string(), "--manager", "tcp://127.0.0.1:" + std::to_string(s.base), "kick",
         std::to_string(uid)},
        10s);
    CHECK(r.exit_code == 0);
    auto kick = c.read_until(100, 105);
    REQUIRE(kick.has_value());
    CHECK(json_int(kick->body, "Errno") == 18);
    CHECK(c.wait_closed(3s));
}

TEST_CASE(
    "FastLogin reaches a game node with a valid ticket, pushes reach the client, and "
    "NotifyGameLost follows the node's death",
    "[client]") {
    Stack s(35);
    // A stand-in game node: checks the proxy's ticket, seats, pushes NotifyStatus.
    ChildProcess game({bin("tb-test-worker").string(), "--manager",
                       "tcp://127.0.0.1:" + std::to_string(s.base), "--kind", "game", "--id", "7",
                       "--service", "game.gomoku.1", "--ticket-secret", "client-test"});
    REQUIRE(tb::test::wait_for([&] { return s.workers("game.gomoku.1") == 1; }, 10s));
    TcpClient c(s.client_port);
    // Before login: Errno 4.
    REQUIRE(c.send(100, 1, R"({"GameType":2,"GameLevel":1})"));
    auto f = c.read_until(100, 1);
    REQUIRE(f.has_value());
    CHECK(json_int(f->body, "Errno") == 4);
    REQUIRE(json_int(login(c, register_body("gil", "pw")).body, "UserID") > 0);
    // A ticket the client makes up is dropped by the proxy, which signs its own.
    REQUIRE(c.send(100, 1, R"({"GameType":2,"GameLevel":1,"Ticket":"1.2.proxy-1.9.x.y"})"));
    f = c.read_until(100, 1);
    REQUIRE(f.has_value());
    INFO(f->body);
    CHECK(json_int(f->body, "Errno") == 0);
    CHECK(json_int(f->body, "GameID") == 7);
    auto status = c.read_until(100, 103);
    REQUIRE(status.has_value());
    CHECK(json_int(status->body, "UserStatus") == 1);
    // Seated traffic goes to that node (the stand-in echoes: not JSON, so the proxy must not
    // crash on it; the client gets nothing or an error, and stays connected).
    REQUIRE(c.send(100, 3));
    c.read(300ms);
    CHECK_FALSE(c.closed());
    // The game node dies: the client is told, stays connected, and may FastLogin again.
    game.signal(SIGKILL);
    auto lost = c.read_until(100, 106, 8s);
    REQUIRE(lost.has_value());
    CHECK(json_int(lost->body, "GameID") == 7);
    CHECK(json_int(lost->body, "GameType") == 2);
    CHECK_FALSE(c.closed());
    REQUIRE(c.send(100, 3));
    f = c.read_until(100, 3);
    REQUIRE(f.has_value());
    CHECK(json_int(f->body, "Errno") == 14);  // no longer seated
}

TEST_CASE("chaos bots beside well-behaved ones: the proxy stays up and the others see no error",
          "[client]") {
    Stack s(36);
    const std::string proxy = "127.0.0.1:" + std::to_string(s.client_port);
    ChildProcess chaos({bin("tb-bot").string(), "--proxy", proxy, "--mode", "chaos", "--players",
                        "24", "--duration", "6", "--json"});
    const auto good =
        tb::test::run_command({bin("tb-bot").string(), "--proxy", proxy, "--mode", "login",
                               "--players", "10", "--duration", "5", "--json"},
                              60s);
    INFO(good.err);
    CHECK(good.exit_code == 0);
    CHECK(json_int(good.out, "errors") == 0);
    CHECK(json_int(good.out, "requests") > 0);
    const auto chaos_exit = chaos.wait(60s);
    REQUIRE(chaos_exit.has_value());
    INFO(chaos.stdout_text());
    CHECK(json_int(chaos.stdout_text(), "violations") == 0);
    CHECK(s.procs.back()->running());  // the proxy
}
