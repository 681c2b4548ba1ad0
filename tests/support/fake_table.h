#pragma once
// A fake game frame for table-logic unit tests: seats the test sets up, every message recorded,
// conclude() recorded, and a fake clock the test advances (firing due timers in order, each at
// its own time). No sockets, no event loop.

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "codec/fields.h"
#include "nodes/game/table_logic.h"

namespace tb::test {

inline constexpr game::Chair kToTable = -1;

struct SentMessage {
    game::Chair chair;  // kToTable for send_to_table
    uint32_t type;
    std::string body;
};

class FakeTable : public game::TableServices {
public:
    explicit FakeTable(int chairs = 2) : seats(static_cast<size_t>(chairs)) {
        for (size_t i = 0; i < seats.size(); ++i) {
            seats[i].user_id = static_cast<int64_t>(100 + i);
            seats[i].name = "p" + std::to_string(i);
        }
    }

    std::vector<game::SeatView> seats;
    std::vector<SentMessage> sent;
    std::vector<game::RoundOutcome> concluded;
    std::vector<uint64_t> randoms;  // handed out by random() first, then a counter
    uint64_t next_random = 1000;
    std::chrono::milliseconds think{700};
    int64_t base = 100;
    game::TableLogic* logic = nullptr;  // owned by the test
    std::chrono::milliseconds now{0};

    int32_t table_id() const override { return 3; }
    int chair_count() const override { return static_cast<int>(seats.size()); }
    const game::SeatView* seat(game::Chair chair) const override {
        return chair >= 0 && chair < chair_count() ? &seats[static_cast<size_t>(chair)] : nullptr;
    }
    void send_to_chair(game::Chair chair, uint32_t type, std::string_view body) override {
        sent.push_back({chair, type, std::string(body)});
    }
    void send_to_table(uint32_t type, std::string_view body) override {
        sent.push_back({kToTable, type, std::string(body)});
    }
    using TableServices::send_to_chair;
    using TableServices::send_to_table;

    void set_timer(int id, std::chrono::milliseconds delay) override {
        timers_[id] = {now + delay, ++seq_};
    }
    void kill_timer(int id) override { timers_.erase(id); }
    std::chrono::milliseconds timer_left(int id) const override {
        auto it = timers_.find(id);
        return it == timers_.end() ? std::chrono::milliseconds::zero() : it->second.due - now;
    }
    bool timer_running(int id) const { return timers_.count(id) != 0; }
    bool no_timers() const { return timers_.empty(); }

    uint64_t random() override {
        if (!randoms.empty()) {
            const uint64_t r = randoms.front();
            randoms.erase(randoms.begin());
            return r;
        }
        return next_random++;
    }
    std::chrono::milliseconds think_time() override { return think; }
    int64_t base_score() const override { return base; }
    void conclude(game::RoundOutcome outcome) override { concluded.push_back(std::move(outcome)); }

    // Moves the fake clock forward, firing every timer that falls due on the way, earliest
    // first (ties in the order they were set).
    void advance(std::chrono::milliseconds d) {
        const auto target = now + d;
        for (;;) {
            auto next = timers_.end();
            for (auto it = timers_.begin(); it != timers_.end(); ++it) {
                if (it->second.due > target) continue;
                if (next == timers_.end() || std::tie(it->second.due, it->second.seq) <
                                                 std::tie(next->second.due, next->second.seq)) {
                    next = it;
                }
            }
            if (next == timers_.end()) break;
            const int id = next->first;
            now = next->second.due;
            timers_.erase(next);
            logic->on_timer(id);
        }
        now = target;
    }

    // Every message of type Msg so far (to `chair`, or to the table), decoded.
    template <class Msg>
    std::vector<Msg> all(game::Chair chair = kToTable) const {
        std::vector<Msg> out;
        for (const SentMessage& s : sent) {
            if (s.type != Msg::kType || s.chair != chair) continue;
            Msg m;
            REQUIRE(codec::decode(s.body, m) == codec::MsgError::kOk);
            out.push_back(m);
        }
        return out;
    }
    template <class Msg>
    Msg last(game::Chair chair = kToTable) const {
        auto v = all<Msg>(chair);
        REQUIRE_FALSE(v.empty());
        return v.back();
    }
    std::size_t count(uint32_t type) const {
        std::size_t n = 0;
        for (const SentMessage& s : sent) n += s.type == type ? 1 : 0;
        return n;
    }

private:
    struct Timer {
        std::chrono::milliseconds due;
        uint64_t seq;
    };
    std::map<int, Timer> timers_;
    uint64_t seq_ = 0;
};

}  // namespace tb::test
