#include "nodes/proxy/proxy_service.h"
#include "nodes/common/node_main.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "codec/body.h"
#include "codec/errors.h"
#include "codec/messages.h"
#include "nodes/common/proxy_api.h"
#include "nodes/common/ticket.h"

namespace tb::proxy {

using codec::Errno;

namespace {

constexpr uint64_t kListenerTag = 0;
constexpr std::size_t kReadChunk = 16 * 1024;
// Per wake-up and connection: a flooding client cannot monopolise the loop.
constexpr std::size_t kMaxReadPerPass = 64 * 1024;
// How long the listener rests when even the spare fd cannot make room (another thread took it).
constexpr auto kAcceptPause = std::chrono::milliseconds(100);
// How long a game node missing after a manager restart may take to come back before its players
// get NotifyGameLost: a node's reconnect backoff (at most 8 s) plus a heartbeat or two.
constexpr auto kResyncGrace = std::chrono::seconds(12);
// Refusals (caps, EMFILE) are summed into one warning per interval: a flood costs no log I/O.
constexpr auto kRefusedLogInterval = std::chrono::seconds(10);

// min(max_connections, RLIMIT_NOFILE - reserved): with sessions capped there, clients alone can
// never use up the process's file descriptors.
std::size_t session_cap_for(const ProxyConfig& cfg) {
    auto cap = static_cast<std::size_t>(cfg.max_connections);
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
        const auto reserved = static_cast<rlim_t>(cfg.reserved_fds);
        const auto room = lim.rlim_cur > reserved ? lim.rlim_cur - reserved : 1;
        if (room < cap) {
            spdlog::warn(
                "proxy: proxy.max_connections {} does not fit the open-files limit {} with {} "
                "kept free (proxy.reserved_fds): at most {} client connections",
                cfg.max_connections, lim.rlim_cur, cfg.reserved_fds, room);
            cap = static_cast<std::size_t>(room);
        }
    }
    return cap;
}

bus::NodeOptions node_options(const ProxyConfig& cfg) {
    bus::NodeOptions o;
    o.kind = "proxy";
    o.id = cfg.node.id;
    o.service = "proxy";
    common::apply_node_config(cfg.node, o);
    o.announce = cfg.node.announce_endpoint();  // game nodes leaving, and notices
    o.capacity = cfg.max_connections;
    o.default_timeout = std::chrono::milliseconds(cfg.request_timeout_ms);
    return o;
}

}  // namespace

ProxyService::ProxyService(zmq::context_t& ctx, bus::EventLoop& loop, const ProxyConfig& cfg)
    : cfg_(cfg),
      loop_(loop),
      node_(ctx, loop, node_options(cfg)),
      // Session ids never repeat across restarts of this proxy, so a game node holding a stale
      // id from before a restart can never reach a new client by mistake.
      next_session_(static_cast<uint64_t>(bus::unix_ms()) << 16) {
    session_cap_ = session_cap_for(cfg);
    // The spare fd: at EMFILE it is closed so that the waiting connection can be accepted and
    // closed at once (refused), instead of staying in the backlog and waking the loop forever.
    spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) throw std::system_error(errno, std::generic_category(), "socket");
    const int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(cfg.client_port());
    if (::inet_pton(AF_INET, cfg.listen_host.c_str(), &addr.sin_addr) != 1) {
        throw std::invalid_argument("proxy.listen_host '" + cfg.listen_host +
                                    "' is not an IPv4 address");
    }
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 4096) != 0) {
        throw std::system_error(
            errno, std::generic_category(),
            "cannot listen on " + cfg.listen_host + ":" + std::to_string(cfg.client_port()));
    }
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    watch_listener();

    node_.on_any_push(
        [this](const codec::Envelope& env, std::string_view body) { on_push(env, body); });
    node_.on_request(common::kMsgSessionCheck, [this](bus::Request& r) { on_session_check(r); });
    node_.on_table_change([this](const bus::TableDelta& d) { on_table_change(d); });
    node_.on_announcement([this](std::string_view topic, std::string_view body) {
        if (topic == bus::kTopicNotice) notice_all(body);
    });
}

