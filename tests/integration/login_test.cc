// tb-login as it runs behind the proxy: real tb-manager, tb-db and tb-login processes against the
// shared private MariaDB and Redis. The test plays the proxy: it sends the client's (1,*)
// requests to the `login` service with the envelope's `user` set as the proxy would vouch for
// it (which BusClient cannot do), and checks the answers and what reached storage.
#include <catch2/catch.hpp>
#include <random>
#include <set>

#include "bus/client.h"
#include "bus/message.h"
#include "bus/protocol.h"
#include "codec/errors.h"
#include "codec/fields.h"
#include "codec/messages.h"
#include "nodes/common/db_api.h"
#include "tests/support/cluster.h"
#include "tests/support/process.h"
#include "tests/support/storage.h"
#include "tests/support/wait.h"

using namespace std::chrono_literals;
using namespace tb;
using codec::Errno;

namespace {

// A stand-in for tb-proxy on the bus: a DEALER with a throwaway identity that never READYs and
// sends REQUESTs carrying a session and the user the proxy vouches for.
class FakeProxy {
public:
    FakeProxy(zmq::context_t& ctx, const std::string& manager)
        : socket_(ctx, zmq::socket_type::dealer) {
        std::random_device rd;
        socket_.set(zmq::sockopt::routing_id, "proxy-test." + std::to_string(rd()));
        socket_.set(zmq::sockopt::linger, 0);
        socket_.connect(manager);
    }

    // Sends a client request to `login` and waits for its REPLY or ERROR; nullopt on timeout.
    std::optional<bus::Reply> call(uint32_t msg_type, std::string_view body, uint64_t user = 0,
                                   std::chrono::milliseconds timeout = 10s) {
        const uint64_t id = next_correlation_++;
        codec::Envelope e;
        e.command = codec::Command::kRequest;
        e.target = "login";
        e.msg_type = msg_type;
        e.correlation = id;
        e.session = 1000 + id;
        e.user = user;
        e.timeout_ms = static_cast<uint32_t>(timeout.count());
        if (bus::send_message(socket_, {}, e, body) != bus::SendResult::kOk) return std::nullopt;
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) return std::nullopt;
            zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
            zmq::poll(&item, 1, left);
            if ((item.revents & ZMQ_POLLIN) == 0) continue;
            bus::Incoming in;
            while (bus::recv_message(socket_, false, in) != bus::RecvResult::kEmpty) {
                if (in.header_error != codec::EnvelopeError::kOk || in.env.correlation != id) {
                    continue;
                }
                if (in.env.command != codec::Command::kReply &&
                    in.env.command != codec::Command::kError) {
                    continue;
                }
                // The answer must come back on the request's own (mcmd, scmd) and session.
                CHECK(in.env.msg_type == msg_type);
                CHECK(in.env.session == e.session);
                return bus::reply_from(std::move(in));
            }
        }
    }

    template <class Msg>
    bus::Reply send(const Msg& msg, uint64_t user = 0) {
        auto r = call(Msg::kType, codec::encode(msg), user);
        REQUIRE(r.has_value());
        return std::move(*r);
    }

private:
    zmq::socket_t socket_;
    uint64_t next_correlation_ = 1;
};

template <class T>
T decoded(const bus::Reply& r) {
    INFO("code " << r.code << " " << r.text);
    REQUIRE(r.ok());
    T out;
    REQUIRE(codec::decode(r.body, out) == codec::MsgError::kOk);
    return out;
}

codec::FastRegisterRequest fast_register(std::string account, std::string password,
                                         std::string machine = "machine-0123456789abcdef") {
    codec::FastRegisterRequest r;
    r.account = std::move(account);
    r.password = std::move(password);
    r.machine = std::move(machine);
    r.icon = 2;
    r.gender = 1;
    r.ip = "10.1.2.3";
    return r;
}

// tb-manager, tb-db (its own schema and key prefix) and tb-login on ports of `slot`.
struct Cluster : test::BusQueries {
    const test::StorageEndpoints& s;
    test::TestSchema schema;
    test::TestRedisPrefix prefix;
    uint16_t base;
    std::string bus;
    test::ChildProcess manager;
    test::ChildProcess db;
    test::ChildProcess login;
    bus::BusClient tool;  // for requests with a message type (BusQueries has none)
    FakeProxy proxy;

