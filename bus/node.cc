#include "bus/node.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <random>

#include "bus/security.h"
#include "codec/fields.h"

namespace tb::bus {

using codec::BusCode;
using codec::Command;
using codec::Envelope;

namespace {

uint64_t random_u64() {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

std::string hostname() {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
    return buf;
}

std::string hex8(uint64_t v) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string s(8, '0');
    for (int i = 7; i >= 0; --i, v >>= 4) s[i] = kDigits[v & 0xf];
    return s;
}

}  // namespace

Node::Node(zmq::context_t& ctx, EventLoop& loop, NodeOptions options)
    : ctx_(ctx),
      loop_(loop),
      options_(std::move(options)),
      name_(options_.kind + "-" + std::to_string(options_.id)),
      host_(hostname()),
      instance_(random_u64()) {
    if (!codec::is_valid_identity(name_)) {
        throw std::invalid_argument("bus identity '" + name_ + "' is not 1..64 printable bytes");
    }
    if (!options_.service.empty() && !codec::is_valid_identity(options_.service)) {
        throw std::invalid_argument("service name '" + options_.service + "' is invalid");
    }
}

Node::~Node() {
    stop();
}

void Node::on_request(uint32_t msg_type, RequestHandler h) {
    request_handlers_[msg_type] = std::move(h);
}
void Node::on_push(uint32_t msg_type, PushHandler h) {
    push_handlers_[msg_type] = std::move(h);
}
void Node::on_any_request(RequestHandler h) {
    any_request_ = std::move(h);
}
void Node::on_any_push(PushHandler h) {
    any_push_ = std::move(h);
}

// ---------------------------------------------------------------------------------------------
// Connection lifecycle

void Node::connect() {
    if (dealer_) {
        loop_.remove_socket(*dealer_);
        dealer_.reset();
    }
    dealer_ = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::dealer);
    // A fresh suffix per connection: the broker tells a reconnect of this process from a
    // second process with the same id by READY's instance, never by a colliding routing id.
    const std::string rid = name_ + "." + hex8(random_u64());
    dealer_->set(zmq::sockopt::routing_id, rid);
    dealer_->set(zmq::sockopt::linger, 0);
    dealer_->set(zmq::sockopt::sndhwm, 100000);
    dealer_->set(zmq::sockopt::rcvhwm, 100000);
    if (!options_.curve_secret_key.empty()) {
        apply_curve_client(*dealer_,
                           CurveKeyPair{options_.curve_public_key, options_.curve_secret_key},
                           options_.curve_server_key);
    }
    dealer_->connect(options_.manager);
    loop_.add_socket(*dealer_, [this] { on_readable(); });
    last_heard_ = Clock::now();
}

void Node::start() {
    if (started_) return;
    started_ = true;
    connect();
    if (!options_.announce.empty()) {
        sub_ = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::sub);
        sub_->set(zmq::sockopt::linger, 0);
        if (!options_.curve_secret_key.empty()) {
            apply_curve_client(*sub_,
                               CurveKeyPair{options_.curve_public_key, options_.curve_secret_key},
                               options_.curve_server_key);
        }
        sub_->set(zmq::sockopt::subscribe, "");
        sub_->connect(options_.announce);
        loop_.add_socket(*sub_, [this] { on_sub_readable(); });
        resync();
    }
    if (!options_.service.empty()) {
        state_ = NodeState::kRegistering;
        send_ready();
    }
    heartbeat_timer_ = loop_.add_repeating(options_.heartbeat, [this] { tick(); });
}

