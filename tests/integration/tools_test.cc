// tb-mon and tb-ctl against real processes: a tb-manager on ports of its own (support/process.h
// port_base, one slot per test case), tb-test-worker echo workers, and the tools run as
// commands whose stdout, stderr and exit status are checked. Waits are polls with deadlines
// (support/wait.h), never sleeps. Port slots used here: 0-9, 12-19, 22-23 (the bus process
// tests use 10, 20, 30 and 40), two ports each: bus = base, announce = base + 1; and 32-34 for
// tb-bench path.

#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "bus/client.h"
#include "bus/security.h"
#include "tests/support/process.h"
#include "tests/support/wait.h"

namespace tb::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (!line.empty()) lines.push_back(line);
    }
    return lines;
}

// Every line of `text` as JSON; a line that is not JSON fails the test.
std::vector<json> json_lines(const std::string& text) {
    std::vector<json> out;
    for (const auto& line : lines_of(text)) {
        INFO("line: " << line);
        REQUIRE(json::accept(line));
        out.push_back(json::parse(line));
    }
    return out;
}

std::string report(const RunResult& r) {
    std::ostringstream s;
    s << "exit " << r.exit_code << (r.timed_out ? " (timed out)" : "") << " after "
      << r.elapsed.count() << " ms\n--- stdout ---\n"
      << r.out << "--- stderr ---\n"
      << r.err;
    return s.str();
}

RunResult mon_at(const std::string& manager, std::vector<std::string> args,
                 std::chrono::milliseconds timeout = 15s) {
    args.insert(args.begin(), bin("tb-mon").string());
    args.push_back("--manager");
    args.push_back(manager);
    return run_command(args, timeout);
}

RunResult ctl_at(const std::string& manager, std::vector<std::string> args,
                 std::chrono::milliseconds timeout = 15s) {
    args.insert(args.begin(), bin("tb-ctl").string());
    args.push_back("--manager");
    args.push_back(manager);
    return run_command(args, timeout);
}

// A tb-manager on its own ports, the workers started for a test, and the tools pointed at it.
class Cluster {
public:
    // `slot`: this test case's own even slot of port_base() (bus = base, announce = base + 1).
    // `tool_args` go to every tool run (e.g. CURVE keys); `manager_args` to the manager.
    explicit Cluster(int slot, std::vector<std::string> manager_args = {},
                     std::vector<std::string> tool_args = {})
        : tool_args_(std::move(tool_args)) {
        // A port taken by something else makes the manager exit at once: try another range.
        for (int attempt = 0; attempt < 3; ++attempt) {
            base_ = port_base(slot, attempt);
            std::vector<std::string> argv = {bin("tb-manager").string(), "--base-port",
                                             std::to_string(base_), "--set", "manager.metrics=off"};
            argv.insert(argv.end(), manager_args.begin(), manager_args.end());
            manager_ = std::make_unique<ChildProcess>(argv);
            const bool answered = wait_for(
                [&] {
                    return !manager_->running() ||
                           mon({"services", "--json", "--timeout-ms", "200"}).exit_code == 0;
                },
                10s);
            if (answered && manager_->running()) return;
            UNSCOPED_INFO("manager attempt " << attempt << ": " << manager_->describe());
        }
        FAIL("tb-manager did not come up");
    }

    std::string bus() const { return "tcp://127.0.0.1:" + std::to_string(base_); }
    std::string announce() const { return "tcp://127.0.0.1:" + std::to_string(base_ + 1); }
    ChildProcess& manager() { return *manager_; }

    RunResult mon(std::vector<std::string> args, std::chrono::milliseconds timeout = 15s) const {
        args.insert(args.end(), tool_args_.begin(), tool_args_.end());
        return mon_at(bus(), std::move(args), timeout);
    }
    RunResult ctl(std::vector<std::string> args, std::chrono::milliseconds timeout = 15s) const {
        args.insert(args.end(), tool_args_.begin(), tool_args_.end());
        return ctl_at(bus(), std::move(args), timeout);
    }
    // A long-running tb-mon (events) with its output in files.
    std::unique_ptr<ChildProcess> spawn_mon(std::vector<std::string> args) const {
        args.insert(args.begin(), bin("tb-mon").string());
        args.insert(args.end(), {"--manager", bus()});
        args.insert(args.end(), tool_args_.begin(), tool_args_.end());
        return std::make_unique<ChildProcess>(args);
    }

