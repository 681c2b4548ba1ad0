// The table frame and the room with a fake host (fake clock, in-memory db, recorded pushes) and
// a fake game logic: matching, seating, duplicate logins, disconnects, robots, settlement,
// online entries and drain, with no sockets.
#include <catch2/catch.hpp>

#include <deque>
#include <map>

#include "codec/messages.h"
#include "nodes/game/room.h"

namespace {

using namespace tb;
using namespace tb::game;
using std::chrono::milliseconds;

struct Pushed {
    std::string proxy;
    std::vector<uint64_t> sessions;
    uint32_t type = 0;
    std::string body;
};

// The db node as far as the room uses it, in memory, answering on deliver().
struct FakeDb {
    std::map<int64_t, common::UserRecord> users;
    std::map<int64_t, common::OnlineEntry> online;
    std::vector<common::SettleRequest> settles;
    std::map<std::string, common::SettleReply> settled;  // by round id
    int fail_next_settles = 0;
    std::vector<int64_t> robot_pool;
    int cleared = 0;

    std::pair<int32_t, std::string> serve(uint32_t type, const std::string& body) {
        using namespace common;
        if (type == kDbLoadUser) {
            UserQuery q;
            REQUIRE(codec::decode(body, q) == codec::MsgError::kOk);
            auto it = users.find(q.user_id);
            if (it == users.end()) return {codec::to_int(codec::Errno::kInvalidField), {}};
            return {0, codec::encode(it->second)};
        }
        if (type == kDbOnlineGet) {
            UserQuery q;
            REQUIRE(codec::decode(body, q) == codec::MsgError::kOk);
            OnlineEntry e;
            e.user_id = q.user_id;
            if (auto it = online.find(q.user_id); it != online.end()) e = it->second;
            return {0, codec::encode(e)};
        }
        if (type == kDbOnlineSet) {
            OnlineEntry e;
            REQUIRE(codec::decode(body, e) == codec::MsgError::kOk);
            online[e.user_id] = e;
            return {0, codec::encode(e)};
        }
        if (type == kDbOnlineDelete) {
            OnlineEntry e;
            REQUIRE(codec::decode(body, e) == codec::MsgError::kOk);
            if (auto it = online.find(e.user_id); it != online.end() && it->second.node == e.node) {
                online.erase(it);
            }
            return {0, codec::encode(CountReply{1})};
        }
        if (type == kDbOnlineClearNode) {
            NodeEntries n;
            REQUIRE(codec::decode(body, n) == codec::MsgError::kOk);
            ++cleared;
            std::erase_if(online, [&](const auto& kv) { return kv.second.node == n.node; });
            return {0, codec::encode(CountReply{0})};
        }
        if (type == kDbSettle) {
            SettleRequest r;
            REQUIRE(codec::decode(body, r) == codec::MsgError::kOk);
            settles.push_back(r);
            if (fail_next_settles > 0) {
                --fail_next_settles;
                return {codec::to_int(codec::BusCode::kStorage), {}};
            }
            if (auto it = settled.find(r.round_id); it != settled.end()) {
                auto again = it->second;
                again.repeated = true;
                return {0, codec::encode(again)};
            }
            // Clamp to balances like the db node: a payer pays at most what they have.
            std::map<int64_t, int64_t> delta;
            for (const auto& t : r.transfers) {
                const int64_t pay = std::min(t.amount, users[t.from].score + delta[t.from]);
                delta[t.from] -= pay;
                delta[t.to] += pay;
            }
            SettleReply reply;
            reply.round_id = r.round_id;
            for (const int64_t uid : r.seats) {
                users[uid].score += delta[uid];
                reply.users.push_back({uid, delta[uid], users[uid].score});
            }
            settled[r.round_id] = reply;
            return {0, codec::encode(reply)};
        }
        if (type == kDbRobotAcquire) {
            RobotRequest r;
            REQUIRE(codec::decode(body, r) == codec::MsgError::kOk);
            RobotReply reply;
            for (const int64_t uid : robot_pool) {
                if (static_cast<int>(reply.robots.size()) >= r.count) break;
                if (online.count(uid) == 0) reply.robots.push_back(users[uid]);
            }
            return {0, codec::encode(reply)};
        }
        FAIL("unexpected db call " << type);
        return {1, {}};
    }
};

// A session check the room sent, waiting for the test to answer it.
struct Check {
    std::string proxy;
    common::SessionCheck asked;
    std::function<void(int32_t, std::vector<uint64_t>)> done;
};

class FakeHost final : public RoomHost {
public:
    FakeDb db;
    std::vector<Pushed> pushes;
    std::deque<Check> checks;
    int64_t load = -1;