void Node::stop() {
    if (!started_ || state_ == NodeState::kStopped) return;
    if (state_ == NodeState::kRegistered || state_ == NodeState::kRegistering) {
        // Also while registering: a READY may be on its way, and the broker should not keep
        // a registration nobody heartbeats for the whole liveness window.
        Envelope e;
        e.command = Command::kDisconnect;
        send(e, {});
    }
    state_ = NodeState::kStopped;
    loop_.cancel(heartbeat_timer_);
    auto pending = std::move(pending_);
    pending_.clear();
    for (auto& [id, p] : pending) {
        loop_.cancel(p.timer);
        Reply r;
        r.code = codec::to_int(BusCode::kWorkerLost);
        r.text = "node stopped";
        if (p.cb) p.cb(std::move(r));
    }
    if (dealer_) loop_.remove_socket(*dealer_);
    if (sub_) loop_.remove_socket(*sub_);
}

void Node::send_ready() {
    ReadyBody r;
    r.service = options_.service;
    r.name = name_;
    r.kind = options_.kind;
    r.id = options_.id;
    r.capacity = options_.capacity;
    r.version = options_.version;
    r.pid = ::getpid();
    r.host = host_;
    r.instance = instance_;
    Envelope e;
    e.command = Command::kReady;
    e.target = options_.service;
    e.flags = options_.idempotent ? codec::kFlagIdempotent : 0;
    send(e, codec::encode(r));
}

void Node::adopt_timing(std::string_view ack_body) {
    ReadyAckBody ack;
    if (ack_body.empty() || codec::decode(ack_body, ack) != codec::MsgError::kOk) return;
    if (ack.heartbeat_ms < kMinHeartbeatMs || ack.heartbeat_ms > kMaxHeartbeatMs ||
        ack.liveness < kMinLiveness || ack.liveness > kMaxLiveness) {
        spdlog::warn("bus: {} ignores the manager's heartbeat timing ({} ms x {}): out of range",
                     name_, ack.heartbeat_ms, ack.liveness);
        return;
    }
    const std::chrono::milliseconds heartbeat(ack.heartbeat_ms);
    if (heartbeat == options_.heartbeat && ack.liveness == options_.liveness) return;
    spdlog::info("bus: {} takes the manager's heartbeat timing: every {} ms, silent after {}",
                 name_, ack.heartbeat_ms, ack.liveness);
    options_.heartbeat = heartbeat;
    options_.liveness = ack.liveness;
    loop_.cancel(heartbeat_timer_);
    heartbeat_timer_ = loop_.add_repeating(heartbeat, [this] { tick(); });
}

void Node::tick() {
    const auto now = Clock::now();
    if (sub_ && !synced_ && !syncing_) resync();
    if (options_.service.empty()) return;
    const auto silence_limit = options_.heartbeat * options_.liveness;
    switch (state_) {
        case NodeState::kRegistered:
            if (now - last_heard_ > silence_limit) {
                on_manager_lost();
                return;
            }
            break;
        case NodeState::kRegistering:
            if (refused_since_ != Clock::time_point{}) {
                // Our id is held by another registration. If that is our own ghost (a crash
                // and restart inside the liveness window) the broker expires it within
                // liveness; if it outlives that, another live process has our id.
                if (now - refused_since_ > silence_limit + options_.heartbeat) {
                    state_ = NodeState::kRefused;
                    spdlog::error("bus: {} refused by the manager: {}", name_, refused_reason_);
                    if (on_fatal_) on_fatal_(refused_reason_);
                    return;
                }
                send_ready();
                return;
            }
            if (now - last_heard_ > silence_limit) on_manager_lost();
            return;
        case NodeState::kDisconnected:
            if (now >= next_attempt_) {
                spdlog::info("bus: {} reconnecting to {}", name_, options_.manager);
                connect();
                state_ = NodeState::kRegistering;
                send_ready();
            }
            return;
        case NodeState::kRefused:
        case NodeState::kStopped: return;
    }
    send_heartbeat();
}

void Node::send_heartbeat() {
    HeartbeatBody hb;
    hb.load = load_;
    hb.degraded = degraded_;
    Envelope e;
    e.command = Command::kHeartbeat;
    send(e, codec::encode(hb));
}

