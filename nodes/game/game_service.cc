#include "nodes/game/game_service.h"
#include "nodes/common/node_main.h"

#include <spdlog/spdlog.h>

#include "codec/messages.h"
#include "nodes/common/game_api.h"
#include "nodes/common/proxy_api.h"

namespace tb::game {

namespace {

bus::NodeOptions node_options(const GameConfig& cfg, const GameKind& kind) {
    bus::NodeOptions o;
    o.kind = "game";
    o.id = cfg.node.id;
    o.service = "game." + std::string(kind.name) + "." + std::to_string(cfg.level);
    common::apply_node_config(cfg.node, o);
    o.capacity = cfg.room.capacity;
    return o;
}

RoomSettings room_settings(const GameConfig& cfg, const GameKind& kind) {
    RoomSettings s;
    s.node = "game-" + std::to_string(cfg.node.id);
    s.game_id = cfg.node.id;
    s.kind = std::string(kind.name);
    s.game_type = kind.game_type;
    s.level = cfg.level;
    s.chairs = kind.chairs;
    s.config = cfg.room;
    return s;
}

}  // namespace

GameService::GameService(zmq::context_t& ctx, bus::EventLoop& loop, const GameConfig& cfg,
                         const GameKind& kind, LogicFactory factory)
    : cfg_(cfg),
      kind_(kind),
      loop_(loop),
      node_(ctx, loop, node_options(cfg, kind)),
      tickets_(cfg.ticket_secret),
      room_(*this, room_settings(cfg, kind), std::move(factory)) {
    node_.on_request(codec::kMsgFastLogin, [this](bus::Request& r) { on_fast_login(r); });
    node_.on_request(common::kMsgGameTables, [this](bus::Request& r) {
        node_.reply(r.env, codec::encode(room_.describe()));
    });
    node_.on_any_request([this](bus::Request& r) { on_table_message(r); });
    node_.on_push(common::kMsgSessionClosed, [this](const codec::Envelope& env, std::string_view) {
        room_.session_closed(env.user, env.session);
    });
    node_.on_any_push(
        [this](const codec::Envelope& env, std::string_view body) { on_table_push(env, body); });
    node_.on_drain([this](bool open) {
        if (signals_ > 0) return;  // leaving anyway
        spdlog::info("game: {} by the operator", open ? "opened" : "shut");
        room_.set_open(open);
    });
}

GameService::~GameService() {
    if (drain_timer_ != 0) loop_.cancel(drain_timer_);
}

void GameService::start() {
    node_.start();
    room_.start();
}

void GameService::stop() {
    node_.stop();
}

void GameService::on_fast_login(bus::Request& r) {
    common::FastLoginForward req;
    if (codec::decode(r.body, req) != codec::MsgError::kOk) {
        return answer(r.env, {codec::to_int(codec::Errno::kMalformed), "malformed message", {}});
    }
    const auto verdict =
        tickets_.verify(req.ticket, r.env.user, r.env.session, r.env.source, bus::unix_ms());
    if (verdict != common::TicketError::kOk) {
        // Never say more than "invalid" to the client; the log has the reason.
        spdlog::warn("game: FastLogin user={} session={} from {}: ticket {}", r.env.user,
                     r.env.session, r.env.source, common::ticket_error_name(verdict));
        return answer(r.env, {codec::to_int(codec::Errno::kTicketInvalid), "ticket invalid", {}});
    }
    if (r.env.user == 0) {
        return answer(r.env, {codec::to_int(codec::Errno::kNotLoggedIn), "not logged in", {}});
    }
    if (req.game_id == 0 && req.game_type != kind_.game_type) {
        return answer(r.env, {codec::to_int(codec::Errno::kInvalidField), "wrong game type", {}});
    }
    const codec::Envelope env = r.env;
    room_.fast_login(Entrant{env.user, env.session, env.source},
                     [this, env](Answer a) { answer(env, std::move(a)); });
}

void GameService::on_table_message(bus::Request& r) {
    const uint32_t type = r.env.msg_type;
    const bool room_msg = type == codec::kMsgLogout || type == codec::kMsgReady;
    if (!room_msg && codec::mcmd_of(type) != codec::kMcmdGame) {
        return answer(r.env, {codec::to_int(codec::Errno::kUnknownCommand), "unknown command", {}});
    }
    const codec::Envelope env = r.env;
    room_.message(env.user, env.session, type, r.body,
                  [this, env](Answer a) { answer(env, std::move(a)); });
}

void GameService::on_table_push(const codec::Envelope& env, std::string_view body) {
    // The proxy sends table actions one-way: only a refusal is answered, as a push of the
    // error body on the same (mcmd, scmd) to the session.
    const uint32_t type = env.msg_type;
    const auto refuse = [this, env](int32_t code, std::string text) {
        codec::ErrorBody e;
        e.err_no = code;
        e.err_desc = std::move(text);
        node_.push("@" + env.source, env.msg_type, codec::encode(e), env.session, env.user);
    };
    if (type != codec::kMsgReady && codec::mcmd_of(type) != codec::kMcmdGame) {
        spdlog::warn("game: push {:#x} from {} ignored", type, env.source);
        return;
    }
    room_.message(env.user, env.session, type, body, [refuse](Answer a) {
        if (a.code != 0) refuse(a.code, std::move(a.text));
    });
}

void GameService::answer(const codec::Envelope& env, Answer a) {
    // An error with a body (Errno 9 naming the other game) travels as a reply whose body
    // carries the Errno, so the client gets the extra fields.
    if (a.code == 0 || !a.body.empty()) {
        node_.reply(env, a.body);
    } else {
        node_.fail(env, a.code, a.text);
    }
}

void GameService::on_signal() {
    ++signals_;
    if (signals_ >= 2) {
        spdlog::warn("game: second signal: ending every round without settlement");
        room_.abort_all();
        loop_.quit();
        return;
    }
    spdlog::info("game: draining: no new players, waiting for running rounds (at most {} ms)",
                 cfg_.room.drain_limit.count());
    node_.set_open(false);
    room_.set_open(false);
    drain_deadline_ms_ = bus::unix_ms() + cfg_.room.drain_limit.count();
    check_drained();
}

void GameService::check_drained() {
    drain_timer_ = 0;
    if (!room_.busy()) {
        spdlog::info("game: no round running: leaving");
        loop_.quit();
        return;
    }
    if (bus::unix_ms() >= drain_deadline_ms_) {
        spdlog::warn("game: drain limit reached with rounds running: they end unsettled");
        room_.abort_all();
        loop_.quit();
        return;
    }
    drain_timer_ = loop_.add_timer(std::chrono::milliseconds(100), [this] { check_drained(); });
}

void GameService::push(const std::string& proxy, const std::vector<uint64_t>& sessions,
                       uint32_t type, std::string_view body) {
    if (sessions.size() == 1) {
        node_.push("@" + proxy, type, body, sessions.front());
    } else {
        node_.multicast(proxy, type, body, sessions);
    }
}

void GameService::call_db(uint32_t type, std::string body,
                          std::function<void(int32_t, std::string)> done) {
    bus::CallOptions co;
    co.timeout = cfg_.room.db_timeout;
    node_.request(
        common::kDbService, type, std::move(body),
        [done = std::move(done)](bus::Reply&& r) { done(r.code, std::move(r.body)); }, co);
}

void GameService::check_sessions(const std::string& proxy, const common::SessionCheck& check,
                                 std::function<void(int32_t, std::vector<uint64_t>)> done) {
    node_.request("@" + proxy, common::kMsgSessionCheck, codec::encode(check),
                  [done = std::move(done)](bus::Reply&& r) {
                      if (!r.ok()) return done(r.code, {});
                      common::SessionCheckReply reply;
                      if (codec::decode(r.body, reply) != codec::MsgError::kOk) {
                          return done(codec::to_int(codec::Errno::kMalformed), {});
                      }
                      done(0, std::move(reply.gone));
                  });
}

HostTimer GameService::add_timer(std::chrono::milliseconds delay, std::function<void()> fn) {
    return loop_.add_timer(delay, std::move(fn));
}

void GameService::cancel_timer(HostTimer id) {
    loop_.cancel(id);
}

std::chrono::milliseconds GameService::time_left(HostTimer id) const {
    return loop_.time_left(id).value_or(std::chrono::milliseconds(0));
}

int64_t GameService::now_ms() const {
    return bus::unix_ms();
}

}  // namespace tb::game
