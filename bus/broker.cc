#include "bus/broker.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "bus/security.h"
#include "bus/socket_monitor.h"
#include "codec/errors.h"

namespace tb::bus {

using codec::BusCode;
using codec::Command;
using codec::Envelope;

namespace {

std::chrono::nanoseconds since(Clock::time_point t) {
    return Clock::now() - t;
}

ServiceStats to_service_stats(const ServiceSnapshot& s) {
    ServiceStats out;
    out.service = s.service;
    out.requests = s.requests;
    out.replies = s.replies;
    out.errors = s.errors;
    out.queue = static_cast<int64_t>(s.queue_depth);
    out.p50_us = static_cast<int64_t>(s.p50_us);
    out.p90_us = static_cast<int64_t>(s.p90_us);
    out.p99_us = static_cast<int64_t>(s.p99_us);
    for (const auto& [code, count] : s.errors_by_code) {
        out.errors_by_code.push_back({code, std::string(codec::code_name(code)), count});
    }
    return out;
}

}  // namespace

std::string_view policy_name(Policy p) noexcept {
    return p == Policy::kPack ? "pack" : "least";
}

Broker::Broker(zmq::context_t& ctx, EventLoop& loop, BrokerOptions options)
    : options_(std::move(options)),
      loop_(loop),
      router_(ctx, zmq::socket_type::router),
      pub_(ctx, zmq::socket_type::pub),
      started_(Clock::now()) {
    router_.set(zmq::sockopt::linger, 0);
    router_.set(zmq::sockopt::router_mandatory, 1);
    router_.set(zmq::sockopt::sndhwm, options_.sndhwm);
    router_.set(zmq::sockopt::rcvhwm, options_.rcvhwm);
    router_.set(zmq::sockopt::maxmsgsize, options_.max_message_bytes);
    pub_.set(zmq::sockopt::linger, 0);
    pub_.set(zmq::sockopt::sndhwm, options_.sndhwm);
    pub_.set(zmq::sockopt::maxmsgsize, options_.max_message_bytes);  // subscriptions come in
    if (!options_.curve_secret_key.empty()) {
        zap_ = std::make_unique<ZapHandler>(ctx, loop_, options_.allowed_keys);
        zap_->on_refused(
            [this](const std::string& address, const std::string& key, const std::string& reason) {
                on_socket_event("bus", "refused", address, key.empty() ? reason : key);
            });
        apply_curve_server(router_, options_.curve_secret_key);
        apply_curve_server(pub_, options_.curve_secret_key);
    }
    // Monitors are attached before bind so that "listening" and the first accepts are seen.
    bus_monitor_ =
        std::make_unique<SocketMonitor>(ctx, router_, loop_, [this](const SocketEvent& e) {
            on_socket_event("bus", event_name(e.kind), e.endpoint, {});
        });
    pub_monitor_ = std::make_unique<SocketMonitor>(ctx, pub_, loop_, [this](const SocketEvent& e) {
        on_socket_event("announce", event_name(e.kind), e.endpoint, {});
    });
    router_.bind(options_.bus_endpoint);
    pub_.bind(options_.announce_endpoint);
    loop_.add_socket(router_, [this] { on_bus_readable(); });
    timers_.push_back(loop_.add_repeating(options_.heartbeat, [this] { tick(); }));
    timers_.push_back(
        loop_.add_repeating(std::chrono::milliseconds(50), [this] { expire_queues(); }));
    timers_.push_back(loop_.add_repeating(std::chrono::seconds(1), [this] { announce_stats(); }));
}

Broker::~Broker() {
    for (const TimerId t : timers_) loop_.cancel(t);
    loop_.remove_socket(router_);
}

std::string Broker::bus_endpoint() const {
    auto ep = router_.get(zmq::sockopt::last_endpoint);
    if (auto pos = ep.find("0.0.0.0"); pos != std::string::npos) ep.replace(pos, 7, "127.0.0.1");
    return ep;
}

std::string Broker::announce_endpoint() const {
    auto ep = pub_.get(zmq::sockopt::last_endpoint);
    if (auto pos = ep.find("0.0.0.0"); pos != std::string::npos) ep.replace(pos, 7, "127.0.0.1");
    return ep;
}

// ---------------------------------------------------------------------------------------------
// Receiving

void Broker::on_bus_readable() {
    // Bounded batch: a flood on the bus cannot starve timers (heartbeats, expiry).
    for (int i = 0; i < 1000; ++i) {
        Incoming in;
        const RecvResult r = recv_message(router_, true, in);
        if (r == RecvResult::kEmpty) return;
        if (r == RecvResult::kMalformed) {
            stats_.count_malformed();
            if (in.header_error == codec::EnvelopeError::kVersion && !in.routing_id.empty()) {
                // Tell a peer of another protocol version why nothing works, so its operator
                // sees the reason instead of a silent timeout.
                Envelope e;
                e.command = Command::kDisconnect;
                e.error_code = codec::to_int(BusCode::kVersion);
                e.error_text = "bus protocol version " + std::to_string(in.version_seen) +
                               " not supported; this manager speaks " +
                               std::to_string(codec::kBusVersion);
                zmq::message_t empty;
                send(in.routing_id, e, empty);
            }
            spdlog::debug("broker: malformed message from peer ({})",
                          codec::envelope_error_name(in.header_error));
            continue;
        }
        handle(in);
    }
}

void Broker::handle(Incoming& in) {
    auto it = workers_.find(in.routing_id);
    Worker* w = it == workers_.end() ? nullptr : &it->second;
    if (w != nullptr) w->last_seen = Clock::now();
    switch (in.env.command) {
        case Command::kReady: on_ready(in); return;
        case Command::kRequest: on_request(in); return;
        case Command::kPush: on_push(in); return;
        case Command::kHeartbeat:
        case Command::kReply:
        case Command::kError:
        case Command::kDrain:
        case Command::kDisconnect:
            if (w == nullptr) {
                // A worker the broker does not know (e.g. after a manager restart): tell it to
                // register again. A DISCONNECT from an unknown peer needs no answer.
                if (in.env.command != Command::kDisconnect) {
                    if (in.env.command != Command::kHeartbeat) stats_.count_drop();
                    send_command(in.routing_id, Command::kDisconnect, 0,
                                 codec::to_int(BusCode::kNotRegistered), "not registered");
                }
                return;
            }
            if (in.env.command == Command::kHeartbeat) on_heartbeat(*w, in);
            if (in.env.command == Command::kReply || in.env.command == Command::kError) {
                on_answer(*w, in);
            }
            if (in.env.command == Command::kDrain) on_drain(*w, in);
            if (in.env.command == Command::kDisconnect) remove_worker(in.routing_id, "left");
            return;
    }
}

void Broker::on_ready(Incoming& in) {
    ReadyBody ready;
    if (codec::decode(in.body_view(), ready) != codec::MsgError::kOk ||
        !codec::is_valid_identity(ready.name) || !codec::is_valid_identity(ready.service) ||
        ready.service.starts_with(kMmiPrefix) || ready.service.starts_with("@")) {
        stats_.count_malformed();
        send_command(in.routing_id, Command::kDisconnect, 0, codec::to_int(BusCode::kBadEnvelope),
                     "READY body invalid");
        return;
    }
    if (auto known = workers_.find(in.routing_id); known != workers_.end()) {
        // READY again on a live connection (the node thought it lost us): refresh, no delta.
        known->second.last_seen = Clock::now();
        send_ready_ack(in.routing_id);
        return;
    }
    if (auto other = rid_by_name_.find(ready.name); other != rid_by_name_.end()) {
        const Worker& holder = workers_.at(other->second);
        if (holder.info.instance == ready.instance) {
            // The same process on a new connection (it reconnected): the old one is stale.
            remove_worker(other->second, "reconnected");
        } else {
            const std::string why = "id " + ready.name + " is in use by pid " +
                                    std::to_string(holder.info.pid) + " on " + holder.info.host;
            spdlog::warn("broker: refused READY from {} (pid {} on {}): {}", ready.name, ready.pid,
                         ready.host, why);
            send_command(in.routing_id, Command::kDisconnect, 0, codec::to_int(BusCode::kIdInUse),
                         why);
            return;
        }
    }
    Worker w;
    w.rid = in.routing_id;
    w.idempotent = (in.env.flags & codec::kFlagIdempotent) != 0;
    w.last_seen = Clock::now();
    w.since_ms = unix_ms();
    w.info = std::move(ready);
    const std::string name = w.info.name;
    const std::string svc = w.info.service;
    auto pos = workers_.emplace(in.routing_id, std::move(w)).first;
    rid_by_name_[name] = in.routing_id;
    Service& s = service(svc);
    s.workers.push_back(in.routing_id);
    spdlog::info("broker: {} ready for service {} (pid {} on {}, capacity {})", name, svc,
                 pos->second.info.pid, pos->second.info.host, pos->second.info.capacity);
    send_ready_ack(in.routing_id);
    announce_delta("up", pos->second, "ready");
    dispatch(s);
}

void Broker::on_heartbeat(Worker& w, Incoming& in) {
    HeartbeatBody hb;
    if (codec::decode(in.body_view(), hb) != codec::MsgError::kOk) {
        stats_.count_malformed();
        return;
    }
    const int64_t old_load = w.load;
    w.load = hb.load;
    if (hb.degraded != w.degraded) {
        w.degraded = hb.degraded;
        announce_delta("update", w, hb.degraded ? "degraded" : "recovered");
    }
    if (w.load < old_load) dispatch(service(w.info.service));
}

void Broker::on_drain(Worker& w, Incoming& in) {
    // A node shutting itself (SIGTERM) or reopening.
    set_open(w, (in.env.flags & codec::kFlagOpen) != 0, /*tell_node=*/false);
}

// ---------------------------------------------------------------------------------------------
// Requests and answers

void Broker::on_request(Incoming& in) {
    const std::string target = in.env.target;  // a copy: in.env is moved below
    if (target.starts_with(kMmiPrefix)) {
        on_mmi(in);
        return;
    }
    Request req;
    req.caller = in.routing_id;
    req.caller_name = name_of(in.routing_id);
    req.env = std::move(in.env);
    req.body = std::move(in.body);
    req.received = Clock::now();
    if (target.starts_with('@')) {
        Worker* w = worker_by_name(std::string_view(target).substr(1));
        if (w == nullptr) {
            stats_.service(target).record_error(codec::to_int(BusCode::kUnknownTarget));
            answer_error(req, BusCode::kUnknownTarget, "no such node");
            return;
        }
        if (w->inflight.size() >= options_.inflight_cap) {
            stats_.service(target).record_error(codec::to_int(BusCode::kOverloaded));
            answer_error(req, BusCode::kOverloaded, "overloaded");
            return;
        }
        stats_.service(target).record_request();
        send_to_worker(*w, std::move(req), {});
        return;
    }
    if (!codec::is_valid_identity(target) || target == kProxyService) {
        stats_.count_malformed();
        answer_error(req, BusCode::kNoService, "no such service");
        return;
    }
    Service& s = service(target);
    stats_.service(s.name).record_request();
    if (s.queue.size() >= options_.queue_cap) {
        stats_.service(s.name).record_error(codec::to_int(BusCode::kOverloaded));
        answer_error(req, BusCode::kOverloaded, "overloaded");
        return;
    }
    auto deadline = req.received + options_.queue_deadline;
    if (req.env.timeout_ms > 0) {
        // Answer "no service" a little before the caller gives up, so it learns why instead of
        // seeing a bare timeout.
        const auto caller = std::chrono::milliseconds(req.env.timeout_ms * 9 / 10);
        deadline = std::min(deadline, req.received + caller);
    }
    req.queue_deadline = deadline;
    if (s.queue.empty()) {
        if (Worker* w = pick(s); w != nullptr) {
            send_to_worker(*w, std::move(req), s.name);
            return;
        }
    }
    s.queue.push_back(std::move(req));
    stats_.service(s.name).queue_depth = s.queue.size();
}

void Broker::send_to_worker(Worker& w, Request&& req, const std::string& svc) {
    const uint64_t id = next_request_id_++;
    Envelope fwd = req.env;
    fwd.correlation = id;
    fwd.source = req.caller_name;
    zmq::message_t body;
    if (w.idempotent && !svc.empty()) {
        body.copy(req.body);  // kept for one requeue if this worker dies
    } else {
        body.move(req.body);
    }
    const SendResult sent = send_message(router_, w.rid, fwd, body);
    if (sent != SendResult::kOk) {
        stats_.count_drop();
        if (!w.idempotent || svc.empty()) req.body.move(body);  // a failed send leaves it intact
        if (sent == SendResult::kUnreachable) {
            // ROUTER_MANDATORY says the connection is gone: the worker died (or will come back
            // on a new connection and READY again). Drop it now rather than at expiry, which
            // also requeues its idempotent requests, and give this request to another worker.
            const std::string rid = w.rid;
            if (!svc.empty()) service(svc).queue.push_front(std::move(req));
            remove_worker(rid, "unreachable");
            if (svc.empty()) {
                answer_error(req, BusCode::kWorkerLost, "worker unreachable");
                stats_.service(req.env.target)
                    .record_error(codec::to_int(BusCode::kWorkerLost), since(req.received));
            }
            return;
        }
        // Its queue is full: answer now rather than pile more on it.
        answer_error(req, BusCode::kOverloaded, "worker queue full");
        stats_.service(svc.empty() ? req.env.target : svc)
            .record_error(codec::to_int(BusCode::kOverloaded), since(req.received));
        return;
    }
    w.last_used = Clock::now();
    ++w.requests;
    w.inflight.insert(id);
    ++stats_.worker(w.info.name).requests;
    inflight_.emplace(id, InFlight{std::move(req), w.rid, svc, Clock::now()});
}

void Broker::on_answer(Worker& w, Incoming& in) {
    auto it = inflight_.find(in.env.correlation);
    if (it == inflight_.end() || it->second.worker_rid != w.rid) {
        // Late answer to a request already failed over (or never ours): count and drop.
        stats_.count_drop();
        return;
    }
    InFlight f = std::move(it->second);
    inflight_.erase(it);
    w.inflight.erase(in.env.correlation);
    Envelope back = std::move(in.env);
    back.correlation = f.req.env.correlation;
    back.source = w.info.name;
    back.target.clear();
    const std::string stat_name = f.service.empty() ? f.req.env.target : f.service;
    WorkerCounters& wc = stats_.worker(w.info.name);
    if (back.command == Command::kError || back.error_code != 0) {
        stats_.service(stat_name).record_error(back.error_code, since(f.req.received));
        ++wc.errors;
    } else {
        stats_.service(stat_name).record_reply(since(f.req.received));
        ++wc.replies;
    }
    send(f.req.caller, back, in.body);
    if (!f.service.empty()) dispatch(service(f.service));
}

void Broker::on_push(Incoming& in) {
    const std::string& target = in.env.target;
    in.env.source = name_of(in.routing_id);
    Worker* w = nullptr;
    if (target.starts_with('@')) {
        w = worker_by_name(std::string_view(target).substr(1));
    } else if (codec::is_valid_identity(target) && !target.starts_with(kMmiPrefix)) {
        auto s = services_.find(target);
        if (s != services_.end()) w = pick(s->second);
    }
    if (w == nullptr) {
        // Pushes are fire-and-forget; a push to nobody is counted, like any other drop.
        stats_.count_drop();
        return;
    }
    send(w->rid, in.env, in.body);
}

Broker::Worker* Broker::pick(Service& s) {
    // Degraded workers (e.g. a db node whose storage is down) only get work when every worker
    // is degraded: then the request fails fast there instead of waiting out the queue.
    for (const bool allow_degraded : {false, true}) {
        if (Worker* w = pick_among(s, allow_degraded); w != nullptr) return w;
    }
    return nullptr;
}

Broker::Worker* Broker::pick_among(Service& s, bool allow_degraded) {
    Worker* best = nullptr;
    const auto eligible = [&](const Worker& w) {
        return w.open && (allow_degraded || !w.degraded) &&
               w.inflight.size() < options_.inflight_cap;
    };
    if (s.policy == Policy::kPack) {
        // Fullest worker still under capacity, so players gather and tables fill fast.
        for (const auto& rid : s.workers) {
            Worker& w = workers_.at(rid);
            if (!eligible(w) || (w.info.capacity > 0 && w.load >= w.info.capacity)) continue;
            if (best == nullptr || w.load > best->load ||
                (w.load == best->load && w.last_used < best->last_used)) {
                best = &w;
            }
        }
        if (best != nullptr) return best;
    }
    // Least loaded, counting what we sent since its last report; ties by least recently used.
    const auto key = [](const Worker& w) {
        return w.load + static_cast<int64_t>(w.inflight.size());
    };
    for (const auto& rid : s.workers) {
        Worker& w = workers_.at(rid);
        if (!eligible(w)) continue;
        if (best == nullptr || key(w) < key(*best) ||
            (key(w) == key(*best) && w.last_used < best->last_used)) {
            best = &w;
        }
    }
    return best;
}

void Broker::dispatch(Service& s) {
    while (!s.queue.empty()) {
        Worker* w = pick(s);
        if (w == nullptr) break;
        Request req = std::move(s.queue.front());
        s.queue.pop_front();
        send_to_worker(*w, std::move(req), s.name);
    }
    stats_.service(s.name).queue_depth = s.queue.size();
}

void Broker::expire_queues() {
    const auto now = Clock::now();
    for (auto& [name, s] : services_) {
        bool changed = false;
        // Deadlines are not in queue order (callers give their own), so scan the whole queue;
        // it is capped.
        for (auto it = s.queue.begin(); it != s.queue.end();) {
            if (it->queue_deadline > now) {
                ++it;
                continue;
            }
            stats_.service(name).record_error(codec::to_int(BusCode::kNoService),
                                              since(it->received));
            answer_error(*it, BusCode::kNoService, "no service");
            it = s.queue.erase(it);
            changed = true;
        }
        if (changed) stats_.service(name).queue_depth = s.queue.size();
    }
}

// ---------------------------------------------------------------------------------------------
// Workers coming and going

void Broker::tick() {
    const auto now = Clock::now();
    const auto limit = options_.heartbeat * options_.liveness;
    std::vector<std::string> expired;
    for (auto& [rid, w] : workers_) {
        if (now - w.last_seen > limit) {
            expired.push_back(rid);
        } else {
            send_command(rid, Command::kHeartbeat);
        }
    }
    for (const auto& rid : expired) remove_worker(rid, "expired");
    Hugz h;
    h.seq = seq_;
    h.workers = static_cast<int64_t>(workers_.size());
    announce(kTopicHugz, codec::encode(h));
}

void Broker::remove_worker(const std::string& rid, std::string_view reason) {
    auto it = workers_.find(rid);
    if (it == workers_.end()) return;
    Worker w = std::move(it->second);
    workers_.erase(it);
    if (auto n = rid_by_name_.find(w.info.name); n != rid_by_name_.end() && n->second == rid) {
        rid_by_name_.erase(n);
    }
    Service& s = service(w.info.service);
    std::erase(s.workers, rid);
    spdlog::info("broker: {} left service {} ({}), {} request(s) in flight", w.info.name,
                 w.info.service, reason, w.inflight.size());
    for (const uint64_t id : w.inflight) {
        auto f = inflight_.find(id);
        if (f == inflight_.end()) continue;
        InFlight lost = std::move(f->second);
        inflight_.erase(f);
        if (w.idempotent && !lost.service.empty() && lost.req.attempts == 0) {
            // Requeue once, at the front: it has waited longest.
            lost.req.attempts = 1;
            lost.req.queue_deadline = Clock::now() + options_.queue_deadline;
            service(lost.service).queue.push_front(std::move(lost.req));
            continue;
        }
        const std::string stat_name = lost.service.empty() ? lost.req.env.target : lost.service;
        stats_.service(stat_name).record_error(codec::to_int(BusCode::kWorkerLost),
                                               since(lost.req.received));
        answer_error(lost.req, BusCode::kWorkerLost, "worker lost");
    }
    stats_.remove_worker(w.info.name);
    announce_delta("down", w, reason);
    dispatch(s);
}

void Broker::set_open(Worker& w, bool open, bool tell_node) {
    if (w.open == open) return;
    w.open = open;
    if (tell_node) send_command(w.rid, Command::kDrain, open ? codec::kFlagOpen : 0);
    spdlog::info("broker: {} {}", w.info.name, open ? "opened" : "shut");
    announce_delta("update", w, open ? "open" : "shut");
    if (open) dispatch(service(w.info.service));
}

// ---------------------------------------------------------------------------------------------
// mmi.*: answered by the broker itself

void Broker::on_mmi(Incoming& in) {
    const std::string& op = in.env.target;
    const std::string rid = in.routing_id;
    if (op == kMmiEcho) {
        reply_body(rid, in.env, in.body_view());
        return;
    }
    if (op == kMmiSnapshot) {
        reply_body(rid, in.env, codec::encode(snapshot()));
        return;
    }
    if (op == kMmiService) {
        ServiceQuery q;
        if (codec::decode(in.body_view(), q) != codec::MsgError::kOk) {
            answer_error(rid, in.env, codec::to_int(codec::Errno::kMalformed), "malformed");
            return;
        }
        ServiceList list;
        for (const auto& [name, s] : services_) {
            if (!q.service.empty() && name != q.service) continue;
            if (q.service.empty() && s.workers.empty() && s.queue.empty()) continue;
            list.services.push_back(status_of(s));
        }
        if (!q.service.empty() && list.services.empty()) {
            ServiceStatus none;
            none.service = q.service;
            none.policy = policy_name(policy_for(q.service));
            list.services.push_back(none);
        }
        reply_body(rid, in.env, codec::encode(list));
        return;
    }
    if (op == kMmiWorkers) {
        ServiceQuery q;
        if (codec::decode(in.body_view(), q) != codec::MsgError::kOk) {
            answer_error(rid, in.env, codec::to_int(codec::Errno::kMalformed), "malformed");
            return;
        }
        WorkerList list;
        for (const auto& [r, w] : workers_) {
            if (q.service.empty() || w.info.service == q.service)
                list.workers.push_back(info_of(w));
        }
        std::sort(list.workers.begin(), list.workers.end(),
                  [](const WorkerInfo& a, const WorkerInfo& b) { return a.name < b.name; });
        reply_body(rid, in.env, codec::encode(list));
        return;
    }
    if (op == kMmiStats) {
        reply_body(rid, in.env, codec::encode(stats_reply()));
        return;
    }
    if (op == kMmiShut || op == kMmiOpen || op == kMmiHealth) {
        NodeQuery q;
        if (codec::decode(in.body_view(), q) != codec::MsgError::kOk) {
            answer_error(rid, in.env, codec::to_int(codec::Errno::kMalformed), "malformed");
            return;
        }
        Worker* w = worker_by_name(q.node);
        if (op == kMmiHealth) {
            HealthReply h;
            h.node = q.node;
            h.registered = w != nullptr;
            h.open = w != nullptr && w->open;
            h.degraded = w != nullptr && w->degraded;
            reply_body(rid, in.env, codec::encode(h));
            return;
        }
        if (w == nullptr) {
            answer_error(rid, in.env, codec::to_int(BusCode::kUnknownTarget), "no such node");
            return;
        }
        set_open(*w, op == kMmiOpen, /*tell_node=*/true);
        reply_body(rid, in.env, codec::encode(OkBody{}));
        return;
    }
    if (op == kMmiNotice) {
        NoticeBody n;
        if (codec::decode(in.body_view(), n) != codec::MsgError::kOk || n.text.empty()) {
            answer_error(rid, in.env, codec::to_int(codec::Errno::kInvalidField), "bad notice");
            return;
        }
        announce(kTopicNotice, codec::encode(n));
        reply_body(rid, in.env, codec::encode(OkBody{}));
        return;
    }
    if (op == kMmiKick) {
        KickBody k;
        if (codec::decode(in.body_view(), k) != codec::MsgError::kOk || k.user_id <= 0) {
            answer_error(rid, in.env, codec::to_int(codec::Errno::kInvalidField), "bad user id");
            return;
        }
        // Every proxy gets it; the one holding the user's session acts on it.
        const std::string body = codec::encode(k);
        int sent = 0;
        auto s = services_.find(std::string(kProxyService));
        if (s != services_.end()) {
            for (const auto& prid : s->second.workers) {
                Envelope e;
                e.command = Command::kPush;
                e.msg_type = kMsgKickUser;
                e.user = static_cast<uint64_t>(k.user_id);
                e.source = "manager";
                zmq::message_t m(body.data(), body.size());
                if (send(prid, e, m)) ++sent;
            }
        }
        OkBody ok;
        ok.detail = "sent to " + std::to_string(sent) + " proxies";
        reply_body(rid, in.env, codec::encode(ok));
        return;
    }
    answer_error(rid, in.env, codec::to_int(BusCode::kNoService), "unknown mmi operation");
}

// ---------------------------------------------------------------------------------------------
// Sending

bool Broker::send(const std::string& rid, const Envelope& env, zmq::message_t& body) {
    const SendResult r = send_message(router_, rid, env, body);
    if (r == SendResult::kOk) return true;
    stats_.count_drop();
    return false;
}

void Broker::answer_error(const Request& req, BusCode code, std::string_view text) {
    answer_error(req.caller, req.env, codec::to_int(code), text);
}

void Broker::answer_error(const std::string& rid, const Envelope& req, int32_t code,
                          std::string_view text) {
    Envelope e = codec::answer_to(req, Command::kError, code, text);
    e.source = "manager";
    zmq::message_t empty;
    send(rid, e, empty);
}

void Broker::reply_body(const std::string& rid, const Envelope& req, std::string_view body) {
    Envelope e = codec::answer_to(req, Command::kReply);
    e.source = "manager";
    zmq::message_t m(body.data(), body.size());
    send(rid, e, m);
}

void Broker::send_command(const std::string& rid, Command cmd, uint16_t flags, int32_t code,
                          std::string_view text, std::string_view body) {
    Envelope e;
    e.command = cmd;
    e.flags = flags;
    e.error_code = code;
    e.error_text = std::string(text);
    e.source = "manager";
    zmq::message_t msg(body.data(), body.size());
    send(rid, e, msg);
}

void Broker::send_ready_ack(const std::string& rid) {
    ReadyAckBody ack;
    ack.heartbeat_ms = options_.heartbeat.count();
    ack.liveness = options_.liveness;
    send_command(rid, Command::kReady, 0, 0, {}, codec::encode(ack));
}

// ---------------------------------------------------------------------------------------------
// Announcements

void Broker::announce(std::string_view topic, const std::string& body) {
    try {
        zmq::message_t t(topic.data(), topic.size());
        zmq::message_t b(body.data(), body.size());
        // PUB never blocks: at the HWM a slow subscriber loses messages and resyncs by seq.
        pub_.send(t, zmq::send_flags::sndmore | zmq::send_flags::dontwait);
        pub_.send(b, zmq::send_flags::dontwait);
    } catch (const zmq::error_t& e) {
        spdlog::warn("broker: announcement on {} failed: {}", topic, e.what());
    }
}

void Broker::announce_delta(std::string_view op, const Worker& w, std::string_view reason) {
    TableDelta d;
    d.seq = ++seq_;
    d.op = std::string(op);
    d.reason = std::string(reason);
    d.worker = info_of(w);
    announce(kTopicTable, codec::encode(d));
}

void Broker::announce_stats() {
    announce(kTopicStats, codec::encode(stats_reply()));
}

StatsReply Broker::stats_reply() const {
    const StatsSnapshot snap = stats_.snapshot();
    StatsReply r;
    r.uptime_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started_).count();
    r.workers = static_cast<int64_t>(workers_.size());
    r.drops = snap.drops;
    r.malformed = snap.malformed;
    for (const auto& svc : snap.services) r.services.push_back(to_service_stats(svc));
    return r;
}

