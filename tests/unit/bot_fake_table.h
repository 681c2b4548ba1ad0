#pragma once
// A fake game server for tb-bot's game modes: one table behind a TCP listener on 127.0.0.1,
// speaking the client protocol (PROTOCOL.md) the way tb-proxy + tb-game will: FastRegister,
// FastLogin (a return with GameID gets every seat and the whole scene), NotifySitDown for
// everyone, Ready, statuses, conclude, offline seats kept during a game. The game itself
// (start, moves, scene, conclude) is a FakeGame. Robots (users the fake plays for) can hold
// chairs. Everything it saw is recorded for the tests to check.
//
// Single-threaded: pump() never blocks; a test either steps the bots' engine and pump() in
// turn (drive()), or runs pump() on a FakeTableThread and looks only after it stopped.

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "codec/body.h"
#include "codec/frame.h"
#include "codec/messages.h"
#include "tools/bot/engine.h"

namespace tbtest {

using namespace std::chrono_literals;
using tb::bot::Clock;
namespace codec = tb::codec;

class FakeTable;

// The game's part of the fake. Chairs are 0..chairs()-1.
class FakeGame {
public:
    virtual ~FakeGame() = default;
    virtual int chairs() const = 0;
    // Every chair is seated and ready: deal, say who starts.
    virtual void start(FakeTable& t) = 0;
    // A (150, scmd) request from the user in `chair`, its body as msgpack.
    virtual void on_request(FakeTable& t, int chair, uint16_t scmd, const std::string& body) = 0;
    // The NotifyScene (msgpack) for a sit-down (`returning` false) or a return to a game.
    virtual std::string scene(FakeTable& t, int chair, bool returning) = 0;
};

class FakeTable {
public:
    static constexpr int32_t kGameId = 7;
    static constexpr int64_t kRobotBase = 900000;

    struct User {
        int64_t id = 0;
        std::string account;
        int conn = -1;  // -1: offline
        int chair = -1;
        bool robot = false;
        int readies = 0;
        int fast_logins = 0;
        int returns = 0;  // FastLogins with GameID back to a kept seat
        int32_t game_type = 0, game_level = 0, game_id = 0;  // of the last FastLogin
    };

