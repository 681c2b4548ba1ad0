#pragma once
// The game modes: bots that sit at tables and play whole games the way real clients do
// (PROTOCOL.md): FastRegister, FastLogin with a GameType and GameLevel, Ready on their own
// NotifySitDown and again whenever their own status returns to free, and their game's action
// on their turn, chosen with the game's rule library (nodes/game/<kind>/).
//
// TableMode holds what every game shares: the join handshake, the seats, readying, returning
// to a game after a reconnect (FastRegister's GameID), timing actions and counting games.
// GomokuMode and LandlordsMode add their game's messages and choices.
//
// Actions get no reply when they succeed (the broadcast that follows is the confirmation), so
// they are sent untracked and TableMode times them itself: action sent -> the broadcast of the
// bot's own action (MainStat::kAction). An action refused, or unconfirmed within the request
// timeout, is an error; the bot then resyncs by reconnecting, since a returning player gets the
// whole scene from the server.
//
// Everything here runs on the engine's thread.

#include <array>
#include <cstdint>
#include <optional>
#include <random>
#include <string_view>
#include <vector>

#include "nodes/game/gomoku/gomoku_rules.h"
#include "nodes/game/landlords/classify.h"
#include "tools/bot/modes.h"

namespace tb::bot {

class TableMode : public LoginMode {
public:
    // Chairs beyond this in a server frame are a protocol violation.
    static constexpr int32_t kMaxChairs = 8;
    // After a resync's close, the bot reconnects this much later.
    static constexpr int kResyncMs = 200;

    TableMode(int32_t game_type, GameSettings settings);

    MainStat main_stat() const override { return MainStat::kAction; }
    void attach(Engine& engine, std::size_t bots) override;
    void on_connected(Client& c) override;
    void on_reply(Client& c, const Reply& r) override;
    void on_frame(Client& c, const codec::Frame& f, int32_t err_no) override;
    void on_closed(Client& c, CloseCause cause, bool was_logged_in) override;
    void on_timeout(Client& c, const Pending& p) override;
    void on_timer(Client& c) override;

    // The bot's chair, -1 while it is not seated (for tests).
    int32_t chair_of(const Client& c) const { return bots_[c.slot()].chair; }

protected:
    // --- the game's side; called with the client open -----------------------------------------
    // A (150, *) frame; one with Errno != 0 is already counted as an unexpected error.
    virtual void on_game_frame(Client& c, const codec::Frame& f, int32_t err_no) = 0;
    // The bot's think time is over: act now (send, then action_sent()), unless the turn passed.
    virtual void act(Client& c) = 0;
    // Forget the game in progress: the bot left its seat or lost its connection.
    virtual void reset_game(Client& c) = 0;

    // --- for the game's side ------------------------------------------------------------------
    int32_t my_chair(const Client& c) const { return bots_[c.slot()].chair; }
    // The bot's turn came: act() after --think-ms, or at once without it.
    void turn_begins(Client& c);
    // The turn passed without the bot (the server acted for it, the game ended): no act().
    void turn_ends(Client& c);
    // An action went out: its round trip runs until action_confirmed(). `measured`: it is one
    // of the mode's actions (actions, actions_per_s, p50_ms); else only its timeout is watched.
    void action_sent(Client& c, bool measured = true);
    bool acting(const Client& c) const { return bots_[c.slot()].acting; }
    // The broadcast of the bot's own action arrived: one action and one round-trip sample.
    void action_confirmed(Client& c);
    // The action in flight will not be confirmed (refused, or the game ended); no sample.
    void action_dropped(Client& c);
    // A game at the bot's table concluded; counted by one of our bots at the table only.
    void game_concluded(Client& c);
    // The bot's view of the table cannot be trusted: reconnect and take the server's scene.
    void resync(Client& c);
    // A body that does not decode is a protocol violation; false then.
    template <class T>
    bool decode_body(const codec::Frame& f, T& out);
    const GameSettings& settings() const noexcept { return settings_; }

private:
    struct Seat {
        int64_t user_id = 0;  // 0: empty
        bool ours = false;    // one of this run's bots (its name carries the account prefix)
    };
    enum class Wait : uint8_t { kNone, kThink, kAction };
    struct Bot {
        int32_t game_id = 0;        // the game server we sit at, from FastLogin's reply
        int32_t asked_game_id = 0;  // the GameID of the FastLogin in flight
        int32_t chair = -1;
        bool ready_sent = false;  // since our status was last not free
        std::vector<Seat> seats;
        Wait wait = Wait::kNone;
        bool acting = false;
        bool measured = false;
        Clock::time_point action_at;
    };