    void push(const std::string& proxy, const std::vector<uint64_t>& sessions, uint32_t type,
              std::string_view body) override {
        pushes.push_back({proxy, sessions, type, std::string(body)});
    }
    void call_db(uint32_t type, std::string body,
                 std::function<void(int32_t, std::string)> done) override {
        calls_.push_back({type, std::move(body), std::move(done)});
    }
    void check_sessions(const std::string& proxy, const common::SessionCheck& check,
                        std::function<void(int32_t, std::vector<uint64_t>)> done) override {
        checks.push_back({proxy, check, std::move(done)});
    }
    // Answers the oldest session check.
    void answer_check(int32_t code, std::vector<uint64_t> gone = {}) {
        REQUIRE_FALSE(checks.empty());
        auto c = std::move(checks.front());
        checks.pop_front();
        c.done(code, std::move(gone));
        deliver();
    }
    HostTimer add_timer(milliseconds delay, std::function<void()> fn) override {
        const HostTimer id = next_++;
        timers_[id] = {now_ + delay.count(), std::move(fn)};
        return id;
    }
    void cancel_timer(HostTimer id) override { timers_.erase(id); }
    milliseconds time_left(HostTimer id) const override {
        auto it = timers_.find(id);
        return it == timers_.end() ? milliseconds(0) : milliseconds(it->second.due - now_);
    }
    int64_t now_ms() const override { return now_; }
    void set_load(int64_t l) override { load = l; }

    // Answers every db call, including those the answers cause.
    void deliver() {
        while (!calls_.empty()) {
            auto c = std::move(calls_.front());
            calls_.pop_front();
            auto [code, body] = db.serve(c.type, c.body);
            c.done(code, std::move(body));
        }
    }
    // Moves the clock, firing due timers in order, answering db calls as they come.
    void advance(milliseconds by) {
        const int64_t until = now_ + by.count();
        deliver();
        for (;;) {
            auto due = std::min_element(timers_.begin(), timers_.end(), [](auto& a, auto& b) {
                return a.second.due < b.second.due ||
                       (a.second.due == b.second.due && a.first < b.first);
            });
            if (due == timers_.end() || due->second.due > until) break;
            now_ = due->second.due;
            auto fn = std::move(due->second.fn);
            timers_.erase(due);
            fn();
            deliver();
        }
        now_ = until;
    }
    std::size_t db_calls_waiting() const { return calls_.size(); }

    // Pushes of `type` that reached `session`.
    std::vector<std::string> bodies_to(uint64_t session, uint32_t type) const {
        std::vector<std::string> out;
        for (const auto& p : pushes) {
            if (p.type != type) continue;
            for (const uint64_t s : p.sessions) {
                if (s == session) out.push_back(p.body);
            }
        }
        return out;
    }

private:
    struct Call {
        uint32_t type;
        std::string body;
        std::function<void(int32_t, std::string)> done;
    };
    struct Timer {
        int64_t due;
        std::function<void()> fn;
    };
    std::deque<Call> calls_;
    std::map<HostTimer, Timer> timers_;
    HostTimer next_ = 1;
    int64_t now_ = 1'000'000;
};

// A game where a message (150,1) from a chair ends the round: that chair wins the base score
// from every other chair.
struct FakeLogic final : TableLogic {
    struct Log {
        std::vector<Chair> sits, stands, reconnects, offlines;
        int starts = 0, aborts = 0;
        std::vector<std::vector<int64_t>> concludes;
    };
    explicit FakeLogic(Log& log) : log_(log) {}
    void init(TableServices& s) override { s_ = &s; }
    void on_start() override {
        ++log_.starts;
        playing_ = true;
    }
    void on_conclude(const std::vector<int64_t>& scores) override {
        log_.concludes.push_back(scores);
    }
    void on_sit(Chair c) override { log_.sits.push_back(c); }
    void on_stand(Chair c) override { log_.stands.push_back(c); }
    void on_reconnect(Chair c) override { log_.reconnects.push_back(c); }
    void on_offline(Chair c) override { log_.offlines.push_back(c); }
    codec::Errno on_message(Chair c, uint32_t type, std::string_view) override {
        if (!playing_) return codec::Errno::kWrongTableStatus;
        if (type != codec::msg_type(150, 1)) return codec::Errno::kUnknownCommand;
        RoundOutcome o;
        for (Chair other = 0; other < s_->chair_count(); ++other) {
            if (other != c) o.transfers.push_back({other, c, s_->base_score()});
        }
        o.result = "{}";
        playing_ = false;
        s_->conclude(std::move(o));
        return codec::Errno::kOk;
    }
    void on_timer(int) override {}
    bool playing() const override { return playing_; }
    void on_abort() override {
        ++log_.aborts;
        playing_ = false;
    }

