// tb-bot without servers: percentile math, argument validation, and the per-bot protocol state
// machine driven against a socketpair acting as the proxy.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <memory>
#include <vector>

#include "codec/body.h"
#include "codec/frame.h"
#include "codec/messages.h"
#include "tools/bot/engine.h"
#include "tools/bot/modes.h"
#include "tools/bot/options.h"
#include "tools/bot/stats.h"

namespace {

using namespace std::chrono_literals;
using tb::bot::Clock;
namespace codec = tb::codec;

// ---------------------------------------------------------------------------------------------
// A fake proxy: every connect the engine makes is one end of a socketpair; the test holds the
// other end and plays the server, stepping the engine while it waits (one thread, deadlines).

struct Peer {
    int fd = -1;
    codec::FrameDecoder decoder;
};

class FakeProxy {
public:
    ~FakeProxy() {
        for (auto& p : peers_) ::close(p.fd);
    }

    tb::bot::Connector connector() {
        return [this]() -> int {
            int sv[2];
            if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
                return -1;
            peers_.push_back({sv[1], {}});
            return sv[0];
        };
    }

    std::size_t connections() const { return peers_.size(); }
    Peer& peer(std::size_t i) { return peers_.at(i); }

    // Steps the engine until connection `i` exists, or the deadline.
    bool wait_connection(tb::bot::Engine& e, std::size_t i, Clock::duration limit = 3s) {
        const auto deadline = Clock::now() + limit;
        while (peers_.size() <= i && Clock::now() < deadline) e.poll(5);
        return peers_.size() > i;
    }

    // The next frame the bot sent on connection `i`; false on close or at the deadline.
    bool read_frame(tb::bot::Engine& e, std::size_t i, codec::Frame& out,
                    Clock::duration limit = 3s) {
        const auto deadline = Clock::now() + limit;
        for (;;) {
            Peer& p = peers_.at(i);
            if (p.decoder.next(out) == codec::FrameDecoder::Status::kFrame) return true;
            char buf[16384];
            const ssize_t n = ::recv(p.fd, buf, sizeof buf, 0);
            if (n == 0) return false;
            if (n > 0) {
                p.decoder.feed({buf, static_cast<std::size_t>(n)});
                continue;
            }
            if (Clock::now() >= deadline) return false;
            e.poll(5);
        }
    }

    // Raw bytes the bot sent on connection `i`, at least `want` of them.
    std::string read_bytes(tb::bot::Engine& e, std::size_t i, std::size_t want,
                           Clock::duration limit = 3s) {
        const auto deadline = Clock::now() + limit;
        std::string got;
        while (got.size() < want && Clock::now() < deadline) {
            char buf[4096];
            const ssize_t n = ::recv(peers_.at(i).fd, buf, sizeof buf, 0);
            if (n > 0) {
                got.append(buf, static_cast<std::size_t>(n));
            } else if (n == 0) {
                break;
            } else {
                e.poll(5);
            }
        }
        return got;
    }

    // Steps the engine until the bot closed connection `i`.
    bool wait_closed(tb::bot::Engine& e, std::size_t i, Clock::duration limit = 3s) {
        const auto deadline = Clock::now() + limit;
        while (Clock::now() < deadline) {
            char buf[4096];
            const ssize_t n = ::recv(peers_.at(i).fd, buf, sizeof buf, 0);
            if (n == 0) return true;
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return true;
            if (n < 0) e.poll(5);
        }
        return false;
    }

    void send(std::size_t i, codec::Magic magic, uint16_t mcmd, uint16_t scmd,
              const std::string& body) {
        std::string frame;
        REQUIRE(codec::encode_frame(frame, magic, mcmd, scmd, body));
        REQUIRE(::send(peers_.at(i).fd, frame.data(), frame.size(), MSG_NOSIGNAL) ==
                static_cast<ssize_t>(frame.size()));
    }

