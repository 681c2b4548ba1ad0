#include <algorithm>

#include "codec/messages.h"
#include "tools/bot/game_modes.h"

namespace tb::bot {

TableMode::TableMode(int32_t game_type, GameSettings settings)
    : LoginMode(false), game_type_(game_type), settings_(settings) {}

void TableMode::attach(Engine& engine, std::size_t bots) {
    LoginMode::attach(engine, bots);
    bots_.assign(bots, Bot{});
}

void TableMode::forget(Client& c) {
    Bot& b = bots_[c.slot()];
    if (b.wait != Wait::kNone) engine_->cancel_timer(c);
    b = Bot{};
    reset_game(c);
}

void TableMode::on_connected(Client& c) {
    forget(c);
    LoginMode::on_connected(c);
}

void TableMode::fast_login(Client& c, int32_t game_id) {
    if (engine_->stopping()) return;
    Bot& b = bots_[c.slot()];
    codec::FastLoginRequest req;
    req.game_id = game_id;
    req.game_type = game_type_;
    req.game_level = settings_.level;
    b.asked_game_id = game_id;
    engine_->request(c, codec::kMcmdRoom, codec::scmd_of(codec::kMsgFastLogin), codec::encode(req));
}

void TableMode::on_reply(Client& c, const Reply& r) {
    if (r.type == codec::kMsgFastRegister) {
        LoginMode::on_reply(c, r);  // counts, closes and retries on failure
        if (r.err_no != 0 || !c.open() || !c.logged_in()) return;
        codec::FastRegisterReply reply;
        (void)codec::decode(r.body, reply);  // undecodable: counted by LoginMode
        // GameID != 0: still seated in a game; FastLogin with it returns to the seat.
        fast_login(c, reply.game_id);
        return;
    }
    if (r.type != codec::kMsgFastLogin) {
        LoginMode::on_reply(c, r);
        return;
    }
    Bot& b = bots_[c.slot()];
    if (r.err_no == codec::to_int(codec::Errno::kInAnotherGame)) {
        // Seated elsewhere (a game from before a reconnect): go back there, once.
        codec::InAnotherGameError e;
        if (codec::decode(r.body, e) == codec::MsgError::kOk && e.game_id != 0 &&
            e.game_id != b.asked_game_id) {
            fast_login(c, e.game_id);
            return;
        }
    }
    if (r.err_no != 0) {
        ++engine_->counters().unexpected_error_frames;
        engine_->close(c);
        forget(c);
        schedule(c, std::max(engine_->config().think_ms, kRetryMs));
        return;
    }
    codec::FastLoginReply reply;
    if (codec::decode(r.body, reply) != codec::MsgError::kOk) {
        ++engine_->counters().violations;
        return;
    }
    if (!valid_chair(reply.chair_id)) return;
    b.game_id = reply.game_id;
    // NotifySitDown may have come first and said the same.
    b.chair = reply.chair_id;
    seat(b, b.chair) = {c.user_id(), true};
}

bool TableMode::valid_chair(int32_t chair) {
    if (chair >= 0 && chair < kMaxChairs) return true;
    ++engine_->counters().violations;
    return false;
}

TableMode::Seat& TableMode::seat(Bot& b, int32_t chair) {
    const auto i = static_cast<std::size_t>(chair);
    if (b.seats.size() <= i) b.seats.resize(i + 1);
    return b.seats[i];
}

void TableMode::on_frame(Client& c, const codec::Frame& f, int32_t err_no) {
    // Every error nobody asked for counts: a refused action or Ready, a kick.
    if (err_no != 0) ++engine_->counters().unexpected_error_frames;
    if (f.mcmd == codec::kMcmdGame) {
        on_game_frame(c, f, err_no);
        return;
    }
    if (f.mcmd == codec::kMcmdRoom && err_no == 0) on_room_frame(c, f);
}

void TableMode::on_room_frame(Client& c, const codec::Frame& f) {
    Bot& b = bots_[c.slot()];
    switch (codec::msg_type(f.mcmd, f.scmd)) {
        case codec::kMsgNotifySitDown: {
            codec::NotifySitDown m;
            if (!decode_body(f, m) || !valid_chair(m.chair_id)) return;
            const bool me = m.user_id == c.user_id();
            seat(b, m.chair_id) = {m.user_id,
                                   me || m.user_name.starts_with(engine_->config().account_prefix)};
            if (!me) return;
            b.chair = m.chair_id;
            // What real clients do: Ready on their own NotifySitDown. Not when the seat is in a
            // game already (a return): the scene tells where the game stands.
            if (m.user_status == codec::kUserStatusFree) ready(c);
            return;
        }
        case codec::kMsgNotifyStandUp: {
            codec::NotifyStandUp m;
            if (!decode_body(f, m) || !valid_chair(m.chair_id)) return;
            if (m.chair_id == b.chair) {
                rejoin(c);
                return;
            }
            seat(b, m.chair_id) = {};
            return;
        }
        case codec::kMsgNotifyStatus: {
            codec::NotifyStatus m;
            if (!decode_body(f, m) || !valid_chair(m.chair_id) || m.chair_id != b.chair) return;
            if (m.user_status == codec::kUserStatusFree) {
                ready(c);  // after a game: what real clients do
            } else {
                b.ready_sent = false;
            }
            return;
        }
        case codec::kMsgNotifyGameLost: {
            // The game node died and the round is void. Not our error: find another table.
            codec::NotifyGameLost m;
            if (!decode_body(f, m)) return;
            if (b.chair >= 0 && (m.game_id == b.game_id || b.game_id == 0)) rejoin(c);
            return;
        }
        default: return;  // NotifyTreasure, and whatever a newer server adds
    }
}

void TableMode::ready(Client& c) {
    Bot& b = bots_[c.slot()];
    if (b.ready_sent || engine_->stopping()) return;
    b.ready_sent = true;
    engine_->send(c, codec::kMcmdRoom, codec::scmd_of(codec::kMsgReady), "");
}

void TableMode::rejoin(Client& c) {
    forget(c);
    fast_login(c, 0);
}

void TableMode::on_closed(Client& c, CloseCause cause, bool was_logged_in) {
    forget(c);
    LoginMode::on_closed(c, cause, was_logged_in);
}

void TableMode::on_timeout(Client& c, const Pending& p) {
    if (p.type != codec::kMsgFastLogin) {
        LoginMode::on_timeout(c, p);
        return;
    }
    // Already a timeout error. Start over on a new connection.
    engine_->close(c);
    forget(c);
    schedule(c, std::max(engine_->config().think_ms, kRetryMs));
}

void TableMode::on_timer(Client& c) {
    if (!c.busy()) {
        LoginMode::on_timer(c);  // the reconnect after a close
        return;
    }
    Bot& b = bots_[c.slot()];
    const Wait w = b.wait;
    b.wait = Wait::kNone;
    if (!c.open()) return;
    if (w == Wait::kThink) {
        act(c);
    } else if (w == Wait::kAction && b.acting) {
        ++engine_->counters().timeouts;
        resync(c);
    }
}

void TableMode::turn_begins(Client& c) {
    Bot& b = bots_[c.slot()];
    if (b.acting || engine_->stopping()) return;
    const int think = engine_->config().think_ms;
    if (think <= 0) {
        act(c);
        return;
    }
    b.wait = Wait::kThink;
    engine_->wake_after(c, think);
}

void TableMode::turn_ends(Client& c) {
    Bot& b = bots_[c.slot()];
    if (b.wait != Wait::kThink) return;
    b.wait = Wait::kNone;
    engine_->cancel_timer(c);
}

void TableMode::action_sent(Client& c, bool measured) {
    Bot& b = bots_[c.slot()];
    b.acting = true;
    b.measured = measured;
    // From the write, not from the start of the loop turn: with many bots on one thread, the
    // frames handled before this one in the turn are the bot's time, not the server's. The end
    // is the turn that found the broadcast, which had arrived by then.
    b.action_at = engine_->last_send_at();
    b.wait = Wait::kAction;
    engine_->wake_after(c, engine_->config().timeout_ms);
}

void TableMode::action_confirmed(Client& c) {
    Bot& b = bots_[c.slot()];
    if (!b.acting) return;  // the server acted for us (trustee)
    if (b.measured) {
        engine_->stats().add_action(
            std::chrono::duration<double, std::milli>(engine_->now() - b.action_at).count());
        ++engine_->counters().actions;
    }
    action_dropped(c);
}

void TableMode::action_dropped(Client& c) {
    Bot& b = bots_[c.slot()];
    b.acting = false;
    if (b.wait == Wait::kAction) {
        b.wait = Wait::kNone;
        engine_->cancel_timer(c);
    }
}

void TableMode::game_concluded(Client& c) {
    // Once per game however many of our bots sat at it, without sharing state between bots
    // (or threads): every bot at the table sees the same seats, and only the one of ours in the
    // lowest chair counts. A game whose counting bot was disconnected at the end goes uncounted.
    const Bot& b = bots_[c.slot()];
    for (std::size_t i = 0; i < b.seats.size(); ++i) {
        if (!b.seats[i].ours) continue;
        if (static_cast<int32_t>(i) == b.chair) ++engine_->counters().games;
        return;
    }
}

void TableMode::resync(Client& c) {
    engine_->close(c);
    forget(c);
    schedule(c, kResyncMs);
}

}  // namespace tb::bot