    explicit Cluster(int slot)
        : BusQueries(test::port_base(slot)),
          s(test::shared_storage()),
          schema(s),
          prefix(s),
          base(test::port_base(slot)),
          bus("tcp://127.0.0.1:" + std::to_string(base)),
          manager({test::bin("tb-manager").string(), "--base-port", std::to_string(base), "--set",
                   "manager.metrics=off"}),
          db(test::db_node_argv(base, s, schema.name(), prefix.prefix(),
                                {"login.lockout_failures=3"})),
          login({test::bin("tb-login").string(), "--id", "1", "--set",
                 test::base_port_setting(base), "--set", "log.level=debug"}),
          tool(context(), client_options()),
          proxy(context(), bus) {
        INFO(db.describe());
        INFO(login.describe());
        REQUIRE(test::wait_for([&] { return workers("db") == 1 && workers("login") == 1; }, 30s));
    }

    bus::ClientOptions client_options() const {
        bus::ClientOptions o;
        o.manager = bus;
        return o;
    }

    int64_t accounts() { return std::stoll(schema.exec("SELECT COUNT(*) FROM accounts")); }
};

}  // namespace

TEST_CASE("FastRegister creates an account, then logs in to it", "[login][process]") {
    Cluster c(26);

    const auto created =
        decoded<codec::FastRegisterReply>(c.proxy.send(fast_register("ann", "pw")));
    CHECK(created.user_id > 0);
    CHECK(created.user_name == "ann");  // Name left out: the account
    CHECK(created.user_icon == 2);
    CHECK(created.user_gender == 1);
    CHECK(created.user_score == 10000);
    CHECK(created.user_diamond == 10);
    CHECK(created.game_id == 0);
    CHECK(created.game_type == 0);
    CHECK(created.game_level == 0);

    auto again_req = fast_register("ann", "pw", "another-phone-0123456789");
    again_req.name = "not used on login";
    const auto again = decoded<codec::FastRegisterReply>(c.proxy.send(again_req));
    CHECK(again.user_id == created.user_id);
    CHECK(again.user_name == "ann");
    CHECK(again.user_score == 10000);
    CHECK(c.accounts() == 1);
    CHECK(c.schema.exec("SELECT register_ip FROM accounts") == "10.1.2.3\n");

    // A name of its own, in UTF-8 (安妮), Gender 0 stored as unknown.
    auto named = fast_register("bob", "pw2");
    named.name = "\xe5\xae\x89\xe5\xa6\xae";
    named.gender = 0;
    const auto bob = decoded<codec::FastRegisterReply>(c.proxy.send(named));
    CHECK(bob.user_id != created.user_id);
    CHECK(bob.user_name == named.name);
    CHECK(bob.user_gender == 3);

    // Nothing the proxy vouches for changes a FastRegister: it logs in by Account alone.
    CHECK(decoded<codec::FastRegisterReply>(c.proxy.send(again_req, bob.user_id)).user_id ==
          created.user_id);
}

TEST_CASE("FastRegister refuses wrong passwords and devices, then locks out", "[login][process]") {
    Cluster c(28);
    REQUIRE(c.proxy.send(fast_register("pat", "right")).ok());
    REQUIRE(c.proxy.send(fast_register("pia", "right")).ok());

    // Three wrong passwords, then even the right one is refused until the window passes.
    for (int i = 0; i < 3; ++i) {
        const auto r = c.proxy.send(fast_register("pat", "wrong"));
        CHECK(r.code == codec::to_int(Errno::kWrongPassword));
        CHECK_FALSE(r.text.empty());
    }
    const auto locked = c.proxy.send(fast_register("pat", "right"));
    CHECK(locked.code == codec::to_int(Errno::kTooManyFailures));
    CHECK_FALSE(locked.text.empty());

    // An empty password does not open a password account (and counts per account only).
    CHECK(c.proxy.send(fast_register("pia", "")).code == codec::to_int(Errno::kWrongPassword));
    CHECK(c.proxy.send(fast_register("pia", "right")).ok());

    // A device account answers only to its Machine, and never to a password.
    const auto dev =
        decoded<codec::FastRegisterReply>(c.proxy.send(fast_register("dev", "", "device-a")));
    CHECK(c.proxy.send(fast_register("dev", "", "device-b")).code ==
          codec::to_int(Errno::kWrongPassword));
    CHECK(c.proxy.send(fast_register("dev", "a password", "device-a")).code ==
          codec::to_int(Errno::kWrongPassword));
    CHECK(decoded<codec::FastRegisterReply>(c.proxy.send(fast_register("dev", "", "device-a")))
              .user_id == dev.user_id);
    CHECK(c.accounts() == 3);
}

