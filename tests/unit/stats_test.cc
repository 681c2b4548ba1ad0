#include "bus/stats.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "codec/errors.h"

using namespace std::chrono_literals;
using tb::bus::BusStats;
using tb::bus::Gauge;
using tb::bus::LatencyHistogram;
using tb::codec::BusCode;
using tb::codec::Errno;
using tb::codec::to_int;

namespace {

double us(std::chrono::nanoseconds ns) {
    return static_cast<double>(ns.count()) / 1e3;
}

bool has_line(const std::string& text, const std::string& line) {
    return text.starts_with(line + "\n") || text.find("\n" + line + "\n") != std::string::npos;
}

std::size_t occurrences(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) {
        ++n;
    }
    return n;
}

}  // namespace

TEST_CASE("an empty latency histogram reports zero for every percentile", "[bus]") {
    const LatencyHistogram h;
    CHECK(h.count() == 0);
    CHECK(h.percentile(0) == 0ns);
    CHECK(h.percentile(50) == 0ns);
    CHECK(h.percentile(100) == 0ns);
    CHECK(h.min() == 0ns);
    CHECK(h.max() == 0ns);
    CHECK(h.sum() == 0ns);
}

TEST_CASE("percentiles of a uniform 1..1000 us distribution are within 5%", "[bus]") {
    LatencyHistogram h;
    for (int i = 1; i <= 1000; ++i) h.record(std::chrono::microseconds(i));
    REQUIRE(h.count() == 1000);
    CHECK(us(h.percentile(50)) == Approx(500).epsilon(0.05));
    CHECK(us(h.percentile(90)) == Approx(900).epsilon(0.05));
    CHECK(us(h.percentile(99)) == Approx(990).epsilon(0.05));
    CHECK(h.percentile(0) == 1us);    // the smallest sample, exactly
    CHECK(h.percentile(100) == 1ms);  // the largest, exactly
    CHECK(h.sum() == std::chrono::microseconds(500500));
}

TEST_CASE("every histogram bucket from 1 us to 60 s is within ~3% of its values", "[bus]") {
    // Walk values geometrically across the whole range; each must fall in its bucket and the
    // bucket's midpoint (what percentile() reports) must be within 1/32 of it.
    for (double v = 1000; v <= 60e9; v *= 1.013) {
        const auto ns = static_cast<uint64_t>(v);
        const std::size_t b = LatencyHistogram::bucket_of(ns);
        REQUIRE(b < LatencyHistogram::kBucketCount);
        const uint64_t low = LatencyHistogram::bucket_low(b);
        const uint64_t width = LatencyHistogram::bucket_width(b);
        REQUIRE(ns >= low);
        REQUIRE(ns < low + width);
        const double mid = static_cast<double>(low) + static_cast<double>(width / 2);
        REQUIRE(std::abs(mid - static_cast<double>(ns)) / static_cast<double>(ns) <= 1.0 / 32);
    }
    // Buckets tile the range with no gaps.
    for (std::size_t b = 0; b + 1 < LatencyHistogram::kBucketCount; ++b) {
        REQUIRE(LatencyHistogram::bucket_low(b) + LatencyHistogram::bucket_width(b) ==
                LatencyHistogram::bucket_low(b + 1));
    }
    CHECK(LatencyHistogram::bucket_of(LatencyHistogram::kMaxTrackedNs) ==
          LatencyHistogram::kBucketCount - 1);
}

TEST_CASE("a histogram clamps negative and out-of-range durations", "[bus]") {
    LatencyHistogram h;
    h.record(-5ns);
    h.record(100s);
    CHECK(h.count() == 2);
    CHECK(h.min() == 0ns);
    CHECK(h.max() == 100s);
    CHECK(h.percentile(0) == 0ns);
    // The top bucket's midpoint (about 66 s): beyond the 60 s the histogram promises.
    CHECK(h.percentile(100) > 60s);
    CHECK(h.percentile(100) <= 100s);
}