    // tb-test-worker "worker-<id>" serving `service`.
    ChildProcess& start_worker(const std::string& service, int id) {
        workers_.push_back(std::make_unique<ChildProcess>(
            std::vector<std::string>{bin("tb-test-worker").string(), "--manager", bus(),
                                     "--service", service, "--id", std::to_string(id)}));
        return *workers_.back();
    }

    // `services --json`, or nullopt when it failed.
    std::optional<json> services() const {
        const RunResult r = mon({"services", "--json"});
        if (r.exit_code != 0 || !json::accept(r.out)) return std::nullopt;
        return json::parse(r.out);
    }
    // One field of one service in `services --json` (-1 when absent).
    int64_t service_field(const std::string& service, const std::string& key) const {
        const auto list = services();
        if (!list || !list->is_array()) return -1;
        for (const auto& s : *list) {
            if (s.value("service", "") == service && s.contains(key)) return s[key].get<int64_t>();
        }
        return -1;
    }
    bool wait_workers(const std::string& service, int64_t workers, int64_t open,
                      std::chrono::milliseconds limit = 5s) const {
        return wait_for(
            [&] {
                return service_field(service, "workers") == workers &&
                       service_field(service, "open_workers") == open;
            },
            limit);
    }

private:
    uint16_t base_ = 0;
    std::vector<std::string> tool_args_;
    std::unique_ptr<ChildProcess> manager_;
    std::vector<std::unique_ptr<ChildProcess>> workers_;
};

// Who answered a request to `target`, from the reply body "<worker name>|<body>".
std::string answered_by(bus::BusClient& client, const std::string& target,
                        const std::string& body = "ping") {
    auto reply = client.call(target, body, 2s);
    if (!reply || !reply->ok()) return "";
    const auto bar = reply->body.find('|');
    return bar == std::string::npos ? "" : reply->body.substr(0, bar);
}

// ---------------------------------------------------------------------------------------------

TEST_CASE("tb-mon services --json keys, human table, clean leave", "[tools]") {
    Cluster c(0);
    c.start_worker("A", 1);
    c.start_worker("A", 2);
    c.start_worker("B", 3);
    REQUIRE(c.wait_workers("A", 2, 2));
    REQUIRE(c.wait_workers("B", 1, 1));

    const auto list = c.services();
    REQUIRE(list);
    REQUIRE(list->is_array());
    REQUIRE(list->size() == 2);
    for (const auto& s : *list) {
        for (const char* key : {"service", "workers", "open_workers", "load", "requests", "errors"})
            CHECK(s.contains(key));
    }

    // A worker that stops cleanly (DISCONNECT) leaves the counts at once.
    auto& w5 = c.start_worker("A", 5);
    REQUIRE(c.wait_workers("A", 3, 3));
    REQUIRE(w5.stop() == 0);
    REQUIRE(c.wait_workers("A", 2, 2, 2s));

    const RunResult human = c.mon({"services"});
    INFO(report(human));
    REQUIRE(human.exit_code == 0);
    const auto lines = lines_of(human.out);
    REQUIRE(lines.size() == 3);
    CHECK(lines[0].rfind("SERVICE", 0) == 0);
    CHECK(lines[1].rfind("A ", 0) == 0);
    CHECK(lines[2].rfind("B ", 0) == 0);
    // Aligned: every row as wide as the header.
    CHECK(lines[1].size() == lines[0].size());
    CHECK(lines[2].size() == lines[0].size());
}

TEST_CASE("tb-mon services --json: a killed worker expires within 4 s", "[tools]") {
    Cluster c(2);
    auto& a1 = c.start_worker("A", 1);
    c.start_worker("A", 2);
    c.start_worker("B", 3);
    REQUIRE(c.wait_workers("A", 2, 2));
    REQUIRE(c.wait_workers("B", 1, 1));
    const auto killed = std::chrono::steady_clock::now();
    a1.signal(SIGKILL);
    REQUIRE(c.wait_workers("A", 1, 1, 5s));
    CHECK(std::chrono::steady_clock::now() - killed < 5s);
    CHECK(c.service_field("B", "workers") == 1);
}