    FakeTable(std::unique_ptr<FakeGame> game, int32_t game_type)
        : game_(std::move(game)), game_type_(game_type) {
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        REQUIRE(listen_fd_ >= 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        REQUIRE(::listen(listen_fd_, 64) == 0);
        socklen_t len = sizeof addr;
        REQUIRE(::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
        port_ = ntohs(addr.sin_port);
        seats_.assign(static_cast<std::size_t>(game_->chairs()), 0);
        status_.assign(seats_.size(), codec::kUserStatusFree);
    }
    ~FakeTable() {
        for (auto& c : conns_)
            if (c.fd >= 0) ::close(c.fd);
        ::close(listen_fd_);
    }
    FakeTable(const FakeTable&) = delete;
    FakeTable& operator=(const FakeTable&) = delete;

    uint16_t port() const { return port_; }
    tb::bot::Connector connector() const { return tb::bot::tcp_connector("127.0.0.1", port_); }
    FakeGame& game() { return *game_; }

    // --- set-up -----------------------------------------------------------------------------
    // No game starts once this many have started.
    void set_max_games(int n) { max_games_ = n; }
    // A robot sits in `chair` and is always ready; its moves are the FakeGame's business.
    void seat_robot(int chair) {
        User u;
        u.id = kRobotBase + chair;
        u.account = "robot_" + std::to_string(chair);
        u.robot = true;
        u.chair = chair;
        users_[u.account] = u;
        seats_[static_cast<std::size_t>(chair)] = u.id;
        status_[static_cast<std::size_t>(chair)] = codec::kUserStatusReady;
    }

    // --- for the FakeGame --------------------------------------------------------------------
    bool playing() const { return playing_; }
    int games_started() const { return games_started_; }
    bool is_robot(int chair) const {
        const User* u = user_by_id(seats_.at(static_cast<std::size_t>(chair)));
        return u != nullptr && u->robot;
    }
    void send_chair(int chair, uint16_t mcmd, uint16_t scmd, const std::string& msgpack) {
        const User* u = user_by_id(seats_.at(static_cast<std::size_t>(chair)));
        if (u != nullptr && u->conn >= 0) send(u->conn, mcmd, scmd, msgpack);
    }
    void broadcast(uint16_t mcmd, uint16_t scmd, const std::string& msgpack) {
        for (int ch = 0; ch < static_cast<int>(seats_.size()); ++ch)
            send_chair(ch, mcmd, scmd, msgpack);
    }
    void refuse_chair(int chair, uint16_t scmd, codec::Errno e) {
        ++refusals_;
        const std::string body = codec::encode(codec::ErrorBody::of(e));
        send_chair(chair, codec::kMcmdGame, scmd, body);
    }
    // The game ended: broadcast its conclude, statuses back to free, offline players leave,
    // robots ready again.
    void conclude(uint16_t scmd, const std::string& msgpack) {
        broadcast(codec::kMcmdGame, scmd, msgpack);
        playing_ = false;
        ++games_concluded_;
        for (int ch = 0; ch < static_cast<int>(seats_.size()); ++ch) {
            User* u = user_by_id(seats_[static_cast<std::size_t>(ch)]);
            if (u == nullptr) continue;
            if (!u->robot && u->conn < 0) {
                stand_up(*u);
                continue;
            }
            set_status(ch, u->robot ? codec::kUserStatusReady : codec::kUserStatusFree);
        }
        try_start();
    }
    // Sends a (0,0) probe to every open connection.
    void probe_all() {
        for (int i = 0; i < static_cast<int>(conns_.size()); ++i) {
            if (conns_[static_cast<std::size_t>(i)].fd < 0) continue;
            send(i, 0, 0, "");
            ++probes_sent_;
        }
    }
    // Closes the connection of the user in `chair`, as a server that drops a client would.
    void drop_chair(int chair) {
        User* u = user_by_id(seats_.at(static_cast<std::size_t>(chair)));
        if (u != nullptr && u->conn >= 0) close_conn(u->conn);
    }

    // --- what happened ----------------------------------------------------------------------
    int games_concluded() const { return games_concluded_; }
    int refusals() const { return refusals_; }
    int probes_sent() const { return probes_sent_; }
    int probes_echoed() const { return probes_echoed_; }
    int accepted() const { return static_cast<int>(conns_.size()); }
    int unknown_frames() const { return unknown_frames_; }
    // Things a well-behaved bot never causes (bad frames or bodies); Catch2's assertions are
    // not for other threads, so the pump only counts them.
    int broken() const { return broken_; }
    // Counts a broken expectation; returns `ok`.
    bool expect(bool ok) {
        if (!ok) ++broken_;
        return ok;
    }
    int errors_sent() const { return errors_sent_; }
    // Humans, by account.
    std::vector<User> humans() const {
        std::vector<User> out;
        for (const auto& [account, u] : users_)
            if (!u.robot) out.push_back(u);
        return out;
    }
    int32_t status(int chair) const { return status_.at(static_cast<std::size_t>(chair)); }
    // The fewest Readies any human sent (0 without humans).
    int min_readies() const {
        int n = -1;
        for (const auto& [account, u] : users_)
            if (!u.robot) n = n < 0 ? u.readies : std::min(n, u.readies);
        return std::max(n, 0);
    }

    // Accepts, reads and answers whatever has arrived; never blocks.
    void pump() {
        for (;;) {
            const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) break;
            const int one = 1;
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            conns_.push_back(Conn{fd, {}, codec::Magic::kJson, 0});
        }
        for (int i = 0; i < static_cast<int>(conns_.size()); ++i) read_conn(i);
    }

    // Waits up to `ms` for something to read (for a server thread).
    void wait(int ms) const {
        std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
        for (const auto& c : conns_)
            if (c.fd >= 0) fds.push_back({c.fd, POLLIN, 0});
        ::poll(fds.data(), fds.size(), ms);
    }

private:
    struct Conn {
        int fd = -1;
        codec::FrameDecoder decoder;
        codec::Magic magic = codec::Magic::kJson;
        int64_t user = 0;
    };

    User* user_by_id(int64_t id) {
        for (auto& [account, u] : users_)
            if (id != 0 && u.id == id) return &u;
        return nullptr;
    }
    const User* user_by_id(int64_t id) const {
        for (const auto& [account, u] : users_)
            if (id != 0 && u.id == id) return &u;
        return nullptr;
    }

    void send(int conn, uint16_t mcmd, uint16_t scmd, const std::string& msgpack) {
        Conn& c = conns_.at(static_cast<std::size_t>(conn));
        if (c.fd < 0) return;
        std::string body = msgpack;
        if (c.magic == codec::Magic::kJson && !msgpack.empty()) {
            body.clear();
            expect(codec::msgpack_to_json(msgpack, body) == codec::BodyError::kOk);
        }
        std::string frame;
        expect(codec::encode_frame(frame, c.magic, mcmd, scmd, body));
        // Small frames into a loopback buffer the bots keep reading: a short write would be a
        // test bug. (A bot that closed meanwhile makes it fail; its close is read next.)
        const ssize_t n = ::send(c.fd, frame.data(), frame.size(), MSG_NOSIGNAL);
        expect(n < 0 || n == static_cast<ssize_t>(frame.size()));
    }
    void reply_error(int conn, uint16_t mcmd, uint16_t scmd, codec::Errno e) {
        ++errors_sent_;
        send(conn, mcmd, scmd, codec::encode(codec::ErrorBody::of(e)));
    }

    void close_conn(int conn) {
        Conn& c = conns_.at(static_cast<std::size_t>(conn));
        if (c.fd < 0) return;
        ::close(c.fd);
        c.fd = -1;
        User* u = user_by_id(c.user);
        if (u == nullptr || u->conn != conn) return;
        u->conn = -1;
        if (u->chair < 0) return;
        if (playing_) {
            set_status(u->chair, codec::kUserStatusOffline);  // the seat is kept
        } else {
            stand_up(*u);
        }
    }

    void stand_up(User& u) {
        const int chair = u.chair;
        seats_[static_cast<std::size_t>(chair)] = 0;
        status_[static_cast<std::size_t>(chair)] = codec::kUserStatusFree;
        u.chair = -1;
        codec::NotifyStandUp m;
        m.chair_id = chair;
        broadcast(codec::kMcmdRoom, codec::scmd_of(codec::kMsgNotifyStandUp), codec::encode(m));
    }

    void set_status(int chair, int32_t status) {
        status_[static_cast<std::size_t>(chair)] = status;
        codec::NotifyStatus m;
        m.chair_id = chair;
        m.user_status = status;
        broadcast(codec::kMcmdRoom, codec::scmd_of(codec::kMsgNotifyStatus), codec::encode(m));
    }

    std::string sit_down_body(int chair) const {
        const User* u = user_by_id(seats_[static_cast<std::size_t>(chair)]);
        codec::NotifySitDown m;
        m.user_id = u->id;
        m.user_name = u->account;
        m.user_score = 10000;
        m.chair_id = chair;
        m.user_status = status_[static_cast<std::size_t>(chair)];
        return codec::encode(m);
    }

    void try_start() {
        if (playing_ || games_started_ >= max_games_) return;
        for (std::size_t ch = 0; ch < seats_.size(); ++ch) {
            if (seats_[ch] == 0 || status_[ch] != codec::kUserStatusReady) return;
        }
        playing_ = true;
        ++games_started_;
        for (int ch = 0; ch < static_cast<int>(seats_.size()); ++ch)
            set_status(ch, codec::kUserStatusPlaying);
        probe_all();  // bots must echo probes while they play
        game_->start(*this);
    }

    void read_conn(int conn) {
        for (;;) {
            Conn& c = conns_[static_cast<std::size_t>(conn)];
            if (c.fd < 0) return;
            char buf[16384];
            const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
                close_conn(conn);
                return;
            }
            if (n < 0) return;
            c.decoder.feed({buf, static_cast<std::size_t>(n)});
            codec::Frame f;
            for (;;) {
                Conn& cc = conns_[static_cast<std::size_t>(conn)];
                if (cc.fd < 0) return;
                const auto st = cc.decoder.next(f);
                if (st == codec::FrameDecoder::Status::kNeedMore) break;
                if (!expect(st == codec::FrameDecoder::Status::kFrame)) {  // bots send frames
                    close_conn(conn);
                    return;
                }
                cc.magic = f.magic;
                std::string body = f.body;
                if (f.magic == codec::Magic::kJson && !f.body.empty()) {
                    body.clear();
                    expect(codec::json_to_msgpack(f.body, body) == codec::BodyError::kOk);
                }
                handle(conn, f.mcmd, f.scmd, body);
            }
        }
    }

