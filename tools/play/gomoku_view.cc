#include "tools/play/gomoku_view.h"

#include "tools/play/commands.h"

namespace tb::play {

namespace gm = game::gomoku;

namespace {

std::string column_labels() {
    std::string s = "   ";
    for (int x = 0; x < gm::kLines; ++x) {
        s += ' ';
        s += static_cast<char>('a' + x);
    }
    return s + "\n";
}

std::string reason_text(const std::string& reason) {
    if (reason == "five") return "five in a row";
    if (reason == "resign") return "resignation";
    if (reason == "timeout") return "timeout";
    if (reason == "draw") return "the board is full";
    if (reason == "abandon") return "abandoned: a player was away too long";
    return reason.empty() ? "no reason given" : reason;
}

std::string signed_text(int64_t v) {
    return (v > 0 ? "+" : "") + std::to_string(v);
}

}  // namespace

void GomokuView::reset() {
    *this = GomokuView{};
}

void GomokuView::begin_turn(int32_t chair, Clock::time_point now, int64_t ms) {
    current_ = chair;
    deadline_ = now + std::chrono::milliseconds(ms);
}

void GomokuView::on_scene(const codec::gomoku::NotifyScene& m, Clock::time_point now) {
    if (m.timeout > 0) timeout_ms_ = int64_t{m.timeout} * 1000;
    cells_ = {};
    stones_ = 0;
    last_.reset();
    last_chair_ = -1;
    if (m.board.size() == cells_.size()) {
        for (std::size_t i = 0; i < cells_.size(); ++i) {
            const int32_t v = m.board[i];
            if (v == 1 || v == 2) {
                cells_[i] = static_cast<int8_t>(v);
                ++stones_;
            }
        }
    }
    playing_ = m.playing;
    if (playing_) {
        begin_turn(m.current_chair, now, m.remaining_ms);
    } else {
        current_ = -1;
        deadline_.reset();
    }
}

void GomokuView::on_start(const codec::gomoku::BroadcastStart& m, Clock::time_point now) {
    cells_ = {};
    stones_ = 0;
    last_.reset();
    last_chair_ = -1;
    playing_ = true;
    begin_turn(m.chair_id, now, timeout_ms_);
}

void GomokuView::on_place(const codec::gomoku::BroadcastPlaceStone& m, Clock::time_point now) {
    if (!gm::Board::inside(m.position_x, m.position_y) || (m.chair_id != 0 && m.chair_id != 1)) {
        return;
    }
    auto& c = cells_[static_cast<std::size_t>(m.position_y * gm::kLines + m.position_x)];
    if (c == 0) ++stones_;
    c = static_cast<int8_t>(m.chair_id + 1);
    last_ = std::pair{m.position_x, m.position_y};
    last_chair_ = m.chair_id;
    // A winning stone ends the round (BroadcastConclude follows); otherwise the other moves.
    if (m.is_win) {
        current_ = -1;
        deadline_.reset();
    } else {
        playing_ = true;
        begin_turn(1 - m.chair_id, now, timeout_ms_);
    }
}

void GomokuView::on_conclude(const codec::gomoku::BroadcastConclude&) {
    playing_ = false;
    current_ = -1;
    deadline_.reset();
}

std::string GomokuView::render(const TableInfo& t, Clock::time_point now) const {
    std::string s = "Gomoku, table " + std::to_string(t.table_id) + ": ";
    for (int32_t chair = 0; chair < 2; ++chair) {
        if (chair == 1) s += " vs ";
        s += t.name_of(chair) + " (" + stone_of(chair) + ")";
    }
    s += ", " + std::to_string(stones_) + (stones_ == 1 ? " stone\n" : " stones\n");
    s += column_labels();
    // Rows from 15 at the top down to 1; the separator before and after the last stone is a
    // parenthesis, so the columns stay aligned.
    for (int y = gm::kLines - 1; y >= 0; --y) {
        const std::string label = std::to_string(y + 1);
        s += std::string(label.size() < 2 ? 1 : 0, ' ') + label + " ";
        for (int x = 0; x <= gm::kLines; ++x) {
            char sep = ' ';
            if (last_ && last_->second == y) {
                if (x == last_->first) sep = '(';
                if (x == last_->first + 1) sep = ')';
            }
            s += sep;
            if (x == gm::kLines) break;
            const int v = cell(x, y);
            s += v == 0 ? '.' : stone_of(v - 1);
        }
        s += label + "\n";
    }
    s += column_labels();
    if (last_) {
        s += "Last stone: " + std::string(1, stone_of(last_chair_)) + " at " +
             cell_name(last_->first, last_->second) + " (" + t.name_of(last_chair_) + ")\n";
    }
    if (playing_ && current_ >= 0) {
        const std::string left =
            deadline_ ? std::to_string(seconds_left(*deadline_, now)) + " s left" : "";
        if (current_ == t.my_chair) {
            s += "Your turn (" + std::string(1, stone_of(current_)) + "), " + left +
                 ": type a cell like h8, '?' for a suggestion\n";
        } else {
            s += "Waiting for " + t.name_of(current_) + " (" + stone_of(current_) + "), " + left +
                 "\n";
        }
    } else if (!playing_) {
        s += "No game running: waiting for the table to fill and everyone to be ready\n";
    }
    return s;
}

std::string GomokuView::conclusion(const codec::gomoku::BroadcastConclude& m, const TableInfo& t) {
    std::string s = "Game over: ";
    if (m.winner_chair < 0) {
        s += "draw";
    } else if (m.winner_chair == t.my_chair) {
        s += "you win";
    } else if (t.my_chair >= 0) {
        s += "you lose, " + t.name_of(m.winner_chair) + " wins";
    } else {
        s += t.name_of(m.winner_chair) + " wins";
    }
    s += " (" + reason_text(m.reason) + ")\n";
    if (!m.scores.empty()) {
        s += "Score changes:";
        for (std::size_t c = 0; c < m.scores.size(); ++c) {
            s += (c == 0 ? " " : ", ") + t.name_of(static_cast<int32_t>(c)) + " " +
                 signed_text(m.scores[c]);
        }
        s += "\n";
    }
    return s;
}

std::string GomokuView::hint(int32_t chair) const {
    if (chair != 0 && chair != 1) return "Not seated: no suggestion\n";
    gm::Board b;
    for (int y = 0; y < gm::kLines; ++y) {
        for (int x = 0; x < gm::kLines; ++x) {
            if (cell(x, y) != 0) b.place(x, y, cell(x, y) - 1);
        }
    }
    const auto m = gm::choose_move(b, chair);
    if (!m) return "The board is full: no move left\n";
    std::string s = "Suggestion (the robot strategy): " + cell_name(m->x, m->y);
    if (!playing_ || current_ != chair) s += " (it is not your turn now)";
    return s + "\n";
}

}  // namespace tb::play