    Log& log_;
    TableServices* s_ = nullptr;
    bool playing_ = false;
};

struct Fixture {
    FakeHost host;
    FakeLogic::Log log;
    std::unique_ptr<Room> room;
    std::map<uint64_t, Answer> answers;  // last answer per session

    explicit Fixture(int chairs = 2, bool robots = false,
                     milliseconds session_check = milliseconds(30000)) {
        RoomSettings s;
        s.node = "game-7";
        s.game_id = 7;
        s.kind = "fake";
        s.game_type = 2;
        s.level = 1;
        s.chairs = chairs;
        s.config.base_score = 100;
        s.config.min_score = 2000;
        s.config.robots = robots;
        s.config.robot_wait = milliseconds(5000);
        s.config.capacity = 100;
        s.config.session_check = session_check;
        room = std::make_unique<Room>(host, s, [this] { return std::make_unique<FakeLogic>(log); });
        room->start();
        host.deliver();
    }

    void add_user(int64_t uid, int64_t score = 10000, bool robot = false) {
        common::UserRecord u;
        u.user_id = uid;
        u.name = "user" + std::to_string(uid);
        u.score = score;
        u.robot = robot;
        host.db.users[uid] = u;
    }

    // FastLogin of `uid` on `session` through proxy-1; returns the answer.
    Answer login(uint64_t uid, uint64_t session, const std::string& proxy = "proxy-1") {
        answers.erase(session);
        room->fast_login(Entrant{uid, session, proxy},
                         [this, session](Answer a) { answers[session] = std::move(a); });
        host.deliver();
        REQUIRE(answers.count(session) == 1);
        return answers[session];
    }
    codec::FastLoginReply seat_of(const Answer& a) {
        REQUIRE(a.code == 0);
        codec::FastLoginReply r;
        REQUIRE(codec::decode(a.body, r) == codec::MsgError::kOk);
        return r;
    }
    // Users 1 and 2 (sessions 11 and 22) sit at a two-chair table and are ready: the round runs.
    void start_round() {
        add_user(1);
        add_user(2);
        login(1, 11);
        login(2, 22);
        send(1, 11, codec::kMsgReady);
        send(2, 22, codec::kMsgReady);
    }
    int32_t send(uint64_t uid, uint64_t session, uint32_t type) {
        int32_t code = -1;
        room->message(uid, session, type, {}, [&](Answer a) { code = a.code; });
        host.deliver();
        return code;
    }
};

}  // namespace

TEST_CASE("a FastLogin seats the user and sends the seat notices and the scene", "[game]") {
    Fixture f;
    f.add_user(1);
    const auto seat = f.seat_of(f.login(1, 11));
    CHECK(seat.game_id == 7);
    CHECK(seat.table_id == 0);
    CHECK(seat.chair_id == 0);
    const auto notices = f.host.bodies_to(11, codec::kMsgNotifySitDown);
    REQUIRE(notices.size() == 1);
    codec::NotifySitDown n;
    REQUIRE(codec::decode(notices[0], n) == codec::MsgError::kOk);
    CHECK(n.user_id == 1);
    CHECK(n.user_score == 10000);
    CHECK(f.log.sits == std::vector<Chair>{0});
    CHECK(f.host.db.online.at(1).node == "game-7");
    CHECK(f.host.load == 1);

    f.add_user(2);
    const auto second = f.seat_of(f.login(2, 22));
    CHECK(second.table_id == 0);
    CHECK(second.chair_id == 1);
    // The first player hears of the second; the second hears of both.
    CHECK(f.host.bodies_to(11, codec::kMsgNotifySitDown).size() == 2);
    CHECK(f.host.bodies_to(22, codec::kMsgNotifySitDown).size() == 2);
}

