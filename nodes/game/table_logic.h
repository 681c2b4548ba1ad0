#pragma once
// The contract between the table frame and one game kind's rules (docs/ARCHITECTURE.md "Game
// node"). The frame (table.h) owns chairs, seats, readiness, statuses, online entries and
// settlement, and knows no game's rules; a kind (gomoku/, landlords/) implements TableLogic and
// acts only through TableServices. So a new kind plugs in by adding a GameKind to
// game_kinds.cc, without touching the frame.
//
// Threading: everything here runs on the game node's one event loop thread. No locks.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "codec/errors.h"
#include "codec/fields.h"

namespace tb::common {
class ConfigSchema;
}

namespace tb::game {

using Chair = int32_t;

// A seated player as the game logic sees them.
struct SeatView {
    int64_t user_id = 0;
    std::string name;
    bool robot = false;
    bool offline = false;  // a person whose session closed during a round; played for
    int32_t status = 0;    // codec::kUserStatus*
    int64_t score = 0;     // balance as last known (at sit-down, then after each settlement)
};

// One payment of a round between chairs, before the db node clamps it to the balances.
struct ChairTransfer {
    Chair from = 0;
    Chair to = 0;
    int64_t amount = 0;  // > 0
};

// How a round ended, as the logic hands it to the frame for settlement.
struct RoundOutcome {
    std::vector<ChairTransfer> transfers;  // empty: nothing moves (a draw)
    std::string seed;                      // the shuffle seed, kept only with the round record
    std::string result;                    // short JSON summary kept with the round record
};

// What the frame offers a game logic. The reference the logic gets in init() outlives it.
class TableServices {
public:
    virtual ~TableServices() = default;

    virtual int32_t table_id() const = 0;
    virtual int chair_count() const = 0;
    // The player in `chair`, or nullptr when the chair is empty or out of range.
    virtual const SeatView* seat(Chair chair) const = 0;

    // Client messages (msgpack bodies). To one chair: dropped for robots and offline players.
    // To the table: every seated person who is online.
    virtual void send_to_chair(Chair chair, uint32_t type, std::string_view body) = 0;
    virtual void send_to_table(uint32_t type, std::string_view body) = 0;
    template <class Msg>
    void send_to_chair(Chair chair, const Msg& msg) {
        send_to_chair(chair, Msg::kType, codec::encode(msg));
    }
    template <class Msg>
    void send_to_table(const Msg& msg) {
        send_to_table(Msg::kType, codec::encode(msg));
    }

    // Game timers by small integer id (the classic SetGameTimer): setting an id that is running
    // restarts it; on_timer(id) fires once. The frame kills them all when the table is freed or
    // the round is aborted.
    virtual void set_timer(int timer_id, std::chrono::milliseconds delay) = 0;
    virtual void kill_timer(int timer_id) = 0;
    // Time until `timer_id` fires; zero when it is not running.
    virtual std::chrono::milliseconds timer_left(int timer_id) const = 0;

    // Randomness from a properly seeded generator (never rand()).
    virtual uint64_t random() = 0;
    // A robot's (or trustee's) think time, random in the configured range.
    virtual std::chrono::milliseconds think_time() = 0;
    // The room's base score for this level.
    virtual int64_t base_score() const = 0;

    // Ends the round. The frame settles it through the db node (retrying with the same round
    // id until confirmed), then calls on_conclude() with what the db node finally moved, then
    // sends NotifyTreasure, sets every status back to free and removes offline players.
    // Client messages to the table are refused (Errno 13) while the settlement is out.
    virtual void conclude(RoundOutcome outcome) = 0;
};

// One table's game rules. Created per table by the kind's factory; the frame calls it.
class TableLogic {
public:
    virtual ~TableLogic() = default;

    // Once, right after creation. `services` outlives this object.
    virtual void init(TableServices& services) = 0;
    // Every chair is seated and ready; statuses are already "playing". Start the round.
    virtual void on_start() = 0;
    // The db node confirmed the round: `scores` is what each chair finally won or lost.
    // Broadcast the conclusion; the frame then resets the table for the next round.
    virtual void on_conclude(const std::vector<int64_t>& scores) = 0;
    // A player sat in `chair` (the frame has sent the seat notices): send them the scene.
    virtual void on_sit(Chair chair) = 0;
    // The player in `chair` is about to leave (only ever outside a round).
    virtual void on_stand(Chair chair) = 0;
    // The player in `chair` came back on a new session (or replaced an old one): send the
    // whole scene, including whatever a round in progress needs.
    virtual void on_reconnect(Chair chair) = 0;
    // The player in `chair` went offline during a round: play for them.
    virtual void on_offline(Chair chair) = 0;
    // A table message from `chair` (mcmd 150). Returns the Errno to answer with; kOk means the
    // broadcast that follows is the confirmation. A refused message must change nothing.
    virtual codec::Errno on_message(Chair chair, uint32_t type, std::string_view body) = 0;
    virtual void on_timer(int timer_id) = 0;
    // True from on_start() until the logic calls conclude().
    virtual bool playing() const = 0;
    // The round ends at once without settlement (the node is being stopped hard). Forget it.
    virtual void on_abort() = 0;
};

using LogicFactory = std::function<std::unique_ptr<TableLogic>()>;

// A game kind as the node knows it. `configure` registers the kind's own config keys (e.g.
// "gomoku.move_timeout_ms") on the node's schema before it is loaded, and returns the factory
// that builds table logics with the loaded values. The factory owns the config struct those
// keys are bound to: keep it alive until the schema has been loaded (and as long as logics are
// made).
struct GameKind {
    std::string_view name;  // "gomoku": service game.<name>.<level>
    int32_t game_type = 0;  // the wire GameType
    int chairs = 0;
    std::function<LogicFactory(common::ConfigSchema&)> configure;
};

}  // namespace tb::game
