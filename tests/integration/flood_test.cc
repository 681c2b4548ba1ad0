// Connection floods against a real tb-proxy (issue 10, "Security"): at the process's open-files
// limit (tb-proxy run under `prlimit --nofile=300`), at proxy.max_connections and at
// proxy.max_per_ip, new connections are refused (the client sees its connection closed), the
// proxy neither exits nor spins, a logged-in player keeps playing, and once the flood is gone
// new connections are served again.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <memory>
#include <set>
#include <sstream>

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
using tb::test::wait_for;

namespace {

constexpr const char* kSecret = "flood-test-secret";
constexpr int kFileLimit = 300;  // the proxy's RLIMIT_NOFILE in these tests

// A bare client connection from a chosen source address, for floods: it only connects and
// watches for the server closing it.
class RawConn {
public:
    RawConn(uint16_t port, const char* source = "127.0.0.1") {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_in src{};
        src.sin_family = AF_INET;
        ::inet_pton(AF_INET, source, &src.sin_addr);
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&src), sizeof src) == 0);
        sockaddr_in dst{};
        dst.sin_family = AF_INET;
        dst.sin_port = htons(port);
        ::inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
        // The kernel completes the handshake from its backlog whether or not the proxy accepts.
        REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&dst), sizeof dst) == 0);
    }
    ~RawConn() { ::close(fd_); }
    RawConn(const RawConn&) = delete;
    RawConn& operator=(const RawConn&) = delete;

    // True once the server has closed (or reset) the connection; waits up to `wait`.
    bool closed(std::chrono::milliseconds wait = 0ms) {
        if (closed_) return true;
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(wait.count())) <= 0) return false;
        char buf[256];
        const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
        closed_ = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
        return closed_;
    }

private:
    int fd_ = -1;
    bool closed_ = false;
};

using Flood = std::vector<std::unique_ptr<RawConn>>;

Flood flood(uint16_t port, int n, const char* source = "127.0.0.1") {
    Flood out;
    for (int i = 0; i < n; ++i) out.push_back(std::make_unique<RawConn>(port, source));
    return out;
}

int count_closed(Flood& f) {
    int n = 0;
    for (auto& c : f) n += c->closed() ? 1 : 0;
    return n;
}

// user + system CPU of a process, in clock ticks (/proc/<pid>/stat fields 14 and 15).
long cpu_ticks(pid_t pid) {
    std::string stat = tb::test::read_file("/proc/" + std::to_string(pid) + "/stat");
    const auto paren = stat.rfind(')');
    if (paren == std::string::npos) return -1;
    std::istringstream in(stat.substr(paren + 2));
    std::string field;
    long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && in >> field; ++i) {
        if (i == 14) utime = std::stol(field);
        if (i == 15) stime = std::stol(field);
    }
    return utime + stime;
}

// tb-manager and tb-proxy, and with `storage` also tb-db, tb-login and a gomoku tb-game with
// robots, on the ports of `slot`. The proxy runs under `prlimit` when `file_limit` > 0.
struct FloodCluster : tb::test::BusQueries {
    std::unique_ptr<tb::test::TestSchema> schema;
    std::unique_ptr<tb::test::TestRedisPrefix> prefix;
    uint16_t base;
    uint16_t client_port;
    std::vector<std::unique_ptr<ChildProcess>> nodes;
    ChildProcess* proxy = nullptr;

    FloodCluster(int slot, bool storage, int file_limit, std::vector<std::string> proxy_sets)
        : BusQueries(tb::test::port_base(slot), 1s),
          base(tb::test::port_base(slot)),
          client_port(static_cast<uint16_t>(base + 3333)) {
        const std::string b = tb::test::base_port_setting(base);
        start({bin("tb-manager").string(), "--base-port", std::to_string(base), "--set",
               "manager.metrics=off"});
        if (storage) {
            const auto& s = tb::test::shared_storage();
            schema = std::make_unique<tb::test::TestSchema>(s);
            prefix = std::make_unique<tb::test::TestRedisPrefix>(s);
            start(tb::test::db_node_argv(base, s, schema->name(), prefix->prefix()));
            start({bin("tb-login").string(), "--set", b});
            start({bin("tb-game").string(), "--game", "gomoku", "--level", "1", "--id", "1",
                   "--set", b, "--set", std::string("ticket.secret=") + kSecret, "--set",
                   "robot.wait_ms=200", "--set", "robot.think_min_ms=10", "--set",
                   "robot.think_max_ms=30"});
        }
        std::vector<std::string> argv;
        if (file_limit > 0) {
            argv = {"/usr/bin/prlimit",
                    "--nofile=" + std::to_string(file_limit) + ":" + std::to_string(file_limit),
                    "--"};
        }
        for (std::string a :
             {bin("tb-proxy").string(), std::string("--set"), b, std::string("--set"),
              std::string("ticket.secret=") + kSecret,
              // Flood connections stay for the whole test: no keep-alive drops.
              std::string("--set"), std::string("proxy.keepalive_interval_ms=60000")}) {
            argv.push_back(a);
        }
        for (auto& s : proxy_sets) {
            argv.push_back("--set");
            argv.push_back(s);
        }
        start(std::move(argv));
        proxy = nodes.back().get();
        INFO(proxy->describe());
        REQUIRE(wait_for(
            [&] {
                return workers("proxy") == 1 &&
                       (!storage || (workers("db") == 1 && workers("login") == 1 &&
                                     workers("game.gomoku.1") == 1));
            },
            20s));
    }

