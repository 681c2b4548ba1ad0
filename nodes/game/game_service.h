#pragma once
// tb-game on the bus: serves game.<kind>.<level>, checks the proxy's ticket on FastLogin, hands
// players and their table messages to the Room, and carries the Room's pushes, db calls and
// timers over the node runtime and its event loop (the Room's RoomHost).
//
// Drain: tb-ctl shut (or the first SIGTERM) stops new players, with Errno 17 for FastLogins
// that still arrive, and lets running rounds finish; tb-ctl open undoes it. After SIGTERM the
// node leaves once no round is running or settling (or after drain.limit_ms); a second SIGTERM
// ends the rounds at once, unsettled, and leaves. Loop thread only.

#include <memory>
#include <zmq.hpp>

#include "bus/event_loop.h"
#include "bus/node.h"
#include "nodes/common/ticket.h"
#include "nodes/game/game_config.h"
#include "nodes/game/room.h"

namespace tb::game {

class GameService final : public RoomHost {
public:
    GameService(zmq::context_t& ctx, bus::EventLoop& loop, const GameConfig& cfg,
                const GameKind& kind, LogicFactory factory);
    ~GameService() override;

    void start();
    void stop();
    // A SIGTERM/SIGINT arrived: the first drains, the second ends everything. Calls
    // loop.quit() when the node should exit.
    void on_signal();

    bus::Node& node() noexcept { return node_; }
    Room& room() noexcept { return room_; }

    // RoomHost
    void push(const std::string& proxy, const std::vector<uint64_t>& sessions, uint32_t type,
              std::string_view body) override;
    void call_db(uint32_t type, std::string body,
                 std::function<void(int32_t, std::string)> done) override;
    void check_sessions(const std::string& proxy, const common::SessionCheck& check,
                        std::function<void(int32_t, std::vector<uint64_t>)> done) override;
    HostTimer add_timer(std::chrono::milliseconds delay, std::function<void()> fn) override;
    void cancel_timer(HostTimer id) override;
    std::chrono::milliseconds time_left(HostTimer id) const override;
    int64_t now_ms() const override;
    void set_load(int64_t load) override { node_.set_load(load); }

private:
    void on_fast_login(bus::Request& r);
    void on_table_message(bus::Request& r);
    void on_table_push(const codec::Envelope& env, std::string_view body);
    void answer(const codec::Envelope& env, Answer a);
    void check_drained();

    const GameConfig& cfg_;  // owned by main, outlives the service
    const GameKind& kind_;
    bus::EventLoop& loop_;  // owned by main
    bus::Node node_;
    common::TicketVerifier tickets_;
    Room room_;
    int signals_ = 0;
    int64_t drain_deadline_ms_ = 0;
    bus::TimerId drain_timer_ = 0;
};

}  // namespace tb::game
