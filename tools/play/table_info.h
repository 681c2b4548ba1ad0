#pragma once
// Who sits where at tb-play's table, as NotifySitDown / NotifyStandUp / NotifyStatus told it,
// shared by both game views for names and by the session for its own chair.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

namespace tb::play {

using Clock = std::chrono::steady_clock;

struct SeatInfo {
    int64_t user_id = 0;
    std::string name;
    int32_t status = 0;  // codec::kUserStatus*
    int64_t score = 0;
};

struct TableInfo {
    int32_t table_id = -1;
    int32_t my_chair = -1;  // -1 while not seated
    std::map<int32_t, SeatInfo> seats;

    // "you" for our chair, the seat's name, or "chair N" for a seat we know nothing of.
    std::string name_of(int32_t chair) const {
        if (chair == my_chair && my_chair >= 0) return "you";
        const auto it = seats.find(chair);
        if (it != seats.end() && !it->second.name.empty()) return it->second.name;
        return "chair " + std::to_string(chair);
    }
};

// Whole seconds left until `deadline` (rounded up, never below 0).
inline int64_t seconds_left(Clock::time_point deadline, Clock::time_point now) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
    return ms <= 0 ? 0 : (ms + 999) / 1000;
}

}  // namespace tb::play