TEST_CASE("matching picks the fullest waiting table and opens a new one when all are full",
          "[game]") {
    Fixture f(3);
    for (int64_t u = 1; u <= 7; ++u) f.add_user(u);
    for (uint64_t u = 1; u <= 6; ++u) f.login(u, 100 + u);  // tables 0 and 1 full
    CHECK(f.room->tables() == 2);
    // Table 0 keeps one player, table 1 keeps two.
    CHECK(f.send(2, 102, codec::kMsgLogout) == 0);
    CHECK(f.send(3, 103, codec::kMsgLogout) == 0);
    CHECK(f.send(6, 106, codec::kMsgLogout) == 0);
    const auto seat = f.seat_of(f.login(7, 107));
    CHECK(seat.table_id == 1);
    // Now table 1 is full: the next goes to table 0, not to a new table.
    f.add_user(8);
    CHECK(f.seat_of(f.login(8, 108)).table_id == 0);
    f.add_user(9);
    CHECK(f.seat_of(f.login(9, 109)).table_id == 0);
    f.add_user(10);
    CHECK(f.seat_of(f.login(10, 110)).table_id == 2);
    CHECK(f.room->tables() == 3);
}

TEST_CASE("a balance under the level's minimum is refused with Errno 12 and seats nobody",
          "[game]") {
    Fixture f;
    f.add_user(1, 1999);
    const auto a = f.login(1, 11);
    CHECK(a.code == 12);
    CHECK(f.room->seated() == 0);
    CHECK(f.host.db.online.count(1) == 0);
}

TEST_CASE("a user online at another game node gets Errno 9 naming that game", "[game]") {
    Fixture f;
    f.add_user(1);
    f.host.db.online[1] = common::OnlineEntry{1, "game-3", 1, 2, 5, 60};
    const auto a = f.login(1, 11);
    CHECK(a.code == 9);
    codec::InAnotherGameError e;
    REQUIRE(codec::decode(a.body, e) == codec::MsgError::kOk);
    CHECK(e.err_no == 9);
    CHECK(e.game_id == 3);
    CHECK(e.game_type == 1);
    CHECK(e.game_level == 2);
    CHECK(f.room->seated() == 0);
}

TEST_CASE("a duplicate login kicks the old session and a late close of it changes nothing",
          "[game]") {
    Fixture f;
    f.add_user(1);
    f.add_user(2);
    f.login(1, 11);
    f.login(2, 22);
    const auto again = f.seat_of(f.login(1, 33, "proxy-2"));
    CHECK(again.chair_id == 0);
    const auto kicks = f.host.bodies_to(11, codec::kMsgNotifyKick);
    REQUIRE(kicks.size() == 1);
    codec::NotifyKick k;
    REQUIRE(codec::decode(kicks[0], k) == codec::MsgError::kOk);
    CHECK(k.err_no == 18);
    // The old session's clean-up arrives late: the new session keeps the seat.
    f.room->session_closed(1, 11);
    f.host.deliver();
    CHECK(f.room->seated() == 2);
    CHECK(f.send(1, 11, codec::kMsgReady) == 14);
    CHECK(f.send(1, 33, codec::kMsgReady) == 0);
    CHECK(f.log.reconnects == std::vector<Chair>{0});
}