ProxyService::~ProxyService() {
    loop_.cancel(keepalive_timer_);
    if (pass_end_task_ != 0) loop_.remove_pass_end(pass_end_task_);
    for (const auto& [name, timer] : lost_pending_) loop_.cancel(timer);
    if (accept_resume_timer_ != 0) loop_.cancel(accept_resume_timer_);
    if (spare_fd_ >= 0) ::close(spare_fd_);
    loop_.remove_fd(epoll_fd_);
    for (auto& [id, s] : sessions_) ::close(s->fd);
    if (listen_fd_ >= 0) ::close(listen_fd_);
    ::close(epoll_fd_);
}

void ProxyService::start() {
    loop_.add_fd(epoll_fd_, [this] { on_epoll(); });
    keepalive_timer_ = loop_.add_repeating(std::chrono::milliseconds(cfg_.keepalive_interval_ms),
                                           [this] { keepalive_tick(); });
    pass_end_task_ = loop_.at_pass_end([this] { flush_queued(); });
    node_.start();
}

void ProxyService::shutdown() {
    accepting_ = false;
    if (accept_resume_timer_ != 0) loop_.cancel(accept_resume_timer_);
    accept_resume_timer_ = 0;
    if (listen_fd_ >= 0) {
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
        ::close(listen_fd_);
        listen_fd_ = -1;
    }
    std::vector<uint64_t> ids;
    for (const auto& [id, s] : sessions_) ids.push_back(id);
    for (const uint64_t id : ids) {
        if (Session* s = find(id)) {
            kick(*s, codec::to_int(Errno::kDraining), "server is shutting down");
            // Whatever did not flush at once is lost: the process is going away.
            if (find(id) != nullptr) close(id, "shutdown");
        }
    }
}

ProxyService::Session* ProxyService::find(uint64_t id) {
    auto it = sessions_.find(id);
    return it == sessions_.end() ? nullptr : it->second.get();
}

// ---------------------------------------------------------------------------------------------
// Sockets

void ProxyService::on_epoll() {
    epoll_event events[256];
    for (;;) {
        const int n = ::epoll_wait(epoll_fd_, events, 256, 0);
        if (n <= 0) return;
        for (int i = 0; i < n; ++i) {
            const uint64_t id = events[i].data.u64;
            if (id == kListenerTag) {
                accept_all();
                continue;
            }
            Session* s = find(id);
            if (s == nullptr) continue;
            if ((events[i].events & (EPOLLERR | EPOLLHUP)) != 0 &&
                (events[i].events & EPOLLIN) == 0) {
                close(id, "connection error");
                continue;
            }
            if ((events[i].events & EPOLLOUT) != 0) flush(*s);
            if ((s = find(id)) != nullptr && (events[i].events & EPOLLIN) != 0) on_readable(*s);
        }
        if (n < 256) return;
    }
}

void ProxyService::accept_all() {
    for (int i = 0; i < 256 && accepting_ && accept_resume_timer_ == 0; ++i) {
        sockaddr_in addr{};
        socklen_t len = sizeof addr;
        const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len,
                                 SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                if (!on_fd_exhaustion(errno)) break;
                continue;
            }
            break;  // EAGAIN: the backlog is empty
        }
        char ip[INET_ADDRSTRLEN] = {};
        ::inet_ntop(AF_INET, &addr.sin_addr, ip, sizeof ip);
        if (sessions_.size() >= session_cap_ ||
            (cfg_.max_per_ip > 0 && per_ip_[ip] >= cfg_.max_per_ip)) {
            ::close(fd);  // over a cap: refused before it costs anything
            note_refused(sessions_.size() >= session_cap_ ? "connection cap" : "per-IP cap");
            continue;
        }
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        // Loopback and LAN autotuning would let a non-reading client park megabytes in the
        // kernel; a fixed buffer keeps every connection's cost bounded and known.
        const int sndbuf = cfg_.socket_sndbuf_kib * 1024;
        ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
        const uint64_t id = next_session_++;
        auto session = std::make_unique<Session>(id, fd, ip, cfg_);
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLRDHUP;
        ev.data.u64 = id;
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
        ++per_ip_[ip];
        sessions_.emplace(id, std::move(session));
    }
    node_.set_load(static_cast<int64_t>(sessions_.size()));
}