    void close(std::size_t i) {
        ::close(peers_.at(i).fd);
        peers_.at(i).fd = -1;
    }

private:
    std::vector<Peer> peers_;
};

tb::bot::EngineConfig config(FakeProxy& proxy, codec::Magic encoding = codec::Magic::kJson) {
    tb::bot::EngineConfig cfg;
    cfg.indices = {7};
    cfg.account_prefix = "t_";
    cfg.run_id = "abc123";
    cfg.encoding = encoding;
    cfg.timeout_ms = 2000;
    cfg.connector = proxy.connector();
    return cfg;
}

// A body as msgpack, whatever the frame's encoding.
std::string as_msgpack(const codec::Frame& f) {
    if (f.magic == codec::Magic::kMsgpack || f.body.empty()) return f.body;
    std::string mp;
    REQUIRE(codec::json_to_msgpack(f.body, mp) == codec::BodyError::kOk);
    return mp;
}

// A reply body in the given encoding.
std::string reply_body(codec::Magic magic, const std::string& msgpack) {
    if (magic == codec::Magic::kMsgpack) return msgpack;
    std::string json;
    REQUIRE(codec::msgpack_to_json(msgpack, json) == codec::BodyError::kOk);
    return json;
}

void run_until(tb::bot::Engine& e, const std::function<bool()>& done, Clock::duration limit = 3s) {
    const auto deadline = Clock::now() + limit;
    while (!done() && Clock::now() < deadline) e.poll(5);
}

// Reads the FastRegister on connection `i` and checks the device account fields.
void expect_fast_register(FakeProxy& proxy, tb::bot::Engine& e, std::size_t i, codec::Magic magic) {
    codec::Frame f;
    REQUIRE(proxy.read_frame(e, i, f));
    CHECK(f.magic == magic);
    REQUIRE(codec::msg_type(f.mcmd, f.scmd) == codec::kMsgFastRegister);
    codec::FastRegisterRequest req;
    REQUIRE(codec::decode(as_msgpack(f), req) == codec::MsgError::kOk);
    CHECK(req.account == "t_7");
    CHECK(req.name == "t_7");
    CHECK(req.password.empty());
    CHECK(req.gender == 3);
    CHECK(req.machine == tb::bot::machine_id("t_7", "abc123"));
    CHECK(req.machine.size() >= 16);
}

std::string ok_reply(int64_t user_id) {
    codec::FastRegisterReply r;
    r.user_id = user_id;
    r.user_name = "t_7";
    return codec::encode(r);
}

}  // namespace

// ---------------------------------------------------------------------------------------------

TEST_CASE("percentiles use the nearest rank", "[bot]") {
    std::vector<double> v;
    for (int i = 1; i <= 100; ++i) v.push_back(i);
    CHECK(tb::bot::percentile(v, 50) == 50);
    CHECK(tb::bot::percentile(v, 90) == 90);
    CHECK(tb::bot::percentile(v, 99) == 99);
    CHECK(tb::bot::percentile(v, 99.9) == 100);
    CHECK(tb::bot::percentile(v, 100) == 100);
    CHECK(tb::bot::percentile(v, 0) == 1);
    CHECK(tb::bot::percentile({}, 99) == 0);
    CHECK(tb::bot::percentile({3.5}, 50) == 3.5);
    CHECK(tb::bot::percentile({1, 2}, 50) == 1);
    CHECK(tb::bot::percentile({1, 2}, 51) == 2);

    std::vector<double> thousand;
    for (int i = 1000; i >= 1; --i) thousand.push_back(i);  // unsorted: summarize sorts
    const auto p = tb::bot::summarize(thousand);
    CHECK(p.count == 1000);
    CHECK(p.p50 == 500);
    CHECK(p.p90 == 900);
    CHECK(p.p99 == 990);
    CHECK(p.p999 == 999);
    CHECK(p.max == 1000);
    CHECK(tb::bot::summarize({}).count == 0);
}