TEST_CASE("the round starts when every chair is ready and settles through the db node", "[game]") {
    Fixture f;
    f.add_user(1);
    f.add_user(2, 5000);
    f.login(1, 11);
    f.login(2, 22);
    CHECK(f.send(1, 11, codec::kMsgReady) == 0);
    CHECK(f.log.starts == 0);
    CHECK(f.send(1, 11, codec::kMsgReady) == 0);  // a repeat changes nothing
    CHECK(f.send(2, 22, codec::kMsgReady) == 0);
    CHECK(f.log.starts == 1);
    CHECK(f.room->busy());
    CHECK(f.send(1, 11, codec::kMsgReady) == 0);  // during a round: changes nothing
    CHECK(f.log.starts == 1);

    f.host.db.fail_next_settles = 2;
    CHECK(f.send(2, 22, codec::msg_type(150, 1)) == 0);  // chair 1 wins 100 from chair 0
    // Two failures, then retries with the same round id until confirmed.
    CHECK(f.log.concludes.empty());
    CHECK(f.send(2, 22, codec::msg_type(150, 1)) == 13);  // settling: table refuses
    f.host.advance(milliseconds(10000));
    REQUIRE(f.host.db.settles.size() == 3);
    CHECK(f.host.db.settles[0].round_id == f.host.db.settles[2].round_id);
    REQUIRE(f.host.db.settles[0].transfers.size() == 1);
    CHECK(f.host.db.settles[0].transfers[0].from == 1);
    CHECK(f.host.db.settles[0].transfers[0].to == 2);
    CHECK(f.host.db.settles[0].transfers[0].amount == 100);
    REQUIRE(f.log.concludes.size() == 1);
    CHECK(f.log.concludes[0] == std::vector<int64_t>{-100, 100});
    CHECK(f.host.db.users[1].score == 9900);
    CHECK(f.host.db.users[2].score == 5100);
    const auto t1 = f.host.bodies_to(11, codec::kMsgNotifyTreasure);
    REQUIRE(t1.size() == 1);
    codec::NotifyTreasure nt;
    REQUIRE(codec::decode(t1[0], nt) == codec::MsgError::kOk);
    CHECK(nt.var_score == -100);
    CHECK(nt.change_type == 2);
    CHECK_FALSE(f.room->busy());
    // Statuses are free again and a new round needs new Readies.
    CHECK(f.send(1, 11, codec::kMsgReady) == 0);
    CHECK(f.log.starts == 1);
}

TEST_CASE("a disconnect during a round keeps the seat and the return gets the scene", "[game]") {
    Fixture f;
    f.start_round();
    REQUIRE(f.log.starts == 1);
    f.room->session_closed(2, 22);
    f.host.deliver();
    CHECK(f.log.offlines == std::vector<Chair>{1});
    CHECK(f.room->seated() == 2);
    const auto statuses = f.host.bodies_to(11, codec::kMsgNotifyStatus);
    codec::NotifyStatus last;
    REQUIRE(codec::decode(statuses.back(), last) == codec::MsgError::kOk);
    CHECK(last.chair_id == 1);
    CHECK(last.user_status == codec::kUserStatusOffline);

    const auto back = f.seat_of(f.login(2, 44));
    CHECK(back.chair_id == 1);
    CHECK(f.log.reconnects == std::vector<Chair>{1});
    CHECK(f.host.bodies_to(44, codec::kMsgNotifySitDown).size() == 2);
    CHECK(f.host.bodies_to(22, codec::kMsgNotifyKick).empty());  // nothing to kick: offline
}

TEST_CASE("an offline player is removed after the round and an empty table is freed", "[game]") {
    Fixture f;
    f.start_round();
    f.room->session_closed(2, 22);
    f.send(1, 11, codec::msg_type(150, 1));
    CHECK(f.room->seated() == 1);
    CHECK(f.host.db.online.count(2) == 0);
    CHECK(f.host.db.online.count(1) == 1);
    // Outside a round, a disconnect stands the player up; the last one frees the table.
    f.room->session_closed(1, 11);
    f.host.deliver();
    CHECK(f.room->seated() == 0);
    CHECK(f.room->tables() == 0);
    CHECK(f.host.db.online.empty());
    CHECK(f.host.load == 0);
}

TEST_CASE("robots fill a waiting table after the wait and leave after the round", "[game]") {
    Fixture f(3, true);
    f.add_user(1);
    for (int64_t r = 900; r < 905; ++r) {
        f.add_user(r, 50000, true);
        f.host.db.robot_pool.push_back(r);
    }
    f.login(1, 11);
    f.host.advance(milliseconds(4999));
    CHECK(f.room->seated() == 1);
    f.host.advance(milliseconds(1));
    CHECK(f.room->seated() == 3);
    CHECK(f.log.starts == 0);  // robots are ready; the person is not yet
    CHECK(f.send(1, 11, codec::kMsgReady) == 0);
    CHECK(f.log.starts == 1);
    CHECK(f.send(1, 11, codec::msg_type(150, 1)) == 0);
    REQUIRE(f.log.concludes.size() == 1);
    CHECK(f.log.concludes[0] == std::vector<int64_t>{200, -100, -100});
    CHECK(f.room->seated() == 1);  // robots stood up
    f.host.advance(milliseconds(5000));
    CHECK(f.room->seated() == 3);  // and the table is refilled
    // The person leaves: robots never sit alone.
    CHECK(f.send(1, 11, codec::kMsgLogout) == 0);
    CHECK(f.room->seated() == 0);
    CHECK(f.room->tables() == 0);
}