TEST_CASE("tb-mon workers --json lists workers by name", "[tools]") {
    Cluster c(4);
    auto& w1 = c.start_worker("A", 1);
    c.start_worker("A", 2);
    c.start_worker("B", 3);
    REQUIRE(c.wait_workers("A", 2, 2));
    REQUIRE(c.wait_workers("B", 1, 1));

    const RunResult all = c.mon({"workers", "--json"});
    INFO(report(all));
    REQUIRE(all.exit_code == 0);
    REQUIRE(json::accept(all.out));
    const json list = json::parse(all.out);
    REQUIRE(list.is_array());
    std::set<std::string> names;
    for (const auto& w : list) {
        names.insert(w.at("name").get<std::string>());
        CHECK(w.at("open").get<bool>());
        if (w.at("name") == "worker-1") {
            CHECK(w.at("service") == "A");
            CHECK(w.at("pid").get<int64_t>() == w1.pid());
        }
    }
    CHECK(names == std::set<std::string>{"worker-1", "worker-2", "worker-3"});

    const RunResult only_a = c.mon({"workers", "A", "--json"});
    REQUIRE(only_a.exit_code == 0);
    const json a = json::parse(only_a.out);
    REQUIRE(a.size() == 2);
    CHECK(a[0].at("name") == "worker-1");
    CHECK(a[1].at("name") == "worker-2");

    const RunResult human = c.mon({"workers"});
    INFO(report(human));
    REQUIRE(human.exit_code == 0);
    const auto lines = lines_of(human.out);
    REQUIRE(lines.size() == 4);
    CHECK(lines[0].rfind("NAME", 0) == 0);
    CHECK(lines[1].rfind("worker-1 ", 0) == 0);
    CHECK(lines[3].rfind("worker-3 ", 0) == 0);
}

TEST_CASE("tb-mon and tb-ctl exit 2 when no manager answers", "[tools]") {
    // Nobody listens here: this slot never starts a manager.
    const std::string nowhere = "tcp://127.0.0.1:" + std::to_string(port_base(6));

    const RunResult services = mon_at(nowhere, {"services", "--json"});
    INFO(report(services));
    CHECK(services.exit_code == 2);
    CHECK(services.out.empty());  // --json: nothing but JSON on stdout, errors on stderr
    CHECK(services.err.find("no answer from the manager") != std::string::npos);
    CHECK(services.elapsed >= 900ms);
    CHECK(services.elapsed < 3s);

    for (const auto& args : std::vector<std::vector<std::string>>{
             {"workers"},
             {"stats", "--json"},
             {"ping", "manager"},
             {"ping", "A", "--json"},
             {"events", "--count", "1"},
             {"top", "--iterations", "1"},
         }) {
        const RunResult r = mon_at(nowhere, args);
        INFO(join_args(args) << "\n" << report(r));
        CHECK(r.exit_code == 2);
        CHECK(r.elapsed < 4s);
    }
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"shut", "worker-1"},
             {"open", "worker-1"},
             {"notice", "hello"},
             {"kick", "42"},
             {"health", "worker-1"},
         }) {
        const RunResult r = ctl_at(nowhere, args);
        INFO(join_args(args) << "\n" << report(r));
        CHECK(r.exit_code == 2);
        CHECK(r.elapsed < 3s);
    }

    const RunResult quick = mon_at(nowhere, {"services", "--timeout-ms", "200"});
    CHECK(quick.exit_code == 2);
    CHECK(quick.elapsed < 900ms);
}