bool ProxyService::on_fd_exhaustion(int err) {
    // The classic way out: give back the spare fd, accept the waiting connection on it and
    // close it (the client sees its connection closed), then take the spare again.
    if (spare_fd_ >= 0 && (err == EMFILE || err == ENFILE)) {
        ::close(spare_fd_);
        spare_fd_ = -1;
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        const int accept_errno = errno;
        if (fd >= 0) ::close(fd);
        spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (spare_fd_ >= 0) {
            if (fd >= 0) {
                note_refused("out of file descriptors");
                return true;
            }
            // EMFILE comes before the backlog is looked at: this is how an empty one shows.
            if (accept_errno == EAGAIN || accept_errno == EWOULDBLOCK) return false;
        }
    }
    // No spare (or no kernel memory): the listener rests a moment instead of waking the loop
    // again and again; the backlog waits, and existing sessions are served meanwhile.
    note_refused("out of file descriptors");
    pause_accepting();
    return false;
}

void ProxyService::pause_accepting() {
    if (accept_resume_timer_ != 0 || listen_fd_ < 0) return;  // already resting
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
    accept_resume_timer_ = loop_.add_timer(kAcceptPause, [this] {
        accept_resume_timer_ = 0;
        if (spare_fd_ < 0) spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (accepting_ && listen_fd_ >= 0) watch_listener();
    });
}

void ProxyService::watch_listener() {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kListenerTag;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);
}

void ProxyService::note_refused(const char* why) {
    ++refused_;
    const auto now = Clock::now();
    if (now - refused_logged_ < kRefusedLogInterval) return;
    spdlog::warn("proxy: refusing client connections ({}): {} refused, {} sessions of {} at most",
                 why, refused_, sessions_.size(), session_cap_);
    refused_ = 0;
    refused_logged_ = now;
}

void ProxyService::on_readable(Session& s) {
    const uint64_t id = s.id;
    char buf[kReadChunk];
    std::size_t total = 0;
    while (total < kMaxReadPerPass) {
        const ssize_t n = ::recv(s.fd, buf, sizeof buf, 0);
        if (n == 0) {
            close(id, "client closed");
            return;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            if (errno == EINTR) continue;
            close(id, "read error");
            return;
        }
        total += static_cast<std::size_t>(n);
        s.decoder.feed({buf, static_cast<std::size_t>(n)});
        codec::Frame f;
        for (;;) {
            const auto st = s.decoder.next(f);
            if (st == codec::FrameDecoder::Status::kNeedMore) break;
            if (st == codec::FrameDecoder::Status::kError) {
                spdlog::debug("proxy: session={} closed: {}", id,
                              codec::frame_error_name(s.decoder.error()));
                close(id, "bad frame");
                return;
            }
            on_frame(s, f);
            if (find(id) == nullptr || s.closing) return;
        }
        // A short read emptied the socket: the epoll is level-triggered, so whatever arrives
        // next wakes us again, and asking now would only cost a recv that says EAGAIN.
        if (static_cast<std::size_t>(n) < sizeof buf) break;
    }
}

// ---------------------------------------------------------------------------------------------
// Client frames

std::string ProxyService::body_to_msgpack(const Session& s, const std::string& body,
                                          bool& ok) const {
    ok = true;
    if (s.decoder.magic() == codec::Magic::kMsgpack) return body;
    std::string out;
    ok = codec::json_to_msgpack(body, out) == codec::BodyError::kOk;
    return out;
}

