#pragma once
// What passes between proxies and game nodes beyond the client's own messages: the ticket a
// proxy attaches to FastLogin, and the notice that a client's session has closed. In
// nodes/common because no node includes another node's headers.

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "codec/fields.h"

namespace tb::common {

// PUSH proxy -> game node: the session closed (disconnect, kick, proxy shutdown). The envelope
// carries the session and user; the body is empty.
inline constexpr uint32_t kMsgSessionClosed = 0xF2000001;

// REQUEST game node -> "@proxy": are these seated sessions still there? A SessionClosed push
// is lost when the bus is down at the moment the client leaves (a manager restart), and never
// sent when the proxy itself dies; without this check such a seat is held forever. The game
// node asks every session.check_ms about its online seats; the proxy answers with the ones it
// no longer has for that user at that game node. Users[i] goes with Sessions[i].
inline constexpr uint32_t kMsgSessionCheck = 0xF2000002;
// At most this many sessions per check, so one message stays small (a few tens of KiB).
inline constexpr std::size_t kSessionCheckMax = 4096;

struct SessionCheck {
    std::vector<uint64_t> users;
    std::vector<uint64_t> sessions;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("Users", s.users);
        f("Sessions", s.sessions);
    }
};

struct SessionCheckReply {
    std::vector<uint64_t> gone;  // sessions of the request the proxy no longer holds

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("Gone", s.gone);
    }
};

// FastLogin as the proxy forwards it: the client's fields plus a single-use ticket that vouches
// for (user, session, proxy). A game node seats only users with a valid ticket.
struct FastLoginForward {
    int32_t game_id = 0;
    int32_t game_type = 0;
    int32_t game_level = 0;
    std::string ticket;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("GameID", s.game_id);
        f("GameType", s.game_type);
        f("GameLevel", s.game_level);
        f("Ticket", s.ticket);
    }
};

// The GameID of a game node's bus identity: "game-7" -> 7; 0 for anything else (no leading
// zero, sign or trailing text). Login, proxy and game nodes all read identities this way.
inline int32_t game_id_of_node(std::string_view node) noexcept {
    constexpr std::string_view kPrefix = "game-";
    if (!node.starts_with(kPrefix)) return 0;
    const std::string_view digits = node.substr(kPrefix.size());
    if (digits.empty() || digits.front() < '1' || digits.front() > '9') return 0;
    int32_t id = 0;
    const auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
    if (ec != std::errc() || p != digits.data() + digits.size()) return 0;
    return id;
}

}  // namespace tb::common