TEST_CASE("tb-ctl shut and open steer service requests", "[tools]") {
    Cluster c(8);
    c.start_worker("A", 1);
    c.start_worker("A", 2);
    REQUIRE(c.wait_workers("A", 2, 2));

    zmq::context_t ctx;
    bus::ClientOptions co;
    co.manager = c.bus();
    co.tool = "tools-test";
    bus::BusClient client(ctx, co);
    // Both serve while open.
    std::set<std::string> seen;
    REQUIRE(wait_for([&] {
        seen.insert(answered_by(client, "A"));
        return seen.count("worker-1") == 1 && seen.count("worker-2") == 1;
    }));

    const RunResult shut = c.ctl({"shut", "worker-1"});
    INFO(report(shut));
    REQUIRE(shut.exit_code == 0);
    CHECK(shut.out.find("worker-1: shut") != std::string::npos);
    CHECK(c.service_field("A", "workers") == 2);
    CHECK(c.service_field("A", "open_workers") == 1);

    const json w = json::parse(c.mon({"workers", "A", "--json"}).out);
    REQUIRE(w.size() == 2);
    CHECK(w[0].at("name") == "worker-1");
    CHECK_FALSE(w[0].at("open").get<bool>());
    CHECK(w[1].at("open").get<bool>());

    // Service-routed requests all go to worker-2...
    for (int i = 0; i < 10; ++i) CHECK(answered_by(client, "A") == "worker-2");
    const RunResult ping = c.mon({"ping", "A", "--count", "4", "--interval-ms", "0", "--json"});
    INFO(report(ping));
    REQUIRE(ping.exit_code == 0);
    const auto pings = json_lines(ping.out);
    REQUIRE(pings.size() == 4);
    for (const auto& p : pings) {
        CHECK(p.at("status") == "ok");
        CHECK(p.at("from") == "worker-2");
        CHECK(p.at("rtt_us").get<int64_t>() >= 0);
    }
    // ...while an addressed request still reaches the shut worker.
    auto direct = client.call("@worker-1", "hello", 2s);
    REQUIRE(direct);
    REQUIRE(direct->ok());
    CHECK(direct->body == "worker-1|hello");
    const RunResult addressed = c.mon({"ping", "@worker-1", "--json"});
    INFO(report(addressed));
    REQUIRE(addressed.exit_code == 0);
    CHECK(json::parse(addressed.out).at("from") == "worker-1");

    const RunResult open = c.ctl({"open", "worker-1", "--json"});
    INFO(report(open));
    REQUIRE(open.exit_code == 0);
    const json o = json::parse(open.out);
    CHECK(o.at("ok").get<bool>());
    CHECK(o.at("action") == "open");
    CHECK(c.service_field("A", "open_workers") == 2);
    REQUIRE(wait_for([&] { return answered_by(client, "A") == "worker-1"; }));

    const RunResult unknown = c.ctl({"shut", "nosuch-9"});
    INFO(report(unknown));
    CHECK(unknown.exit_code == 1);
    CHECK(unknown.out.empty());
    CHECK(unknown.err.find("no such node") != std::string::npos);
    CHECK(unknown.err.find("nosuch-9") != std::string::npos);
}

TEST_CASE("tb-ctl health: 0 registered, 1 unknown, 2 no manager", "[tools]") {
    Cluster c(22);
    c.start_worker("A", 1);
    REQUIRE(c.wait_workers("A", 1, 1));

    const RunResult ok = c.ctl({"health", "worker-1"});
    INFO(report(ok));
    CHECK(ok.exit_code == 0);
    CHECK(ok.out.find("healthy") != std::string::npos);

    const RunResult ok_json = c.ctl({"health", "worker-1", "--json"});
    REQUIRE(ok_json.exit_code == 0);
    const json h = json::parse(ok_json.out);
    CHECK(h.at("registered").get<bool>());
    CHECK(h.at("healthy").get<bool>());
    CHECK(h.at("node") == "worker-1");

    const RunResult unknown = c.ctl({"health", "worker-99"});
    INFO(report(unknown));
    CHECK(unknown.exit_code == 1);
    CHECK(unknown.out.find("not registered") != std::string::npos);

    // Shut is draining on purpose, not sick.
    REQUIRE(c.ctl({"shut", "worker-1"}).exit_code == 0);
    CHECK(c.ctl({"health", "worker-1"}).exit_code == 0);

    REQUIRE(c.manager().stop() == 0);
    const RunResult gone = c.ctl({"health", "worker-1"});
    INFO(report(gone));
    CHECK(gone.exit_code == 2);
    CHECK(gone.err.find("no answer") != std::string::npos);
}