    void handle(int conn, uint16_t mcmd, uint16_t scmd, const std::string& body) {
        const uint32_t type = codec::msg_type(mcmd, scmd);
        if (type == 0) {
            ++probes_echoed_;  // the server never answers a client's (0,0)
            return;
        }
        if (type == codec::kMsgFastRegister) return fast_register(conn, body);
        Conn& c = conns_[static_cast<std::size_t>(conn)];
        User* u = user_by_id(c.user);
        if (u == nullptr) return reply_error(conn, mcmd, scmd, codec::Errno::kNotLoggedIn);
        if (type == codec::kMsgFastLogin) return fast_login(conn, *u, body);
        if (u->chair < 0) return reply_error(conn, mcmd, scmd, codec::Errno::kNotSeated);
        if (type == codec::kMsgReady) {
            ++u->readies;
            if (playing_ || status_[static_cast<std::size_t>(u->chair)] != codec::kUserStatusFree)
                return reply_error(conn, mcmd, scmd, codec::Errno::kWrongTableStatus);
            set_status(u->chair, codec::kUserStatusReady);
            try_start();
            return;
        }
        if (mcmd == codec::kMcmdGame) return game_->on_request(*this, u->chair, scmd, body);
        ++unknown_frames_;
        reply_error(conn, mcmd, scmd, codec::Errno::kUnknownCommand);
    }