void Broker::on_socket_event(std::string_view socket, std::string_view event,
                             std::string_view endpoint, std::string_view detail) {
    SocketEventBody e;
    e.socket = std::string(socket);
    e.event = std::string(event);
    e.endpoint = std::string(endpoint);
    e.detail = std::string(detail);
    e.time_ms = unix_ms();
    if (event == "refused" || event == "handshake_failed") {
        spdlog::warn("broker: {} {} on {} {}", socket, event, endpoint, detail);
    }
    announce(kTopicEvent, codec::encode(e));
}

// ---------------------------------------------------------------------------------------------
// Views

Snapshot Broker::snapshot() const {
    Snapshot s;
    s.seq = seq_;
    for (const auto& [rid, w] : workers_) s.workers.push_back(info_of(w));
    std::sort(s.workers.begin(), s.workers.end(),
              [](const WorkerInfo& a, const WorkerInfo& b) { return a.name < b.name; });
    return s;
}

WorkerInfo Broker::info_of(const Worker& w) const {
    WorkerInfo i;
    i.name = w.info.name;
    i.service = w.info.service;
    i.kind = w.info.kind;
    i.id = w.info.id;
    i.capacity = w.info.capacity;
    i.load = w.load;
    i.inflight = static_cast<int64_t>(w.inflight.size());
    i.open = w.open;
    i.degraded = w.degraded;
    i.idempotent = w.idempotent;
    i.version = w.info.version;
    i.pid = w.info.pid;
    i.host = w.info.host;
    i.since_ms = w.since_ms;
    i.requests = w.requests;
    return i;
}

