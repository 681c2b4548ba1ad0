#pragma once
// What an operator's tool may ask a game node directly: its tables as they stand. In
// nodes/common because tools must not include a node's own headers.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "codec/fields.h"

namespace tb::common {

// REQUEST tool -> "@game-N", empty body: the node's tables (TablesReply). Answers a question
// the manager cannot: its load is a count of seated players, and when that count does not fall
// the operator needs to see which seats hold it, in which phase, and for how long.
inline constexpr uint32_t kMsgGameTables = 0xF3000001;
// At most this many tables in one answer (the rest are counted in TablesReply::tables_total),
// so a node with thousands of tables still answers in one small message.
inline constexpr std::size_t kGameTablesMax = 1000;

struct SeatInfo {
    int32_t chair = 0;
    int64_t user_id = 0;
    bool robot = false;
    bool offline = false;  // a person whose session closed during a round, played for
    int32_t status = 0;    // the client protocol's UserStatus
    uint64_t session = 0;  // 0 for robots and offline players
    std::string proxy;     // empty for robots

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("chair", s.chair);
        f("user_id", s.user_id);
        f("robot", s.robot);
        f("offline", s.offline);
        f("status", s.status);
        f("session", s.session);
        f("proxy", s.proxy);
    }
};

struct TableInfo {
    int32_t table_id = 0;
    std::string phase;     // "waiting", "playing" or "settling"
    int64_t phase_ms = 0;  // how long it has been in that phase
    std::string round_id;  // the running or settling round; empty while waiting
    std::vector<SeatInfo> seats;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("table_id", s.table_id);
        f("phase", s.phase);
        f("phase_ms", s.phase_ms);
        f("round_id", s.round_id);
        f("seats", s.seats);
    }
};

struct TablesReply {
    std::string node;
    int64_t seated = 0;  // the load this node reports: seated players, robots included
    int64_t tables_total = 0;
    std::vector<TableInfo> tables;  // at most kGameTablesMax, by table id
    // Seated users with no seat at any table: always empty unless the room's books are wrong,
    // and then the reason a load never falls.
    std::vector<int64_t> unseated;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("node", s.node);
        f("seated", s.seated);
        f("tables_total", s.tables_total);
        f("tables", s.tables);
        f("unseated", s.unseated);
    }
};

}  // namespace tb::common