    void start(std::vector<std::string> argv) {
        nodes.push_back(std::make_unique<ChildProcess>(std::move(argv)));
    }

    // The proxy's sessions, as its heartbeat reports them (-1: not registered).
    int64_t sessions() {
        const auto list = worker_list("proxy");
        return list.empty() ? -1 : list[0].load;
    }
};

// A player logged in with a password account.
std::unique_ptr<TcpClient> logged_in(uint16_t port, const std::string& account) {
    auto c = std::make_unique<TcpClient>(port);
    REQUIRE(c->send(1, 1,
                    R"({"Account":")" + account +
                        R"(","Password":"pw","Machine":"m-0123456789abcdef","Name":")" + account +
                        R"(","Icon":1,"Gender":1})"));
    auto f = c->read_until(1, 1, 10s);
    REQUIRE(f.has_value());
    INFO(f->body);
    REQUIRE(json_int(f->body, "UserID") > 0);
    return c;
}

// A real request on a live session: SignInDays answers Errno 0.
bool answers(TcpClient& c) {
    if (!c.send(1, 2)) return false;
    auto f = c.read_until(1, 2, 10s);
    return f.has_value() && json_int(f->body, "Errno") == 0;
}

// The player sits down at a gomoku table (robots fill the other chair), plays until one of its
// own stones is broadcast, and returns true then.
bool sits_down_and_plays(TcpClient& c) {
    if (!c.send(100, 1, R"({"GameType":2,"GameLevel":1})")) return false;
    auto f = c.read_until(100, 1, 10s);
    if (!f || json_int(f->body, "Errno") != 0) return false;
    const auto chair = json_int(f->body, "ChairID");
    c.send(100, 3);  // Ready
    std::set<int> taken;
    int64_t turn = -1;
    bool sent = false;
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
        auto g = c.read(200ms);
        if (c.closed()) return false;
        if (g) {
            if (g->is_keep_alive()) {
                c.send(0, 0);
            } else if (g->mcmd == 150 && g->scmd == 202) {
                turn = json_int(g->body, "ChairID");
            } else if (g->mcmd == 150 && g->scmd == 101) {
                const auto who = json_int(g->body, "ChairID");
                if (who == chair) return true;
                taken.insert(static_cast<int>(json_int(g->body, "PositionX") * 15 +
                                              json_int(g->body, "PositionY")));
                turn = 1 - who;
            } else if (g->mcmd == 150 && (g->scmd == 1 || g->scmd == 203)) {
                return false;  // refused, or the game ended without our stone
            }
        }
        if (turn == chair && !sent) {
            int cell = 7 * 15 + 7;
            while (taken.count(cell) != 0) ++cell;
            sent = c.send(150, 1,
                          R"({"PositionX":)" + std::to_string(cell / 15) + R"(,"PositionY":)" +
                              std::to_string(cell % 15) + "}");
        }
    }
    return false;
}

}  // namespace