ServiceStatus Broker::status_of(const Service& s) const {
    ServiceStatus st;
    st.service = s.name;
    st.policy = policy_name(s.policy);
    st.queue = static_cast<int64_t>(s.queue.size());
    for (const auto& rid : s.workers) {
        const Worker& w = workers_.at(rid);
        ++st.workers;
        if (w.open) ++st.open_workers;
        st.load += w.load;
        st.capacity += w.info.capacity;
        st.inflight += static_cast<int64_t>(w.inflight.size());
    }
    if (const ServiceCounters* c = stats_.find_service(s.name); c != nullptr) {
        st.requests = c->requests;
        st.replies = c->replies;
        st.errors = c->errors;
        using std::chrono::duration_cast;
        using std::chrono::microseconds;
        st.p50_us = duration_cast<microseconds>(c->latency.percentile(50)).count();
        st.p99_us = duration_cast<microseconds>(c->latency.percentile(99)).count();
    }
    return st;
}

Broker::Worker* Broker::worker_by_name(std::string_view name) {
    auto it = rid_by_name_.find(std::string(name));
    if (it == rid_by_name_.end()) return nullptr;
    return &workers_.at(it->second);
}

std::string Broker::name_of(const std::string& rid) const {
    auto it = workers_.find(rid);
    return it == workers_.end() ? rid : it->second.info.name;
}

