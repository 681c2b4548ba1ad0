#include "codec/messages.h"
#include "tools/bot/game_modes.h"

namespace tb::bot {

namespace gomoku = game::gomoku;

GomokuMode::GomokuMode(GameSettings settings) : TableMode(codec::kGameTypeGomoku, settings) {}

void GomokuMode::attach(Engine& engine, std::size_t bots) {
    TableMode::attach(engine, bots);
    games_.assign(bots, Game{});
}

void GomokuMode::reset_game(Client& c) {
    games_[c.slot()] = Game{};
}

void GomokuMode::set_turn(Client& c, int32_t chair) {
    Game& g = games_[c.slot()];
    g.turn = chair;
    if (g.playing && chair == my_chair(c)) {
        turn_begins(c);
    } else {
        turn_ends(c);
    }
}

void GomokuMode::on_game_frame(Client& c, const codec::Frame& f, int32_t err_no) {
    Game& g = games_[c.slot()];
    switch (codec::msg_type(f.mcmd, f.scmd)) {
        case codec::kMsgGomokuPlaceStone:
            // Only ever an error (success is the broadcast), already counted. Our board or turn
            // was wrong: take the server's.
            if (err_no != 0) {
                action_dropped(c);
                resync(c);
            }
            return;
        case codec::kMsgGomokuNotifyScene: {
            codec::gomoku::NotifyScene m;
            if (!decode_body(f, m)) return;
            // On sit-down the scene has no Board; on a return it has the whole game.
            if (!m.board.empty() && m.board.size() != static_cast<std::size_t>(gomoku::kCells)) {
                ++engine_->counters().violations;
                return;
            }
            g.board.clear();
            for (std::size_t i = 0; i < m.board.size(); ++i) {
                const int32_t v = m.board[i];
                if (v == 0) continue;
                if (v != 1 && v != 2) {
                    ++engine_->counters().violations;
                    g.board.clear();
                    return;
                }
                const int idx = static_cast<int>(i);
                g.board.place(idx % gomoku::kLines, idx / gomoku::kLines, v - 1);
            }
            g.playing = m.playing;
            set_turn(c, m.playing ? m.current_chair : -1);
            return;
        }
        case codec::kMsgGomokuBroadcastStart: {
            codec::gomoku::BroadcastStart m;
            if (!decode_body(f, m)) return;
            g.board.clear();
            g.playing = true;
            set_turn(c, m.chair_id);
            return;
        }
        case codec::kMsgGomokuBroadcastPlaceStone: {
            codec::gomoku::BroadcastPlaceStone m;
            if (!decode_body(f, m)) return;
            if ((m.chair_id != 0 && m.chair_id != 1) ||
                !gomoku::Board::inside(m.position_x, m.position_y) ||
                !g.board.empty(m.position_x, m.position_y)) {
                // Off the board, or on a stone we know of: the server broke the rules or we
                // missed something. Either way our board is wrong.
                ++engine_->counters().violations;
                resync(c);
                return;
            }
            g.board.place(m.position_x, m.position_y, m.chair_id);
            if (m.chair_id == my_chair(c)) action_confirmed(c);
            if (m.is_win || g.board.full()) g.playing = false;  // BroadcastConclude follows
            set_turn(c, g.playing ? 1 - m.chair_id : -1);
            return;
        }
        case codec::kMsgGomokuBroadcastConclude: {
            codec::gomoku::BroadcastConclude m;
            if (!decode_body(f, m)) return;
            g.playing = false;
            action_dropped(c);  // e.g. the game ended by a timeout while our stone was on its way
            set_turn(c, -1);
            game_concluded(c);
            return;
        }
        default: return;  // Resign is never answered but with an error; newer messages
    }
}

void GomokuMode::act(Client& c) {
    Game& g = games_[c.slot()];
    if (!g.playing || g.turn != my_chair(c) || acting(c)) return;
    const auto move = settings().strategy == Strategy::kRandom
                          ? gomoku::random_move(g.board, engine_->rng())
                          : gomoku::choose_move(g.board, my_chair(c), &engine_->rng());
    if (!move) return;  // a full board: the draw is on its way
    codec::gomoku::PlaceStone m;
    m.position_x = move->x;
    m.position_y = move->y;
    engine_->send(c, codec::kMcmdGame, codec::scmd_of(codec::kMsgGomokuPlaceStone),
                  codec::encode(m));
    if (c.open()) action_sent(c);
}

}  // namespace tb::bot