TEST_CASE("a shut room refuses new players with Errno 17 and lets rounds finish", "[game]") {
    Fixture f;
    for (int64_t u = 1; u <= 3; ++u) f.add_user(u);
    f.login(1, 11);
    f.login(2, 22);
    f.send(1, 11, codec::kMsgReady);
    f.send(2, 22, codec::kMsgReady);
    f.room->set_open(false);
    CHECK(f.login(3, 33).code == 17);
    CHECK(f.room->busy());
    // A seated player may still return.
    CHECK(f.login(2, 44).code == 0);
    CHECK(f.send(2, 44, codec::msg_type(150, 1)) == 0);
    CHECK_FALSE(f.room->busy());
    CHECK(f.send(1, 11, codec::kMsgReady) == 17);  // no new round while shut
    f.room->set_open(true);
    CHECK(f.login(3, 33).code == 0);
}

TEST_CASE("aborting ends rounds without settlement and a late answer changes nothing", "[game]") {
    Fixture f;
    f.start_round();
    f.room->message(1, 11, codec::msg_type(150, 1), {}, [](Answer) {});
    REQUIRE(f.host.db_calls_waiting() == 1);  // the settlement is out
    f.room->abort_all();
    CHECK_FALSE(f.room->busy());
    CHECK(f.log.aborts == 1);
    f.host.deliver();  // the db node answers after all
    CHECK(f.log.concludes.empty());
}

TEST_CASE("start clears this node's old online entries and seated entries are refreshed",
          "[game]") {
    Fixture f;
    CHECK(f.host.db.cleared == 1);
    f.add_user(1);
    f.login(1, 11);
    f.host.db.online.erase(1);  // expired in Redis, say
    f.host.advance(milliseconds(20000));
    REQUIRE(f.host.db.online.count(1) == 1);
    CHECK(f.host.db.online.at(1).table_id == 0);
}

TEST_CASE("the session check frees a seat whose session its proxy no longer has", "[game]") {
    Fixture f(3);
    for (int64_t u = 1; u <= 3; ++u) f.add_user(u);
    f.login(1, 11, "proxy-1");
    f.login(2, 22, "proxy-1");
    f.login(3, 33, "proxy-2");
    REQUIRE(f.room->seated() == 3);
    f.host.advance(milliseconds(29999));
    CHECK(f.host.checks.empty());
    f.host.advance(milliseconds(1));
    // One check per proxy, naming each online seat with its user.
    REQUIRE(f.host.checks.size() == 2);
    CHECK(f.host.checks[0].proxy == "proxy-1");
    const auto& asked = f.host.checks[0].asked;
    REQUIRE(asked.users.size() == 2);
    REQUIRE(asked.sessions.size() == 2);
    for (std::size_t i = 0; i < 2; ++i) CHECK(asked.sessions[i] == asked.users[i] * 11);
    CHECK(asked.users[0] + asked.users[1] == 3);
    CHECK(f.host.checks[1].proxy == "proxy-2");
    CHECK(f.host.checks[1].asked.sessions == std::vector<uint64_t>{33});
    // proxy-1 lost session 22 (its SessionClosed never came); proxy-2 still has 33.
    f.host.answer_check(0, {22});
    f.host.answer_check(0, {});
    CHECK(f.room->seated() == 2);
    CHECK(f.host.db.online.count(2) == 0);
    CHECK(f.host.load == 2);
    // A session that took the seat since the check was sent is not the one reported gone.
    f.host.advance(milliseconds(30000));
    REQUIRE(f.host.checks.size() == 2);
    CHECK(f.seat_of(f.login(1, 44, "proxy-2")).chair_id == 0);  // user 1 came back elsewhere
    f.host.answer_check(0, {11});
    CHECK(f.room->seated() == 2);
    f.host.answer_check(0, {});
}

