#pragma once
// tb-play's protocol logic without I/O: what to send on connect, on every frame from the proxy
// and on every line the person types, and what to print. The loop (play_client.h) owns the
// socket, stdin and the clock and hands events in; unit tests do the same with frames they
// build, so everything a person sees can be checked without a server.
//
// The conversation (PROTOCOL.md §4): FastRegister (1,1) -> FastLogin (100,1) with GameType and
// GameLevel, or with the GameID of the game the reply says we still sit in -> NotifySitDown
// (Ready sent on our own, and whenever our status goes back to free) -> the game's (150,*)
// messages, drawn by GomokuView or LandlordsView. Every (0,0) probe is echoed. A dropped
// connection is reconnected with backoff and the game continues from the scene the server sends.
//
// One thread: the loop's.

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "codec/frame.h"
#include "tools/play/commands.h"
#include "tools/play/gomoku_view.h"
#include "tools/play/landlords_view.h"
#include "tools/play/options.h"
#include "tools/play/table_info.h"

namespace tb::play {

class Session {
public:
    enum class Stage : uint8_t {
        kOffline,      // no connection (or connecting)
        kRegistering,  // FastRegister sent
        kJoining,      // FastLogin sent
        kLobby,        // logged in, not seated: a FastLogin retry is due at join_retry_at_
        kSeated,
    };

    // `out` gets everything the person reads; `json_log`, if given, one JSON line per frame (the
    // Password and Machine of FastRegister masked). Both must outlive the session.
    Session(PlayOptions options, std::ostream& out, std::ostream* json_log = nullptr);

    // --- events ---------------------------------------------------------------------------
    void on_connected(Clock::time_point now);
    void on_frame(const codec::Frame& f, Clock::time_point now);
    // The connection failed or ended; `why` is shown. Schedules the next connect (backoff).
    void on_disconnected(std::string_view why, Clock::time_point now);
    void on_line(std::string_view line, Clock::time_point now);
    // stdin ended: like `quit`.
    void on_end_of_input(Clock::time_point now);
    // SIGINT, SIGTERM or SIGHUP: like `quit`.
    void on_signal(Clock::time_point now);
    // Called often (every few hundred ms): clock warnings, FastLogin retries.
    void on_tick(Clock::time_point now);

    // --- what the loop does next ----------------------------------------------------------
    // Frames to write, whole and in order; empties the queue.
    std::string take_output();
    // True when the session wants the connection closed and made again (after a transient
    // login failure); the loop closes it and calls on_disconnected().
    bool wants_reconnect() const noexcept { return reconnect_; }
    bool finished() const noexcept { return finished_; }
    int exit_code() const noexcept { return exit_code_; }
    // When to connect next (meaningful while offline).
    Clock::time_point next_connect_at() const noexcept { return next_connect_at_; }

    Stage stage() const noexcept { return stage_; }
    const TableInfo& table() const noexcept { return table_; }
    Game game() const noexcept { return game_; }
    const GomokuView& gomoku() const noexcept { return gomoku_; }
    const LandlordsView& landlords() const noexcept { return landlords_; }
    int64_t user_id() const noexcept { return user_id_; }

    // The backoff before reconnect attempt `n` (0-based): 0.5 s doubling to 8 s.
    static Clock::duration backoff(int attempt) noexcept;

private:
    template <class T>
    void send(const T& msg);
    void send_empty(uint32_t type);
    void send_frame(uint32_t type, const std::string& json_body);
    void log_frame(std::string_view dir, uint16_t mcmd, uint16_t scmd, std::string_view body);
    void print(std::string_view text);

    void fast_login(int32_t game_id, Clock::time_point now);
    void on_register_reply(const std::string& body, int32_t err_no, Clock::time_point now);
    void on_fast_login_reply(const std::string& body, int32_t err_no, Clock::time_point now);
    void on_room_frame(uint32_t type, const std::string& body, int32_t err_no,
                       Clock::time_point now);
    void on_gomoku_frame(uint32_t type, const std::string& body, Clock::time_point now);
    void on_landlords_frame(uint32_t type, const std::string& body, Clock::time_point now);
    void on_refusal(uint32_t type, const std::string& body, int32_t err_no);
    void run_command(const Command& c, Clock::time_point now);
    void play_cards(const Command& c);
    void show(Clock::time_point now);
    void quit(std::string_view why);
    void fail(std::string_view why);  // a fatal refusal: print, exit 1
    void new_table();

    PlayOptions opt_;
    std::ostream& out_;
    std::ostream* json_log_;
    std::string output_;  // frames not yet taken by the loop

    Stage stage_ = Stage::kOffline;
    bool ever_logged_in_ = false;
    bool reconnect_ = false;
    bool finished_ = false;
    int exit_code_ = 0;
    int connect_attempts_ = 0;  // failures since the last successful FastLogin
    Clock::time_point next_connect_at_{};
    int join_attempts_ = 0;  // FastLogin retries since the last success
    std::optional<Clock::time_point> join_retry_at_;
    int in_other_game_hops_ = 0;  // Errno 9 redirections followed, to stop a ping-pong

    int64_t user_id_ = 0;
    int64_t score_ = 0;
    Game game_;  // the game being played (the seat's, after a return), not always --game
    int32_t game_id_ = 0;
    TableInfo table_;
    GomokuView gomoku_;
    LandlordsView landlords_;
    std::optional<Clock::time_point> warned_deadline_;  // the clock we last warned about
};

}  // namespace tb::play
