#include "tools/mon/monitor.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <sstream>

#include "bus/security.h"
#include "codec/errors.h"

namespace tb::mon {

using tools::kExitFailed;
using tools::kExitNoManager;
using tools::kExitOk;
using tools::Session;
using SteadyClock = std::chrono::steady_clock;

namespace {

std::string yes_no(bool b) {
    return b ? "yes" : "no";
}

std::string worker_state(const bus::WorkerInfo& w) {
    std::string s = w.open ? "open" : "shut";
    if (w.degraded) s += ",degraded";
    return s;
}

// Latency percentiles mean nothing before the first answer.
std::string latency(int64_t us, uint64_t answers) {
    return answers == 0 ? "-" : tools::format_us(us);
}

std::string load_text(int64_t load, int64_t capacity) {
    return capacity > 0 ? std::to_string(load) + "/" + std::to_string(capacity)
                        : std::to_string(load);
}

// Stops printing when stdout went away (e.g. `tb-mon events | head -3`).
bool flush_ok(std::ostream& out) {
    out.flush();
    return static_cast<bool>(out);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// services, workers, stats

void print_services(const std::vector<bus::ServiceStatus>& services, std::ostream& out) {
    tools::Table t({"SERVICE", "POLICY", ">WORKERS", ">OPEN", ">LOAD", ">CAP", ">QUEUE",
                    ">INFLIGHT", ">REQUESTS", ">REPLIES", ">ERRORS", ">P50", ">P99"});
    for (const auto& s : services) {
        t.add({s.service, s.policy, std::to_string(s.workers), std::to_string(s.open_workers),
               std::to_string(s.load), s.capacity > 0 ? std::to_string(s.capacity) : "-",
               std::to_string(s.queue), std::to_string(s.inflight), std::to_string(s.requests),
               std::to_string(s.replies), std::to_string(s.errors),
               latency(s.p50_us, s.replies + s.errors), latency(s.p99_us, s.replies + s.errors)});
    }
    t.print(out);
}

int services(Session& s, const std::string& service, std::ostream& out) {
    bus::ServiceList list;
    const int rc = s.ask(bus::kMmiService, bus::ServiceQuery{service}, list, "services");
    if (rc != kExitOk) return rc;
    if (s.connection().json) {
        out << tools::dump_json(tools::json_of(list.services)) << '\n';
    } else if (list.services.empty()) {
        out << "no services registered\n";
    } else {
        print_services(list.services, out);
    }
    return flush_ok(out) ? kExitOk : kExitFailed;
}

void print_workers(const std::vector<bus::WorkerInfo>& workers, int64_t now_ms, std::ostream& out) {
    tools::Table t({"NAME", "SERVICE", "STATE", ">LOAD", ">INFLIGHT", ">REQUESTS", "VERSION",
                    ">PID", "HOST", ">UP"});
    for (const auto& w : workers) {
        t.add({w.name, w.service, worker_state(w), load_text(w.load, w.capacity),
               std::to_string(w.inflight), std::to_string(w.requests), w.version,
               std::to_string(w.pid), w.host,
               w.since_ms > 0 ? tools::format_age_ms(now_ms - w.since_ms) : "-"});
    }
    t.print(out);
}

int workers(Session& s, const std::string& service, std::ostream& out) {
    bus::WorkerList list;
    const int rc = s.ask(bus::kMmiWorkers, bus::ServiceQuery{service}, list, "workers");
    if (rc != kExitOk) return rc;
    if (s.connection().json) {
        out << tools::dump_json(tools::json_of(list.workers)) << '\n';
    } else if (list.workers.empty()) {
        out << (service.empty() ? "no workers registered\n"
                                : "no workers registered for " + service + "\n");
    } else {
        print_workers(list.workers, bus::unix_ms(), out);
    }
    return flush_ok(out) ? kExitOk : kExitFailed;
}

int stats(Session& s, std::ostream& out) {
    bus::StatsReply r;
    const int rc = s.ask(bus::kMmiStats, tools::NoArgs{}, r, "stats");
    if (rc != kExitOk) return rc;
    if (s.connection().json) {
        out << tools::dump_json(tools::json_of(r)) << '\n';
        return flush_ok(out) ? kExitOk : kExitFailed;
    }
    out << "uptime " << tools::format_age_ms(r.uptime_ms) << "  workers " << r.workers << "  drops "
        << r.drops << "  malformed " << r.malformed << "\n\n";
    if (r.services.empty()) {
        out << "no traffic yet\n";
        return flush_ok(out) ? kExitOk : kExitFailed;
    }
    tools::Table t(
        {"SERVICE", ">REQUESTS", ">REPLIES", ">ERRORS", ">QUEUE", ">P50", ">P90", ">P99"});
    tools::Table codes({"SERVICE", ">CODE", "NAME", ">COUNT"});
    for (const auto& svc : r.services) {
        t.add({svc.service, std::to_string(svc.requests), std::to_string(svc.replies),
               std::to_string(svc.errors), std::to_string(svc.queue),
               latency(svc.p50_us, svc.replies + svc.errors),
               latency(svc.p90_us, svc.replies + svc.errors),
               latency(svc.p99_us, svc.replies + svc.errors)});
        for (const auto& c : svc.errors_by_code) {
            codes.add({svc.service, std::to_string(c.code),
                       c.name.empty() ? std::string(codec::code_name(c.code)) : c.name,
                       std::to_string(c.count)});
        }
    }
    t.print(out);
    if (!codes.empty()) {
        out << "\nerrors by code\n";
        codes.print(out);
    }
    return flush_ok(out) ? kExitOk : kExitFailed;
}

// ---------------------------------------------------------------------------------------------
// ping

int ping(Session& s, const PingOptions& o, int signal_fd, std::ostream& out) {
    const bool json = s.connection().json;
    const bool to_manager = o.target == "manager";
    const std::string target = to_manager ? std::string(bus::kMmiEcho) : o.target;
    int64_t sent = 0, answered = 0, errors = 0, lost = 0;
    int64_t rtt_min = 0, rtt_max = 0, rtt_sum = 0;
    bool manager_gone = false;
    for (int64_t seq = 1; o.count == 0 || seq <= o.count; ++seq) {
        const Session::Answer a = s.call(target, "", s.connection().timeout());
        ++sent;
        const int64_t rtt = a.rtt.count();
        std::string status;
        switch (a.outcome) {
            case Session::Outcome::kOk:
                status = "ok";
                ++answered;
                rtt_min = answered == 1 ? rtt : std::min(rtt_min, rtt);
                rtt_max = std::max(rtt_max, rtt);
                rtt_sum += rtt;
                break;
            case Session::Outcome::kError:
                status = "error";
                ++errors;
                break;
            case Session::Outcome::kNoAnswer: {
                ++lost;
                // Tell a silent service (no worker before our deadline) from a silent manager.
                const bool manager_up =
                    !to_manager && s.call(bus::kMmiEcho, "", s.connection().timeout()).outcome !=
                                       Session::Outcome::kNoAnswer;
                status = manager_up ? "timeout" : "no_manager";
                if (!manager_up) manager_gone = true;
                break;
            }
        }
        if (json) {
            tools::Json j = {
                {"seq", seq},
                {"target", o.target},
                {"status", status},
                {"from", a.reply.env.source},
                {"rtt_us", a.outcome == Session::Outcome::kNoAnswer ? tools::Json(nullptr)
                                                                    : tools::Json(rtt)},
                {"code", a.reply.code},
                {"error", a.outcome == Session::Outcome::kError ? tools::describe_error(a.reply)
                                                                : std::string()},
                {"bytes", a.reply.body.size()}};
            out << tools::dump_json(j) << '\n';
        } else if (status == "ok") {
            out << "reply from " << a.reply.env.source << ": seq=" << seq
                << " bytes=" << a.reply.body.size() << " time=" << tools::format_us(rtt) << '\n';
        } else if (status == "error") {
            out << "error from " << (a.reply.env.source.empty() ? "bus" : a.reply.env.source)
                << ": seq=" << seq << " " << tools::describe_error(a.reply)
                << " time=" << tools::format_us(rtt) << '\n';
        } else if (status == "timeout") {
            out << "no reply from " << o.target << ": seq=" << seq << " within "
                << s.connection().timeout_ms << " ms (the manager answers)\n";
        } else {
            out << "no answer: seq=" << seq << " (" << s.no_answer_text() << ")\n";
        }
        if (!flush_ok(out)) break;
        if (manager_gone) break;
        if (o.count != 0 && seq >= o.count) break;
        if (tools::wait_for_signal(signal_fd, std::chrono::milliseconds(o.interval_ms))) break;
    }
    if (!json && sent > 1) {
        out << "--- " << o.target << ": " << sent << " sent, " << answered << " replies, " << errors
            << " errors, " << lost << " lost";
        if (answered > 0) {
            out << "; rtt min/avg/max " << tools::format_us(rtt_min) << "/"
                << tools::format_us(rtt_sum / answered) << "/" << tools::format_us(rtt_max);
        }
        out << '\n';
        flush_ok(out);
    }
    if (manager_gone) {
        s.fail("ping " + o.target, s.no_answer_text());
        return kExitNoManager;
    }
    return errors + lost > 0 ? kExitFailed : kExitOk;
}

// ---------------------------------------------------------------------------------------------
// events

namespace {

std::string pad(std::string s, std::size_t width) {
    if (s.size() < width) s.append(width - s.size(), ' ');
    return s;
}

template <class T>
std::optional<T> decoded(std::string_view body) {
    T v;
    if (codec::decode(body, v) != codec::MsgError::kOk) return std::nullopt;
    return v;
}

}  // namespace

std::string describe_announcement(std::string_view topic, std::string_view body,
                                  int64_t received_ms) {
    std::ostringstream s;
    s << tools::format_clock_ms(received_ms) << "  " << pad(std::string(topic), 6) << "  ";
    if (topic == bus::kTopicTable) {
        if (auto d = decoded<bus::TableDelta>(body)) {
            s << pad(d->op, 6) << "  " << d->worker.name << "  service=" << d->worker.service;
            if (!d->reason.empty()) s << " reason=" << d->reason;
            s << " open=" << yes_no(d->worker.open);
            if (d->worker.degraded) s << " degraded=yes";
            s << " load=" << load_text(d->worker.load, d->worker.capacity) << " seq=" << d->seq;
            return s.str();
        }
    } else if (topic == bus::kTopicEvent) {
        if (auto e = decoded<bus::SocketEventBody>(body)) {
            s << pad(e->event, 12) << "  socket=" << e->socket;
            if (!e->endpoint.empty()) s << " endpoint=" << e->endpoint;
            if (!e->detail.empty()) s << " detail=" << e->detail;
            return s.str();
        }
    } else if (topic == bus::kTopicNotice) {
        if (auto n = decoded<bus::NoticeBody>(body)) {
            s << "level=" << n->level << "  " << n->text;
            return s.str();
        }
    } else if (topic == bus::kTopicHugz) {
        if (auto h = decoded<bus::Hugz>(body)) {
            s << "seq=" << h->seq << " workers=" << h->workers;
            return s.str();
        }
    } else if (topic == bus::kTopicStats) {
        if (auto st = decoded<bus::StatsReply>(body)) {
            uint64_t requests = 0, errors = 0;
            for (const auto& svc : st->services) {
                requests += svc.requests;
                errors += svc.errors;
            }
            s << "workers=" << st->workers << " services=" << st->services.size()
              << " requests=" << requests << " errors=" << errors << " drops=" << st->drops
              << " malformed=" << st->malformed;
            return s.str();
        }
    }
    // A topic this build does not know, or a body it cannot decode: show it raw.
    if (auto j = tools::msgpack_json(body)) {
        s << tools::dump_json(*j);
    } else {
        s << "<" << body.size() << " bytes, not msgpack>";
    }
    return s.str();
}

std::string announcement_json(std::string_view topic, std::string_view body, int64_t received_ms) {
    tools::Json j = {{"topic", std::string(topic)}, {"received_ms", received_ms}};
    std::string error;
    if (auto b = tools::msgpack_json(body, &error)) {
        j["body"] = std::move(*b);
    } else {
        j["body"] = nullptr;
        j["error"] = error;
    }
    return tools::dump_json(j);
}

int events(Session& s, const EventsOptions& o, int signal_fd, std::ostream& out) {
    const tools::Connection& c = s.connection();
    const std::string endpoint = c.announce_endpoint();
    zmq::socket_t sub(s.context(), zmq::socket_type::sub);
    sub.set(zmq::sockopt::linger, 0);
    const bus::ClientOptions co = tools::client_options(c, s.tool());
    if (!co.curve_secret_key.empty()) {
        bus::apply_curve_client(sub, bus::CurveKeyPair{co.curve_public_key, co.curve_secret_key},
                                co.curve_server_key);
    }
    const std::set<std::string, std::less<>> wanted(o.topics.begin(), o.topics.end());
    if (wanted.empty()) {
        sub.set(zmq::sockopt::subscribe, "");
    } else {
        for (const auto& t : wanted) sub.set(zmq::sockopt::subscribe, t);
        // The heartbeat tells us when the subscription is live, and that the manager lives.
        sub.set(zmq::sockopt::subscribe, bus::kTopicHugz);
    }
    try {
        sub.connect(endpoint);
    } catch (const zmq::error_t& e) {
        throw tools::UsageError("cannot connect to the announcements at " + endpoint + ": " +
                                e.what());
    }

    // Is anyone there? (A SUB socket cannot tell.)
    const int rc = s.check(s.call(bus::kMmiEcho, "", c.timeout()), "events");
    if (rc != kExitOk) return rc;

    std::string topic_list;
    for (const auto& t : wanted) topic_list += (topic_list.empty() ? "" : ",") + t;
    if (topic_list.empty()) topic_list = "all topics";

    constexpr auto kQuiet = std::chrono::seconds(5);  // several missed manager heartbeats
    bool listening = false;
    bool quiet_warned = false;
    auto last_heard = SteadyClock::now();
    int64_t printed = 0;
    for (;;) {
        zmq::pollitem_t items[] = {{sub.handle(), 0, ZMQ_POLLIN, 0},
                                   {nullptr, signal_fd, ZMQ_POLLIN, 0}};
        try {
            zmq::poll(items, signal_fd >= 0 ? 2 : 1, std::chrono::milliseconds(500));
        } catch (const zmq::error_t& e) {
            if (e.num() != EINTR) throw;
            continue;
        }
        if (signal_fd >= 0 && (items[1].revents & ZMQ_POLLIN) != 0) return kExitOk;
        if ((items[0].revents & ZMQ_POLLIN) == 0) {
            if (!quiet_warned && SteadyClock::now() - last_heard > kQuiet) {
                s.err() << s.tool() << ": events: no announcement from " << endpoint
                        << " for 5 s (manager down, or a CURVE key mismatch?)\n";
                s.err().flush();
                quiet_warned = true;
            }
            continue;
        }
        std::vector<zmq::message_t> frames;
        for (;;) {
            zmq::message_t m;
            if (!sub.recv(m, zmq::recv_flags::dontwait)) break;
            const bool more = m.more();
            frames.push_back(std::move(m));
            if (!more) break;
        }
        if (frames.empty()) continue;
        last_heard = SteadyClock::now();
        if (quiet_warned) {
            s.err() << s.tool() << ": events: announcements resumed\n";
            quiet_warned = false;
        }
        if (!listening) {
            s.err() << s.tool() << ": listening on " << endpoint << " for " << topic_list << '\n';
            s.err().flush();
            listening = true;
        }
        const std::string_view topic = frames[0].to_string_view();
        if (!wanted.empty() && wanted.find(topic) == wanted.end()) continue;
        const std::string_view body =
            frames.size() > 1 ? frames[1].to_string_view() : std::string_view();
        const int64_t now = bus::unix_ms();
        out << (c.json ? announcement_json(topic, body, now)
                       : describe_announcement(topic, body, now))
            << '\n';
        if (!flush_ok(out)) return kExitOk;
        if (o.count > 0 && ++printed >= o.count) return kExitOk;
    }
}

// ---------------------------------------------------------------------------------------------
// top

namespace {

struct Sample {
    SteadyClock::time_point at;
    int64_t unix_ms = 0;
    std::vector<bus::ServiceStatus> services;
    std::vector<bus::WorkerInfo> workers;
};

struct Rates {
    std::map<std::string, std::pair<double, double>> services;  // req/s, err/s
    std::map<std::string, double> workers;                      // req/s
    double seconds = 0;
};

Rates rates_between(const Sample* prev, const Sample& cur) {
    Rates r;
    if (prev == nullptr) return r;
    r.seconds = std::chrono::duration<double>(cur.at - prev->at).count();
    if (r.seconds <= 0) return r;
    std::map<std::string, const bus::ServiceStatus*> before;
    for (const auto& s : prev->services) before[s.service] = &s;
    for (const auto& s : cur.services) {
        auto it = before.find(s.service);
        if (it == before.end()) continue;
        const auto& p = *it->second;
        if (s.requests < p.requests || s.errors < p.errors) continue;  // the manager restarted
        r.services[s.service] = {static_cast<double>(s.requests - p.requests) / r.seconds,
                                 static_cast<double>(s.errors - p.errors) / r.seconds};
    }
    std::map<std::string, const bus::WorkerInfo*> wbefore;
    for (const auto& w : prev->workers) wbefore[w.name] = &w;
    for (const auto& w : cur.workers) {
        auto it = wbefore.find(w.name);
        if (it == wbefore.end()) continue;
        const auto& p = *it->second;
        if (p.since_ms != w.since_ms || w.requests < p.requests) continue;  // re-registered
        r.workers[w.name] = static_cast<double>(w.requests - p.requests) / r.seconds;
    }
    return r;
}

// Both tables, or the exit status of the failed question (printed when `report`).
int take_sample(Session& s, Sample& out, bool report) {
    bus::ServiceList services;
    bus::WorkerList workers;
    const auto ask = [&](std::string_view target, auto& resp) {
        const Session::Answer a =
            s.call(target, codec::encode(bus::ServiceQuery{}), s.connection().timeout());
        if (a.outcome != Session::Outcome::kOk) {
            return report
                       ? s.check(a, "top")
                       : (a.outcome == Session::Outcome::kNoAnswer ? kExitNoManager : kExitFailed);
        }
        if (codec::decode(a.reply.body, resp) != codec::MsgError::kOk) {
            if (report) s.fail("top", "malformed answer from the manager");
            return kExitFailed;
        }
        return kExitOk;
    };
    if (const int rc = ask(bus::kMmiService, services); rc != kExitOk) return rc;
    if (const int rc = ask(bus::kMmiWorkers, workers); rc != kExitOk) return rc;
    out.at = SteadyClock::now();
    out.unix_ms = bus::unix_ms();
    out.services = std::move(services.services);
    out.workers = std::move(workers.workers);
    return kExitOk;
}

std::string rate_cell(const std::map<std::string, double>& m, const std::string& key) {
    auto it = m.find(key);
    return it == m.end() ? "-" : tools::format_rate(it->second);
}

tools::Json optional_rate(bool known, double v) {
    return known ? tools::Json(v) : tools::Json(nullptr);
}

std::string snapshot_json(const Sample& cur, const Rates& r) {
    tools::Json services = tools::Json::array();
    for (const auto& s : cur.services) {
        tools::Json j = tools::json_of(s);
        auto it = r.services.find(s.service);
        j["req_per_s"] = optional_rate(it != r.services.end(), it->second.first);
        j["err_per_s"] = optional_rate(it != r.services.end(), it->second.second);
        services.push_back(std::move(j));
    }
    tools::Json workers = tools::Json::array();
    for (const auto& w : cur.workers) {
        tools::Json j = tools::json_of(w);
        auto it = r.workers.find(w.name);
        j["req_per_s"] = optional_rate(it != r.workers.end(), it->second);
        workers.push_back(std::move(j));
    }
    tools::Json j = {{"time_ms", cur.unix_ms},
                     {"interval_ms", static_cast<int64_t>(r.seconds * 1000.0)},
                     {"services", std::move(services)},
                     {"workers", std::move(workers)}};
    return tools::dump_json(j);
}

void snapshot_text(const Sample& cur, const Rates& r, const std::string& manager,
                   std::ostream& out) {
    out << "tb-mon top  " << manager << "  " << tools::format_clock_ms(cur.unix_ms) << "  "
        << cur.services.size() << " services, " << cur.workers.size() << " workers\n\n";
    tools::Table st({"SERVICE", ">WORKERS", ">OPEN", ">LOAD", ">INFLIGHT", ">QUEUE", ">REQ/S",
                     ">ERR/S", ">P50", ">P99", ">REQUESTS", ">ERRORS"});
    for (const auto& s : cur.services) {
        auto it = r.services.find(s.service);
        const bool known = it != r.services.end();
        st.add({s.service, std::to_string(s.workers), std::to_string(s.open_workers),
                load_text(s.load, s.capacity), std::to_string(s.inflight), std::to_string(s.queue),
                known ? tools::format_rate(it->second.first) : "-",
                known ? tools::format_rate(it->second.second) : "-",
                latency(s.p50_us, s.replies + s.errors), latency(s.p99_us, s.replies + s.errors),
                std::to_string(s.requests), std::to_string(s.errors)});
    }
    st.print(out);
    out << '\n';
    tools::Table wt(
        {"WORKER", "SERVICE", "STATE", ">LOAD", ">INFLIGHT", ">REQ/S", ">REQUESTS", ">UP"});
    for (const auto& w : cur.workers) {
        wt.add({w.name, w.service, worker_state(w), load_text(w.load, w.capacity),
                std::to_string(w.inflight), rate_cell(r.workers, w.name),
                std::to_string(w.requests),
                w.since_ms > 0 ? tools::format_age_ms(cur.unix_ms - w.since_ms) : "-"});
    }
    wt.print(out);
}

}  // namespace

int top(Session& s, const TopOptions& o, int signal_fd, std::ostream& out) {
    const bool json = s.connection().json;
    const bool interactive = o.terminal && !json;
    const int64_t iterations = o.iterations >= 0 ? o.iterations : (interactive ? 0 : 1);
    const auto interval = std::chrono::milliseconds(o.interval_ms);

    std::optional<Sample> prev;
    Sample cur;
    if (const int rc = take_sample(s, cur, /*report=*/true); rc != kExitOk) return rc;
    int64_t shown = 0;
    if (interactive) {
        out << "\x1b[H\x1b[2J";
        snapshot_text(cur, rates_between(nullptr, cur), s.connection().manager, out);
        if (!flush_ok(out)) return kExitOk;
        ++shown;
    }
    while (iterations == 0 || shown < iterations) {
        if (tools::wait_for_signal(signal_fd, interval)) return kExitOk;
        prev = std::move(cur);
        cur = Sample{};
        const int rc = take_sample(s, cur, /*report=*/!interactive);
        if (rc != kExitOk) {
            if (!interactive) return rc;
            // Keep the last screen, say what is wrong, and keep trying.
            out << "\x1b[H\x1b[2J"
                << "tb-mon top  " << s.connection().manager << "  "
                << tools::format_clock_ms(bus::unix_ms()) << "  "
                << (rc == kExitNoManager ? s.no_answer_text() : "the manager answers with errors")
                << "\n";
            if (!flush_ok(out)) return kExitOk;
            cur = std::move(*prev);
            prev.reset();
            continue;
        }
        const Rates r = rates_between(prev ? &*prev : nullptr, cur);
        if (json) {
            out << snapshot_json(cur, r) << '\n';
        } else {
            if (interactive) {
                out << "\x1b[H\x1b[2J";
            } else if (shown > 0) {
                out << '\n';
            }
            snapshot_text(cur, r, s.connection().manager, out);
        }
        if (!flush_ok(out)) return kExitOk;
        ++shown;
    }
    return kExitOk;
}

}  // namespace tb::mon
