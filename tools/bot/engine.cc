#include "tools/bot/engine.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "codec/body.h"
#include "codec/messages.h"
#include "tools/bot/options.h"

namespace tb::bot {

namespace {

constexpr std::size_t kReadChunk = 64 * 1024;
// A bot that keeps the loop busy reading must not starve the others.
constexpr std::size_t kMaxReadPerTurn = 256 * 1024;
constexpr int kMaxEvents = 512;
// How often request deadlines and connect timeouts are checked: fine enough for a 10 s timeout.
constexpr auto kScanInterval = std::chrono::milliseconds(50);

double ms_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

uint64_t event_tag(std::size_t slot, uint32_t gen) {
    return (static_cast<uint64_t>(gen) << 32) | static_cast<uint32_t>(slot);
}

}  // namespace

std::string_view close_cause_name(CloseCause c) noexcept {
    switch (c) {
        case CloseCause::kConnectFailed: return "connect failed";
        case CloseCause::kPeerClosed: return "closed by server";
        case CloseCause::kReset: return "reset";
        case CloseCause::kBadFrame: return "bad frame from server";
    }
    return "?";
}

int32_t body_errno(codec::Magic encoding, const std::string& body, std::string* msgpack_out) {
    std::string converted;
    const std::string* mp = &body;
    if (encoding == codec::Magic::kJson && !body.empty()) {
        if (codec::json_to_msgpack(body, converted) != codec::BodyError::kOk) converted.clear();
        mp = &converted;
    }
    codec::ErrorBody e;
    const int32_t err_no =
        mp->empty() || codec::decode(*mp, e) != codec::MsgError::kOk ? 0 : e.err_no;
    if (msgpack_out != nullptr) *msgpack_out = *mp;
    return err_no;
}

// ---------------------------------------------------------------------------------------------
// Pacer

Pacer::Pacer(double rate) noexcept {
    if (rate > 0) {
        interval_ =
            std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / rate));
    }
}

Clock::time_point Pacer::next(Clock::time_point earliest) noexcept {
    if (interval_ == Clock::duration::zero()) return earliest;
    // Unused slots in the past are not banked: a cap, not a quota to catch up on.
    const Clock::time_point slot = std::max(next_, earliest);
    next_ = slot + interval_;
    return slot;
}

// ---------------------------------------------------------------------------------------------
// Engine

Engine::Engine(EngineConfig cfg, std::unique_ptr<Mode> mode, Counters& counters)
    : cfg_(std::move(cfg)),
      mode_(std::move(mode)),
      counters_(counters),
      clients_(cfg_.indices.size()),
      rng_(cfg_.seed),
      pacer_(cfg_.rate) {
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) throw std::runtime_error(std::string("epoll_create1: ") + strerror(errno));
    for (std::size_t i = 0; i < clients_.size(); ++i) {
        Client& c = clients_[i];
        c.slot_ = i;
        c.index_ = cfg_.indices[i];
        c.account_ = cfg_.account_prefix + std::to_string(c.index_);
        c.machine_ = machine_id(c.account_, cfg_.run_id);
        c.encoding_ = cfg_.encoding;
    }
    read_buf_.resize(kReadChunk);
    now_ = Clock::now();
    next_scan_ = now_;
    mode_->attach(*this, clients_.size());
}

