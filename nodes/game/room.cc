#include "nodes/game/room.h"

#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>

#include "codec/messages.h"
#include "nodes/common/proxy_api.h"

namespace tb::game {

namespace {

using codec::Errno;
using std::chrono::milliseconds;

// How long a proxy must stay unknown to the bus before the seats of its sessions are freed: a
// restarted manager takes a few seconds to see every proxy again (liveness plus backoff).
constexpr milliseconds kProxyLostAfter{15000};

Answer error(Errno e, std::string_view text = {}) {
    return Answer{
        codec::to_int(e), text.empty() ? std::string(codec::errno_text(e)) : std::string(text), {}};
}

Answer error_of_code(int32_t code) {
    return error(codec::client_errno(code));
}

uint64_t seed_from_os() {
    uint64_t seed = 0;
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&seed), sizeof seed) != 1) {
        seed = std::random_device{}();
    }
    return seed;
}

std::string hex64(uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

codec::NotifySitDown sit_notice(const Seat& s, int32_t table, Chair chair) {
    codec::NotifySitDown n;
    n.user_id = s.view.user_id;
    n.user_name = s.view.name;
    n.user_icon = s.icon;
    n.user_level = s.level;
    n.user_gender = s.gender;
    n.user_score = s.view.score;
    n.user_diamond = s.diamond;
    n.table_id = table;
    n.chair_id = chair;
    n.user_status = s.view.status;
    return n;
}

Seat seat_of_record(const common::UserRecord& u, const Entrant* who) {
    Seat s;
    s.view.user_id = u.user_id;
    s.view.name = u.name;
    s.view.robot = u.robot;
    s.view.score = u.score;
    s.view.status = codec::kUserStatusFree;
    s.icon = u.icon;
    s.level = u.level;
    s.gender = u.gender;
    s.diamond = u.diamond;
    if (who != nullptr) {
        s.proxy = who->proxy;
        s.session = who->session;
    }
    return s;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Table

Table::Table(Room& room, int32_t id, int chairs, std::unique_ptr<TableLogic> logic)
    : room_(room),
      id_(id),
      seats_(static_cast<size_t>(chairs)),
      logic_(std::move(logic)),
      phase_since_ms_(room.host().now_ms()) {
    logic_->init(*this);
}

Table::~Table() {
    kill_all_timers();
    if (settle_timer_ != 0) room_.host().cancel_timer(settle_timer_);
}

const SeatView* Table::seat(Chair chair) const {
    if (chair < 0 || chair >= chair_count() || !seats_[static_cast<size_t>(chair)]) return nullptr;
    return &seats_[static_cast<size_t>(chair)]->view;
}

Seat* Table::seat_of(Chair chair) noexcept {
    if (chair < 0 || chair >= chair_count() || !seats_[static_cast<size_t>(chair)]) return nullptr;
    return &*seats_[static_cast<size_t>(chair)];
}

int Table::seated() const noexcept {
    return static_cast<int>(
        std::count_if(seats_.begin(), seats_.end(), [](const auto& s) { return s.has_value(); }));
}

int Table::humans() const noexcept {
    return static_cast<int>(std::count_if(seats_.begin(), seats_.end(), [](const auto& s) {
        return s.has_value() && !s->view.robot;
    }));
}

std::optional<Chair> Table::free_chair() const noexcept {
    for (size_t i = 0; i < seats_.size(); ++i) {
        if (!seats_[i]) return static_cast<Chair>(i);
    }
    return std::nullopt;
}

void Table::send_to_chair(Chair chair, uint32_t type, std::string_view body) {
    const Seat* s = seat_of(chair);
    if (s == nullptr || s->session == 0 || s->proxy.empty()) return;
    room_.host().push(s->proxy, {s->session}, type, body);
}

void Table::send_to_table(uint32_t type, std::string_view body) {
    // One push per proxy carrying all of its sessions at this table.
    std::map<std::string, std::vector<uint64_t>> by_proxy;
    for (const auto& s : seats_) {
        if (s && s->session != 0 && !s->proxy.empty()) by_proxy[s->proxy].push_back(s->session);
    }
    for (const auto& [proxy, sessions] : by_proxy) room_.host().push(proxy, sessions, type, body);
}

void Table::set_timer(int timer_id, milliseconds delay) {
    kill_timer(timer_id);
    timers_[timer_id] = room_.host().add_timer(delay, [this, timer_id] {
        timers_.erase(timer_id);
        logic_->on_timer(timer_id);
    });
}

void Table::kill_timer(int timer_id) {
    auto it = timers_.find(timer_id);
    if (it == timers_.end()) return;
    room_.host().cancel_timer(it->second);
    timers_.erase(it);
}

milliseconds Table::timer_left(int timer_id) const {
    auto it = timers_.find(timer_id);
    return it == timers_.end() ? milliseconds(0) : room_.host().time_left(it->second);
}

void Table::kill_all_timers() {
    for (const auto& [id, timer] : timers_) room_.host().cancel_timer(timer);
    timers_.clear();
}

uint64_t Table::random() {
    return room_.rng()();
}

milliseconds Table::think_time() {
    const auto& c = room_.settings().config;
    const int64_t lo = c.think_min.count();
    const int64_t hi = std::max(lo, c.think_max.count());
    return milliseconds(lo +
                        static_cast<int64_t>(room_.rng()() % static_cast<uint64_t>(hi - lo + 1)));
}

int64_t Table::base_score() const {
    return room_.settings().config.effective_base_score(room_.settings().level);
}

void Table::set_status(Chair chair, int32_t status) {
    Seat* s = seat_of(chair);
    if (s == nullptr) return;
    s->view.status = status;
    send_to_table(codec::NotifyStatus{chair, status});
}

void Table::send_seats_to(Chair to) {
    for (size_t i = 0; i < seats_.size(); ++i) {
        if (seats_[i]) send_to_chair(to, sit_notice(*seats_[i], id_, static_cast<Chair>(i)));
    }
}

void Table::sit(Chair chair, Seat seat) {
    seats_[static_cast<size_t>(chair)] = std::move(seat);
    // Everyone else learns of the newcomer; the newcomer learns of everyone, itself included.
    const auto notice = codec::encode(sit_notice(*seats_[static_cast<size_t>(chair)], id_, chair));
    for (size_t i = 0; i < seats_.size(); ++i) {
        if (seats_[i] && static_cast<Chair>(i) != chair) {
            send_to_chair(static_cast<Chair>(i), codec::kMsgNotifySitDown, notice);
        }
    }
    send_seats_to(chair);
    logic_->on_sit(chair);
    room_.on_seated(*this, chair);
    if (seats_[static_cast<size_t>(chair)]->view.robot) {
        // Robots are ready as soon as they sit.
        set_status(chair, codec::kUserStatusReady);
        try_start();
    }
}

uint64_t Table::stand(Chair chair) {
    Seat* s = seat_of(chair);
    if (s == nullptr) return 0;
    logic_->on_stand(chair);
    const uint64_t user = static_cast<uint64_t>(s->view.user_id);
    send_to_table(codec::NotifyStandUp{chair});
    seats_[static_cast<size_t>(chair)].reset();
    return user;
}

codec::Errno Table::ready(Chair chair) {
    Seat* s = seat_of(chair);
    if (s == nullptr) return Errno::kNotSeated;
    // Clients send Ready on their own NotifySitDown, which a return during a round also
    // brings: that Ready changes nothing and is no error.
    if (phase_ != Phase::kWaiting) return Errno::kOk;
    if (!room_.open()) return Errno::kDraining;
    if (s->view.score < room_.min_score()) return Errno::kNotEnoughScore;
    if (s->view.status == codec::kUserStatusReady) return Errno::kOk;  // a repeat changes nothing
    set_status(chair, codec::kUserStatusReady);
    try_start();
    return Errno::kOk;
}

void Table::try_start() {
    if (phase_ != Phase::kWaiting || !room_.open()) return;
    for (const auto& s : seats_) {
        if (!s || s->view.status != codec::kUserStatusReady) return;
    }
    set_phase(Phase::kPlaying);
    round_id_ = room_.settings().node + "-" + std::to_string(id_) + "-" +
                std::to_string(room_.host().now_ms()) + "-" + hex64(room_.rng()()).substr(0, 8);
    for (size_t i = 0; i < seats_.size(); ++i) {
        set_status(static_cast<Chair>(i), codec::kUserStatusPlaying);
    }
    logic_->on_start();
}

void Table::set_phase(Phase p) {
    phase_ = p;
    phase_since_ms_ = room_.host().now_ms();
}

common::TableInfo Table::info() const {
    common::TableInfo t;
    t.table_id = id_;
    t.phase = phase_ == Phase::kWaiting   ? "waiting"
              : phase_ == Phase::kPlaying ? "playing"
                                          : "settling";
    t.phase_ms = std::max<int64_t>(0, room_.host().now_ms() - phase_since_ms_);
    if (phase_ != Phase::kWaiting) t.round_id = round_id_;
    for (size_t i = 0; i < seats_.size(); ++i) {
        if (!seats_[i]) continue;
        const Seat& s = *seats_[i];
        t.seats.push_back({static_cast<int32_t>(i), s.view.user_id, s.view.robot, s.view.offline,
                           s.view.status, s.session, s.proxy});
    }
    return t;
}

void Table::go_offline(Chair chair) {
    Seat* s = seat_of(chair);
    if (s == nullptr) return;
    s->session = 0;
    if (s->view.offline) return;
    s->view.offline = true;
    set_status(chair, codec::kUserStatusOffline);
    logic_->on_offline(chair);
}

void Table::come_back(Chair chair, const std::string& proxy, uint64_t session) {
    Seat* s = seat_of(chair);
    if (s == nullptr) return;
    s->proxy = proxy;
    s->session = session;
    if (s->view.offline) {
        s->view.offline = false;
        set_status(chair,
                   phase_ == Phase::kWaiting ? codec::kUserStatusFree : codec::kUserStatusPlaying);
    }
    send_seats_to(chair);
    logic_->on_reconnect(chair);
}

void Table::conclude(RoundOutcome outcome) {
    if (phase_ != Phase::kPlaying) return;
    set_phase(Phase::kSettling);
    kill_all_timers();
    common::SettleRequest req;
    req.round_id = round_id_;
    req.game = room_.settings().kind;
    req.level = room_.settings().level;
    req.node = room_.settings().node;
    for (const auto& s : seats_) req.seats.push_back(s ? s->view.user_id : 0);
    req.seed = std::move(outcome.seed);
    req.result = std::move(outcome.result);
    for (const auto& t : outcome.transfers) {
        const Seat* from = seat_of(t.from);
        const Seat* to = seat_of(t.to);
        if (from == nullptr || to == nullptr || t.amount <= 0 || t.from == t.to) continue;
        req.transfers.push_back({from->view.user_id, to->view.user_id, t.amount});
    }
    settle(req, room_.settings().config.settle_retry);
}

void Table::settle(const common::SettleRequest& req, milliseconds retry) {
    const uint64_t attempt = ++settle_attempt_;
    Room* room = &room_;
    const int32_t table_id = id_;
    room_.host().call_db(
        common::kDbSettle, codec::encode(req),
        [room, table_id, attempt, req, retry](int32_t code, std::string body) {
            Table* t = room->table(table_id);
            if (t == nullptr || t->settle_attempt_ != attempt || t->phase_ != Phase::kSettling) {
                return;  // aborted meanwhile
            }
            common::SettleReply reply;
            if (code == 0 && codec::decode(body, reply) == codec::MsgError::kOk) {
                t->settled(reply);
                return;
            }
            // Not confirmed: the same round id again later, so the db node applies it once.
            spdlog::warn("game: round {} not settled (code {}), retrying in {} ms", req.round_id,
                         code, retry.count());
            const auto next = std::min(retry * 2, milliseconds(30000));
            t->settle_timer_ = room->host().add_timer(retry, [room, table_id, req, next] {
                Table* again = room->table(table_id);
                if (again == nullptr || again->phase_ != Phase::kSettling) return;
                again->settle_timer_ = 0;
                again->settle(req, next);
            });
        });
}

void Table::settled(const common::SettleReply& reply) {
    std::vector<int64_t> scores(seats_.size(), 0);
    for (size_t i = 0; i < seats_.size(); ++i) {
        if (!seats_[i]) continue;
        for (const auto& u : reply.users) {
            if (u.user_id != seats_[i]->view.user_id) continue;
            scores[i] = u.delta;
            seats_[i]->view.score = u.score;
        }
    }
    set_phase(Phase::kWaiting);
    logic_->on_conclude(scores);
    for (size_t i = 0; i < seats_.size(); ++i) {
        if (!seats_[i] || scores[i] == 0) continue;
        send_to_chair(static_cast<Chair>(i),
                      codec::NotifyTreasure{seats_[i]->view.user_id, scores[i], 0,
                                            codec::kChangeTypeWinLose});
    }
    room_.on_round_over(*this);  // may free this table: nothing after this line
}

void Table::abort_round() {
    if (phase_ == Phase::kWaiting) return;
    kill_all_timers();
    if (settle_timer_ != 0) {
        room_.host().cancel_timer(settle_timer_);
        settle_timer_ = 0;
    }
    ++settle_attempt_;
    set_phase(Phase::kWaiting);
    logic_->on_abort();
}

// ---------------------------------------------------------------------------------------------
// Room

Room::Room(RoomHost& host, RoomSettings settings, LogicFactory factory)
    : host_(host),
      settings_(std::move(settings)),
      factory_(std::move(factory)),
      rng_(seed_from_os()) {}

Room::~Room() {
    for (const auto& [id, timer] : robot_timers_) host_.cancel_timer(timer);
    if (refresh_timer_ != 0) host_.cancel_timer(refresh_timer_);
    if (session_timer_ != 0) host_.cancel_timer(session_timer_);
    tables_.clear();
}

int64_t Room::min_score() const noexcept {
    return settings_.config.effective_min_score(settings_.level);
}

Table* Room::table(int32_t id) noexcept {
    auto it = tables_.find(id);
    return it == tables_.end() ? nullptr : it->second.get();
}

void Room::start() {
    common::NodeEntries clear{settings_.node};
    host_.call_db(common::kDbOnlineClearNode, codec::encode(clear),
                  [this](int32_t code, std::string) {
                      if (code != 0) {
                          // Entries of a dead node count as absent anyway (the db node checks
                          // the bus); stale entries of this id just expire.
                          spdlog::warn("game: clearing old online entries failed (code {})", code);
                      }
                      started_ = true;
                  });
    schedule_refresh();
    schedule_session_check();
    update_load();
}

void Room::schedule_refresh() {
    const auto period = std::max(milliseconds(1000), settings_.config.online_ttl / 3);
    refresh_timer_ = host_.add_timer(period, [this] {
        refresh_online();
        schedule_refresh();
    });
}

void Room::schedule_session_check() {
    if (settings_.config.session_check.count() <= 0) return;
    session_timer_ = host_.add_timer(settings_.config.session_check, [this] {
        check_sessions();
        schedule_session_check();
    });
}

void Room::check_sessions() {
    // Per proxy, checks of at most kSessionCheckMax sessions each.
    std::map<std::string, std::vector<common::SessionCheck>> by_proxy;
    for (const auto& [user, at] : where_) {
        Table* t = table(at.table);
        const Seat* s = t != nullptr ? t->seat_of(at.chair) : nullptr;
        // Robots have no proxy; an offline seat has no session to lose.
        if (s == nullptr || s->view.robot || s->session == 0 || s->proxy.empty()) continue;
        auto& parts = by_proxy[s->proxy];
        if (parts.empty() || parts.back().sessions.size() == common::kSessionCheckMax) {
            parts.emplace_back();
        }
        parts.back().users.push_back(user);
        parts.back().sessions.push_back(s->session);
    }
    std::erase_if(proxy_missing_since_,
                  [&](const auto& kv) { return by_proxy.count(kv.first) == 0; });
    // Not a structured binding: clang before 16 cannot capture one in a lambda (C++20 allows
    // it), and the fuzz build uses clang 14.
    for (const auto& entry : by_proxy) {
        const std::string& proxy = entry.first;
        for (const auto& part : entry.second) {
            host_.check_sessions(proxy, part,
                                 [this, proxy, part](int32_t code, std::vector<uint64_t> gone) {
                                     on_sessions_checked(proxy, part, code, gone);
                                 });
        }
    }
}

void Room::on_sessions_checked(const std::string& proxy, const common::SessionCheck& asked,
                               int32_t code, const std::vector<uint64_t>& gone) {
    if (code == 0) {
        proxy_missing_since_.erase(proxy);
        const std::set<uint64_t> closed(gone.begin(), gone.end());
        for (std::size_t i = 0; i < asked.sessions.size(); ++i) {
            if (closed.count(asked.sessions[i]) != 0 &&
                session_closed(asked.users[i], asked.sessions[i])) {
                spdlog::info("game: user={} session={} is gone from {}: closed here",
                             asked.users[i], asked.sessions[i], proxy);
            }
        }
        return;
    }
    // No answer (a deadline, a busy proxy) says nothing: ask again next time.
    if (code != codec::to_int(codec::BusCode::kUnknownTarget)) return;
    const int64_t now = host_.now_ms();
    const auto [it, first] = proxy_missing_since_.try_emplace(proxy, now);
    if (now - it->second < kProxyLostAfter.count()) return;
    spdlog::warn("game: {} has been off the bus for {} ms: closing its {} sessions here", proxy,
                 now - it->second, asked.sessions.size());
    for (std::size_t i = 0; i < asked.sessions.size(); ++i) {
        session_closed(asked.users[i], asked.sessions[i]);
    }
}

void Room::fast_login(const Entrant& who, AnswerFn answer) {
    if (auto it = where_.find(who.user); it != where_.end()) {
        reconnect(who, it->second, std::move(answer));
        return;
    }
    if (!started_ || !open_ || stopping_) return answer(error(Errno::kDraining));
    if (admitting_.count(who.user) != 0) {
        return answer(error(Errno::kFailure, "login in progress"));
    }
    if (seated() + static_cast<int64_t>(admitting_.size()) >= settings_.config.capacity) {
        return answer(error(Errno::kRateLimited, "server full"));
    }
    admitting_.insert(who.user);
    common::UserQuery q{static_cast<int64_t>(who.user)};
    host_.call_db(common::kDbLoadUser, codec::encode(q),
                  [this, who, answer = std::move(answer)](int32_t code, std::string body) mutable {
                      common::UserRecord user;
                      if (code != 0 || codec::decode(body, user) != codec::MsgError::kOk) {
                          admitting_.erase(who.user);
                          return answer(code != 0 ? error_of_code(code) : error(Errno::kFailure));
                      }
                      if (user.score < min_score()) {
                          admitting_.erase(who.user);
                          return answer(error(Errno::kNotEnoughScore));
                      }
                      common::UserQuery again{user.user_id};
                      host_.call_db(
                          common::kDbOnlineGet, codec::encode(again),
                          [this, who, user = std::move(user), answer = std::move(answer)](
                              int32_t c, std::string b) mutable {
                              admitting_.erase(who.user);
                              common::OnlineEntry e;
                              if (c != 0 || codec::decode(b, e) != codec::MsgError::kOk) {
                                  return answer(c != 0 ? error_of_code(c) : error(Errno::kFailure));
                              }
                              if (!e.node.empty() && e.node != settings_.node) {
                                  codec::InAnotherGameError busy;
                                  busy.err_desc =
                                      std::string(codec::errno_text(Errno::kInAnotherGame));
                                  busy.game_id = common::game_id_of_node(e.node);
                                  busy.game_type = e.game_type;
                                  busy.game_level = e.game_level;
                                  return answer(Answer{codec::to_int(Errno::kInAnotherGame),
                                                       busy.err_desc, codec::encode(busy)});
                              }
                              admit(who, std::move(user), std::move(answer));
                          });
                  });
}

void Room::admit(const Entrant& who, common::UserRecord user, AnswerFn answer) {
    // The world may have moved while the db node answered.
    if (auto it = where_.find(who.user); it != where_.end()) {
        reconnect(who, it->second, std::move(answer));
        return;
    }
    if (!open_ || stopping_) return answer(error(Errno::kDraining));
    if (seated() >= settings_.config.capacity) {
        return answer(error(Errno::kRateLimited, "server full"));
    }
    Table* t = nullptr;
    try {
        t = &match();
    } catch (const std::length_error&) {
        return answer(error(Errno::kRateLimited, "server full"));
    }
    const Chair chair = *t->free_chair();
    codec::FastLoginReply reply{settings_.game_id, settings_.game_type, settings_.level,
                                t->table_id(), chair};
    answer(Answer{0, {}, codec::encode(reply)});
    // The reply goes first, so the proxy knows the seat before the notices arrive.
    t->sit(chair, seat_of_record(user, &who));
}

void Room::reconnect(const Entrant& who, Where at, AnswerFn answer) {
    Table* t = table(at.table);
    Seat* s = t != nullptr ? t->seat_of(at.chair) : nullptr;
    if (s == nullptr) return answer(error(Errno::kFailure));
    if (s->session != 0 && (s->session != who.session || s->proxy != who.proxy)) {
        // A newer login takes the seat; the old session is told and closed by its proxy.
        codec::NotifyKick kick{codec::to_int(Errno::kKicked), "logged in elsewhere"};
        host_.push(s->proxy, {s->session}, codec::kMsgNotifyKick, codec::encode(kick));
    }
    codec::FastLoginReply reply{settings_.game_id, settings_.game_type, settings_.level,
                                t->table_id(), at.chair};
    answer(Answer{0, {}, codec::encode(reply)});
    t->come_back(at.chair, who.proxy, who.session);
    set_online(*s, t->table_id());
}

Table& Room::match() {
    // The classic rule: the fullest table still waiting that has a seat, stopping early at one
    // that is a single player short; else a new table.
    Table* best = nullptr;
    for (auto& [id, t] : tables_) {
        if (t->phase() != Table::Phase::kWaiting || t->full()) continue;
        if (best == nullptr || t->seated() > best->seated()) best = t.get();
        if (best->seated() == best->chair_count() - 1) break;
    }
    if (best != nullptr) return *best;
    if (static_cast<int64_t>(tables_.size()) >= settings_.config.max_tables) {
        throw std::length_error("no table left");
    }
    // Table ids are reused from the lowest free one, so they stay small.
    int32_t id = 0;
    while (tables_.count(id) != 0) ++id;
    auto t = std::make_unique<Table>(*this, id, settings_.chairs, factory_());
    Table& ref = *t;
    tables_.emplace(id, std::move(t));
    return ref;
}

void Room::message(uint64_t user, uint64_t session, uint32_t type, std::string_view body,
                   AnswerFn answer) {
    auto it = where_.find(user);
    Table* t = it != where_.end() ? table(it->second.table) : nullptr;
    Seat* s = t != nullptr ? t->seat_of(it->second.chair) : nullptr;
    if (s == nullptr || s->session != session) return answer(error(Errno::kNotSeated));
    const Chair chair = it->second.chair;
    if (type == codec::kMsgLogout) {
        answer(Answer{});
        if (t->phase() == Table::Phase::kWaiting) {
            stand_up(t->table_id(), chair);
        } else {
            t->go_offline(chair);  // the seat is kept and played for
        }
        return;
    }
    if (type == codec::kMsgReady) {
        const Errno e = t->ready(chair);
        return answer(e == Errno::kOk ? Answer{} : error(e));
    }
    if (codec::mcmd_of(type) != codec::kMcmdGame) return answer(error(Errno::kUnknownCommand));
    if (t->phase() == Table::Phase::kSettling) return answer(error(Errno::kWrongTableStatus));
    const Errno e = t->logic().on_message(chair, type, body);
    answer(e == Errno::kOk ? Answer{} : error(e));
}

bool Room::session_closed(uint64_t user, uint64_t session) {
    auto it = where_.find(user);
    if (it == where_.end()) return false;
    Table* t = table(it->second.table);
    Seat* s = t != nullptr ? t->seat_of(it->second.chair) : nullptr;
    if (s == nullptr || s->session != session) return false;  // a replaced session
    if (t->phase() == Table::Phase::kWaiting) {
        stand_up(t->table_id(), it->second.chair);
    } else {
        t->go_offline(it->second.chair);
    }
    return true;
}

void Room::on_seated(Table& t, Chair chair) {
    const Seat* s = t.seat_of(chair);
    where_[static_cast<uint64_t>(s->view.user_id)] = Where{t.table_id(), chair};
    set_online(*s, t.table_id());
    update_load();
    if (!s->view.robot) arm_robots(t);
}

void Room::forget(uint64_t user) {
    where_.erase(user);
    common::OnlineEntry e;
    e.user_id = static_cast<int64_t>(user);
    e.node = settings_.node;
    host_.call_db(common::kDbOnlineDelete, codec::encode(e), [](int32_t, std::string) {});
}

void Room::stand_up(int32_t table_id, Chair chair) {
    Table* t = table(table_id);
    if (t == nullptr) return;
    if (const uint64_t user = t->stand(chair); user != 0) forget(user);
    if (t->humans() == 0 && t->phase() == Table::Phase::kWaiting) {
        // Robots never sit alone: they leave with the last person, and the table is freed.
        for (Chair c = 0; c < t->chair_count(); ++c) {
            if (const uint64_t robot = t->stand(c); robot != 0) forget(robot);
        }
        if (auto rt = robot_timers_.find(table_id); rt != robot_timers_.end()) {
            host_.cancel_timer(rt->second);
            robot_timers_.erase(rt);
        }
        robots_requested_.erase(table_id);
        tables_.erase(table_id);
    } else {
        arm_robots(*t);
    }
    update_load();
}

void Room::on_round_over(Table& t) {
    const int32_t id = t.table_id();
    // Offline players and robots leave; everyone else is free for the next round.
    std::vector<Chair> leaving;
    for (Chair c = 0; c < t.chair_count(); ++c) {
        const Seat* s = t.seat_of(c);
        if (s == nullptr) continue;
        if (s->view.offline || s->view.robot) {
            leaving.push_back(c);
        }
    }
    for (Chair c = 0; c < t.chair_count(); ++c) {
        Seat* s = t.seat_of(c);
        if (s != nullptr && !s->view.offline && !s->view.robot) {
            t.set_status(c, codec::kUserStatusFree);
        }
    }
    for (const Chair c : leaving) stand_up(id, c);
    if (Table* still = table(id)) arm_robots(*still);
}

void Room::arm_robots(Table& t) {
    const int32_t id = t.table_id();
    if (!settings_.config.robots || t.phase() != Table::Phase::kWaiting || t.full() ||
        t.humans() == 0 || robot_timers_.count(id) != 0 || robots_requested_.count(id) != 0) {
        return;
    }
    robot_timers_[id] = host_.add_timer(settings_.config.robot_wait, [this, id] {
        robot_timers_.erase(id);
        fill_with_robots(id);
    });
}

void Room::fill_with_robots(int32_t table_id) {
    Table* t = table(table_id);
    if (t == nullptr || !open_ || stopping_ || t->phase() != Table::Phase::kWaiting ||
        t->humans() == 0 || t->full()) {
        return;
    }
    common::RobotRequest req;
    req.count = t->chair_count() - t->seated();
    req.node = settings_.node;
    robots_requested_.insert(table_id);
    host_.call_db(common::kDbRobotAcquire, codec::encode(req),
                  [this, table_id](int32_t code, std::string body) {
                      robots_requested_.erase(table_id);
                      common::RobotReply reply;
                      Table* tt = table(table_id);
                      if (tt == nullptr) return;
                      if (code != 0 || codec::decode(body, reply) != codec::MsgError::kOk) {
                          spdlog::warn("game: no robots for table {} (code {})", table_id, code);
                          arm_robots(*tt);  // try again after another wait
                          return;
                      }
                      for (const auto& r : reply.robots) {
                          tt = table(table_id);
                          if (tt == nullptr || tt->phase() != Table::Phase::kWaiting ||
                              tt->humans() == 0 || !open_ || stopping_) {
                              return;
                          }
                          const auto chair = tt->free_chair();
                          if (!chair) return;
                          if (where_.count(static_cast<uint64_t>(r.user_id)) != 0) continue;
                          common::UserRecord robot = r;
                          robot.robot = true;
                          tt->sit(*chair, seat_of_record(robot, nullptr));
                      }
                  });
}

void Room::set_online(const Seat& s, int32_t table_id) {
    common::OnlineEntry e;
    e.user_id = s.view.user_id;
    e.node = settings_.node;
    e.game_type = settings_.game_type;
    e.game_level = settings_.level;
    e.table_id = table_id;
    e.ttl_s =
        static_cast<int32_t>(std::max<int64_t>(1, settings_.config.online_ttl.count() / 1000));
    host_.call_db(
        common::kDbOnlineSet, codec::encode(e), [uid = e.user_id](int32_t code, std::string) {
            if (code != 0)
                spdlog::warn("game: online entry of user={} not set (code {})", uid, code);
        });
}

void Room::refresh_online() {
    for (const auto& [user, at] : where_) {
        Table* t = table(at.table);
        const Seat* s = t != nullptr ? t->seat_of(at.chair) : nullptr;
        if (s != nullptr) set_online(*s, at.table);
    }
}

common::TablesReply Room::describe() const {
    common::TablesReply r;
    r.node = settings_.node;
    r.seated = seated();
    r.tables_total = static_cast<int64_t>(tables_.size());
    for (const auto& [id, t] : tables_) {
        if (r.tables.size() == common::kGameTablesMax) break;
        r.tables.push_back(t->info());
    }
    for (const auto& [user, at] : where_) {
        const auto it = tables_.find(at.table);
        const Table* t = it == tables_.end() ? nullptr : it->second.get();
        const SeatView* s = t != nullptr ? t->seat(at.chair) : nullptr;
        if (s == nullptr || static_cast<uint64_t>(s->user_id) != user) {
            r.unseated.push_back(static_cast<int64_t>(user));
        }
    }
    std::sort(r.unseated.begin(), r.unseated.end());
    return r;
}

void Room::update_load() {
    host_.set_load(seated());
}

void Room::set_open(bool open) {
    open_ = open;
    if (!open) return;
    // Tables that waited while the node was shut may start now.
    std::vector<int32_t> ids;
    for (const auto& [id, t] : tables_) ids.push_back(id);
    for (const int32_t id : ids) {
        if (Table* t = table(id)) {
            t->try_start();
            if (table(id) != nullptr) arm_robots(*t);
        }
    }
}

bool Room::busy() const noexcept {
    return std::any_of(tables_.begin(), tables_.end(),
                       [](const auto& kv) { return kv.second->phase() != Table::Phase::kWaiting; });
}

void Room::abort_all() {
    stopping_ = true;
    for (auto& [id, t] : tables_) t->abort_round();
}

}  // namespace tb::game
