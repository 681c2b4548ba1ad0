#pragma once
// Dou Dizhu's table logic (docs/RULES.md "Dou Dizhu"; PROTOCOL.md landlords (150,*)): the deal
// from a seeded shuffle, bidding with redeals and the third-deal rule, the landlord and the
// bottom cards, turn order with passes and leads, readings, bombs and the rocket, spring and
// anti-spring, the capped multiple, clocks with grace, trustee, offline players, scenes, and
// the round's transfers for the frame to settle. The rules themselves are the pure engine in
// classify.h and the robots' strategy in strategy.h; this class only runs a table.
//
// Threading: like every TableLogic, only the game node's event loop thread calls it.

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "codec/messages.h"
#include "nodes/game/landlords/classify.h"
#include "nodes/game/table_logic.h"

namespace tb::game::landlords {

struct LandlordsConfig {
    std::chrono::milliseconds bid_timeout{15000};   // told to clients
    std::chrono::milliseconds play_timeout{20000};  // told to clients
    std::chrono::milliseconds grace{2000};          // the server waits this much longer
    int32_t max_multiple = 64;                      // the cap of Multiple
};

// Registers landlords.bid_timeout_ms, landlords.play_timeout_ms, landlords.grace_ms and
// landlords.max_multiple bound to `cfg`, which must outlive the schema's load().
void bind_landlords_config(common::ConfigSchema& schema, LandlordsConfig& cfg);

class LandlordsLogic final : public TableLogic {
public:
    enum class Phase : int32_t { kWaiting = 0, kBidding = 1, kPlaying = 2, kConcluded = 3 };

    explicit LandlordsLogic(LandlordsConfig cfg) : cfg_(cfg) {}

    void init(TableServices& services) override { services_ = &services; }
    void on_start() override;
    void on_conclude(const std::vector<int64_t>& scores) override;
    void on_sit(Chair chair) override;
    void on_stand(Chair chair) override;
    void on_reconnect(Chair chair) override;
    void on_offline(Chair chair) override;
    codec::Errno on_message(Chair chair, uint32_t type, std::string_view body) override;
    void on_timer(int timer_id) override;
    bool playing() const override { return phase_ == Phase::kBidding || phase_ == Phase::kPlaying; }
    void on_abort() override;

    // For tests and the scene.
    Phase phase() const noexcept { return phase_; }
    Chair current() const noexcept { return current_; }
    Chair landlord() const noexcept { return landlord_; }
    int32_t bid() const noexcept { return base_bid_; }
    int32_t multiple() const noexcept { return multiple_; }
    int deals() const noexcept { return deals_; }
    const std::vector<int32_t>& hand(Chair c) const { return hands_[static_cast<size_t>(c)]; }
    const std::vector<int32_t>& bottom() const noexcept { return bottom_; }
    bool trustee(Chair c) const { return trustee_[static_cast<size_t>(c)]; }
    bool leading() const noexcept { return !last_ || last_chair_ == current_; }
    std::optional<Play> last_play() const noexcept { return last_; }
    uint64_t seed() const noexcept { return seed_; }

    static constexpr int kTimerTurn = 1;  // the player's clock (+ grace)
    static constexpr int kTimerAct = 2;   // a robot's or trustee's think time

private:
    void deal();
    void begin_turn();
    codec::Errno call_score(Chair chair, int32_t score);
    codec::Errno play_cards(Chair chair, const std::vector<int32_t>& ids, const std::string& type);
    codec::Errno pass(Chair chair);
    void make_landlord(Chair chair, int32_t bid);
    void finish(Chair winner);
    void act_for(Chair chair);
    void set_trustee(Chair chair, bool on);
    // A person acted: the timeout streak ends and trustee (if on) goes off.
    void acted_by_person(Chair chair);
    bool played_for(Chair chair) const;
    std::chrono::milliseconds turn_timeout() const noexcept;
    int64_t remaining_ms() const;
    std::vector<int32_t> cards_left() const;
    codec::landlords::NotifyScene scene(Chair chair) const;
    void double_multiple() noexcept;

    LandlordsConfig cfg_;
    TableServices* services_ = nullptr;  // the frame's table; outlives this logic

    Phase phase_ = Phase::kWaiting;
    uint64_t seed_ = 0;
    std::mt19937_64 shuffle_;
    int deals_ = 0;  // deals in this round (1..3)
    std::array<std::vector<int32_t>, 3> hands_;
    std::vector<int32_t> bottom_;

    Chair first_bidder_ = 0;
    Chair current_ = 0;
    int acted_ = 0;
    int32_t highest_bid_ = 0;
    Chair highest_bidder_ = -1;

    Chair landlord_ = -1;
    int32_t base_bid_ = 0;
    int32_t multiple_ = 1;
    std::optional<Play> last_;
    std::vector<int32_t> last_cards_;
    Chair last_chair_ = -1;
    int passes_ = 0;
    std::array<int, 3> plays_{};  // plays made per chair (spring, anti-spring)

    std::array<int, 3> timeouts_{};  // in a row
    std::array<bool, 3> trustee_{};

    // Kept from finish() for on_conclude().
    bool landlord_win_ = false;
    bool spring_ = false;
};

const GameKind& landlords_kind();

}  // namespace tb::game::landlords
