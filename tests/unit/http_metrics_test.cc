#include "bus/http_metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "bus/stats.h"
#include "tests/support/loop_thread.h"
#include "tests/support/wait.h"

using namespace std::chrono_literals;
using tb::bus::EventLoop;
using tb::bus::HttpMetricsOptions;
using tb::bus::HttpMetricsServer;
using tb::test::LoopThread;
using tb::test::wait_for;

namespace {

// A plain blocking TCP client with a 5 s receive timeout, so a test that goes wrong fails
// instead of hanging.
class Client {
public:
    explicit Client(const std::string& endpoint) {
        const auto colon = endpoint.rfind(':');
        const auto port = static_cast<uint16_t>(std::stoi(endpoint.substr(colon + 1)));
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) throw std::runtime_error("socket failed");
        timeval tv{};
        tv.tv_sec = 5;
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            ::close(fd_);
            throw std::runtime_error("connect failed");
        }
    }
    ~Client() { ::close(fd_); }
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // False when the server has already closed (EPIPE, ECONNRESET): fine for the tests that
    // push too much on purpose.
    bool send(std::string_view data) {
        while (!data.empty()) {
            const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
            if (n <= 0) return false;
            data.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    struct Received {
        std::string data;
        bool closed = false;  // EOF or reset (as opposed to the receive timeout)
    };
    Received read_until_close() {
        Received r;
        char buf[16384];
        for (;;) {
            const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n > 0) {
                r.data.append(buf, static_cast<std::size_t>(n));
                continue;
            }
            r.closed = n == 0 || errno == ECONNRESET;
            return r;
        }
    }

private:
    int fd_ = -1;
};

struct Response {
    std::string status_line;
    std::map<std::string, std::string> headers;
    std::string body;

    std::string header(const std::string& name) const {
        const auto it = headers.find(name);
        return it == headers.end() ? std::string() : it->second;
    }
};

std::optional<Response> parse(const std::string& raw) {
    const auto head_end = raw.find("\r\n\r\n");
    if (head_end == std::string::npos) return std::nullopt;
    Response r;
    std::size_t pos = raw.find("\r\n");
    r.status_line = raw.substr(0, pos);
    while (pos < head_end) {
        const std::size_t start = pos + 2;
        pos = raw.find("\r\n", start);
        const std::string line = raw.substr(start, pos - start);
        const auto colon = line.find(':');
        if (colon == std::string::npos) return std::nullopt;
        r.headers[line.substr(0, colon)] = line.substr(colon + 2);
    }
    r.body = raw.substr(head_end + 4);
    return r;
}

// One request on a fresh connection; the whole answer, which must end with the server closing.
Response fetch(const std::string& endpoint, const std::string& request) {
    Client c(endpoint);
    REQUIRE(c.send(request));
    const auto got = c.read_until_close();
    REQUIRE(got.closed);
    const auto r = parse(got.data);
    REQUIRE(r.has_value());
    return *r;
}

// A loop, a server on an ephemeral port and the loop's thread, torn down in reverse.
struct Fixture {
    explicit Fixture(HttpMetricsServer::Render render, HttpMetricsOptions options = {})
        : server(ctx, loop, "tcp://127.0.0.1:*", std::move(render), options), thread(loop) {}

    zmq::context_t ctx;
    EventLoop loop;
    HttpMetricsServer server;
    LoopThread thread;
};

}  // namespace