TEST_CASE("the pacer spaces slots and does not bank idle time", "[bot]") {
    const auto t0 = Clock::now();
    tb::bot::Pacer unlimited(0);
    CHECK(unlimited.next(t0) == t0);
    CHECK(unlimited.next(t0) == t0);

    tb::bot::Pacer ten(10);
    CHECK(ten.next(t0) == t0);
    CHECK(ten.next(t0) - t0 == 100ms);
    CHECK(ten.next(t0) - t0 == 200ms);
    // Long after: the slot is the caller's time, not a backlog of old slots.
    CHECK(ten.next(t0 + 10s) == t0 + 10s);
    CHECK(ten.next(t0 + 10s) - t0 == 10s + 100ms);
}

namespace {

// Records when its bot's timer fires; does nothing else.
class TimerMode final : public tb::bot::Mode {
public:
    std::string_view name() const override { return "timer"; }
    void on_start(tb::bot::Client&) override {}
    void on_connected(tb::bot::Client&) override {}
    void on_reply(tb::bot::Client&, const tb::bot::Reply&) override {}
    void on_closed(tb::bot::Client&, tb::bot::CloseCause, bool) override {}
    void on_timer(tb::bot::Client&) override { fired = Clock::now(); }
    Clock::time_point fired{};
};

}  // namespace

TEST_CASE("timers fire to the fraction of a millisecond, not rounded up to the next", "[bot]") {
    // Whole-millisecond waits would fire a timer 1.3 ms ahead after 2 ms at the earliest, and
    // bunch every think time due within a millisecond together.
    FakeProxy proxy;
    auto mode = std::make_unique<TimerMode>();
    TimerMode& timer = *mode;
    tb::bot::Counters counters;
    tb::bot::Engine e(config(proxy), std::move(mode), counters);
    std::vector<double> late_ms;
    for (int i = 0; i < 15; ++i) {
        timer.fired = {};
        const auto set = Clock::now();
        e.wake_at(e.client(0), set + 1300us);
        const auto deadline = set + 2s;
        while (timer.fired == Clock::time_point{} && Clock::now() < deadline) e.poll(100);
        REQUIRE(timer.fired != Clock::time_point{});
        CHECK(timer.fired - set >= 1300us);
        late_ms.push_back(std::chrono::duration<double, std::milli>(timer.fired - set).count());
    }
    std::sort(late_ms.begin(), late_ms.end());
    // The median, so that a loaded machine's odd late wake-up does not matter.
    CHECK(late_ms[late_ms.size() / 2] < 1.9);
}

