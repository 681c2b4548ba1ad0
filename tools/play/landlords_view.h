#pragma once
// What tb-play knows of a Dou Dizhu table and how it prints it: your hand (sorted, in the
// notation 3456789TJQKA2BR), the bids, the landlord and the bottom cards, the last play and who
// made it, cards left per seat, the multiple, trustee marks, whose turn and the time left; the
// hints of `?` (every legal play and the robot strategy's choice, from the rule engine in
// nodes/game/landlords/), and the result. Fed with the decoded (150,*) messages; no I/O. One
// thread (tb-play's loop).

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "codec/messages.h"
#include "nodes/game/landlords/classify.h"
#include "tools/play/table_info.h"

namespace tb::play {

// What a message changed: lines to print, and whether the whole table should be printed again
// (a deal, the landlord, a return, the person's turn).
struct ViewUpdate {
    std::string text;
    bool redraw = false;
};

class LandlordsView {
public:
    static constexpr int kChairs = 3;
    // The clocks the server runs when a message does not say (RULES.md §1.5: bid 15 s, play
    // 20 s): NotifyDeal and BroadcastLandlord carry no RemainingMs.
    static constexpr int64_t kBidClockMs = 15000;
    static constexpr int64_t kPlayClockMs = 20000;

    enum class Phase : uint8_t { kWaiting = 0, kBidding = 1, kPlaying = 2, kConcluded = 3 };

    void reset();

    ViewUpdate on_scene(const codec::landlords::NotifyScene& m, const TableInfo& t,
                        Clock::time_point now);
    ViewUpdate on_deal(const codec::landlords::NotifyDeal& m, const TableInfo& t,
                       Clock::time_point now);
    ViewUpdate on_call_score(const codec::landlords::BroadcastCallScore& m, const TableInfo& t,
                             Clock::time_point now);
    ViewUpdate on_landlord(const codec::landlords::BroadcastLandlord& m, const TableInfo& t,
                           Clock::time_point now);
    ViewUpdate on_play(const codec::landlords::BroadcastPlay& m, const TableInfo& t,
                       Clock::time_point now);
    ViewUpdate on_pass(const codec::landlords::BroadcastPass& m, const TableInfo& t,
                       Clock::time_point now);
    ViewUpdate on_conclude(const codec::landlords::BroadcastConclude& m, const TableInfo& t);
    ViewUpdate on_trustee(const codec::landlords::BroadcastTrustee& m, const TableInfo& t);
    ViewUpdate on_redeal();

    std::string render(const TableInfo& t, Clock::time_point now) const;
    // `?`: in bidding the legal bids and the strategy's bid; in play every legal play (at most
    // `limit` listed) and the strategy's choice for our chair.
    std::string hints(const TableInfo& t, std::size_t limit = 40) const;

    Phase phase() const noexcept { return phase_; }
    int32_t current() const noexcept { return current_; }
    const std::vector<int>& hand() const noexcept { return hand_; }
    // True when `chair` would lead (no play to beat, or its own play came round).
    bool leading(int32_t chair) const noexcept { return !last_ || last_chair_ == chair; }
    int32_t landlord() const noexcept { return landlord_; }
    int32_t multiple() const noexcept { return multiple_; }
    const std::array<int, kChairs>& cards_left() const noexcept { return cards_left_; }
    std::optional<Clock::time_point> deadline() const noexcept { return deadline_; }

    // The hand or any card ids in the notation, ascending: "3345TTJQKA2BR".
    static std::string notation_of(const std::vector<int>& ids);

private:
    void set_turn(int32_t chair, Clock::time_point now, int64_t ms);
    std::optional<game::landlords::Play> reading_of(const std::vector<int>& cards,
                                                    const std::string& type, int32_t chair) const;
    // The redraw flag for a turn that just passed to `current_`.
    bool my_turn(const TableInfo& t) const noexcept {
        return current_ >= 0 && current_ == t.my_chair;
    }

    Phase phase_ = Phase::kWaiting;
    std::vector<int> hand_;
    std::array<int, kChairs> cards_left_{};
    std::array<bool, kChairs> trustee_{};
    int32_t landlord_ = -1;
    std::vector<int> bottom_;
    int32_t base_score_ = 0;
    int32_t multiple_ = 1;
    int32_t current_ = -1;
    std::optional<Clock::time_point> deadline_;
    // The play to beat: its reading (for the rule engine), cards and the name the server gave.
    std::optional<game::landlords::Play> last_;
    int32_t last_chair_ = -1;
    std::vector<int> last_cards_;
    std::string last_type_;
    // This deal's bids in order (chair, score).
    std::vector<std::pair<int32_t, int32_t>> bids_;
    int32_t highest_bid_ = 0;
};

}  // namespace tb::play