TEST_CASE("a session lost during a round makes the player offline, not standing", "[game]") {
    Fixture f;
    f.start_round();
    REQUIRE(f.log.starts == 1);
    f.host.advance(milliseconds(30000));
    REQUIRE(f.host.checks.size() == 1);
    f.host.answer_check(0, {22});
    CHECK(f.log.offlines == std::vector<Chair>{1});
    CHECK(f.room->seated() == 2);
    // Offline seats have no session to ask about.
    f.host.advance(milliseconds(30000));
    REQUIRE(f.host.checks.size() == 1);
    CHECK(f.host.checks[0].asked.sessions == std::vector<uint64_t>{11});
}

TEST_CASE("seats of a proxy off the bus are freed only after it stayed away 15 s", "[game]") {
    Fixture f(2, false, milliseconds(5000));
    f.add_user(1);
    f.login(1, 11);
    const auto unknown = codec::to_int(codec::BusCode::kUnknownTarget);
    // No answer at all (a deadline) says nothing, however often.
    for (int i = 0; i < 5; ++i) {
        f.host.advance(milliseconds(5000));
        f.host.answer_check(codec::to_int(codec::BusCode::kTimeout));
    }
    CHECK(f.room->seated() == 1);
    // Unknown for 10 s (a manager restart), then back: kept, and the clock starts again.
    f.host.advance(milliseconds(5000));
    f.host.answer_check(unknown);
    f.host.advance(milliseconds(5000));
    f.host.answer_check(unknown);
    f.host.advance(milliseconds(5000));
    f.host.answer_check(unknown);  // 10 s since first unknown
    CHECK(f.room->seated() == 1);
    f.host.advance(milliseconds(5000));
    f.host.answer_check(0, {});
    f.host.advance(milliseconds(5000));
    f.host.answer_check(unknown);
    f.host.advance(milliseconds(5000));
    f.host.answer_check(unknown);
    f.host.advance(milliseconds(5000));
    f.host.answer_check(unknown);  // 10 s
    CHECK(f.room->seated() == 1);
    f.host.advance(milliseconds(5000));
    f.host.answer_check(unknown);  // 15 s: the proxy is gone
    CHECK(f.room->seated() == 0);
    CHECK(f.room->tables() == 0);
    CHECK(f.host.load == 0);
    // Nobody left to ask about.
    f.host.advance(milliseconds(5000));
    CHECK(f.host.checks.empty());
}

TEST_CASE("session.check_ms = 0 turns the session check off", "[game]") {
    Fixture f(2, false, milliseconds(0));
    f.add_user(1);
    f.login(1, 11);
    f.host.advance(milliseconds(600000));
    CHECK(f.host.checks.empty());
    CHECK(f.room->seated() == 1);
}

TEST_CASE("describe lists each table's phase, time in it, round and seats", "[game]") {
    Fixture f;
    f.start_round();
    f.host.advance(milliseconds(1500));
    f.room->session_closed(2, 22);
    f.host.deliver();
    auto r = f.room->describe();
    CHECK(r.node == "game-7");
    CHECK(r.seated == 2);
    CHECK(r.tables_total == 1);
    CHECK(r.unseated.empty());
    REQUIRE(r.tables.size() == 1);
    const auto& t = r.tables[0];
    CHECK(t.phase == "playing");
    CHECK(t.phase_ms == 1500);
    CHECK_FALSE(t.round_id.empty());
    REQUIRE(t.seats.size() == 2);
    CHECK(t.seats[0].user_id == 1);
    CHECK(t.seats[0].session == 11);
    CHECK(t.seats[0].proxy == "proxy-1");
    CHECK_FALSE(t.seats[0].offline);
    CHECK(t.seats[1].user_id == 2);
    CHECK(t.seats[1].offline);
    CHECK(t.seats[1].session == 0);
    CHECK(t.seats[1].status == codec::kUserStatusOffline);
    // The round ends: the offline player leaves, the table waits again from now.
    f.send(1, 11, codec::msg_type(150, 1));
    r = f.room->describe();
    CHECK(r.seated == 1);
    REQUIRE(r.tables.size() == 1);
    CHECK(r.tables[0].phase == "waiting");
    CHECK(r.tables[0].phase_ms == 0);
    CHECK(r.tables[0].round_id.empty());
    REQUIRE(r.tables[0].seats.size() == 1);
    CHECK(r.tables[0].seats[0].user_id == 1);
    f.room->session_closed(1, 11);
    f.host.deliver();
    r = f.room->describe();
    CHECK(r.seated == 0);
    CHECK(r.tables_total == 0);
    CHECK(r.tables.empty());
}