TEST_CASE("merging histograms gives the same answers as recording into one", "[bus]") {
    LatencyHistogram a, b, all;
    for (int i = 1; i <= 500; ++i) {
        a.record(std::chrono::microseconds(i));
        all.record(std::chrono::microseconds(i));
    }
    for (int i = 501; i <= 1000; ++i) {
        b.record(std::chrono::microseconds(i));
        all.record(std::chrono::microseconds(i));
    }
    a.merge(b);
    CHECK(a.count() == all.count());
    CHECK(a.sum() == all.sum());
    CHECK(a.min() == all.min());
    CHECK(a.max() == all.max());
    for (const double p : {0.0, 10.0, 50.0, 90.0, 99.0, 99.9, 100.0}) {
        CHECK(a.percentile(p) == all.percentile(p));
    }
    SECTION("merging an empty histogram changes nothing") {
        const auto p50 = a.percentile(50);
        a.merge(LatencyHistogram{});
        CHECK(a.count() == 1000);
        CHECK(a.percentile(50) == p50);
        CHECK(a.min() == 1us);
    }
    SECTION("reset empties it") {
        a.reset();
        CHECK(a.count() == 0);
        CHECK(a.percentile(50) == 0ns);
        a.record(7us);
        CHECK(a.percentile(50) == 7us);
    }
}

TEST_CASE("service counters count requests, replies, errors by code and drops", "[bus]") {
    tb::bus::ServiceCounters c;
    c.record_request();
    c.record_request();
    c.record_request();
    c.record_request();
    c.record_reply(200us);
    c.record_error(to_int(Errno::kWrongPassword), 400us);
    c.record_error(to_int(BusCode::kOverloaded));
    c.record_drop();
    CHECK(c.requests == 4);
    CHECK(c.replies == 1);
    CHECK(c.errors == 2);
    CHECK(c.dropped == 1);
    CHECK(c.errors_by_code == std::map<int32_t, uint64_t>{{5, 1}, {1004, 1}});
    // The broker's instant rejection is counted but not timed.
    CHECK(c.latency.count() == 2);
    CHECK(c.latency.max() == 400us);
}

TEST_CASE("a stats snapshot reports each service with percentiles in microseconds", "[bus]") {
    BusStats stats;
    auto& login = stats.service("login");
    for (int i = 1; i <= 100; ++i) {
        login.record_request();
        login.record_reply(std::chrono::microseconds(i * 10));
    }
    login.record_request();
    login.record_error(to_int(BusCode::kNoService));
    login.queue_depth = 3;
    stats.service("game").record_request();
    stats.worker("login-1").requests = 7;
    stats.count_drop();
    stats.count_malformed();
    stats.count_malformed();

    CHECK(stats.find_service("login") == &login);
    CHECK(stats.find_service("nope") == nullptr);

    const auto snap = stats.snapshot();
    REQUIRE(snap.services.size() == 2);
    CHECK(snap.services[0].service == "game");  // sorted by name
    const auto& s = snap.services[1];
    CHECK(s.service == "login");
    CHECK(s.requests == 101);
    CHECK(s.replies == 100);
    CHECK(s.errors == 1);
    CHECK(s.errors_by_code == std::map<int32_t, uint64_t>{{1001, 1}});
    CHECK(s.latency_count == 100);
    CHECK(s.latency_sum_us == Approx(50500));
    CHECK(s.p50_us == Approx(500).epsilon(0.05));
    CHECK(s.p90_us == Approx(900).epsilon(0.05));
    CHECK(s.p99_us == Approx(990).epsilon(0.05));
    CHECK(s.queue_depth == 3);
    CHECK(snap.services[0].p50_us == 0);  // no samples
    REQUIRE(snap.workers.size() == 1);
    CHECK(snap.workers[0].worker == "login-1");
    CHECK(snap.workers[0].requests == 7);
    CHECK(snap.drops == 1);
    CHECK(snap.malformed == 2);

    stats.reset();
    CHECK(stats.snapshot().services.empty());
    CHECK(stats.drops() == 0);
}