    void fast_register(int conn, const std::string& body) {
        codec::FastRegisterRequest req;
        if (!expect(codec::decode(body, req) == codec::MsgError::kOk)) return;
        auto it = users_.find(req.account);
        if (it == users_.end()) {
            User u;
            u.id = next_user_id_++;
            u.account = req.account;
            it = users_.emplace(req.account, u).first;
        }
        User& u = it->second;
        if (u.conn >= 0 && u.conn != conn) close_conn(u.conn);  // the older session ends
        u.conn = conn;
        conns_[static_cast<std::size_t>(conn)].user = u.id;
        codec::FastRegisterReply reply;
        reply.user_id = u.id;
        reply.user_name = u.account;
        reply.user_score = 10000;
        if (u.chair >= 0) {  // still seated: come back with this GameID
            reply.game_id = kGameId;
            reply.game_type = game_type_;
            reply.game_level = u.game_level;
        }
        send(conn, codec::kMcmdHall, 1, codec::encode(reply));
    }

    void fast_login(int conn, User& u, const std::string& body) {
        codec::FastLoginRequest req;
        if (!expect(codec::decode(body, req) == codec::MsgError::kOk)) return;
        ++u.fast_logins;
        u.game_type = req.game_type;
        u.game_level = req.game_level;
        u.game_id = req.game_id;
        const uint16_t scmd = codec::scmd_of(codec::kMsgFastLogin);
        if (u.chair >= 0) {
            if (req.game_id != kGameId) {
                codec::InAnotherGameError e;
                e.game_id = kGameId;
                e.game_type = game_type_;
                e.game_level = u.game_level;
                ++errors_sent_;
                return send(conn, codec::kMcmdRoom, scmd, codec::encode(e));
            }
            ++u.returns;
            send(conn, codec::kMcmdRoom, scmd, login_reply(u));
            if (playing_) set_status(u.chair, codec::kUserStatusPlaying);
            for (int ch = 0; ch < static_cast<int>(seats_.size()); ++ch)
                if (seats_[static_cast<std::size_t>(ch)] != 0)
                    send(conn, codec::kMcmdRoom, 101, sit_down_body(ch));
            send(conn, codec::kMcmdGame, 201, game_->scene(*this, u.chair, true));
            return;
        }
        if (req.game_type != game_type_)
            return reply_error(conn, 100, scmd, codec::Errno::kNoService);
        int chair = -1;
        for (int ch = 0; ch < static_cast<int>(seats_.size()) && chair < 0; ++ch)
            if (seats_[static_cast<std::size_t>(ch)] == 0) chair = ch;
        if (chair < 0) return reply_error(conn, 100, scmd, codec::Errno::kFailure);
        u.chair = chair;
        seats_[static_cast<std::size_t>(chair)] = u.id;
        status_[static_cast<std::size_t>(chair)] = codec::kUserStatusFree;
        send(conn, codec::kMcmdRoom, scmd, login_reply(u));
        broadcast(codec::kMcmdRoom, 101, sit_down_body(chair));
        for (int ch = 0; ch < static_cast<int>(seats_.size()); ++ch)
            if (ch != chair && seats_[static_cast<std::size_t>(ch)] != 0)
                send(conn, codec::kMcmdRoom, 101, sit_down_body(ch));
        send(conn, codec::kMcmdGame, 201, game_->scene(*this, chair, false));
    }