void Node::on_manager_lost() {
    backoff_ = std::min(std::max(backoff_ * 2, options_.heartbeat), options_.max_backoff);
    spdlog::warn("bus: {} lost the manager at {}; reconnecting in {} ms", name_, options_.manager,
                 backoff_.count());
    state_ = NodeState::kDisconnected;
    next_attempt_ = Clock::now() + backoff_;
}

void Node::set_degraded(bool degraded) {
    if (degraded == degraded_) return;
    degraded_ = degraded;
    // Tell the broker now, not at the next tick: it stops routing to a degraded node.
    if (state_ == NodeState::kRegistered) send_heartbeat();
}

void Node::set_open(bool open) {
    open_ = open;
    Envelope e;
    e.command = Command::kDrain;
    e.flags = open ? codec::kFlagOpen : 0;
    if (state_ == NodeState::kRegistered) send(e, {});
}

// ---------------------------------------------------------------------------------------------
// Receiving

void Node::on_readable() {
    // Bounded batch so one busy socket cannot starve the loop's timers.
    for (int i = 0; i < 1000 && dealer_; ++i) {
        Incoming in;
        const RecvResult r = recv_message(*dealer_, false, in);
        if (r == RecvResult::kEmpty) return;
        last_heard_ = Clock::now();
        if (r == RecvResult::kMalformed) {
            spdlog::warn("bus: {} dropped a malformed message ({})", name_,
                         codec::envelope_error_name(in.header_error));
            continue;
        }
        dispatch(in);
    }
}

void Node::dispatch(Incoming& in) {
    switch (in.env.command) {
        case Command::kReady:
            adopt_timing(in.body_view());
            if (state_ != NodeState::kRegistered) {
                state_ = NodeState::kRegistered;
                backoff_ = std::chrono::milliseconds(0);
                refused_since_ = {};
                spdlog::info("bus: {} registered for service {}", name_, options_.service);
                if (!open_) set_open(false);
                if (on_registered_) on_registered_();
            }
            return;
        case Command::kHeartbeat: return;
        case Command::kDisconnect:
            if (in.env.error_code == codec::to_int(BusCode::kIdInUse)) {
                if (refused_since_ == Clock::time_point{}) refused_since_ = Clock::now();
                refused_reason_ = in.env.error_text;
                state_ = NodeState::kRegistering;
                return;
            }
            if (in.env.error_code == codec::to_int(BusCode::kVersion) ||
                in.env.error_code == codec::to_int(BusCode::kBadEnvelope)) {
                state_ = NodeState::kRefused;
                spdlog::error("bus: {} refused by the manager: {}", name_, in.env.error_text);
                if (on_fatal_) on_fatal_(in.env.error_text);
                return;
            }
            if (options_.service.empty() || state_ == NodeState::kStopped) return;
            // The broker does not know us (it restarted, or expired us): register again.
            spdlog::info("bus: {} asked to register again ({})", name_, in.env.error_text);
            state_ = NodeState::kRegistering;
            send_ready();
            return;
        case Command::kDrain:
            open_ = (in.env.flags & codec::kFlagOpen) != 0;
            spdlog::info("bus: {} {} by the manager", name_, open_ ? "opened" : "shut");
            if (on_drain_) on_drain_(open_);
            return;
        case Command::kReply:
        case Command::kError: on_answer(in); return;
        case Command::kPush: {
            const std::string_view body = in.body_view();
            auto it = push_handlers_.find(in.env.msg_type);
            try {
                if (it != push_handlers_.end()) {
                    it->second(in.env, body);
                } else if (any_push_) {
                    any_push_(in.env, body);
                }
            } catch (const std::exception& e) {
                spdlog::error("bus: {} push handler for type {:#x} threw: {}", name_,
                              in.env.msg_type, e.what());
            }
            return;
        }
        case Command::kRequest: {
            Request req{std::move(in.env), std::string(in.body_view())};
            auto it = request_handlers_.find(req.env.msg_type);
            RequestHandler* h = it != request_handlers_.end() ? &it->second
                                : any_request_                ? &any_request_
                                                              : nullptr;
            if (h == nullptr) {
                fail(req.env, codec::to_int(codec::Errno::kUnknownCommand), "unknown command");
                return;
            }
            try {
                (*h)(req);
            } catch (const std::exception& e) {
                spdlog::error("bus: {} handler for type {:#x} threw (request {} from {}): {}",
                              name_, req.env.msg_type, req.env.correlation, req.env.source,
                              e.what());
                fail(req.env, codec::to_int(codec::Errno::kFailure), "failure");
            }
            return;
        }
    }
}