TEST_CASE("arguments are parsed and validated", "[bot]") {
    auto parse = [](std::vector<const char*> args, tb::bot::BotOptions& o) {
        args.insert(args.begin(), "tb-bot");
        return tb::bot::parse_options(static_cast<int>(args.size()), args.data(), o);
    };
    using tb::bot::ParseStatus;

    SECTION("a full command line") {
        tb::bot::BotOptions o;
        const auto r = parse({"--proxy", "127.0.0.1:24333", "--mode", "login", "--players", "50",
                              "--duration", "5", "--rate", "100", "--think-ms", "20", "--json",
                              "--encoding", "msgpack", "--seed", "42"},
                             o);
        REQUIRE(r.status == ParseStatus::kOk);
        CHECK(o.host == "127.0.0.1");
        CHECK(o.port == 24333);
        CHECK(o.mode == tb::bot::ModeKind::kLogin);
        CHECK(o.players == 50);
        CHECK(o.duration_s == 5);
        CHECK(o.rate == 100);
        CHECK(o.think_ms == 20);
        CHECK(o.json);
        CHECK(o.encoding == codec::Magic::kMsgpack);
        CHECK(o.seed == 42);
        CHECK(o.seed_given);
        // Unique accounts per run by default: bot<run id>_, the run id 6 hex digits.
        CHECK(o.run_id.size() == 6);
        CHECK(o.run_id.find_first_not_of("0123456789abcdef") == std::string::npos);
        CHECK(o.account_prefix == "bot" + o.run_id + "_");
    }
    SECTION("defaults and a given prefix") {
        tb::bot::BotOptions o;
        REQUIRE(parse({"--proxy", "[::1]:8888", "--players", "1", "--duration", "0.5",
                       "--account-prefix", "load.a-"},
                      o)
                    .status == ParseStatus::kOk);
        CHECK(o.host == "::1");
        CHECK(o.mode == tb::bot::ModeKind::kIdle);
        CHECK(o.encoding == codec::Magic::kJson);
        CHECK(o.account_prefix == "load.a-");
        CHECK(o.timeout_ms == 10000);
    }
    SECTION("bad --proxy") {
        for (const char* bad :
             {"localhost", "localhost:", ":8888", "h:0", "h:65536", "h:88x", "h:-1", "[]:80"}) {
            tb::bot::BotOptions o;
            const auto r = parse({"--proxy", bad, "--players", "1", "--duration", "1"}, o);
            INFO(bad);
            CHECK(r.status == ParseStatus::kError);
            CHECK(r.message.find("--proxy") != std::string::npos);
        }
    }
    SECTION("bad numbers and names") {
        const std::vector<std::vector<const char*>> bad = {
            {"--players", "0", "--duration", "1"},
            {"--players", "-5", "--duration", "1"},
            {"--players", "x", "--duration", "1"},
            {"--players", "1", "--duration", "0"},
            {"--players", "1", "--duration", "-1"},
            {"--players", "1", "--duration", "1", "--mode", "dance"},
            {"--players", "1", "--duration", "1", "--encoding", "xml"},
            {"--players", "1", "--duration", "1", "--rate", "-1"},
            {"--players", "1", "--duration", "1", "--think-ms", "-1"},
            {"--players", "1", "--duration", "1", "--seed", "abc"},
            {"--players", "1", "--duration", "1", "--account-prefix", "has space"},
            {"--players", "1000", "--duration", "1", "--account-prefix",
             "a_prefix_that_is_thirty_chars_"},  // "...999" makes 33 characters
            {"--duration", "1"},
            {"--players", "1", "--duration", "1", "--bogus"},
        };
        for (auto args : bad) {
            args.insert(args.begin(), {"--proxy", "127.0.0.1:8888"});
            tb::bot::BotOptions o;
            CHECK(parse(args, o).status == ParseStatus::kError);
        }
    }
    SECTION("game modes") {
        tb::bot::BotOptions o;
        REQUIRE(
            parse({"--proxy", "127.0.0.1:8888", "--mode", "gomoku", "--players", "2", "--duration",
                   "3", "--level", "3", "--strategy", "random", "--think-ms", "250"},
                  o)
                .status == ParseStatus::kOk);
        CHECK(o.mode == tb::bot::ModeKind::kGomoku);
        CHECK(tb::bot::is_game_mode(o.mode));
        CHECK(o.level == 3);
        CHECK(o.strategy == tb::bot::Strategy::kRandom);
        CHECK(o.think_ms == 250);

        tb::bot::BotOptions d;
        REQUIRE(parse({"--proxy", "127.0.0.1:8888", "--mode", "landlords", "--players", "3",
                       "--duration", "3"},
                      d)
                    .status == ParseStatus::kOk);
        CHECK(d.mode == tb::bot::ModeKind::kLandlords);
        CHECK(d.level == 1);
        CHECK(d.strategy == tb::bot::Strategy::kRobot);
        CHECK(d.think_ms == 0);
        CHECK_FALSE(tb::bot::is_game_mode(tb::bot::ModeKind::kLogin));

        for (const std::vector<const char*>& bad : {std::vector<const char*>{"--level", "0"},
                                                    {"--level", "-1"},
                                                    {"--level", "x"},
                                                    {"--strategy", "smart"},
                                                    {"--strategy", ""}}) {
            std::vector<const char*> args = {
                "--proxy", "127.0.0.1:8888", "--mode", "gomoku", "--players",
                "2",       "--duration",     "3"};
            args.insert(args.end(), bad.begin(), bad.end());
            tb::bot::BotOptions b;
            INFO(bad[0] << " " << bad[1]);
            CHECK(parse(args, b).status == ParseStatus::kError);
        }
    }
    SECTION("help") {
        tb::bot::BotOptions o;
        const auto r = parse({"--help"}, o);
        CHECK(r.status == ParseStatus::kHelp);
        CHECK(r.message.find("--players") != std::string::npos);
        CHECK(r.message.find("--strategy") != std::string::npos);
        CHECK(r.message.find("--level") != std::string::npos);
    }
}