TEST_CASE("tb-ctl keygen prints a CURVE key pair", "[tools]") {
    const RunResult r = run_command({bin("tb-ctl").string(), "keygen"});
    INFO(report(r));
    REQUIRE(r.exit_code == 0);
    const std::regex line_re(R"re(^(public|secret) = "(.{40})"$)re");
    const auto lines = lines_of(r.out);
    REQUIRE(lines.size() == 2);
    std::smatch m0, m1;
    REQUIRE(std::regex_match(lines[0], m0, line_re));
    REQUIRE(std::regex_match(lines[1], m1, line_re));
    CHECK(m0[1] == "public");
    CHECK(m1[1] == "secret");
    const std::string pub = m0[2], sec = m1[2];
    CHECK(bus::is_z85_key(pub));
    CHECK(bus::is_z85_key(sec));
    CHECK(bus::public_from_secret(sec) == pub);

    const RunResult again = run_command({bin("tb-ctl").string(), "keygen", "--json"});
    REQUIRE(again.exit_code == 0);
    const json j = json::parse(again.out);
    CHECK(j.at("public").get<std::string>().size() == 40);
    CHECK(j.at("secret").get<std::string>() != sec);
}

TEST_CASE("tb-mon events --json shows table deltas as workers come and go", "[tools]") {
    Cluster c(12);
    auto events = c.spawn_mon({"events", "--json", "--count", "1", "--topic", "table"});
    REQUIRE(wait_for([&] { return events->stderr_text().find("listening") != std::string::npos; },
                     10s));
    auto& worker = c.start_worker("A", 7);
    const auto code = events->wait(10s);
    INFO(events->describe());
    REQUIRE(code);
    CHECK(*code == 0);
    auto lines = json_lines(events->stdout_text());
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].at("topic") == "table");
    CHECK(lines[0].at("received_ms").get<int64_t>() > 0);
    const json& up = lines[0].at("body");
    CHECK(up.at("op") == "up");
    CHECK(up.at("worker").at("name") == "worker-7");
    CHECK(up.at("worker").at("service") == "A");

    auto events2 = c.spawn_mon({"events", "--json", "--count", "1", "--topic", "table"});
    REQUIRE(wait_for([&] { return events2->stderr_text().find("listening") != std::string::npos; },
                     10s));
    REQUIRE(worker.stop() == 0);
    REQUIRE(events2->wait(10s) == 0);
    lines = json_lines(events2->stdout_text());
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].at("body").at("op") == "down");
    CHECK(lines[0].at("body").at("worker").at("name") == "worker-7");
}

TEST_CASE("tb-ctl notice appears in tb-mon events", "[tools]") {
    Cluster c(14);
    SECTION("human lines, one topic") {
        auto events = c.spawn_mon({"events", "--topic", "notice", "--count", "1"});
        REQUIRE(wait_for(
            [&] { return events->stderr_text().find("listening") != std::string::npos; }, 10s));
        const RunResult sent = c.ctl({"notice", "maintenance at noon", "--level", "2"});
        INFO(report(sent));
        REQUIRE(sent.exit_code == 0);
        REQUIRE(events->wait(10s) == 0);
        const auto lines = lines_of(events->stdout_text());
        REQUIRE(lines.size() == 1);
        CHECK(lines[0].find("notice") != std::string::npos);
        CHECK(lines[0].find("level=2") != std::string::npos);
        CHECK(lines[0].find("maintenance at noon") != std::string::npos);
    }
    SECTION("JSON lines, default topics, until SIGINT") {
        auto events = c.spawn_mon({"events", "--json"});
        REQUIRE(wait_for(
            [&] { return events->stderr_text().find("listening") != std::string::npos; }, 10s));
        REQUIRE(c.ctl({"notice", "hello players"}).exit_code == 0);
        const auto has_notice = [&] {
            return events->stdout_text().find("hello players") != std::string::npos;
        };
        REQUIRE(wait_for(has_notice, 10s));
        REQUIRE(events->signal(SIGINT));
        REQUIRE(events->wait(5s) == 0);
        bool found = false;
        for (const auto& e : json_lines(events->stdout_text())) {
            CHECK(e.at("topic") != "hugz");  // heartbeats are not shown by default
            if (e.at("topic") == "notice") {
                CHECK(e.at("body").at("text") == "hello players");
                CHECK(e.at("body").at("level") == 0);
                found = true;
            }
        }
        CHECK(found);
    }
    SECTION("an empty notice is refused by the manager") {
        const RunResult r = c.ctl({"notice", ""});
        INFO(report(r));
        CHECK(r.exit_code == 1);
        CHECK(r.err.find("bad notice") != std::string::npos);
    }
}