Engine::~Engine() {
    for (Client& c : clients_) {
        if (c.fd_ >= 0) ::close(c.fd_);
    }
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

void Engine::start() {
    now_ = Clock::now();
    started_ = true;
    for (Client& c : clients_) mode_->on_start(c);
}

void Engine::run(Clock::time_point stop_at, const std::atomic<bool>& stop_now) {
    if (!started_) start();
    while (!stopping_) {
        if (Clock::now() >= stop_at || stop_now.load(std::memory_order_relaxed)) break;
        poll(20);
    }
    begin_stop();
    while (!finished_) poll(20);
}

void Engine::begin_stop() {
    if (stopping_) return;
    now_ = Clock::now();
    stopping_ = true;
    grace_end_ = now_ + std::chrono::milliseconds(cfg_.timeout_ms);
    // Bots not yet connected never will be.
    for (const auto& [slot, gen] : queued_) {
        Client& c = clients_[slot];
        if (c.gen_ == gen && c.state_ == Client::State::kQueued) c.state_ = Client::State::kIdle;
    }
    queued_.clear();
    if (pending_total_ == 0) finish();
}

void Engine::finish() {
    for (Client& c : clients_) {
        mode_->on_end(c);
        if (c.busy()) teardown(c);
    }
    finished_ = true;
}

void Engine::poll(int max_wait_ms) {
    if (finished_) return;
    now_ = Clock::now();
    std::chrono::nanoseconds wait = std::chrono::milliseconds(max_wait_ms);
    if (!timers_.empty()) {
        wait = std::min(wait, std::chrono::duration_cast<std::chrono::nanoseconds>(
                                  std::max(timers_.top().at - now_, Clock::duration::zero())));
    }
    epoll_event events[kMaxEvents];
    // Timers to the microsecond (epoll_pwait2): a whole-millisecond timeout would round every
    // think time up to the next millisecond, so that the bots due within one millisecond all
    // acted at once, in bursts no population of players makes.
    const timespec ts{static_cast<time_t>(wait.count() / 1000000000),
                      static_cast<long>(wait.count() % 1000000000)};
    int n = ::epoll_pwait2(epoll_fd_, events, kMaxEvents, &ts, nullptr);
    if (n < 0 && errno == ENOSYS) {  // a kernel before 5.11
        n = ::epoll_wait(
            epoll_fd_, events, kMaxEvents,
            static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wait).count()));
    }
    now_ = Clock::now();
    for (int i = 0; i < n; ++i) {
        const uint64_t tag = events[i].data.u64;
        on_event(static_cast<uint32_t>(tag), static_cast<uint32_t>(tag >> 32), events[i].events);
    }
    now_ = Clock::now();
    fire_timers();
    if (now_ >= next_scan_) {
        check_deadlines();
        next_scan_ = now_ + kScanInterval;
    }
    admit_queued();
    if (stopping_ && !finished_ && (pending_total_ == 0 || now_ >= grace_end_)) finish();
}

// --- connecting --------------------------------------------------------------------------------

void Engine::connect(Client& c) {
    if (c.state_ != Client::State::kIdle || stopping_) return;
    if (inflight_ >= cfg_.inflight) {
        c.state_ = Client::State::kQueued;
        queued_.emplace_back(c.slot_, c.gen_);
        return;
    }
    start_connect(c);
}

void Engine::admit_queued() {
    while (!queued_.empty() && inflight_ < cfg_.inflight && !stopping_) {
        const auto [slot, gen] = queued_.front();
        queued_.pop_front();
        Client& c = clients_[slot];
        if (c.gen_ != gen || c.state_ != Client::State::kQueued) continue;
        start_connect(c);
    }
}

void Engine::start_connect(Client& c) {
    c.state_ = Client::State::kConnecting;
    c.connect_start_ = now_;
    ++c.connections_;
    c.decoder_ = codec::FrameDecoder{};
    const int fd = cfg_.connector ? cfg_.connector() : -1;
    if (fd < 0) {
        c.state_ = Client::State::kIdle;
        ++c.gen_;
        ++counters_.connect_failures;
        mode_->on_closed(c, CloseCause::kConnectFailed, false);
        return;
    }
    c.fd_ = fd;
    if (c.rcvbuf_ > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &c.rcvbuf_, sizeof c.rcvbuf_);
    ++inflight_;
    epoll_event ev{};
    ev.events = EPOLLOUT;
    ev.data.u64 = event_tag(c.slot_, c.gen_);
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
}

void Engine::on_connect_done(Client& c) {
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(c.fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) {
        ++counters_.connect_failures;
        teardown(c);
        mode_->on_closed(c, CloseCause::kConnectFailed, false);
        return;
    }
    --inflight_;
    c.state_ = Client::State::kOpen;
    stats_.add_connect(ms_between(c.connect_start_, now_));
    ++counters_.connects;
    raise_peak(counters_.open_peak, ++counters_.open);
    update_interest(c);
    mode_->on_connected(c);
}

// --- events ------------------------------------------------------------------------------------

void Engine::on_event(std::size_t slot, uint32_t gen, uint32_t events) {
    if (slot >= clients_.size()) return;
    Client& c = clients_[slot];
    if (c.gen_ != gen || c.fd_ < 0) return;  // an event for a connection already closed
    if (c.state_ == Client::State::kConnecting) {
        on_connect_done(c);
        return;
    }
    if ((events & EPOLLOUT) != 0) {
        flush(c);
        if (c.gen_ != gen) return;
    }
    if (c.reading_) {
        if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) != 0) read_all(c);
        return;
    }
    // Not reading: the end of the connection shows only as hang-up or error.
    if ((events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)) != 0) {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(c.fd_, SOL_SOCKET, SO_ERROR, &err, &len);
        closed_by_server(c, err != 0 ? CloseCause::kReset : CloseCause::kPeerClosed);
    }
}