Reply reply_from(Incoming&& in) {
    Reply r;
    r.code = in.env.command == Command::kError && in.env.error_code == 0
                 ? codec::to_int(codec::Errno::kFailure)
                 : in.env.error_code;
    r.text = in.env.error_text;
    r.body.assign(in.body_view());
    r.env = std::move(in.env);
    return r;
}

void Node::on_answer(Incoming& in) {
    const uint64_t id = in.env.correlation;
    complete(id, reply_from(std::move(in)));
}

void Node::complete(uint64_t id, Reply&& r) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return;  // answered after its deadline: already failed
    Pending p = std::move(it->second);
    pending_.erase(it);
    loop_.cancel(p.timer);
    if (!p.cb) return;
    try {
        p.cb(std::move(r));
    } catch (const std::exception& e) {
        spdlog::error("bus: {} reply callback threw (request {}): {}", name_, id, e.what());
    }
}

// ---------------------------------------------------------------------------------------------
// Sending

bool Node::send(const Envelope& env, std::string_view body) {
    if (!dealer_) return false;
    return send_message(*dealer_, {}, env, body) == SendResult::kOk;
}

uint64_t Node::request(std::string_view target, uint32_t msg_type, std::string body,
                       ReplyCallback cb, CallOptions opts) {
    const uint64_t id = next_correlation_++;
    const auto fail_soon = [&](BusCode code, std::string text) {
        // Never call back from inside request(): callers may hold state mid-update.
        loop_.post([cb = std::move(cb), code, text = std::move(text)]() mutable {
            Reply r;
            r.code = codec::to_int(code);
            r.text = std::move(text);
            if (cb) cb(std::move(r));
        });
    };
    if (pending_.size() >= options_.max_pending) {
        fail_soon(BusCode::kOverloaded, "too many requests pending");
        return id;
    }
    const auto timeout = opts.timeout.count() > 0 ? opts.timeout : options_.default_timeout;
    Envelope e;
    e.command = Command::kRequest;
    e.target = std::string(target);
    e.msg_type = msg_type;
    e.correlation = id;
    e.session = opts.session;
    e.user = opts.user;
    e.timeout_ms = static_cast<uint32_t>(timeout.count());
    if (!codec::is_valid_identity(e.target) || !send(e, body)) {
        fail_soon(BusCode::kWorkerLost, "cannot send to the manager");
        return id;
    }
    const TimerId t = loop_.add_timer(timeout, [this, id] {
        Reply r;
        r.code = codec::to_int(BusCode::kTimeout);
        r.text = "timed out";
        complete(id, std::move(r));
    });
    pending_.emplace(id, Pending{std::move(cb), t});
    return id;
}

bool Node::push(std::string_view target, uint32_t msg_type, std::string_view body, uint64_t session,
                uint64_t user) {
    Envelope e;
    e.command = Command::kPush;
    e.target = std::string(target);
    e.msg_type = msg_type;
    e.session = session;
    e.user = user;
    return send(e, body);
}

