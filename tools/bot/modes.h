#pragma once
// The bots' behaviours, as Modes plugged into the connection engine (engine.h):
//  - idle:  log in once and hold the connection, answering keep-alive probes;
//  - login: connect -> FastRegister -> disconnect, over and over (optionally paced by --rate);
//  - chaos: malformed, abusive and premature clients that expect to be closed or refused.
//  - gomoku, landlords: play whole games (game_modes.h, built on LoginMode's handshake).

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tools/bot/engine.h"
#include "tools/bot/options.h"

namespace tb::bot {

// The FastRegister a bot sends: its device account (empty password, bound to Machine), its
// account as its name, gender 3 (unknown). msgpack, as Engine::send takes it.
std::string fast_register_body(const Client& c);

// idle and login share the login handshake and what counts as an error.
class LoginMode : public Mode {
public:
    // churn: after each successful login, disconnect and log in again (login mode);
    // otherwise hold the connection (idle mode).
    explicit LoginMode(bool churn) : churn_(churn) {}

    std::string_view name() const override { return churn_ ? "login" : "idle"; }
    void on_start(Client& c) override;
    void on_connected(Client& c) override;
    void on_reply(Client& c, const Reply& r) override;
    void on_frame(Client& c, const codec::Frame& f, int32_t err_no) override;
    void on_closed(Client& c, CloseCause cause, bool was_logged_in) override;
    void on_timeout(Client& c, const Pending& p) override;
    void on_timer(Client& c) override;

protected:
    // After a failure: try again later, no sooner than this so a dead server is not hammered.
    static constexpr int kRetryMs = 1000;
    // The next login, through the pacer (--rate), no earlier than `delay_ms` from now.
    void schedule(Client& c, int delay_ms);

    bool churn_;
};

// The chaos clients. Each bot runs one scenario per connection, then the next one.
class ChaosMode : public Mode {
public:
    enum class Scenario : uint8_t {
        kGarbage,       // random bytes
        kBadMagic,      // a frame header with a magic that is neither 0x5277 nor 0x5278
        kLength7,       // length below the header size
        kLength8193,    // length one past the maximum
        kLength65535,   // the largest length a u16 can say
        kTruncated,     // half a frame, then silence (not even probe answers)
        kMagicSwitch,   // a good frame, then one with the other magic
        kOversizeJson,  // a FastRegister filling the whole 8192-byte frame
        kDeepJson,      // a FastRegister nested 100 deep
        kSlowReader,    // logs in and keeps asking, never reading the answers
        kFlood,         // 400 requests at once, far past the rate limit
        kBeforeLogin,   // game commands before any login
        kCount,
    };
    // What the proxy should do; not doing it is a violation (an error).
    enum class Expect : uint8_t {
        kClose,         // close the connection within kExpectMs
        kErrorFrames,   // answer every request with Errno != 0 (closing is also accepted)
        kLimitOrClose,  // rate-limit (Errno 16) or close within kExpectMs
        kAnything,      // record only
    };
    static constexpr int kExpectMs = 5000;

    static std::string_view scenario_name(Scenario s) noexcept;
    static Expect expectation(Scenario s) noexcept;
    // The scenario a bot runs on its `round`-th connection: every bot cycles through all.
    static Scenario scenario_for(uint32_t index, uint32_t round, uint64_t seed) noexcept;

    std::string_view name() const override { return "chaos"; }
    MainStat main_stat() const override { return MainStat::kRequest; }
    void attach(Engine& engine, std::size_t bots) override;
    void on_start(Client& c) override;
    void on_connected(Client& c) override;
    void on_reply(Client& c, const Reply& r) override;
    void on_frame(Client& c, const codec::Frame& f, int32_t err_no) override;
    void on_closed(Client& c, CloseCause cause, bool was_logged_in) override;
    void on_timeout(Client& c, const Pending& p) override;
    void on_timer(Client& c) override;
    void on_end(Client& c) override;

private:
    enum class Phase : uint8_t { kBetween, kConnecting, kRunning };
    struct Bot {
        Phase phase = Phase::kBetween;
        Scenario scenario = Scenario::kGarbage;
        uint32_t round = 0;
        int step = 0;
        int remaining = 0;
        bool limited = false;  // an Errno 16 came back
        ScenarioStats run;     // this connection's tally
    };

    void begin(Client& c);
    void tally(Bot& b, int32_t err_no);
    // Ends the current scenario run: records it, closes, and starts the next one later.
    void finish(Client& c, bool violation, bool close);
    std::string header(Client& c, uint16_t magic, uint16_t length, uint16_t mcmd, uint16_t scmd);

    std::vector<Bot> bots_;
};

// `game` is for the game modes only.
std::unique_ptr<Mode> make_mode(ModeKind kind, const GameSettings& game = {});

}  // namespace tb::bot