void ProxyService::on_frame(Session& s, codec::Frame& f) {
    s.keepalive.on_frame();
    const uint32_t type = codec::msg_type(f.mcmd, f.scmd);
    if (f.is_keep_alive()) return;  // never answered: clients echo probes
    if (!s.bucket.take(Clock::now())) {
        if (++s.strikes >= cfg_.rate_strikes) {
            close(s.id, "rate limit");
            return;
        }
        send_error(s, type, codec::to_int(Errno::kRateLimited), "rate limited");
        return;
    }
    const Route r = route(f.mcmd, f.scmd, s.user != 0, !s.game.empty());
    switch (r) {
        case Route::kIgnore: return;
        case Route::kUnknown:
            send_error(s, type, codec::to_int(Errno::kUnknownCommand), "unknown command");
            return;
        case Route::kNotLoggedIn:
            send_error(s, type, codec::to_int(Errno::kNotLoggedIn), "not logged in");
            return;
        case Route::kNotSeated:
            send_error(s, type, codec::to_int(Errno::kNotSeated), "user not seated");
            return;
        default: break;
    }
    bool ok = true;
    std::string body = body_to_msgpack(s, f.body, ok);
    if (!ok) {
        send_error(s, type, codec::to_int(Errno::kMalformed), "malformed message");
        return;
    }
    if (r == Route::kLogin) {
        forward_login(s, type, std::move(body));
    } else if (r == Route::kFastLogin) {
        forward_fast_login(s, type, body);
    } else {
        forward_seated(s, type, std::move(body));
    }
}

void ProxyService::forward_login(Session& s, uint32_t type, std::string body) {
    if (type == codec::kMsgFastRegister) {
        // The client's IP is the proxy's to say; whatever the client sent is replaced.
        codec::FastRegisterRequest req;
        if (codec::decode(body, req) != codec::MsgError::kOk) {
            send_error(s, type, codec::to_int(Errno::kMalformed), "malformed message");
            return;
        }
        req.ip = s.ip;
        body = codec::encode(req);
    }
    bus::CallOptions co;
    co.session = s.id;
    co.user = s.user;
    const uint64_t id = s.id;
    node_.request(
        "login", type, std::move(body),
        [this, id, type](bus::Reply&& r) { deliver(id, type, std::move(r)); }, co);
}

void ProxyService::forward_fast_login(Session& s, uint32_t type, const std::string& body) {
    codec::FastLoginRequest req;
    if (codec::decode(body, req) != codec::MsgError::kOk) {
        send_error(s, type, codec::to_int(Errno::kMalformed), "malformed message");
        return;
    }
    std::string target;
    if (req.game_id != 0) {
        target = "@game-" + std::to_string(req.game_id);
    } else {
        const auto kind = codec::game_kind_name(req.game_type);
        if (kind.empty() || req.game_level < 1 || req.game_level > 99) {
            send_error(s, type, codec::to_int(Errno::kInvalidField), "invalid field value");
            return;
        }
        target = "game." + std::string(kind) + "." + std::to_string(req.game_level);
    }
    common::TicketClaims claims;
    claims.user = s.user;
    claims.session = s.id;
    claims.proxy = node_.name();
    claims.expires_ms = bus::unix_ms() + cfg_.ticket_ttl_ms;
    claims.nonce = common::ticket_nonce();
    common::FastLoginForward fwd{req.game_id, req.game_type, req.game_level,
                                 common::sign_ticket(claims, cfg_.ticket_secret)};
    bus::CallOptions co;
    co.session = s.id;
    co.user = s.user;
    const uint64_t id = s.id;
    node_.request(
        target, type, codec::encode(fwd),
        [this, id, type](bus::Reply&& r) { deliver(id, type, std::move(r)); }, co);
}

void ProxyService::forward_seated(Session& s, uint32_t type, std::string body) {
    if (type != codec::kMsgLogout) {
        // Table actions (Ready, mcmd 150) are one-way: success has no reply (the broadcast that
        // follows confirms it) and a refusal comes back as a push on the same (mcmd, scmd).
        // That saves the bus a reply per action, a third of its traffic at a busy table.
        if (!node_.push("@" + s.game, type, body, s.id, s.user)) {
            send_error(s, type, codec::to_int(Errno::kRateLimited), "server busy");
        }
        return;
    }
    bus::CallOptions co;
    co.session = s.id;
    co.user = s.user;
    const uint64_t id = s.id;
    node_.request(
        "@" + s.game, type, std::move(body),
        [this, id, type](bus::Reply&& r) { deliver(id, type, std::move(r)); }, co);
}