TEST_CASE("too many players for the descriptor limit is said clearly", "[bot]") {
    std::string why;
    CHECK(tb::bot::fits_fd_limit(10000, 20000, why));
    CHECK_FALSE(tb::bot::fits_fd_limit(20000, 20000, why));
    CHECK(why.find("20000") != std::string::npos);
    CHECK(why.find("RLIMIT_NOFILE") != std::string::npos);
}

TEST_CASE("device ids are stable per account and run, and distinct otherwise", "[bot]") {
    const auto a = tb::bot::machine_id("bot_1", "r1");
    CHECK(a.size() >= 16);
    CHECK(a == tb::bot::machine_id("bot_1", "r1"));
    CHECK(a != tb::bot::machine_id("bot_2", "r1"));
    CHECK(a != tb::bot::machine_id("bot_1", "r2"));
    CHECK(tb::bot::valid_account("bot_1.x@y-z"));
    CHECK_FALSE(tb::bot::valid_account(""));
    CHECK_FALSE(tb::bot::valid_account(std::string(33, 'a')));
    CHECK_FALSE(tb::bot::valid_account("a b"));
}

TEST_CASE("idle bot logs in, answers probes and holds the connection", "[bot]") {
    const auto magic = GENERATE(codec::Magic::kJson, codec::Magic::kMsgpack);
    FakeProxy proxy;
    tb::bot::Counters counters;
    tb::bot::Engine e(config(proxy, magic), tb::bot::make_mode(tb::bot::ModeKind::kIdle), counters);
    e.start();
    REQUIRE(proxy.wait_connection(e, 0));
    expect_fast_register(proxy, e, 0, magic);
    proxy.send(0, magic, 1, 1, reply_body(magic, ok_reply(42)));
    run_until(e, [&] { return counters.logged_in == 1; });
    CHECK(counters.logged_in == 1);
    CHECK(e.client(0).user_id() == 42);
    CHECK(counters.logins == 1);

    // Every (0,0) probe is echoed once, in the connection's encoding.
    for (int i = 0; i < 2; ++i) {
        proxy.send(0, magic, 0, 0, "");
        codec::Frame f;
        REQUIRE(proxy.read_frame(e, 0, f));
        CHECK(f.is_keep_alive());
        CHECK(f.magic == magic);
        CHECK(f.body.empty());
    }
    CHECK(counters.probes_answered == 2);
    // A notice is fine; nothing is sent back for it.
    codec::Notice n;
    n.text = "maintenance at noon";
    proxy.send(0, magic, 0, 1, reply_body(magic, codec::encode(n)));
    codec::Frame nothing;
    CHECK_FALSE(proxy.read_frame(e, 0, nothing, 100ms));
    CHECK(counters.errors() == 0);
    CHECK(proxy.connections() == 1);

    // The end of the run: no requests outstanding, so the bot closes at once.
    e.begin_stop();
    CHECK(e.finished());
    CHECK(proxy.wait_closed(e, 0));
    CHECK(counters.logged_in == 0);
    CHECK(counters.logged_in_peak == 1);
    CHECK(counters.errors() == 0);
}