void Engine::read_all(Client& c) {
    const uint32_t gen = c.gen_;
    std::size_t total = 0;
    while (total < kMaxReadPerTurn) {
        const ssize_t n = ::recv(c.fd_, read_buf_.data(), read_buf_.size(), 0);
        if (n == 0) {
            closed_by_server(c, CloseCause::kPeerClosed);
            return;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            if (errno == EINTR) continue;
            closed_by_server(c, CloseCause::kReset);
            return;
        }
        total += static_cast<std::size_t>(n);
        c.decoder_.feed({read_buf_.data(), static_cast<std::size_t>(n)});
        codec::Frame f;
        for (;;) {
            const auto st = c.decoder_.next(f);
            if (st == codec::FrameDecoder::Status::kNeedMore) break;
            if (st == codec::FrameDecoder::Status::kError) {
                ++counters_.violations;
                closed_by_server(c, CloseCause::kBadFrame);
                return;
            }
            handle_frame(c, f);
            if (c.gen_ != gen || !c.reading_) return;  // the mode closed it or stopped reading
        }
        // A short read emptied the socket, and the epoll is level-triggered: no recv for EAGAIN.
        if (static_cast<std::size_t>(n) < read_buf_.size()) return;
    }
}

void Engine::handle_frame(Client& c, codec::Frame& f) {
    ++counters_.frames_in;
    if (f.is_keep_alive()) {
        // The server probes, we answer; the server never answers ours, so this cannot loop.
        if (c.answer_probes_) {
            send_raw(c, codec::keep_alive_frame(c.encoding_));
            ++counters_.probes_answered;
        }
        return;
    }
    const uint32_t type = codec::msg_type(f.mcmd, f.scmd);
    Reply r;
    r.err_no = body_errno(c.decoder_.magic(), f.body, &r.body);
    if (r.err_no != 0) {
        ++counters_.error_frames;
        stats_.add_errno(r.err_no);
    }
    const auto it = std::find_if(c.pending_.begin(), c.pending_.end(),
                                 [type](const Pending& p) { return p.type == type; });
    if (it == c.pending_.end()) {
        f.body = std::move(r.body);
        mode_->on_frame(c, f, r.err_no);
        return;
    }
    r.type = type;
    r.kind = it->kind;
    r.rtt_ms = ms_between(it->sent, now_);
    c.pending_.erase(it);
    --pending_total_;
    ++counters_.replies;
    if (r.kind == RequestKind::kLogin) {
        --inflight_;
        stats_.add_login(r.rtt_ms);
        ++(r.err_no == 0 ? counters_.logins : counters_.login_failures);
    } else {
        stats_.add_request(r.rtt_ms);
    }
    mode_->on_reply(c, r);
}

// --- writing -----------------------------------------------------------------------------------

void Engine::send(Client& c, uint16_t mcmd, uint16_t scmd, std::string_view body) {
    std::string frame;
    if (c.encoding_ == codec::Magic::kJson && !body.empty()) {
        std::string json;
        if (codec::msgpack_to_json(body, json) != codec::BodyError::kOk ||
            !codec::encode_frame(frame, c.encoding_, mcmd, scmd, json))
            throw std::logic_error("tb-bot: a mode built a body that does not fit a frame");
    } else if (!codec::encode_frame(frame, c.encoding_, mcmd, scmd, body)) {
        throw std::logic_error("tb-bot: a mode built a body that does not fit a frame");
    }
    send_raw(c, frame);
}

void Engine::request(Client& c, uint16_t mcmd, uint16_t scmd, std::string_view body,
                     RequestKind kind) {
    // Tracked before sending: a write error inside send() closes the client and clears it.
    track(c, mcmd, scmd, kind);
    send(c, mcmd, scmd, body);
}

void Engine::track(Client& c, uint16_t mcmd, uint16_t scmd, RequestKind kind) {
    if (!c.open()) return;
    c.pending_.push_back({codec::msg_type(mcmd, scmd), kind, now_,
                          now_ + std::chrono::milliseconds(cfg_.timeout_ms)});
    ++pending_total_;
    if (kind == RequestKind::kLogin) ++inflight_;
    ++counters_.requests;
}

void Engine::send_raw(Client& c, std::string_view bytes) {
    if (!c.open()) return;
    ++counters_.frames_out;
    c.out_.append(bytes);
    last_send_at_ = Clock::now();
    flush(c);
}

void Engine::flush(Client& c) {
    while (c.out_pos_ < c.out_.size()) {
        const ssize_t n =
            ::send(c.fd_, c.out_.data() + c.out_pos_, c.out_.size() - c.out_pos_, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            closed_by_server(c, CloseCause::kReset);
            return;
        }
        c.out_pos_ += static_cast<std::size_t>(n);
    }
    if (c.out_pos_ == c.out_.size()) {
        c.out_.clear();
        c.out_pos_ = 0;
    }
    const bool want = !c.out_.empty();
    if (want != c.want_out_) {
        c.want_out_ = want;
        update_interest(c);
    }
}