void ProxyService::deliver(uint64_t session_id, uint32_t type, bus::Reply&& r) {
    Session* s = find(session_id);
    if (s == nullptr) return;  // the client left while its request was out
    if (!r.ok()) {
        const Errno e = codec::client_errno(r.code);
        // Node texts for Errno codes are written for clients; bus failures get the table's.
        const bool own_text = !codec::is_bus_code(r.code) && !r.text.empty();
        send_error(*s, type, codec::to_int(e), own_text ? r.text : codec::errno_text(e));
        return;
    }
    if (type == codec::kMsgFastRegister) {
        codec::FastRegisterReply reply;
        if (codec::decode(r.body, reply) == codec::MsgError::kOk && reply.user_id > 0) {
            const auto uid = static_cast<uint64_t>(reply.user_id);
            // One session per user: an older one here is kicked, and the other proxies are
            // told to kick theirs.
            if (auto it = session_of_user_.find(uid);
                it != session_of_user_.end() && it->second != session_id) {
                if (Session* old = find(it->second)) {
                    kick(*old, codec::to_int(Errno::kKicked), "logged in elsewhere");
                }
            }
            s = find(session_id);
            if (s == nullptr) return;
            s->user = uid;
            session_of_user_[uid] = session_id;
            bus::KickBody k;
            k.user_id = reply.user_id;
            k.reason = "logged in elsewhere";
            k.except_proxy = node_.name();
            k.except_session = session_id;
            node_.request(bus::kMmiKick, 0, codec::encode(k), [](bus::Reply&&) {});
        }
    } else if (type == codec::kMsgFastLogin) {
        // A refusal that names another game (Errno 9) comes as a body with an Errno: the
        // session is not seated by it.
        codec::FastLoginReply reply;
        codec::ErrorBody refusal;
        if (codec::decode(r.body, reply) == codec::MsgError::kOk && reply.game_id != 0 &&
            codec::decode(r.body, refusal) == codec::MsgError::kOk && refusal.err_no == 0) {
            s->game = r.env.source;
            s->game_id = common::game_id_of_node(r.env.source);
            s->game_type = reply.game_type;
            s->game_level = reply.game_level;
        }
    } else if (type == codec::kMsgLogout) {
        s->game.clear();
        s->game_id = 0;
    }
    // Table actions succeed silently: the broadcast that follows is the confirmation.
    if (!r.body.empty()) send(*s, type, r.body);
}

// A game node asks which of its seated sessions are still here (nodes/common/proxy_api.h):
// gone is a session this proxy no longer has, or has for another user or another game node.
// The asker is compared by identity: a check that reached a restarted manager before the game
// node registered again carries its routing id, and must not make every seat look gone.
void ProxyService::on_session_check(bus::Request& r) {
    common::SessionCheck req;
    if (codec::decode(r.body, req) != codec::MsgError::kOk ||
        req.users.size() != req.sessions.size() || req.sessions.size() > common::kSessionCheckMax) {
        return node_.fail(r.env, codec::to_int(Errno::kMalformed), "malformed session check");
    }
    const std::string_view asker = bus::identity_of(r.env.source);
    common::SessionCheckReply reply;
    for (std::size_t i = 0; i < req.sessions.size(); ++i) {
        const Session* s = find(req.sessions[i]);
        if (s == nullptr || s->user != req.users[i] || s->game != asker) {
            reply.gone.push_back(req.sessions[i]);
        }
    }
    if (!reply.gone.empty()) {
        spdlog::info("proxy: {} of {} sessions {} asked about are gone", reply.gone.size(),
                     req.sessions.size(), r.env.source);
    }
    node_.reply(r.env, codec::encode(reply));
}

// ---------------------------------------------------------------------------------------------
// Pushes and announcements

