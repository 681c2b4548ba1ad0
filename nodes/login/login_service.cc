#include "nodes/login/login_service.h"
#include "nodes/common/node_main.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "codec/errors.h"
#include "codec/fields.h"
#include "nodes/common/db_api.h"
#include "nodes/login/login_rules.h"

namespace tb::login {

using codec::BusCode;
using codec::Errno;

namespace {

bus::NodeOptions node_options(const LoginConfig& cfg) {
    bus::NodeOptions o;
    o.kind = "login";
    o.id = cfg.node.id;
    o.service = "login";
    common::apply_node_config(cfg.node, o);
    // Keeps a replica of the service table, so the node can tell live nodes without asking.
    o.announce = cfg.node.announce_endpoint();
    // Not replayed when this node dies mid-request: a FastRegister with a wrong password counts
    // toward the lockout, so running it twice would count one attempt twice. The proxy reports
    // the lost request instead (worker lost -> Errno 8) and the client retries if it wants.
    o.idempotent = false;
    return o;
}

void fail_now(bus::Node& node, const codec::Envelope& env, Errno e, std::string_view text = {}) {
    node.fail(env, codec::to_int(e), text.empty() ? codec::errno_text(e) : text);
}

}  // namespace

LoginService::LoginService(zmq::context_t& ctx, bus::EventLoop& loop, const LoginConfig& cfg)
    : cfg_(cfg), node_(ctx, loop, node_options(cfg)) {
    node_.on_request(codec::kMsgFastRegister, [this](bus::Request& r) { fast_register(r); });
    node_.on_request(codec::kMsgSignInDays, [this](bus::Request& r) { sign_in_days(r); });
    node_.on_request(codec::kMsgSignIn, [this](bus::Request& r) { sign_in(r); });
    node_.on_request(codec::kMsgRanking, [this](bus::Request& r) { ranking(r); });
    // Any other (1,x) has no handler: the node runtime answers it with Errno 3.
}

void LoginService::start() {
    node_.start();
}

void LoginService::stop() {
    stopping_ = true;
    node_.stop();
}

// ---------------------------------------------------------------------------------------------
// Handlers

void LoginService::fast_register(bus::Request& req) {
    codec::FastRegisterRequest in;
    if (codec::decode(req.body, in) != codec::MsgError::kOk) {
        fail_now(node_, req.env, Errno::kMalformed);
        return;
    }
    auto check = check_register(in);
    if (!check.ok()) {
        fail_now(node_, req.env, Errno::kInvalidField, check.error);
        return;
    }
    const Deadline deadline = bus::deadline_of(req.env);
    const auto env = req.env;
    begin();
    call_db(env, deadline, common::kDbRegisterOrLogin, codec::encode(check.request),
            [this, env, deadline, account = check.request.account](bus::Reply&& r) {
                if (!r.ok()) {
                    // Wrong password / device (5), lockout (6) and storage trouble are normal
                    // outcomes of a login, not node errors.
                    spdlog::debug("login: FastRegister for {} failed: {} {}", account, r.code,
                                  codec::code_name(r.code));
                    finish_fail(env, r.code, r.text);
                    return;
                }
                common::RegisterReply db;
                if (codec::decode(r.body, db) != codec::MsgError::kOk) {
                    spdlog::error("login: undecodable register reply from {}", r.env.source);
                    finish_fail(env, codec::to_int(Errno::kFailure), "failure");
                    return;
                }
                if (db.created) {
                    spdlog::info("login: account {} created as user {}", account, db.user.user_id);
                } else {
                    spdlog::debug("login: account {} logged in as user {}", account,
                                  db.user.user_id);
                }
                codec::FastRegisterReply out;
                out.user_id = db.user.user_id;
                out.user_name = db.user.name;
                out.user_icon = db.user.icon;
                out.user_level = db.user.level;
                out.user_gender = db.user.gender;
                out.bind_phone = db.user.phone;
                out.user_score = db.user.score;
                out.user_diamond = db.user.diamond;
                finish_register(env, deadline, std::move(out));
            });
}

void LoginService::finish_register(const codec::Envelope& env, Deadline deadline,
                                   codec::FastRegisterReply reply) {
    const common::UserQuery q{reply.user_id};
    call_db(env, deadline, common::kDbOnlineGet, codec::encode(q),
            [this, env, reply = std::move(reply)](bus::Reply&& r) mutable {
                common::OnlineEntry entry;
                if (!r.ok() || codec::decode(r.body, entry) != codec::MsgError::kOk) {
                    // The login itself succeeded. A user who is in fact still seated learns
                    // of it from FastLogin's Errno 9, which carries the same GameID, so
                    // failing the whole login over this lookup would only cost a retry.
                    spdlog::warn(
                        "login: online lookup for user {} failed ({} {}); answering "
                        "without a game",
                        reply.user_id, r.code, codec::code_name(r.code));
                } else if (const int32_t game_id = game_id_of_node(entry.node); game_id != 0) {
                    reply.game_id = game_id;
                    reply.game_type = entry.game_type;
                    reply.game_level = entry.game_level;
                }
                finish_reply(env, codec::encode(reply));
            });
}

template <class DbReply, class Convert>
void LoginService::relay_for_user(bus::Request& req, uint32_t db_type, Convert convert) {
    // The body is ignored: these requests have no fields, and legacy clients send an empty
    // body, "{}" or "null" alike.
    if (req.env.user == 0) {
        fail_now(node_, req.env, Errno::kNotLoggedIn);
        return;
    }
    const auto env = req.env;
    begin();
    const common::UserQuery q{static_cast<int64_t>(env.user)};
    call_db(env, bus::deadline_of(env), db_type, codec::encode(q),
            [this, env, convert](bus::Reply&& r) {
                if (!r.ok()) {
                    // Includes "already signed in today" (Errno 1 with that text).
                    finish_fail(env, r.code, r.text);
                    return;
                }
                DbReply db;
                if (codec::decode(r.body, db) != codec::MsgError::kOk) {
                    spdlog::error("login: undecodable reply {:#x} from {}", r.env.msg_type,
                                  r.env.source);
                    finish_fail(env, codec::to_int(Errno::kFailure), "failure");
                    return;
                }
                finish_reply(env, codec::encode(convert(db)));
            });
}

void LoginService::sign_in_days(bus::Request& req) {
    relay_for_user<common::SignInDaysReply>(req, common::kDbSignInDays,
                                            [](const common::SignInDaysReply& db) {
                                                codec::SignInDaysReply out;
                                                out.can = db.can;
                                                out.days = db.days;
                                                return out;
                                            });
}

void LoginService::sign_in(bus::Request& req) {
    relay_for_user<common::SignInReply>(req, common::kDbSignIn, [](const common::SignInReply& db) {
        codec::SignInReply out;
        out.total_days = db.total_days;
        out.score_reward = db.score_reward;
        out.diamond_reward = db.diamond_reward;
        return out;
    });
}

void LoginService::ranking(bus::Request& req) {
    codec::RankingRequest in;
    if (codec::decode(req.body, in) != codec::MsgError::kOk) {
        fail_now(node_, req.env, Errno::kMalformed);
        return;
    }
    const auto top = ranking_top(in.top);
    if (!top) {
        fail_now(node_, req.env, Errno::kInvalidField, "Top must be 1..100");
        return;
    }
    // The ranking is public: a session that has not logged in gets it too, with MyRank 0.
    const auto env = req.env;
    begin();
    common::RankingRequest q;
    q.top = *top;
    q.user_id = static_cast<int64_t>(env.user);
    call_db(env, bus::deadline_of(env), common::kDbRanking, codec::encode(q),
            [this, env](bus::Reply&& r) {
                if (!r.ok()) {
                    finish_fail(env, r.code, r.text);
                    return;
                }
                common::RankingReply db;
                if (codec::decode(r.body, db) != codec::MsgError::kOk) {
                    spdlog::error("login: undecodable ranking reply from {}", r.env.source);
                    finish_fail(env, codec::to_int(Errno::kFailure), "failure");
                    return;
                }
                codec::RankingReply out;
                out.entries.reserve(db.entries.size());
                for (auto& e : db.entries) {
                    codec::RankingEntry o;
                    o.rank = e.rank;
                    o.user_id = e.user_id;
                    o.user_name = std::move(e.name);
                    o.user_score = e.score;
                    out.entries.push_back(std::move(o));
                }
                out.my_rank = db.my_rank;
                finish_reply(env, codec::encode(out));
            });
}

// ---------------------------------------------------------------------------------------------
// Calls and answers

void LoginService::begin() {
    ++in_flight_;
    node_.set_load(in_flight_);
}

void LoginService::call_db(const codec::Envelope& env, Deadline deadline, uint32_t type,
                           std::string body, DbDone done) {
    bus::Reply failed;
    if (stopping_) {
        failed.code = codec::to_int(BusCode::kDraining);
        failed.text = "stopping";
        done(std::move(failed));
        return;
    }
    // Deadline::max() minus now does not overflow: both are positive.
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - bus::Clock::now());
    if (left.count() <= 0) {
        // The proxy has given up on this request already; a db call would be wasted.
        failed.code = codec::to_int(BusCode::kTimeout);
        failed.text = "timed out";
        done(std::move(failed));
        return;
    }
    bus::CallOptions o;
    o.timeout = std::min(left, cfg_.db_timeout);
    o.session = env.session;
    o.user = env.user;
    node_.request(common::kDbService, type, std::move(body), std::move(done), o);
}

void LoginService::finish_reply(const codec::Envelope& env, std::string_view body) {
    --in_flight_;
    node_.set_load(in_flight_);
    node_.reply(env, body);
}

void LoginService::finish_fail(const codec::Envelope& env, int32_t code, std::string_view text) {
    --in_flight_;
    node_.set_load(in_flight_);
    // An ERROR must carry a non-zero code; a peer that sent none meant a generic failure.
    node_.fail(env, code != 0 ? code : codec::to_int(Errno::kFailure), text);
}

}  // namespace tb::login