Policy Broker::policy_for(const std::string& name) const {
    for (const auto& p : options_.pack_prefixes) {
        if (name.starts_with(p)) return Policy::kPack;
    }
    return Policy::kLeast;
}

Broker::Service& Broker::service(const std::string& name) {
    auto it = services_.find(name);
    if (it != services_.end()) return it->second;
    Service s;
    s.name = name;
    s.policy = policy_for(name);
    return services_.emplace(name, std::move(s)).first->second;
}

std::string Broker::render_metrics() const {
    std::vector<Gauge> gauges;
    for (const auto& [name, s] : services_) {
        const ServiceStatus st = status_of(s);
        gauges.push_back({"tablebus_workers",
                          "Workers registered per service",
                          {{"service", name}},
                          static_cast<double>(st.workers)});
        gauges.push_back({"tablebus_open_workers",
                          "Open workers per service",
                          {{"service", name}},
                          static_cast<double>(st.open_workers)});
        gauges.push_back({"tablebus_service_load",
                          "Sum of reported worker load per service",
                          {{"service", name}},
                          static_cast<double>(st.load)});
    }
    gauges.push_back({"tablebus_inflight",
                      "Requests in flight on workers",
                      {},
                      static_cast<double>(inflight_.size())});
    return render_prometheus(stats_, gauges);
}

int64_t unix_ms() noexcept {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace tb::bus