TEST_CASE("tb-mon ping, stats and top", "[tools]") {
    Cluster c(16);
    c.start_worker("A", 1);
    REQUIRE(c.wait_workers("A", 1, 1));

    const RunResult ping = c.mon({"ping", "A", "--count", "3", "--interval-ms", "10"});
    INFO(report(ping));
    REQUIRE(ping.exit_code == 0);
    auto lines = lines_of(ping.out);
    REQUIRE(lines.size() == 4);
    CHECK(lines[0].rfind("reply from worker-1: seq=1", 0) == 0);
    CHECK(lines[3].find("3 sent, 3 replies, 0 errors, 0 lost") != std::string::npos);

    const RunResult echo = c.mon({"ping", "manager", "--json"});
    INFO(report(echo));
    REQUIRE(echo.exit_code == 0);
    const json e = json::parse(echo.out);
    CHECK(e.at("status") == "ok");
    CHECK(e.at("from") == "manager");

    // A service nobody serves: the manager answers, the service does not.
    const RunResult none = c.mon({"ping", "Z", "--json", "--timeout-ms", "300"});
    INFO(report(none));
    CHECK(none.exit_code == 1);
    const std::string status = json::parse(none.out).at("status");
    CHECK((status == "error" || status == "timeout"));

    const RunResult stats = c.mon({"stats", "--json"});
    INFO(report(stats));
    REQUIRE(stats.exit_code == 0);
    const json s = json::parse(stats.out);
    CHECK(s.at("uptime_ms").get<int64_t>() > 0);
    CHECK(s.at("workers") == 1);
    bool found_a = false;
    for (const auto& svc : s.at("services")) {
        if (svc.at("service") == "A") {
            found_a = true;
            CHECK(svc.at("requests").get<int64_t>() >= 3);
        }
    }
    CHECK(found_a);
    CHECK(c.mon({"stats"}).out.rfind("uptime ", 0) == 0);

    // stdout is a pipe here: top prints snapshots and exits.
    const RunResult top = c.mon({"top", "--interval-ms", "200"});
    INFO(report(top));
    REQUIRE(top.exit_code == 0);
    CHECK(top.out.find("\x1b[") == std::string::npos);
    CHECK(top.out.find("SERVICE") != std::string::npos);
    CHECK(top.out.find("worker-1") != std::string::npos);

    const RunResult top_json =
        c.mon({"top", "--json", "--iterations", "2", "--interval-ms", "200"});
    INFO(report(top_json));
    REQUIRE(top_json.exit_code == 0);
    const auto snaps = json_lines(top_json.out);
    REQUIRE(snaps.size() == 2);
    for (const auto& snap : snaps) {
        REQUIRE(snap.at("services").is_array());
        REQUIRE(snap.at("workers").size() == 1);
        CHECK(snap.at("workers")[0].at("req_per_s").is_number());
        CHECK(snap.at("interval_ms").get<int64_t>() >= 150);
    }
}