TEST_CASE("bus stats bound the number of distinct service and worker names", "[bus]") {
    BusStats stats;
    for (std::size_t i = 0; i < BusStats::kMaxServices + 10; ++i) {
        stats.service("svc" + std::to_string(i)).record_request();
    }
    CHECK(stats.services().size() == BusStats::kMaxServices + 1);
    const auto* other = stats.find_service(BusStats::kOverflowName);
    REQUIRE(other != nullptr);
    CHECK(other->requests == 10);
    // Names that already exist keep their own entry.
    stats.service("svc0").record_request();
    CHECK(stats.find_service("svc0")->requests == 2);

    stats.worker("w1").requests = 1;
    stats.worker("w2").requests = 2;
    stats.remove_worker("w1");
    CHECK(stats.find_worker("w1") == nullptr);
    REQUIRE(stats.find_worker("w2") != nullptr);
    CHECK(stats.workers().size() == 1);
}

TEST_CASE("the prometheus page has the expected lines for each metric", "[bus]") {
    BusStats stats;
    auto& login = stats.service("login");
    for (int i = 0; i < 4; ++i) login.record_request();
    login.record_reply(250us);
    login.record_reply(250us);
    login.record_error(to_int(BusCode::kNoService));
    login.record_error(to_int(Errno::kNoService));  // same name: one series
    login.record_error(to_int(Errno::kWrongPassword), 250us);
    login.record_error(777);  // unknown to this build
    login.queue_depth = 2;
    stats.service("lobby");  // known, never used: NaN quantiles
    auto& w = stats.worker("login-1");
    w.requests = 3;
    w.replies = 2;
    w.errors = 1;
    stats.worker(std::string("\x00\x6b\x8b\x45\x67", 5)).requests = 1;
    stats.count_drop();
    stats.count_drop();
    stats.count_malformed();
    const std::vector<Gauge> gauges = {
        {"tablebus_workers", "Live workers per service.", {{"service", "login"}}, 2},
        {"tablebus_up", "Whether the broker runs.", {}, 1},
        {"tablebus_workers",
         "ignored: the family's help is the first one's",
         {{"service", "game"}},
         0},
    };

    const std::string text = tb::bus::render_prometheus(stats, gauges);
    INFO(text);
    const std::vector<std::string> expected = {
        "# HELP tablebus_requests_total Requests the broker accepted for a service.",
        "# TYPE tablebus_requests_total counter",
        R"(tablebus_requests_total{service="login"} 4)",
        R"(tablebus_requests_total{service="lobby"} 0)",
        "# TYPE tablebus_replies_total counter",
        R"(tablebus_replies_total{service="login"} 2)",
        "# TYPE tablebus_errors_total counter",
        R"(tablebus_errors_total{service="login",code="no_service"} 2)",
        R"(tablebus_errors_total{service="login",code="wrong_password"} 1)",
        R"(tablebus_errors_total{service="login",code="code_777"} 1)",
        "# TYPE tablebus_request_latency_seconds summary",
        R"(tablebus_request_latency_seconds{service="login",quantile="0.5"} 0.00025)",
        R"(tablebus_request_latency_seconds{service="login",quantile="0.9"} 0.00025)",
        R"(tablebus_request_latency_seconds{service="login",quantile="0.99"} 0.00025)",
        R"(tablebus_request_latency_seconds_sum{service="login"} 0.00075)",
        R"(tablebus_request_latency_seconds_count{service="login"} 3)",
        R"(tablebus_request_latency_seconds{service="lobby",quantile="0.5"} NaN)",
        R"(tablebus_request_latency_seconds_count{service="lobby"} 0)",
        "# TYPE tablebus_queue_depth gauge",
        R"(tablebus_queue_depth{service="login"} 2)",
        "# TYPE tablebus_worker_requests_total counter",
        R"(tablebus_worker_requests_total{worker="login-1"} 3)",
        R"(tablebus_worker_requests_total{worker="0x006b8b4567"} 1)",
        R"(tablebus_worker_replies_total{worker="login-1"} 2)",
        R"(tablebus_worker_errors_total{worker="login-1"} 1)",
        "# TYPE tablebus_dropped_total counter",
        "tablebus_dropped_total 2",
        "# TYPE tablebus_malformed_total counter",
        "tablebus_malformed_total 1",
        "# HELP tablebus_workers Live workers per service.",
        "# TYPE tablebus_workers gauge",
        R"(tablebus_workers{service="login"} 2)",
        R"(tablebus_workers{service="game"} 0)",
        "# TYPE tablebus_up gauge",
        "tablebus_up 1",
    };
    for (const auto& line : expected) {
        INFO(line);
        CHECK(has_line(text, line));
    }
    CHECK(text.ends_with("\n"));
    // One HELP and TYPE per family, and a family's samples together (game after login).
    CHECK(occurrences(text, "# TYPE tablebus_workers gauge") == 1);
    CHECK(occurrences(text, "# HELP tablebus_workers ") == 1);
    CHECK(text.find(R"(tablebus_workers{service="game"} 0)") <
          text.find("# TYPE tablebus_up gauge"));
    // Every line is a comment or "name{labels} value".
    std::size_t start = 0;
    while (start < text.size()) {
        const std::size_t nl = text.find('\n', start);
        REQUIRE(nl != std::string::npos);
        const std::string line = text.substr(start, nl - start);
        INFO(line);
        CHECK(!line.empty());
        if (!line.starts_with("#")) CHECK(line.rfind(' ') != std::string::npos);
        start = nl + 1;
    }
}