void ProxyService::on_push(const codec::Envelope& env, std::string_view body) {
    if (env.msg_type == bus::kMsgKickUser) {
        bus::KickBody k;
        if (codec::decode(body, k) != codec::MsgError::kOk) return;
        auto it = session_of_user_.find(static_cast<uint64_t>(k.user_id));
        if (it == session_of_user_.end()) return;
        if (k.except_proxy == node_.name() && k.except_session == it->second) return;
        if (Session* s = find(it->second)) {
            kick(*s, k.errno_code != 0 ? k.errno_code : codec::to_int(Errno::kKicked),
                 k.reason.empty() ? "kicked" : k.reason);
        }
        return;
    }
    // A multicast push converts its body once per encoding, not once per receiver.
    std::string as_json;
    bool json_done = false;
    const auto deliver_to = [&](uint64_t id) {
        Session* s = find(id);
        if (s == nullptr) return;
        const auto [mcmd, scmd] =
            std::pair{codec::mcmd_of(env.msg_type), codec::scmd_of(env.msg_type)};
        std::string frame;
        if (s->decoder.magic() == codec::Magic::kJson) {
            if (!json_done) {
                json_done = true;
                if (codec::msgpack_to_json(body, as_json) != codec::BodyError::kOk) {
                    spdlog::warn("proxy: push {:#x} from {} does not convert to JSON", env.msg_type,
                                 env.source);
                    as_json.clear();
                }
            }
            if (!codec::encode_frame(frame, codec::Magic::kJson, mcmd, scmd, as_json)) return;
        } else if (!codec::encode_frame(frame, codec::Magic::kMsgpack, mcmd, scmd, body)) {
            return;
        }
        send_raw(*s, frame);
        if (env.msg_type == codec::kMsgNotifyKick) {
            // The game node kicked this session (a newer login took the seat).
            s = find(id);
            if (s != nullptr) {
                s->game.clear();
                s->closing = true;
                flush(*s);
            }
        }
    };
    if (!env.sessions.empty()) {
        for (const uint64_t id : env.sessions) deliver_to(id);
    } else {
        deliver_to(env.session);
    }
}

void ProxyService::kick(Session& s, int32_t errno_code, std::string_view text) {
    const uint64_t id = s.id;  // send() may close (and free) the session
    codec::NotifyKick k;
    k.err_no = errno_code;
    k.err_desc = std::string(text);
    send(s, codec::kMsgNotifyKick, codec::encode(k));
    Session* still = find(id);
    if (still == nullptr) return;
    still->closing = true;
    flush(*still);
}

void ProxyService::on_table_change(const bus::TableDelta& d) {
    if (!d.worker.service.starts_with("game.")) return;
    const std::string& name = d.worker.name;
    if (auto it = lost_pending_.find(name); it != lost_pending_.end() && d.op != "down") {
        loop_.cancel(it->second);  // back on the bus: its players never noticed
        lost_pending_.erase(it);
        return;
    }
    if (d.op != "down") return;
    if (d.reason != "resync") {
        game_lost(name);  // left, expired or refused: the manager saw it go
        return;
    }
    // Missing from a new manager's first snapshot: after a manager restart the game nodes come
    // back one by one, within their reconnect backoff, with their tables intact. Their players
    // are told the game is lost only if the node is still missing after that window.
    if (lost_pending_.contains(name)) return;
    lost_pending_[name] = loop_.add_timer(kResyncGrace, [this, name] {
        lost_pending_.erase(name);
        if (!node_.table().contains(name)) game_lost(name);
    });
}

void ProxyService::game_lost(const std::string& node) {
    for (auto& [id, s] : sessions_) {
        if (s->game != node) continue;
        codec::NotifyGameLost lost;
        lost.game_id = s->game_id;
        lost.game_type = s->game_type;
        lost.game_level = s->game_level;
        s->game.clear();
        s->game_id = 0;
        send(*s, codec::kMsgNotifyGameLost, codec::encode(lost));
    }
}

void ProxyService::notice_all(std::string_view body) {
    bus::NoticeBody n;
    if (codec::decode(body, n) != codec::MsgError::kOk) return;
    codec::Notice notice;
    notice.text = n.text;
    notice.level = n.level;
    const std::string encoded = codec::encode(notice);
    std::vector<uint64_t> ids;
    for (const auto& [id, s] : sessions_) ids.push_back(id);
    for (const uint64_t id : ids) {
        if (Session* s = find(id)) send(*s, codec::kMsgNotice, encoded);
    }
}

void ProxyService::keepalive_tick() {
    std::vector<uint64_t> dead;
    for (auto& [id, s] : sessions_) {
        switch (s->keepalive.on_check()) {
            case KeepAlive::Action::kNone: break;
            case KeepAlive::Action::kProbe:
                send_raw(*s, codec::keep_alive_frame(s->decoder.magic()));
                break;
            case KeepAlive::Action::kClose: dead.push_back(id); break;
        }
    }
    for (const uint64_t id : dead) close(id, "keep-alive timeout");
}