bool Node::multicast(std::string_view proxy_identity, uint32_t msg_type, std::string_view body,
                     const std::vector<uint64_t>& sessions) {
    Envelope e;
    e.command = Command::kPush;
    e.target = "@" + std::string(proxy_identity);
    e.msg_type = msg_type;
    // Sessions beyond one header's cap go in further pushes of the same body.
    for (std::size_t at = 0; at < sessions.size(); at += codec::kMaxMulticastSessions) {
        const auto end = std::min(sessions.size(), at + codec::kMaxMulticastSessions);
        e.sessions.assign(sessions.begin() + static_cast<std::ptrdiff_t>(at),
                          sessions.begin() + static_cast<std::ptrdiff_t>(end));
        if (!send(e, body)) return false;
    }
    return true;
}

void Node::reply(const Envelope& req, std::string_view body) {
    send(codec::answer_to(req, Command::kReply), body);
}

void Node::fail(const Envelope& req, int32_t code, std::string_view text) {
    send(codec::answer_to(req, Command::kError, code, text), {});
}

// ---------------------------------------------------------------------------------------------
// Service table replica

void Node::on_sub_readable() {
    for (int i = 0; i < 1000 && sub_; ++i) {
        zmq::message_t topic;
        if (!sub_->recv(topic, zmq::recv_flags::dontwait)) return;
        zmq::message_t body;
        if (!topic.more() || !sub_->recv(body, zmq::recv_flags::dontwait)) continue;
        while (body.more()) {
            if (!sub_->recv(body, zmq::recv_flags::dontwait)) break;
        }
        const std::string_view t(static_cast<const char*>(topic.data()), topic.size());
        const std::string_view b(static_cast<const char*>(body.data()), body.size());
        if (t == kTopicTable) {
            TableDelta d;
            if (codec::decode(b, d) != codec::MsgError::kOk) continue;
            if (syncing_) {
                // Until the snapshot lands; a burst beyond this bound just means resync.
                if (buffered_.size() < 100000) buffered_.push_back(std::move(d));
            } else if (synced_) {
                if (d.seq <= table_seq_) {
                    // already in the snapshot
                } else if (d.seq == table_seq_ + 1) {
                    apply_delta(d);
                } else {
                    resync();
                }
            }
        } else if (t == kTopicHugz) {
            Hugz h;
            if (codec::decode(b, h) != codec::MsgError::kOk) continue;
            // A higher seq: we missed deltas. A lower one: the manager restarted.
            if (synced_ && h.seq != table_seq_) resync();
        }
        if (on_announcement_) on_announcement_(t, b);
    }
}

void Node::resync() {
    syncing_ = true;
    synced_ = false;
    buffered_.clear();
    request(kMmiSnapshot, 0, {}, [this](Reply&& r) {
        syncing_ = false;
        Snapshot snap;
        if (!r.ok() || codec::decode(r.body, snap) != codec::MsgError::kOk) {
            return;  // the next heartbeat tick tries again
        }
        std::map<std::string, WorkerInfo> next;
        for (auto& w : snap.workers) next.emplace(w.name, std::move(w));
        // Report what changed while we were out of sync, as deltas.
        auto old = std::move(table_);
        table_ = std::move(next);
        table_seq_ = snap.seq;
        synced_ = true;
        if (on_table_) {
            for (const auto& [name, w] : old) {
                if (!table_.contains(name)) on_table_(TableDelta{snap.seq, "down", "resync", w});
            }
            for (const auto& [name, w] : table_) {
                if (!old.contains(name)) on_table_(TableDelta{snap.seq, "up", "resync", w});
            }
        }
        auto buffered = std::move(buffered_);
        buffered_.clear();
        for (const auto& d : buffered) {
            if (d.seq <= table_seq_) continue;
            if (d.seq != table_seq_ + 1) {
                resync();
                return;
            }
            apply_delta(d);
        }
    });
}

void Node::apply_delta(const TableDelta& d) {
    table_seq_ = d.seq;
    if (d.op == "down") {
        table_.erase(d.worker.name);
    } else {
        table_[d.worker.name] = d.worker;
    }
    if (on_table_) on_table_(d);
}

}  // namespace tb::bus