void Engine::update_interest(Client& c) {
    if (c.fd_ < 0 || c.state_ != Client::State::kOpen) return;
    epoll_event ev{};
    ev.events = EPOLLRDHUP | (c.reading_ ? EPOLLIN : 0u) | (c.want_out_ ? EPOLLOUT : 0u);
    ev.data.u64 = event_tag(c.slot_, c.gen_);
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd_, &ev);
}

void Engine::set_reading(Client& c, bool reading) {
    if (c.reading_ == reading) return;
    c.reading_ = reading;
    update_interest(c);
}

void Engine::set_logged_in(Client& c, bool logged_in, int64_t user_id) {
    if (logged_in && c.open() && !c.logged_in_) {
        c.logged_in_ = true;
        c.user_id_ = user_id;
        raise_peak(counters_.logged_in_peak, ++counters_.logged_in);
    } else if (!logged_in && c.logged_in_) {
        c.logged_in_ = false;
        --counters_.logged_in;
    }
}

// --- closing -----------------------------------------------------------------------------------

void Engine::close(Client& c) {
    if (c.state_ == Client::State::kIdle) return;
    teardown(c);
}

void Engine::teardown(Client& c) {
    if (c.state_ == Client::State::kConnecting) --inflight_;
    if (c.state_ == Client::State::kOpen) --counters_.open;
    for (const Pending& p : c.pending_) {
        if (p.kind == RequestKind::kLogin) --inflight_;
    }
    pending_total_ -= c.pending_.size();
    c.pending_.clear();
    set_logged_in(c, false);
    if (c.fd_ >= 0) ::close(c.fd_);  // also leaves the epoll set
    c.fd_ = -1;
    c.state_ = Client::State::kIdle;
    ++c.gen_;
    c.out_.clear();
    c.out_pos_ = 0;
    c.want_out_ = false;
    c.reading_ = true;
    c.answer_probes_ = true;
    c.user_id_ = 0;
}

void Engine::closed_by_server(Client& c, CloseCause cause) {
    const bool was_logged_in = c.logged_in_;
    ++counters_.closed_by_server;
    teardown(c);
    mode_->on_closed(c, cause, was_logged_in);
}

// --- time --------------------------------------------------------------------------------------

void Engine::wake_at(Client& c, Clock::time_point at) {
    timers_.push({at, c.slot_, ++c.timer_gen_});
}

void Engine::fire_timers() {
    while (!timers_.empty() && timers_.top().at <= now_) {
        const Timer t = timers_.top();
        timers_.pop();
        Client& c = clients_[t.slot];
        if (c.timer_gen_ != t.gen) continue;  // replaced or cancelled
        if (!stopping_) mode_->on_timer(c);
    }
}

void Engine::check_deadlines() {
    const auto connect_timeout = std::chrono::milliseconds(cfg_.timeout_ms);
    for (Client& c : clients_) {
        if (c.state_ == Client::State::kConnecting && now_ - c.connect_start_ >= connect_timeout) {
            ++counters_.connect_failures;
            teardown(c);
            mode_->on_closed(c, CloseCause::kConnectFailed, false);
            continue;
        }
        if (c.pending_.empty()) continue;
        const uint32_t gen = c.gen_;
        for (std::size_t i = 0; i < c.pending_.size() && c.gen_ == gen;) {
            if (c.pending_[i].deadline > now_) {
                ++i;
                continue;
            }
            const Pending p = c.pending_[i];
            c.pending_.erase(c.pending_.begin() + static_cast<std::ptrdiff_t>(i));
            --pending_total_;
            if (p.kind == RequestKind::kLogin) --inflight_;
            ++counters_.timeouts;
            mode_->on_timeout(c, p);
        }
    }
}

// ---------------------------------------------------------------------------------------------

Connector tcp_connector(const std::string& host, uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const std::string service = std::to_string(port);
    const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
    if (rc != 0 || res == nullptr)
        throw std::runtime_error("cannot resolve '" + host + "': " + gai_strerror(rc));
    sockaddr_storage addr{};
    const auto len = static_cast<socklen_t>(res->ai_addrlen);
    std::memcpy(&addr, res->ai_addr, res->ai_addrlen);
    const int family = res->ai_family;
    ::freeaddrinfo(res);
    return [addr, len, family]() -> int {
        const int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) return -1;
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), len) != 0 &&
            errno != EINPROGRESS) {
            const int saved = errno;
            ::close(fd);
            errno = saved;
            return -1;
        }
        return fd;
    };
}

}  // namespace tb::bot