TEST_CASE("bad FastRegister requests are refused and create nothing", "[login][process]") {
    Cluster c(26);
    const auto refused = [&](codec::FastRegisterRequest r, std::string_view text) {
        const auto reply = c.proxy.send(r);
        CHECK(reply.code == codec::to_int(Errno::kInvalidField));
        CHECK(reply.text == text);
    };
    refused(fast_register("bad account", "pw"), "invalid Account");
    refused(fast_register("", "pw"), "invalid Account");
    refused(fast_register(std::string(33, 'a'), "pw"), "invalid Account");
    auto long_name = fast_register("longname", "pw");
    long_name.name = std::string(33, 'n');
    refused(long_name, "invalid Name");
    auto gender = fast_register("gender", "pw");
    gender.gender = 4;
    refused(gender, "invalid Gender");
    refused(fast_register("nomachine", "", ""), "a device account needs its Machine");
    refused(fast_register("longpw", std::string(65, 'p')), "Password too long");
    CHECK(c.accounts() == 0);

    // A body that is not a msgpack map is malformed (Errno 2), and an unknown (1,x) is Errno 3.
    auto r = c.proxy.call(codec::kMsgFastRegister, "\xc1");
    REQUIRE(r.has_value());
    CHECK(r->code == codec::to_int(Errno::kMalformed));
    r = c.proxy.call(codec::kMsgFastRegister, "\x01");
    REQUIRE(r.has_value());
    CHECK(r->code == codec::to_int(Errno::kMalformed));
    r = c.proxy.call(codec::msg_type(codec::kMcmdHall, 9), "");
    REQUIRE(r.has_value());
    CHECK(r->code == codec::to_int(Errno::kUnknownCommand));
    CHECK(c.accounts() == 0);
}

TEST_CASE("SignInDays and SignIn need a login and pay the day's reward once", "[login][process]") {
    Cluster c(28);
    const auto ann = decoded<codec::FastRegisterReply>(c.proxy.send(fast_register("ann", "pw")));
    const auto uid = static_cast<uint64_t>(ann.user_id);

    auto r = c.proxy.call(codec::kMsgSignInDays, "", 0);
    REQUIRE(r.has_value());
    CHECK(r->code == codec::to_int(Errno::kNotLoggedIn));
    r = c.proxy.call(codec::kMsgSignIn, "", 0);
    REQUIRE(r.has_value());
    CHECK(r->code == codec::to_int(Errno::kNotLoggedIn));

    r = c.proxy.call(codec::kMsgSignInDays, "", uid);
    REQUIRE(r.has_value());
    const auto before = decoded<codec::SignInDaysReply>(*r);
    CHECK(before.can);
    CHECK(before.days == 0);

    r = c.proxy.call(codec::kMsgSignIn, "", uid);
    REQUIRE(r.has_value());
    const auto signed_in = decoded<codec::SignInReply>(*r);
    CHECK(signed_in.total_days == 1);
    CHECK(signed_in.score_reward == 100);
    CHECK(signed_in.diamond_reward == 0);

    // A body with fields is ignored, like a legacy client's "{}".
    r = c.proxy.call(codec::kMsgSignInDays, codec::encode(codec::RankingRequest{5}), uid);
    REQUIRE(r.has_value());
    const auto after = decoded<codec::SignInDaysReply>(*r);
    CHECK_FALSE(after.can);
    CHECK(after.days == 1);

    r = c.proxy.call(codec::kMsgSignIn, "", uid);
    REQUIRE(r.has_value());
    CHECK(r->code != 0);
    CHECK_FALSE(r->text.empty());

    const auto again = decoded<codec::FastRegisterReply>(c.proxy.send(fast_register("ann", "pw")));
    CHECK(again.user_score == 10100);
}

