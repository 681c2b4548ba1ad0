#include "nodes/game/gomoku/gomoku_logic.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "codec/messages.h"
#include "nodes/common/config.h"

namespace tb::game::gomoku {

namespace msg = codec::gomoku;
using std::chrono::milliseconds;

void bind_gomoku_config(common::ConfigSchema& schema, GomokuConfig& cfg) {
    schema
        .add("gomoku.move_timeout_ms", &cfg.move_timeout,
             "the move clock told to clients (NotifyScene Timeout, in whole seconds), in "
             "milliseconds")
        .range(milliseconds(1000), milliseconds(600000));
    schema
        .add("gomoku.grace_ms", &cfg.grace,
             "how long the server waits beyond the told move clock before it moves for the "
             "player, in milliseconds")
        .range(milliseconds(0), milliseconds(60000));
    schema
        .add("gomoku.abandon_after_ms", &cfg.abandon_after,
             "a player offline this long during a game loses it (both: a draw), in milliseconds")
        .range(milliseconds(100), milliseconds(86400000));
}

void GomokuLogic::init(TableServices& services) {
    services_ = &services;
    rng_.seed(services.random());
}

void GomokuLogic::on_start() {
    kill_round_timers();
    board_.clear();
    moves_.clear();
    timeouts_ = {};
    trustee_ = {};
    abandoned_ = -1;
    winner_ = -1;
    reason_.clear();
    playing_ = true;
    // A player may already be gone by the time the frame starts the round; play for them and
    // start their abandon clock just as if they had left a moment later.
    for (Chair c = 0; c < kChairs; ++c) {
        const SeatView* s = services_->seat(c);
        offline_[index(c)] = false;
        if (s != nullptr && s->offline) on_offline(c);
    }
    const auto first = static_cast<Chair>(services_->random() % kChairs);
    services_->send_to_table(msg::BroadcastStart{first});
    begin_turn(first);
}

void GomokuLogic::on_conclude(const std::vector<int64_t>& scores) {
    services_->send_to_table(msg::BroadcastConclude{winner_, reason_, scores});
}

void GomokuLogic::on_sit(Chair chair) {
    // No round can run while someone sits down at a gomoku table, but a scene that says where a
    // running one stands is right either way.
    msg::NotifyScene s = scene();
    if (!playing_) {
        s.board.clear();
        s.current_chair = 0;
    }
    services_->send_to_chair(chair, s);
}

void GomokuLogic::on_stand(Chair) {}

void GomokuLogic::on_reconnect(Chair chair) {
    if (!valid_chair(chair)) return;
    offline_[index(chair)] = false;
    services_->kill_timer(kTimerAbandon + chair);
    // Trustee stays on (RULES.md §2: it moves for them until they move again), so a player who
    // comes back at the end of their clock is not caught out.
    services_->send_to_chair(chair, scene());
    if (playing_ && abandoned_ >= 0) {
        // The round was waiting on whether the second player would also pass the limit; someone
        // is back, so the first one's abandon stands.
        finish(1 - abandoned_, "abandon");
    }
}

void GomokuLogic::on_offline(Chair chair) {
    if (!playing_ || !valid_chair(chair) || offline_[index(chair)]) return;
    offline_[index(chair)] = true;
    trustee_[index(chair)] = true;
    services_->set_timer(kTimerAbandon + chair, cfg_.abandon_after);
    if (abandoned_ < 0 && current_ == chair &&
        services_->timer_left(kTimerAutoMove) == milliseconds::zero()) {
        services_->set_timer(kTimerAutoMove, services_->think_time());
    }
}

codec::Errno GomokuLogic::on_message(Chair chair, uint32_t type, std::string_view body) {
    switch (type) {
        case codec::kMsgGomokuPlaceStone: return place_stone(chair, body);
        case codec::kMsgGomokuResign: return resign(chair, body);
        default: return codec::Errno::kUnknownCommand;
    }
}

codec::Errno GomokuLogic::place_stone(Chair chair, std::string_view body) {
    msg::PlaceStone m;
    if (codec::decode(body, m) != codec::MsgError::kOk) return codec::Errno::kMalformed;
    if (!playing_ || abandoned_ >= 0) return codec::Errno::kWrongTableStatus;
    if (chair != current_) return codec::Errno::kNotYourTurn;
    if (!Board::inside(m.position_x, m.position_y) || !board_.empty(m.position_x, m.position_y)) {
        return codec::Errno::kIllegalMove;
    }
    timeouts_[index(chair)] = 0;
    trustee_[index(chair)] = false;
    play(chair, Move{m.position_x, m.position_y});
    return codec::Errno::kOk;
}

codec::Errno GomokuLogic::resign(Chair chair, std::string_view body) {
    codec::Empty m;
    if (codec::decode(body, m) != codec::MsgError::kOk) return codec::Errno::kMalformed;
    if (!playing_) return codec::Errno::kWrongTableStatus;
    if (!valid_chair(chair)) return codec::Errno::kNotSeated;
    finish(1 - chair, "resign");
    return codec::Errno::kOk;
}

void GomokuLogic::on_timer(int timer_id) {
    if (!playing_) return;
    if (timer_id == kTimerClock) {
        if (abandoned_ >= 0) return;
        const SeatView* s = services_->seat(current_);
        if (s == nullptr || !s->robot) {
            int& n = timeouts_[index(current_)];
            if (++n >= 2) trustee_[index(current_)] = true;
        }
        play_for_current();
    } else if (timer_id == kTimerAutoMove) {
        if (abandoned_ >= 0) return;
        play_for_current();
    } else if (timer_id >= kTimerAbandon && timer_id < kTimerAbandon + kChairs) {
        abandoned(timer_id - kTimerAbandon);
    }
}

void GomokuLogic::on_abort() {
    kill_round_timers();
    playing_ = false;
    board_.clear();
    moves_.clear();
    timeouts_ = {};
    trustee_ = {};
    offline_ = {};
    abandoned_ = -1;
    winner_ = -1;
    reason_.clear();
}

void GomokuLogic::play(Chair chair, Move move) {
    services_->kill_timer(kTimerClock);
    services_->kill_timer(kTimerAutoMove);
    board_.place(move.x, move.y, chair);
    moves_.push_back(move);
    const bool won = wins(board_, move.x, move.y, chair);
    services_->send_to_table(msg::BroadcastPlaceStone{won, chair, move.x, move.y});
    if (won) {
        finish(chair, "five");
    } else if (board_.full()) {
        finish(-1, "draw");
    } else {
        begin_turn(1 - chair);
    }
}

void GomokuLogic::play_for_current() {
    const std::optional<Move> m = choose_move(board_, current_, &rng_);
    if (!m) {
        finish(-1, "draw");  // unreachable: a full board has already ended the round
        return;
    }
    play(current_, *m);
}

void GomokuLogic::begin_turn(Chair chair) {
    current_ = chair;
    // The clock runs for everyone, robots and trustee included, so a think time configured
    // longer than the clock cannot stall the table.
    services_->set_timer(kTimerClock, cfg_.move_timeout + cfg_.grace);
    if (moves_automatically(chair)) {
        services_->set_timer(kTimerAutoMove, services_->think_time());
    } else {
        services_->kill_timer(kTimerAutoMove);
    }
}

bool GomokuLogic::moves_automatically(Chair chair) const {
    const SeatView* s = services_->seat(chair);
    return (s != nullptr && s->robot) || offline_[index(chair)] || trustee_[index(chair)];
}

void GomokuLogic::abandoned(Chair chair) {
    const Chair other = 1 - chair;
    if (abandoned_ == other) {
        finish(-1, "abandon");  // both have now been away past the limit
    } else if (offline_[index(other)]) {
        // The other player is away too but not yet past the limit: if they also pass it the
        // round is a draw, if they come back this chair loses. Nobody moves meanwhile.
        abandoned_ = chair;
        services_->kill_timer(kTimerClock);
        services_->kill_timer(kTimerAutoMove);
    } else {
        finish(other, "abandon");
    }
}

void GomokuLogic::finish(Chair winner, std::string reason) {
    kill_round_timers();
    playing_ = false;
    abandoned_ = -1;
    winner_ = winner;
    reason_ = std::move(reason);

    RoundOutcome outcome;
    const int64_t base = services_->base_score();
    if (winner >= 0 && base > 0) {
        outcome.transfers.push_back(ChairTransfer{1 - winner, winner, base});
    }
    // The whole game in a few hundred bytes, so a disputed round can be replayed: the reason
    // is one of our fixed words, so no escaping is needed.
    std::string& r = outcome.result;
    r = "{\"winner\":" + std::to_string(winner) + ",\"reason\":\"" + reason_ + "\",\"moves\":[";
    for (size_t i = 0; i < moves_.size(); ++i) {
        if (i > 0) r += ',';
        r += '[' + std::to_string(moves_[i].x) + ',' + std::to_string(moves_[i].y) + ']';
    }
    r += "]}";
    // Last: the frame may call back into us (on_conclude) from inside conclude().
    services_->conclude(std::move(outcome));
}

void GomokuLogic::kill_round_timers() {
    if (services_ == nullptr) return;
    services_->kill_timer(kTimerClock);
    services_->kill_timer(kTimerAutoMove);
    for (Chair c = 0; c < kChairs; ++c) services_->kill_timer(kTimerAbandon + c);
}

msg::NotifyScene GomokuLogic::scene() const {
    msg::NotifyScene s;
    s.timeout = static_cast<int32_t>(
        std::chrono::duration_cast<std::chrono::seconds>(cfg_.move_timeout).count());
    s.line_number = kLines;
    s.board.assign(board_.cells().begin(), board_.cells().end());
    s.current_chair = current_;
    if (playing_) {
        // What the client's own clock should show: the server's grace is not theirs to spend.
        const milliseconds left = services_->timer_left(kTimerClock) - cfg_.grace;
        s.remaining_ms = std::max(left, milliseconds::zero()).count();
    }
    s.playing = playing_;
    return s;
}

const GameKind& gomoku_kind() {
    static const GameKind kind{
        "gomoku",
        codec::kGameTypeGomoku,
        GomokuLogic::kChairs,
        [](common::ConfigSchema& schema) -> LogicFactory {
            // Shared with the factory: the schema writes the values at load(), after this
            // returns, and every table built later reads them.
            auto cfg = std::make_shared<GomokuConfig>();
            bind_gomoku_config(schema, *cfg);
            return [cfg] { return std::make_unique<GomokuLogic>(*cfg); };
        },
    };
    return kind;
}

}  // namespace tb::game::gomoku