TEST_CASE("tb-mon and tb-ctl talk to a CURVE manager", "[tools]") {
    const bus::CurveKeyPair server = bus::generate_keypair();
    const bus::CurveKeyPair tool = bus::generate_keypair();
    const bus::CurveKeyPair stranger = bus::generate_keypair();
    Cluster c(18,
              {"--set", "curve.enabled=true", "--set", "curve.secret_key=" + server.secret_key,
               "--set", "curve.allowed_keys=" + tool.public_key},
              {"--curve-secret", tool.secret_key, "--curve-server", server.public_key});

    const RunResult services = c.mon({"services", "--json"});
    INFO(report(services));
    REQUIRE(services.exit_code == 0);
    CHECK(json::parse(services.out).is_array());
    CHECK(c.ctl({"health", "worker-1"}).exit_code == 1);
    // The announcements are encrypted too.
    const RunResult hugz = c.mon({"events", "--topic", "hugz", "--count", "1", "--json"});
    INFO(report(hugz));
    CHECK(hugz.exit_code == 0);
    CHECK(json_lines(hugz.out).size() == 1);

    // Without keys, or with a key not on the allow-list, nothing answers.
    CHECK(mon_at(c.bus(), {"services", "--timeout-ms", "300"}).exit_code == 2);
    CHECK(mon_at(c.bus(), {"services", "--timeout-ms", "300", "--curve-secret", stranger.secret_key,
                           "--curve-server", server.public_key})
              .exit_code == 2);
    // A malformed key is a usage error.
    const RunResult bad =
        mon_at(c.bus(), {"services", "--curve-secret", "short", "--curve-server", "x"});
    INFO(report(bad));
    CHECK(bad.exit_code == 1);
    CHECK(bad.err.find("Z85") != std::string::npos);
}

TEST_CASE("tb-bench path plays a closed loop on plain sockets and refuses bad arguments",
          "[tools]") {
    const std::string base = std::to_string(port_base(32));
    const RunResult r = run_command({bin("tb-bench").string(), "path", "--json", "--players", "4",
                                     "--seconds", "1", "--base-port", base},
                                    45s);
    INFO(report(r));
    REQUIRE(r.exit_code == 0);
    REQUIRE(json::accept(r.out));
    const json j = json::parse(r.out);
    CHECK(j.at("players") == 4);
    // Two tables played: moves went through the gateway, the broker and the echo and back.
    CHECK(j.at("actions").get<int64_t>() > 0);
    CHECK(j.at("actions_per_s").get<double>() > 0);
    CHECK(j.at("p50_ms").get<double>() > 0);
    CHECK(j.at("p99_ms").get<double>() >= j.at("p50_ms").get<double>());
    for (const char* who : {"players", "gateway", "broker", "table"}) {
        INFO(who);
        CHECK(j.at("cpu_us_per_action").contains(who));
    }
    // Its children are gone: nothing listens on the gateway's port any more.
    CHECK(loopback_port_bindable(static_cast<uint16_t>(std::stoi(base) + 2)));

    // A table is two players: an odd count is refused before anything starts.
    const RunResult odd =
        run_command({bin("tb-bench").string(), "path", "--players", "3", "--base-port", base}, 15s);
    INFO(report(odd));
    CHECK(odd.exit_code == 1);
    CHECK(odd.err.find("even") != std::string::npos);
    CHECK(odd.out.empty());
}

TEST_CASE("tb-mon and tb-ctl have --help everywhere", "[tools]") {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"tb-mon"},
             {"tb-mon", "services"},
             {"tb-mon", "workers"},
             {"tb-mon", "stats"},
             {"tb-mon", "ping"},
             {"tb-mon", "events"},
             {"tb-mon", "top"},
             {"tb-ctl"},
             {"tb-ctl", "shut"},
             {"tb-ctl", "open"},
             {"tb-ctl", "notice"},
             {"tb-ctl", "kick"},
             {"tb-ctl", "health"},
         }) {
        std::vector<std::string> argv = args;
        argv[0] = bin(args[0]).string();
        argv.push_back("--help");
        const RunResult r = run_command(argv);
        INFO(join_args(args) << "\n" << report(r));
        CHECK(r.exit_code == 0);
        CHECK(r.out.find("--manager") != std::string::npos);
        CHECK(r.out.find("--json") != std::string::npos);
    }
    const RunResult keygen = run_command({bin("tb-ctl").string(), "keygen", "--help"});
    CHECK(keygen.exit_code == 0);
    // No subcommand is a usage error, not a silent success.
    CHECK(run_command({bin("tb-mon").string()}).exit_code != 0);
}

}  // namespace
}  // namespace tb::test