TEST_CASE("prometheus label values are escaped", "[bus]") {
    CHECK(tb::bus::escape_label_value("plain") == "plain");
    CHECK(tb::bus::escape_label_value("a\"b\\c\nd") == "a\\\"b\\\\c\\nd");

    BusStats stats;
    stats.service("we\"ird\\svc\nname").record_request();
    const std::vector<Gauge> gauges = {
        {"tablebus_info", "Help with \\ and\nnewline.", {{"version", "1.\"2\""}}, 1}};
    const std::string text = tb::bus::render_prometheus(stats, gauges);
    INFO(text);
    CHECK(has_line(text, R"(tablebus_requests_total{service="we\"ird\\svc\nname"} 1)"));
    CHECK(has_line(text, R"(tablebus_info{version="1.\"2\""} 1)"));
    CHECK(has_line(text, R"(# HELP tablebus_info Help with \\ and\nnewline.)"));
}

TEST_CASE("extra gauges with invalid names are left out and values keep their form", "[bus]") {
    const std::vector<Gauge> gauges = {
        {"bad name", "x", {}, 1},
        {"tablebus_ok", "x", {{"bad-label", "v"}}, 1},
        {"9starts_with_digit", "x", {}, 1},
        {"tablebus_ratio", "A ratio.", {}, 0.25},
        {"tablebus_inf", "Infinite.", {}, std::numeric_limits<double>::infinity()},
        {"tablebus_big", "Big.", {}, 1e20},
    };
    const std::string text = tb::bus::render_prometheus(BusStats{}, gauges);
    INFO(text);
    CHECK(text.find("bad name") == std::string::npos);
    CHECK(text.find("bad-label") == std::string::npos);
    CHECK(text.find("9starts_with_digit") == std::string::npos);
    CHECK(has_line(text, "tablebus_ratio 0.25"));
    CHECK(has_line(text, "tablebus_inf +Inf"));
    CHECK(has_line(text, "tablebus_big 1e+20"));
}

TEST_CASE("printable identities stay as they are and binary ones become hex", "[bus]") {
    CHECK(tb::bus::printable_identity("login-1") == "login-1");
    CHECK(tb::bus::printable_identity(std::string("\x00\xff", 2)) == "0x00ff");
    CHECK(tb::bus::printable_identity("") == "0x");
}