    void fast_login(Client& c, int32_t game_id);
    void ready(Client& c);
    // The bot no longer sits at its table (stood up, game node lost): forget it and join again.
    void rejoin(Client& c);
    void forget(Client& c);  // everything but the connection
    void on_room_frame(Client& c, const codec::Frame& f);
    bool valid_chair(int32_t chair);
    Seat& seat(Bot& b, int32_t chair);

    int32_t game_type_;
    GameSettings settings_;
    std::vector<Bot> bots_;
};

template <class T>
bool TableMode::decode_body(const codec::Frame& f, T& out) {
    if (codec::decode(f.body, out) == codec::MsgError::kOk) return true;
    ++engine_->counters().violations;
    return false;
}

// Gomoku (GameType 2): the board from BroadcastStart / BroadcastPlaceStone (or the scene on a
// return), PlaceStone on the bot's turn from game::gomoku::choose_move or random_move.
class GomokuMode final : public TableMode {
public:
    explicit GomokuMode(GameSettings settings);
    std::string_view name() const override { return "gomoku"; }
    void attach(Engine& engine, std::size_t bots) override;

    // The board as the bot sees it (for tests).
    const game::gomoku::Board& board_of(const Client& c) const { return games_[c.slot()].board; }

protected:
    void on_game_frame(Client& c, const codec::Frame& f, int32_t err_no) override;
    void act(Client& c) override;
    void reset_game(Client& c) override;

private:
    struct Game {
        game::gomoku::Board board;
        bool playing = false;
        int32_t turn = -1;  // the chair to move; -1 between games
    };
    void set_turn(Client& c, int32_t chair);

    std::vector<Game> games_;
};

// Dou Dizhu (GameType 1): the hand from NotifyDeal (+ the bottom cards for the landlord), the
// bidding from BroadcastCallScore, the play to beat from BroadcastPlay / BroadcastPass (or the
// scene on a return). CallScore on the bot's bidding turn (game::landlords::choose_bid, or a
// random legal bid); PlayCards or Pass on its play turn (choose_play, or random_play). Only
// plays and passes are the mode's actions; bids are watched for a timeout but not timed.
class LandlordsMode final : public TableMode {
public:
    static constexpr int kChairs = 3;

    explicit LandlordsMode(GameSettings settings);
    std::string_view name() const override { return "landlords"; }
    void attach(Engine& engine, std::size_t bots) override;

    // The bot's hand as card ids (for tests).
    const std::vector<int>& hand_of(const Client& c) const { return games_[c.slot()].hand; }

protected:
    void on_game_frame(Client& c, const codec::Frame& f, int32_t err_no) override;
    void act(Client& c) override;
    void reset_game(Client& c) override;

private:
    enum class Phase : uint8_t { kWaiting, kBidding, kPlaying };
    struct Game {
        Phase phase = Phase::kWaiting;
        std::vector<int> hand;  // card ids
        int32_t turn = -1;      // the chair to act; -1 when nobody (or unknown)
        int highest_bid = 0;
        int bids = 0;  // acts in this deal's bidding
        int32_t landlord = -1;
        std::optional<game::landlords::Play> last;  // the play to beat
        int32_t last_chair = -1;
        std::array<int, kChairs> cards_left{};
        // After a refused action: the safe one (pass, or the lowest single) until the next turn.
        bool cautious = false;
    };
    void set_turn(Client& c, int32_t chair);
    void bid(Client& c, Game& g);
    void play(Client& c, Game& g);
    void send_pass(Client& c);
    // What the table recorded for `cards` from `chair`: the reading of RULES.md §1.3.
    std::optional<game::landlords::Play> reading_of(const Game& g, const std::vector<int>& cards,
                                                    std::string_view type, int32_t chair) const;

    std::vector<Game> games_;
};

}  // namespace tb::bot