    std::string login_reply(const User& u) const {
        codec::FastLoginReply r;
        r.game_id = kGameId;
        r.game_type = game_type_;
        r.game_level = u.game_level;
        r.chair_id = u.chair;
        return codec::encode(r);
    }

    std::unique_ptr<FakeGame> game_;
    int32_t game_type_;
    int listen_fd_ = -1;
    uint16_t port_ = 0;
    std::vector<Conn> conns_;
    std::map<std::string, User> users_;
    int64_t next_user_id_ = 1000;
    std::vector<int64_t> seats_;  // user id per chair, 0 empty
    std::vector<int32_t> status_;
    bool playing_ = false;
    int max_games_ = 1 << 30;
    int games_started_ = 0;
    int games_concluded_ = 0;
    int refusals_ = 0;
    int errors_sent_ = 0;
    int probes_sent_ = 0;
    int probes_echoed_ = 0;
    int unknown_frames_ = 0;
    int broken_ = 0;
};

// Steps the bots and the table in turn until `done`, or the deadline; returns done().
inline bool drive(tb::bot::Engine& e, FakeTable& t, const std::function<bool()>& done,
                  Clock::duration limit = 10s) {
    const auto deadline = Clock::now() + limit;
    while (!done() && Clock::now() < deadline) {
        e.poll(1);
        t.pump();
    }
    return done();
}

// Steps both for a while whatever happens: to see that nothing more happens.
inline void drive_for(tb::bot::Engine& e, FakeTable& t, Clock::duration d) {
    drive(
        e, t, [] { return false; }, d);
}

// pump() on a thread of its own until destroyed; look at the table only after that.
class FakeTableThread {
public:
    explicit FakeTableThread(FakeTable& t)
        : thread_([this, &t] {
              while (!stop_) {
                  t.pump();
                  t.wait(2);
              }
          }) {}
    ~FakeTableThread() {
        stop_ = true;
        thread_.join();
    }
    FakeTableThread(const FakeTableThread&) = delete;
    FakeTableThread& operator=(const FakeTableThread&) = delete;

private:
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

// Engine settings for game tests: bots 0..n-1, accounts "g_<i>".
inline tb::bot::EngineConfig game_config(const FakeTable& t, int bots, int think_ms = 0) {
    tb::bot::EngineConfig cfg;
    for (int i = 0; i < bots; ++i) cfg.indices.push_back(static_cast<uint32_t>(i));
    cfg.account_prefix = "g_";
    cfg.run_id = "abc123";
    cfg.timeout_ms = 2000;
    cfg.think_ms = think_ms;
    cfg.seed = 11;
    cfg.connector = t.connector();
    return cfg;
}

}  // namespace tbtest