TEST_CASE("Ranking lists users by score with the caller's rank", "[login][process]") {
    Cluster c(26);
    std::vector<int64_t> ids;
    for (const char* a : {"ann", "bob", "cat"}) {
        ids.push_back(
            decoded<codec::FastRegisterReply>(c.proxy.send(fast_register(a, "pw"))).user_id);
    }
    // bob signs in and leads with 10100.
    REQUIRE(c.proxy.call(codec::kMsgSignIn, "", static_cast<uint64_t>(ids[1]))->ok());

    const auto top = decoded<codec::RankingReply>(c.proxy.send(codec::RankingRequest{5}, ids[0]));
    REQUIRE(top.entries.size() == 3);
    CHECK(top.entries[0].rank == 1);
    CHECK(top.entries[0].user_id == ids[1]);
    CHECK(top.entries[0].user_name == "bob");
    CHECK(top.entries[0].user_score == 10100);
    std::set<int64_t> rest;
    for (std::size_t i = 1; i < top.entries.size(); ++i) {
        CHECK(top.entries[i].rank == static_cast<int32_t>(i + 1));
        CHECK(top.entries[i].user_score == 10000);
        rest.insert(top.entries[i].user_id);
        if (top.entries[i].user_id == ids[0]) CHECK(top.my_rank == top.entries[i].rank);
    }
    CHECK(rest == std::set<int64_t>{ids[0], ids[2]});

    const auto one = decoded<codec::RankingReply>(c.proxy.send(codec::RankingRequest{1}, ids[1]));
    REQUIRE(one.entries.size() == 1);
    CHECK(one.my_rank == 1);

    // Top left out means 10; a session not logged in gets no rank of its own.
    auto r = c.proxy.call(codec::kMsgRanking, "", 0);
    REQUIRE(r.has_value());
    const auto anon = decoded<codec::RankingReply>(*r);
    CHECK(anon.entries.size() == 3);
    CHECK(anon.my_rank == 0);

    CHECK(c.proxy.send(codec::RankingRequest{101}).code == codec::to_int(Errno::kInvalidField));
    CHECK(c.proxy.send(codec::RankingRequest{-1}).code == codec::to_int(Errno::kInvalidField));
}

TEST_CASE("FastRegister reports the game a user is still seated in", "[login][process]") {
    Cluster c(28);
    test::ChildProcess game({test::bin("tb-test-worker").string(), "--manager", c.bus, "--kind",
                             "game", "--id", "7", "--service", "game.gomoku.1"});
    REQUIRE(test::wait_for([&] { return c.workers("game.gomoku.1") == 1; }, 10s));

    const auto ann = decoded<codec::FastRegisterReply>(c.proxy.send(fast_register("ann", "pw")));
    const auto bob = decoded<codec::FastRegisterReply>(c.proxy.send(fast_register("bob", "pw")));
    CHECK(ann.game_id == 0);

    const auto seat = [&](int64_t user, const std::string& node) {
        common::OnlineEntry e;
        e.user_id = user;
        e.node = node;
        e.game_type = codec::kGameTypeGomoku;
        e.game_level = 1;
        e.table_id = 3;
        e.ttl_s = 60;
        auto r = c.tool.call(common::kDbService, codec::encode(e), 5s, common::kDbOnlineSet);
        REQUIRE(r.has_value());
        REQUIRE(r->ok());
    };
    seat(ann.user_id, "game-7");
    seat(bob.user_id, "game-8");  // a node that is not on the bus

    const auto back = decoded<codec::FastRegisterReply>(c.proxy.send(fast_register("ann", "pw")));
    CHECK(back.user_id == ann.user_id);
    CHECK(back.game_id == 7);
    CHECK(back.game_type == codec::kGameTypeGomoku);
    CHECK(back.game_level == 1);

    const auto stale = decoded<codec::FastRegisterReply>(c.proxy.send(fast_register("bob", "pw")));
    CHECK(stale.user_id == bob.user_id);
    CHECK(stale.game_id == 0);
    CHECK(stale.game_type == 0);
    CHECK(stale.game_level == 0);

    // Once game-7 leaves the bus, its entry no longer holds ann.
    CHECK(game.stop() == 0);
    CHECK(test::wait_for(
        [&] {
            return decoded<codec::FastRegisterReply>(c.proxy.send(fast_register("ann", "pw")))
                       .game_id == 0;
        },
        10s));
}