TEST_CASE("an error reply to the login is an error and the bot retries", "[bot]") {
    FakeProxy proxy;
    tb::bot::Counters counters;
    tb::bot::Engine e(config(proxy), tb::bot::make_mode(tb::bot::ModeKind::kIdle), counters);
    e.start();
    REQUIRE(proxy.wait_connection(e, 0));
    expect_fast_register(proxy, e, 0, codec::Magic::kJson);
    proxy.send(0, codec::Magic::kJson, 1, 1, R"({"Errno":5,"Errdesc":"wrong password"})");
    CHECK(proxy.wait_closed(e, 0));
    CHECK(counters.login_failures == 1);
    CHECK(counters.error_frames == 1);
    CHECK(counters.unexpected_error_frames == 1);
    CHECK(counters.errors() == 1);
    CHECK(counters.logged_in == 0);
    CHECK(e.stats().snapshot().errnos.at(5) == 1);
    // It tries again (after a back-off of a second) with the same device account.
    REQUIRE(proxy.wait_connection(e, 1));
    expect_fast_register(proxy, e, 1, codec::Magic::kJson);
}

TEST_CASE("login mode reconnects after each login and after the server closes", "[bot]") {
    FakeProxy proxy;
    tb::bot::Counters counters;
    tb::bot::Engine e(config(proxy), tb::bot::make_mode(tb::bot::ModeKind::kLogin), counters);
    e.start();
    // Three logins in a row, each on a fresh connection the bot closes itself.
    for (std::size_t i = 0; i < 3; ++i) {
        REQUIRE(proxy.wait_connection(e, i));
        expect_fast_register(proxy, e, i, codec::Magic::kJson);
        proxy.send(i, codec::Magic::kJson, 1, 1, R"({"UserID":9,"UserName":"t_7"})");
        CHECK(proxy.wait_closed(e, i));
    }
    CHECK(counters.logins == 3);
    CHECK(counters.errors() == 0);
    CHECK(e.stats().snapshot().login.size() == 3);

    // The server hangs up before answering: an unexpected disconnect, then a new connection.
    REQUIRE(proxy.wait_connection(e, 3));
    expect_fast_register(proxy, e, 3, codec::Magic::kJson);
    proxy.close(3);
    REQUIRE(proxy.wait_connection(e, 4));
    CHECK(counters.unexpected_disconnects == 1);
    CHECK(counters.closed_by_server == 1);
    CHECK(counters.errors() == 1);
    expect_fast_register(proxy, e, 4, codec::Magic::kJson);
}

TEST_CASE("an unanswered request times out as an error", "[bot]") {
    FakeProxy proxy;
    tb::bot::Counters counters;
    auto cfg = config(proxy);
    cfg.timeout_ms = 200;
    tb::bot::Engine e(std::move(cfg), tb::bot::make_mode(tb::bot::ModeKind::kIdle), counters);
    e.start();
    REQUIRE(proxy.wait_connection(e, 0));
    expect_fast_register(proxy, e, 0, codec::Magic::kJson);
    run_until(e, [&] { return counters.timeouts > 0; });
    CHECK(counters.timeouts == 1);
    CHECK(counters.errors() == 1);
    CHECK(proxy.wait_closed(e, 0));
}

TEST_CASE("the run ends after outstanding requests are answered", "[bot]") {
    FakeProxy proxy;
    tb::bot::Counters counters;
    tb::bot::Engine e(config(proxy), tb::bot::make_mode(tb::bot::ModeKind::kLogin), counters);
    e.start();
    REQUIRE(proxy.wait_connection(e, 0));
    expect_fast_register(proxy, e, 0, codec::Magic::kJson);
    e.begin_stop();
    CHECK_FALSE(e.finished());  // grace: the login in flight gets its answer
    proxy.send(0, codec::Magic::kJson, 1, 1, R"({"UserID":9})");
    run_until(e, [&] { return e.finished(); });
    CHECK(e.finished());
    CHECK(counters.logins == 1);
    CHECK(counters.errors() == 0);
    CHECK(proxy.connections() == 1);  // no new login once stopping
}