TEST_CASE("GET /metrics answers 200 with the rendered page and closes", "[bus]") {
    tb::bus::BusStats stats;
    stats.service("login").record_request();
    stats.service("login").record_reply(120us);
    const std::string page = tb::bus::render_prometheus(stats);
    // The render runs on the loop thread; the stats are not touched elsewhere meanwhile.
    Fixture f([&stats] { return tb::bus::render_prometheus(stats); });
    CHECK(f.server.endpoint().starts_with("tcp://127.0.0.1:"));

    const Response r = fetch(f.server.endpoint(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(r.status_line == "HTTP/1.1 200 OK");
    CHECK(r.header("Content-Type") == "text/plain; version=0.0.4");
    CHECK(r.header("Connection") == "close");
    CHECK(r.header("Content-Length") == std::to_string(r.body.size()));
    CHECK(r.body == page);
    CHECK(wait_for([&] { return f.server.counters().metrics_served == 1; }));
    CHECK(f.server.counters().open == 0);

    SECTION("a query string is ignored") {
        const Response q = fetch(f.server.endpoint(), "GET /metrics?x=1 HTTP/1.0\r\n\r\n");
        CHECK(q.status_line == "HTTP/1.1 200 OK");
        CHECK(q.body == page);
    }
    SECTION("HEAD gets the headers and no body") {
        const Response h = fetch(f.server.endpoint(), "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        CHECK(h.status_line == "HTTP/1.1 200 OK");
        CHECK(h.header("Content-Length") == std::to_string(page.size()));
        CHECK(h.body.empty());
    }
}

TEST_CASE("a request split across two writes is answered once it is complete", "[bus]") {
    Fixture f([] { return std::string("tablebus_up 1\n"); });
    Client c(f.server.endpoint());
    REQUIRE(c.send("GET /metr"));
    // The server has the first half buffered before the second is sent.
    REQUIRE(wait_for([&] { return f.server.counters().open == 1; }));
    REQUIRE(c.send("ics HTTP/1.1\r\nHost: x\r"));
    REQUIRE(wait_for([&] { return f.server.counters().max_buffered >= 30; }));
    REQUIRE(c.send("\n\r\n"));
    const auto got = c.read_until_close();
    CHECK(got.closed);
    const auto r = parse(got.data);
    REQUIRE(r.has_value());
    CHECK(r->status_line == "HTTP/1.1 200 OK");
    CHECK(r->body == "tablebus_up 1\n");
    CHECK(f.server.counters().metrics_served == 1);
}

TEST_CASE("GET /health answers ok", "[bus]") {
    Fixture f([] { return std::string(); });
    const Response r = fetch(f.server.endpoint(), "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(r.status_line == "HTTP/1.1 200 OK");
    CHECK(r.body == "ok\n");
    CHECK(r.header("Content-Length") == "3");
}

TEST_CASE("an unknown path gets 404 and another method 405", "[bus]") {
    Fixture f([] { return std::string("x\n"); });
    const Response missing = fetch(f.server.endpoint(), "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(missing.status_line == "HTTP/1.1 404 Not Found");
    CHECK(missing.header("Content-Length") == std::to_string(missing.body.size()));

    const Response post = fetch(f.server.endpoint(),
                                "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    CHECK(post.status_line == "HTTP/1.1 405 Method Not Allowed");
    CHECK(post.header("Allow") == "GET, HEAD");
    CHECK(wait_for([&] { return f.server.counters().client_errors == 2; }));
    CHECK(f.server.counters().metrics_served == 0);
}

TEST_CASE("malformed requests get 400", "[bus]") {
    Fixture f([] { return std::string("x\n"); });
    const std::vector<std::string> bad = {
        "GET /metrics\r\n\r\n",            // no version (HTTP/0.9)
        "GET /metrics HTTP/2.0\r\n\r\n",   // not HTTP/1.x
        "GET  /metrics HTTP/1.1\r\n\r\n",  // two spaces
        "GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n",  // space before the colon
        "G(T /metrics HTTP/1.1\r\n\r\n",              // not a token
    };
    for (const auto& request : bad) {
        INFO(request);
        const Response r = fetch(f.server.endpoint(), request);
        CHECK(r.status_line == "HTTP/1.1 400 Bad Request");
    }
    // Bare LF line ends are fine.
    CHECK(fetch(f.server.endpoint(), "GET /metrics HTTP/1.0\n\n").status_line == "HTTP/1.1 200 OK");
}

TEST_CASE("an oversized header block is refused and closed without unbounded buffering", "[bus]") {
    Fixture f([] { return std::string("x\n"); });
    Client c(f.server.endpoint());
    std::string flood = "GET /metrics HTTP/1.1\r\n";
    const std::string filler = "X-Filler: " + std::string(40, 'a') + "\r\n";
    while (flood.size() < 256 * 1024) flood += filler;
    c.send(flood);  // may fail part-way: the server closes as soon as it has seen 8 KiB
    const auto got = c.read_until_close();
    CHECK(got.closed);
    // The 431 may be lost to a reset when our unread flood is still in the server's kernel
    // buffer as it closes; when it does arrive it is the 431.
    if (!got.data.empty()) CHECK(got.data.starts_with("HTTP/1.1 431 "));
    REQUIRE(wait_for([&] { return f.server.counters().oversized == 1; }));
    CHECK(f.server.counters().max_buffered <= 8 * 1024);
    CHECK(f.server.counters().open == 0);

    SECTION("just over the limit in one write gets the 431 itself") {
        Client d(f.server.endpoint());
        std::string big = "GET /metrics HTTP/1.1\r\nX-Big: " + std::string(8300, 'a');
        REQUIRE(d.send(big));
        const auto r = d.read_until_close();
        CHECK(r.closed);
        CHECK(r.data.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        CHECK(f.server.counters().max_buffered <= 8 * 1024);
    }
}

TEST_CASE("connections past the buffering limit are refused with 503", "[bus]") {
    HttpMetricsOptions options;
    options.max_connections = 2;
    Fixture f([] { return std::string("x\n"); }, options);
    Client a(f.server.endpoint());
    Client b(f.server.endpoint());
    REQUIRE(a.send("GET /metrics HTTP/1.1\r\n"));
    REQUIRE(b.send("GET /metrics HTTP/1.1\r\n"));
    REQUIRE(wait_for([&] { return f.server.counters().open == 2; }));

    const Response refused = fetch(f.server.endpoint(), "GET /metrics HTTP/1.1\r\n\r\n");
    CHECK(refused.status_line == "HTTP/1.1 503 Service Unavailable");
    CHECK(f.server.counters().rejected == 1);

    // The two waiting ones are still served.
    REQUIRE(a.send("\r\n"));
    REQUIRE(b.send("\r\n"));
    CHECK(a.read_until_close().data.starts_with("HTTP/1.1 200 OK\r\n"));
    CHECK(b.read_until_close().data.starts_with("HTTP/1.1 200 OK\r\n"));
    CHECK(wait_for([&] { return f.server.counters().open == 0; }));
}

TEST_CASE("a connection that stalls mid-request is closed after the idle timeout", "[bus]") {
    HttpMetricsOptions options;
    options.idle_timeout = 100ms;
    Fixture f([] { return std::string("x\n"); }, options);
    Client c(f.server.endpoint());
    REQUIRE(c.send("GET /metrics HTTP/1.1\r\nHost"));
    const auto got = c.read_until_close();  // well within the 5 s receive timeout
    CHECK(got.closed);
    CHECK(got.data.starts_with("HTTP/1.1 408 Request Timeout\r\n"));
    CHECK(f.server.counters().timed_out == 1);
    CHECK(wait_for([&] { return f.server.counters().open == 0; }));
}

TEST_CASE("a client that disconnects mid-request frees its slot", "[bus]") {
    Fixture f([] { return std::string("x\n"); });
    {
        Client c(f.server.endpoint());
        REQUIRE(c.send("GET /met"));
        REQUIRE(wait_for([&] { return f.server.counters().open == 1; }));
    }
    CHECK(wait_for([&] { return f.server.counters().open == 0; }));
    CHECK(f.server.counters().responses == 0);
}

TEST_CASE("a large metrics page arrives whole before the close", "[bus]") {
    std::string page;
    for (int i = 0; page.size() < 2 * 1024 * 1024; ++i) {
        page += "tablebus_worker_requests_total{worker=\"w" + std::to_string(i) + "\"} 1\n";
    }
    Fixture f([&page] { return page; });
    const Response r = fetch(f.server.endpoint(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(r.header("Content-Length") == std::to_string(page.size()));
    CHECK(r.body.size() == page.size());
    CHECK(r.body == page);
}

TEST_CASE("a render that throws gets a 500 and the server keeps serving", "[bus]") {
    bool fail = true;  // only touched on the loop thread
    Fixture f([&fail]() -> std::string {
        if (fail) {
            fail = false;
            throw std::runtime_error("stats unavailable");
        }
        return "ok_after 1\n";
    });
    const std::string request = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
    CHECK(fetch(f.server.endpoint(), request).status_line == "HTTP/1.1 500 Internal Server Error");
    const Response r = fetch(f.server.endpoint(), request);
    CHECK(r.status_line == "HTTP/1.1 200 OK");
    CHECK(r.body == "ok_after 1\n");
}
