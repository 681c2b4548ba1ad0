#pragma once
// The table frame and the room around it (docs/ARCHITECTURE.md "Game node"). The Room owns the
// tables of one game kind and level: FastLogin (after the service has checked the ticket),
// matching, duplicate logins, disconnects and returns, robots, online entries, settlement
// through the db node, and drain. A Table is one set of chairs with the frame's rules (sit,
// stand, ready, start, conclude) around one game kind's TableLogic.
//
// Neither touches a socket or a clock: everything outside goes through RoomHost, which the game
// service implements over the bus and its event loop, and which unit tests fake (with a fake
// clock). Threading: the node's loop thread only.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "nodes/common/db_api.h"
#include "nodes/common/game_api.h"
#include "nodes/common/proxy_api.h"
#include "nodes/game/game_config.h"
#include "nodes/game/table_logic.h"

namespace tb::game {

using HostTimer = uint64_t;

// The world outside the room. The game service implements it over the bus; tests fake it.
class RoomHost {
public:
    virtual ~RoomHost() = default;
    // A client message to sessions of one proxy (one multicast per proxy).
    virtual void push(const std::string& proxy, const std::vector<uint64_t>& sessions,
                      uint32_t type, std::string_view body) = 0;
    // A request to the db service; `done(code, body)` runs exactly once (code 0 = ok, else an
    // Errno or a bus code).
    virtual void call_db(uint32_t type, std::string body,
                         std::function<void(int32_t code, std::string body)> done) = 0;
    // Asks `proxy` which of these seated sessions it no longer holds (a SessionCheck);
    // `done(code, gone)` runs exactly once: code 0 with the gone sessions, else an Errno or a
    // bus code (BusCode::kUnknownTarget: the proxy is not on the bus).
    virtual void check_sessions(
        const std::string& proxy, const common::SessionCheck& check,
        std::function<void(int32_t code, std::vector<uint64_t> gone)> done) = 0;
    virtual HostTimer add_timer(std::chrono::milliseconds delay, std::function<void()> fn) = 0;
    virtual void cancel_timer(HostTimer id) = 0;
    virtual std::chrono::milliseconds time_left(HostTimer id) const = 0;
    virtual int64_t now_ms() const = 0;
    // Seated players, reported in heartbeats.
    virtual void set_load(int64_t load) = 0;
};

// What the room knows of the node it runs in.
struct RoomSettings {
    std::string node;  // bus identity, "game-3"
    int32_t game_id = 0;
    std::string kind;  // "gomoku"
    int32_t game_type = 0;
    int32_t level = 1;
    int chairs = 2;
    RoomConfig config;
};

// Someone the proxy vouched for, asking to sit.
struct Entrant {
    uint64_t user = 0;
    uint64_t session = 0;
    std::string proxy;  // the proxy's bus identity (where pushes go)
};

// How the room answers a request: an Errno with text, or a body (a FastLogin reply, or the
// Errno 9 body that names the other game).
struct Answer {
    int32_t code = 0;
    std::string text;
    std::string body;
};
using AnswerFn = std::function<void(Answer)>;

class Room;

struct Seat {
    SeatView view;
    int32_t icon = 0;
    int32_t level = 0;
    int32_t gender = 0;
    int64_t diamond = 0;
    std::string proxy;     // empty for robots
    uint64_t session = 0;  // 0 while offline
};

class Table final : public TableServices {
public:
    enum class Phase : uint8_t { kWaiting, kPlaying, kSettling };

    Table(Room& room, int32_t id, int chairs, std::unique_ptr<TableLogic> logic);
    ~Table() override;
    Table(const Table&) = delete;
    Table& operator=(const Table&) = delete;

    // TableServices
    int32_t table_id() const override { return id_; }
    int chair_count() const override { return static_cast<int>(seats_.size()); }
    const SeatView* seat(Chair chair) const override;
    void send_to_chair(Chair chair, uint32_t type, std::string_view body) override;
    void send_to_table(uint32_t type, std::string_view body) override;
    using TableServices::send_to_chair;
    using TableServices::send_to_table;
    void set_timer(int timer_id, std::chrono::milliseconds delay) override;
    void kill_timer(int timer_id) override;
    std::chrono::milliseconds timer_left(int timer_id) const override;
    uint64_t random() override;
    std::chrono::milliseconds think_time() override;
    int64_t base_score() const override;
    void conclude(RoundOutcome outcome) override;

    Phase phase() const noexcept { return phase_; }
    int seated() const noexcept;
    int humans() const noexcept;
    bool full() const noexcept { return seated() == chair_count(); }
    std::optional<Chair> free_chair() const noexcept;
    Seat* seat_of(Chair chair) noexcept;
    TableLogic& logic() noexcept { return *logic_; }
    const std::string& round_id() const noexcept { return round_id_; }
    // The table as tb-ctl tables shows it (common::kMsgGameTables).
    common::TableInfo info() const;

