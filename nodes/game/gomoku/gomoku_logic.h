#pragma once
// Gomoku's table logic (docs/RULES.md §2, §3; PROTOCOL.md gomoku (150,*)): one round of two
// players on a 15x15 board, with the move clock, trustee play, robots, offline players,
// abandon, resign and settlement. It acts only through TableServices, so the frame knows no
// gomoku rule and the tests drive it with a fake clock.
//
// Threading: like every TableLogic, only the game node's event loop thread calls it.

#include <array>
#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "codec/messages.h"
#include "nodes/game/gomoku/gomoku_rules.h"
#include "nodes/game/table_logic.h"

namespace tb::game::gomoku {

struct GomokuConfig {
    // The move clock told to clients (NotifyScene Timeout, whole seconds).
    std::chrono::milliseconds move_timeout{15000};
    // How long the server waits beyond the told clock before it moves for the player, so that
    // a move sent at the last moment over a slow link still counts.
    std::chrono::milliseconds grace{2000};
    // A player offline longer than this during a round loses it (both: a draw).
    std::chrono::milliseconds abandon_after{60000};
};

// Registers gomoku.move_timeout_ms, gomoku.grace_ms and gomoku.abandon_after_ms bound to `cfg`,
// which must outlive the schema's load().
void bind_gomoku_config(common::ConfigSchema& schema, GomokuConfig& cfg);

class GomokuLogic final : public TableLogic {
public:
    static constexpr int kChairs = 2;

    explicit GomokuLogic(GomokuConfig cfg) : cfg_(cfg) {}

    void init(TableServices& services) override;
    void on_start() override;
    void on_conclude(const std::vector<int64_t>& scores) override;
    void on_sit(Chair chair) override;
    void on_stand(Chair chair) override;
    void on_reconnect(Chair chair) override;
    void on_offline(Chair chair) override;
    codec::Errno on_message(Chair chair, uint32_t type, std::string_view body) override;
    void on_timer(int timer_id) override;
    bool playing() const override { return playing_; }
    void on_abort() override;

    // Read-only views for tests and diagnostics.
    const Board& board() const noexcept { return board_; }
    Chair current_chair() const noexcept { return current_; }
    bool trustee(Chair chair) const noexcept { return trustee_[index(chair)]; }
    int consecutive_timeouts(Chair chair) const noexcept { return timeouts_[index(chair)]; }
    // The last round's result: winner chair (-1 draw) and reason ("" before any).
    Chair winner() const noexcept { return winner_; }
    const std::string& reason() const noexcept { return reason_; }

    // Timer ids (services().set_timer), public so tests can name them.
    static constexpr int kTimerClock = 1;     // the current player's move clock plus grace
    static constexpr int kTimerAutoMove = 2;  // a robot's, trustee's or offline player's move
    static constexpr int kTimerAbandon = 3;   // + chair: that chair has been offline too long

private:
    static size_t index(Chair chair) noexcept { return static_cast<size_t>(chair); }
    static bool valid_chair(Chair chair) noexcept { return chair >= 0 && chair < kChairs; }

    codec::Errno place_stone(Chair chair, std::string_view body);
    codec::Errno resign(Chair chair, std::string_view body);
    // Places a legal stone for `chair`, broadcasts it and ends the round or passes the turn.
    void play(Chair chair, Move move);
    // The strategy's move for the current player (timeout, robot, trustee, offline).
    void play_for_current();
    void begin_turn(Chair chair);
    // Whether the current player's moves are made for them after the think time.
    bool moves_automatically(Chair chair) const;
    void abandoned(Chair chair);
    // Ends the round: remembers the result for on_conclude() and hands it to the frame.
    void finish(Chair winner, std::string reason);
    void kill_round_timers();
    codec::gomoku::NotifyScene scene() const;

    GomokuConfig cfg_;
    TableServices* services_ = nullptr;  // owned by the frame, which outlives this logic
    std::mt19937_64 rng_;                // tie-breaks of the strategy; seeded from services

    Board board_;
    std::vector<Move> moves_;  // this round's moves in order, for the round record
    bool playing_ = false;
    Chair current_ = 0;
    std::array<int, kChairs> timeouts_{};  // consecutive clock expiries per chair
    std::array<bool, kChairs> trustee_{};
    std::array<bool, kChairs> offline_{};
    // A chair whose abandon limit passed while the other was offline too: the round waits to
    // see whether the other also passes it (draw) or comes back (this chair loses). -1: none.
    Chair abandoned_ = -1;

    Chair winner_ = -1;
    std::string reason_;
};

// The gomoku kind for the game node's registry (game_kinds.cc): name "gomoku", GameType 2, two
// chairs; configure() binds the keys above and returns a factory reading the loaded values.
const GameKind& gomoku_kind();

}  // namespace tb::game::gomoku