// ---------------------------------------------------------------------------------------------
// Output

void ProxyService::send(Session& s, uint32_t type, std::string_view msgpack_body) {
    std::string body;
    if (s.decoder.magic() == codec::Magic::kJson) {
        if (codec::msgpack_to_json(msgpack_body, body) != codec::BodyError::kOk) {
            spdlog::warn("proxy: session={} reply {:#x} does not convert to JSON", s.id, type);
            return;
        }
    } else {
        body.assign(msgpack_body);
    }
    std::string frame;
    if (!codec::encode_frame(frame, s.decoder.magic(), codec::mcmd_of(type), codec::scmd_of(type),
                             body)) {
        spdlog::warn("proxy: session={} reply {:#x} too large for a frame", s.id, type);
        return;
    }
    send_raw(s, frame);
}

void ProxyService::send_error(Session& s, uint32_t type, int32_t code, std::string_view text) {
    codec::ErrorBody e;
    e.err_no = code;
    e.err_desc = std::string(text);
    send(s, type, codec::encode(e));
}

void ProxyService::send_raw(Session& s, std::string_view bytes) {
    if (s.out.size() + bytes.size() > static_cast<std::size_t>(cfg_.max_output_kib) * 1024) {
        // A client that does not read is dropped; its queue never grows past the cap.
        close(s.id, "output queue full");
        return;
    }
    s.out.append(bytes);
    // With EPOLLOUT armed the socket is full: epoll says when to go on.
    if (s.queued || s.writing) return;
    s.queued = true;
    unflushed_.push_back(s.id);
}

void ProxyService::flush_queued() {
    if (unflushed_.empty()) return;
    // Worked through as a copy: anything queued while flushing (nothing today; flush() only
    // closes) lands in unflushed_ for the next pass instead of growing the list being walked.
    flushing_.swap(unflushed_);
    for (const uint64_t id : flushing_) {
        Session* s = find(id);
        if (s == nullptr) continue;
        s->queued = false;
        flush(*s);
    }
    flushing_.clear();
}

void ProxyService::flush(Session& s) {
    while (!s.out.empty()) {
        const ssize_t n = ::send(s.fd, s.out.data(), s.out.size(), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            if (errno == EINTR) continue;
            close(s.id, "write error");
            return;
        }
        s.out.erase(0, static_cast<std::size_t>(n));
    }
    if (s.out.empty() && s.closing) {
        close(s.id, "closed after flush");
        return;
    }
    const bool want = !s.out.empty();
    if (want != s.writing) {
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLRDHUP | (want ? EPOLLOUT : 0u);
        ev.data.u64 = s.id;
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, s.fd, &ev);
        s.writing = want;
    }
}

void ProxyService::close(uint64_t id, std::string_view why) {
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    std::unique_ptr<Session> s = std::move(it->second);
    sessions_.erase(it);
    if (!s->out.empty() && !s->writing) {
        // Frames queued in this pass (the errors before a rate-limit close or a bad frame) go
        // out as they would have before the end-of-pass write: once, if the socket takes them.
        [[maybe_unused]] const ssize_t n =
            ::send(s->fd, s->out.data(), s->out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, s->fd, nullptr);
    ::close(s->fd);
    if (auto ip = per_ip_.find(s->ip); ip != per_ip_.end() && --ip->second <= 0) per_ip_.erase(ip);
    if (s->user != 0) {
        auto u = session_of_user_.find(s->user);
        if (u != session_of_user_.end() && u->second == id) session_of_user_.erase(u);
    }
    if (!s->game.empty()) {
        // The game node keeps the seat of a player in a running game and plays for them.
        node_.push("@" + s->game, common::kMsgSessionClosed, {}, id, s->user);
    }
    spdlog::debug("proxy: session={} user={} closed: {}", id, s->user, why);
    node_.set_load(static_cast<int64_t>(sessions_.size()));
}

}  // namespace tb::proxy