TEST_CASE("a frame the server garbles is a violation", "[bot]") {
    FakeProxy proxy;
    tb::bot::Counters counters;
    tb::bot::Engine e(config(proxy), tb::bot::make_mode(tb::bot::ModeKind::kIdle), counters);
    e.start();
    REQUIRE(proxy.wait_connection(e, 0));
    expect_fast_register(proxy, e, 0, codec::Magic::kJson);
    const std::string junk("\x12\x34\x00\x08\x00\x01\x00\x01", 8);
    REQUIRE(::send(proxy.peer(0).fd, junk.data(), junk.size(), MSG_NOSIGNAL) == 8);
    CHECK(proxy.wait_closed(e, 0));
    CHECK(counters.violations == 1);
    CHECK(counters.errors() == 1);
}

TEST_CASE("chaos bots expect to be closed and refused, without errors", "[bot]") {
    using Chaos = tb::bot::ChaosMode;
    // Every bot goes through every scenario, one per connection.
    std::vector<int> seen(static_cast<std::size_t>(Chaos::Scenario::kCount));
    for (uint32_t round = 0; round < seen.size(); ++round)
        ++seen[static_cast<std::size_t>(Chaos::scenario_for(3, round, 5))];
    for (const int n : seen) CHECK(n == 1);

    auto seed_for = [](Chaos::Scenario s) {
        for (uint64_t seed = 0;; ++seed)
            if (Chaos::scenario_for(7, 0, seed) == s) return seed;
    };

    SECTION("bad magic: the server closes") {
        FakeProxy proxy;
        tb::bot::Counters counters;
        auto cfg = config(proxy);
        cfg.seed = seed_for(Chaos::Scenario::kBadMagic);
        tb::bot::Engine e(std::move(cfg), tb::bot::make_mode(tb::bot::ModeKind::kChaos), counters);
        e.start();
        REQUIRE(proxy.wait_connection(e, 0));
        const std::string got = proxy.read_bytes(e, 0, 8);
        REQUIRE(got.size() == 8);
        CHECK(got.substr(0, 2) == "\xbe\xef");
        proxy.close(0);
        run_until(e, [&] { return counters.closed_by_server == 1; });
        CHECK(counters.closed_by_server == 1);
        CHECK(counters.errors() == 0);
        const auto snap = e.stats().snapshot();
        REQUIRE(snap.scenarios.count("bad_magic") == 1);
        CHECK(snap.scenarios.at("bad_magic").closed_by_server == 1);
        CHECK(snap.scenarios.at("bad_magic").violations == 0);
    }
    SECTION("commands before login: error frames are expected") {
        FakeProxy proxy;
        tb::bot::Counters counters;
        auto cfg = config(proxy);
        cfg.seed = seed_for(Chaos::Scenario::kBeforeLogin);
        tb::bot::Engine e(std::move(cfg), tb::bot::make_mode(tb::bot::ModeKind::kChaos), counters);
        e.start();
        REQUIRE(proxy.wait_connection(e, 0));
        for (int i = 0; i < 3; ++i) {
            codec::Frame f;
            REQUIRE(proxy.read_frame(e, 0, f));
            proxy.send(0, codec::Magic::kJson, f.mcmd, f.scmd,
                       R"({"Errno":4,"Errdesc":"not logged in"})");
        }
        CHECK(proxy.wait_closed(e, 0));  // all refused: the bot moves on
        CHECK(counters.error_frames == 3);
        CHECK(counters.errors() == 0);
        CHECK(e.stats().snapshot().scenarios.at("before_login").errnos.at(4) == 3);
    }
}