    // Frame operations, called by the Room.
    void sit(Chair chair, Seat seat);
    // Empties `chair` (announcing it) and returns who sat there (0: nobody). The Room does the
    // bookkeeping and may free the table afterwards (Room::stand_up).
    uint64_t stand(Chair chair);
    codec::Errno ready(Chair chair);
    void go_offline(Chair chair);
    void come_back(Chair chair, const std::string& proxy, uint64_t session);
    // Ends a round at once without settlement (hard stop).
    void abort_round();
    // Sends `to` NotifySitDown for every seated player.
    void send_seats_to(Chair to);
    void set_status(Chair chair, int32_t status);
    // Starts the round when every chair is seated and ready.
    void try_start();

private:
    void settle(const common::SettleRequest& req, std::chrono::milliseconds retry);
    void settled(const common::SettleReply& reply);
    void kill_all_timers();
    void set_phase(Phase p);

    Room& room_;  // owns this table and outlives it
    int32_t id_;
    std::vector<std::optional<Seat>> seats_;
    std::unique_ptr<TableLogic> logic_;
    Phase phase_ = Phase::kWaiting;
    int64_t phase_since_ms_ = 0;  // host time of the last phase change (or of creation)
    std::string round_id_;
    std::map<int, HostTimer> timers_;
    HostTimer settle_timer_ = 0;
    uint64_t settle_attempt_ = 0;  // a late answer of an aborted settlement is ignored
};

class Room {
public:
    Room(RoomHost& host, RoomSettings settings, LogicFactory factory);
    ~Room();
    Room(const Room&) = delete;
    Room& operator=(const Room&) = delete;

    // Clears this node's online entries (left by an earlier run) and opens the room; FastLogins
    // before that is confirmed are answered Errno 17.
    void start();
    // FastLogin of a user the proxy vouched for.
    void fast_login(const Entrant& who, AnswerFn answer);
    // Logout, Ready and table messages (mcmd 150) of a seated user.
    void message(uint64_t user, uint64_t session, uint32_t type, std::string_view body,
                 AnswerFn answer);
    // The proxy says this session closed. A session that no longer holds the seat is ignored,
    // so the late clean-up of a replaced session never removes its successor. True when the
    // seat was this session's (the player stood up, or went offline in a running round).
    bool session_closed(uint64_t user, uint64_t session);

    // Shut (no new players: Errno 17) or open again. Tables keep finishing their rounds.
    void set_open(bool open);
    bool open() const noexcept { return open_; }
    // True while a round runs or waits for its settlement.
    bool busy() const noexcept;
    // Ends every round at once without settlement.
    void abort_all();

    std::size_t tables() const noexcept { return tables_.size(); }
    // Every table (up to common::kGameTablesMax) and its seats, for operators.
    common::TablesReply describe() const;
    int64_t seated() const noexcept { return static_cast<int64_t>(where_.size()); }
    Table* table(int32_t id) noexcept;
    const RoomSettings& settings() const noexcept { return settings_; }
    RoomHost& host() noexcept { return host_; }
    std::mt19937_64& rng() noexcept { return rng_; }
    int64_t min_score() const noexcept;

private:
    friend class Table;
    struct Where {
        int32_t table = 0;
        Chair chair = 0;
    };

    void admit(const Entrant& who, common::UserRecord user, AnswerFn answer);
    void reconnect(const Entrant& who, Where at, AnswerFn answer);
    Table& match();
    // Stands a player up and frees the table when no person is left (robots leave with the
    // last person). The only place tables are freed.
    void stand_up(int32_t table_id, Chair chair);
    void forget(uint64_t user);
    // Table callbacks.
    void on_seated(Table& t, Chair chair);
    void on_round_over(Table& t);
    void schedule_refresh();
    // The session check (common::kMsgSessionCheck): asks each proxy about its online seats, so
    // a seat whose SessionClosed was lost, or whose proxy died, does not stay taken forever.
    void schedule_session_check();
    void check_sessions();
    void on_sessions_checked(const std::string& proxy, const common::SessionCheck& asked,
                             int32_t code, const std::vector<uint64_t>& gone);
    void arm_robots(Table& t);
    void fill_with_robots(int32_t table_id);
    void set_online(const Seat& s, int32_t table_id);
    void refresh_online();
    void update_load();

    RoomHost& host_;  // the game service; outlives the room
    RoomSettings settings_;
    LogicFactory factory_;
    std::mt19937_64 rng_;
    std::map<int32_t, std::unique_ptr<Table>> tables_;
    std::unordered_map<uint64_t, Where> where_;  // seated users (robots included)
    std::set<uint64_t> admitting_;               // FastLogins waiting for the db node
    std::map<int32_t, HostTimer> robot_timers_;  // by table
    std::set<int32_t> robots_requested_;
    HostTimer refresh_timer_ = 0;
    HostTimer session_timer_ = 0;
    // Proxies the bus did not know at a session check, since when (ms): their seats are freed
    // once one has been missing for kProxyLostAfter, longer than a manager restart takes.
    std::map<std::string, int64_t> proxy_missing_since_;
    bool started_ = false;
    bool open_ = true;
    bool stopping_ = false;
    int32_t next_table_ = 0;
};

}  // namespace tb::game
