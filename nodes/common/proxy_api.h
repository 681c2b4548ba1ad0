#pragma once
// What passes between proxies and game nodes beyond the client's own messages: the ticket a
// proxy attaches to FastLogin, and the notice that a client's session has closed. In
// nodes/common because no node includes another node's headers.

#include <cstdint>
#include <string>

#include "codec/fields.h"

namespace tb::common {

// PUSH proxy -> game node: the session closed (disconnect, kick, proxy shutdown). The envelope
// carries the session and user; the body is empty.
inline constexpr uint32_t kMsgSessionClosed = 0xF2000001;

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

}  // namespace tb::common
