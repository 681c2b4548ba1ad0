#include "tools/bot/modes.h"

#include <algorithm>

#include "codec/messages.h"
#include "tools/bot/game_modes.h"

namespace tb::bot {

std::string fast_register_body(const Client& c) {
    codec::FastRegisterRequest req;
    req.account = c.account();
    req.machine = c.machine();
    req.name = c.account();
    req.gender = 3;
    return codec::encode(req);
}

std::unique_ptr<Mode> make_mode(ModeKind kind, const GameSettings& game) {
    switch (kind) {
        case ModeKind::kIdle: return std::make_unique<LoginMode>(false);
        case ModeKind::kLogin: return std::make_unique<LoginMode>(true);
        case ModeKind::kChaos: return std::make_unique<ChaosMode>();
        case ModeKind::kGomoku: return std::make_unique<GomokuMode>(game);
        case ModeKind::kLandlords: return std::make_unique<LandlordsMode>(game);
    }
    return nullptr;
}

// ---------------------------------------------------------------------------------------------
// idle / login

void LoginMode::schedule(Client& c, int delay_ms) {
    engine_->wake_at(c,
                     engine_->pacer().next(engine_->now() + std::chrono::milliseconds(delay_ms)));
}

void LoginMode::on_start(Client& c) {
    // Without a rate cap, connect at once: the engine's in-flight cap spreads a big ramp.
    if (engine_->config().rate > 0) {
        schedule(c, 0);
    } else {
        engine_->connect(c);
    }
}

void LoginMode::on_timer(Client& c) {
    engine_->connect(c);
}

void LoginMode::on_connected(Client& c) {
    engine_->request(c, codec::kMcmdHall, codec::scmd_of(codec::kMsgFastRegister),
                     fast_register_body(c), RequestKind::kLogin);
}

void LoginMode::on_reply(Client& c, const Reply& r) {
    if (r.type != codec::kMsgFastRegister) {
        if (r.err_no != 0) ++engine_->counters().unexpected_error_frames;
        return;
    }
    if (r.err_no != 0) {
        ++engine_->counters().unexpected_error_frames;
        engine_->close(c);
        schedule(c, std::max(engine_->config().think_ms, kRetryMs));
        return;
    }
    codec::FastRegisterReply reply;
    const bool decoded = codec::decode(r.body, reply) == codec::MsgError::kOk;
    if (!decoded || reply.user_id == 0) ++engine_->counters().violations;  // success says who
    engine_->set_logged_in(c, true, reply.user_id);
    if (churn_) {
        engine_->close(c);
        schedule(c, engine_->config().think_ms);
    }
}

void LoginMode::on_frame(Client& c, const codec::Frame& f, int32_t err_no) {
    (void)c, (void)f;
    // Notices and other unsolicited frames are fine; an error nobody asked for (a kick, a late
    // answer to a request that already timed out) is not.
    if (err_no != 0) ++engine_->counters().unexpected_error_frames;
}

void LoginMode::on_closed(Client& c, CloseCause cause, bool was_logged_in) {
    (void)was_logged_in;
    // Connect failures and bad frames are already counted (connect_failures, violations).
    if (cause == CloseCause::kPeerClosed || cause == CloseCause::kReset)
        ++engine_->counters().unexpected_disconnects;
    schedule(c, std::max(engine_->config().think_ms, kRetryMs));
}

void LoginMode::on_timeout(Client& c, const Pending& p) {
    if (p.kind != RequestKind::kLogin) return;
    engine_->close(c);
    schedule(c, std::max(engine_->config().think_ms, kRetryMs));
}

}  // namespace tb::bot