TEST_CASE(
    "at the open-files limit the proxy refuses new connections without spinning and a "
    "player keeps playing",
    "[flood]") {
    // No fds kept in reserve: the flood runs the proxy into EMFILE itself.
    FloodCluster c(0, true, kFileLimit, {"proxy.reserved_fds=0", "proxy.max_connections=100000"});
    auto player = logged_in(c.client_port, "steady");

    auto held = flood(c.client_port, kFileLimit + 100);
    // Everything past the file limit is refused: the proxy cannot hold more than 300 fds.
    REQUIRE(wait_for([&] { return count_closed(held) >= 100; }, 20s));
    INFO(c.proxy->describe());
    REQUIRE(c.proxy->running());
    // The heartbeat reports the sessions once a second.
    int64_t at_limit = 0;
    CHECK(wait_for([&] { return (at_limit = c.sessions()) > kFileLimit / 2; }, 5s));
    CHECK(at_limit < kFileLimit);

    // At EMFILE, with clients still knocking, the proxy refuses them at once and stays idle:
    // a busy loop would burn a whole core.
    const long cpu_before = cpu_ticks(c.proxy->pid());
    const auto t0 = std::chrono::steady_clock::now();
    Flood knocking;
    bool all_refused = wait_for(
        [&] {
            if (knocking.size() < 20) knocking.push_back(std::make_unique<RawConn>(c.client_port));
            return count_closed(knocking) == 20 && std::chrono::steady_clock::now() - t0 >= 2s;
        },
        10s);
    const auto elapsed_ticks =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() *
        static_cast<double>(::sysconf(_SC_CLK_TCK));
    const long used = cpu_ticks(c.proxy->pid()) - cpu_before;
    INFO("proxy CPU " << used << " ticks in " << elapsed_ticks << " ticks");
    CHECK(all_refused);
    CHECK(static_cast<double>(used) < 0.25 * elapsed_ticks);

    // The logged-in player is served all along: a request, then a game.
    CHECK(answers(*player));
    CHECK(sits_down_and_plays(*player));
    CHECK_FALSE(player->closed());
    CHECK(c.proxy->running());

    // The flood goes away: new players get in again.
    held.clear();
    knocking.clear();
    REQUIRE(wait_for([&] { return c.sessions() == 1; }, 10s));
    auto newcomer = logged_in(c.client_port, "newcomer");
    CHECK(answers(*newcomer));
    CHECK(c.proxy->running());
    // The refusals were logged, and rate-limited: a handful of lines, not one per connection.
    const auto err = c.proxy->stderr_text();
    std::size_t lines = 0;
    for (std::size_t p = err.find("refusing client connections"); p != std::string::npos;
         p = err.find("refusing client connections", p + 1)) {
        ++lines;
    }
    CHECK(lines >= 1);
    CHECK(lines <= 5);
}

TEST_CASE(
    "under a low open-files limit the proxy caps its sessions below it and a player keeps "
    "playing",
    "[flood]") {
    // The default reserve (64 fds) lowers the cap to 300 - 64 = 236 sessions.
    FloodCluster c(2, true, kFileLimit, {});
    CHECK(c.proxy->stderr_text().find("does not fit the open-files limit") != std::string::npos);
    auto player = logged_in(c.client_port, "steady");
    auto held = flood(c.client_port, kFileLimit + 100);
    REQUIRE(wait_for([&] { return c.sessions() == kFileLimit - 64; }, 20s));
    CHECK(wait_for([&] { return count_closed(held) == kFileLimit + 100 - (kFileLimit - 64 - 1); },
                   10s));
    TcpClient extra(c.client_port);
    CHECK(extra.wait_closed(3s));
    CHECK(answers(*player));
    CHECK(sits_down_and_plays(*player));
    held.clear();
    REQUIRE(wait_for([&] { return c.sessions() == 1; }, 10s));
    auto newcomer = logged_in(c.client_port, "newcomer");
    CHECK(answers(*newcomer));
    CHECK(c.proxy->running());
}

TEST_CASE("a flood past proxy.max_connections is refused and the sessions in hand are served",
          "[flood]") {
    FloodCluster c(4, false, 0, {"proxy.max_connections=50"});
    TcpClient first(c.client_port);
    REQUIRE(wait_for([&] { return c.sessions() == 1; }, 5s));
    auto held = flood(c.client_port, 300);
    REQUIRE(wait_for([&] { return count_closed(held) == 300 - 49; }, 10s));
    CHECK(wait_for([&] { return c.sessions() == 50; }, 5s));
    TcpClient extra(c.client_port);
    CHECK(extra.wait_closed(3s));
    // The session from before the flood is answered as ever (Ready before login: Errno 4).
    REQUIRE(first.send(100, 3));
    auto f = first.read_until(100, 3);
    REQUIRE(f.has_value());
    CHECK(json_int(f->body, "Errno") == 4);
    held.clear();
    REQUIRE(wait_for([&] { return c.sessions() == 1; }, 10s));
    TcpClient again(c.client_port);
    REQUIRE(again.send(100, 3));
    f = again.read_until(100, 3);
    REQUIRE(f.has_value());
    CHECK(json_int(f->body, "Errno") == 4);
    CHECK(c.proxy->running());
}

TEST_CASE("a flood from one address stops at proxy.max_per_ip while other addresses get in",
          "[flood]") {
    FloodCluster c(6, false, 0, {"proxy.max_per_ip=20"});
    auto held = flood(c.client_port, 200, "127.0.0.1");
    REQUIRE(wait_for([&] { return count_closed(held) == 180; }, 10s));
    CHECK(wait_for([&] { return c.sessions() == 20; }, 5s));
    // Another address is not held back by the first one's flood.
    auto others = flood(c.client_port, 5, "127.0.0.2");
    REQUIRE(wait_for([&] { return c.sessions() == 25; }, 10s));
    CHECK(count_closed(others) == 0);
    CHECK(count_closed(held) == 180);
    CHECK(c.proxy->running());
}
