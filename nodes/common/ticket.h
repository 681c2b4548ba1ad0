#pragma once
// Signed single-use tickets (docs/ARCHITECTURE.md "A player's path"): the proxy signs
// HMAC-SHA256(secret, user | session | proxy | expiry | nonce) when it forwards a FastLogin; the
// game node checks the signature, the expiry, that user/session/proxy match the envelope it
// came in, and that the nonce was not used before. So a game node only ever seats users a
// proxy vouched for, and a client can neither forge nor replay a ticket.

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_set>

namespace tb::common {

struct TicketClaims {
    uint64_t user = 0;
    uint64_t session = 0;
    std::string proxy;
    int64_t expires_ms = 0;  // unix milliseconds
    std::string nonce;       // 16 hex chars
};

// "user.session.proxy.expires.nonce.signature-hex". Any thread. Throws std::invalid_argument
// when the secret is empty.
std::string sign_ticket(const TicketClaims& claims, std::string_view secret);

enum class TicketError : uint8_t { kOk, kMalformed, kBadSignature, kExpired, kMismatch, kReplayed };
std::string_view ticket_error_name(TicketError e) noexcept;

// Checks tickets and remembers used nonces until they expire. One per game node, loop thread.
class TicketVerifier {
public:
    explicit TicketVerifier(std::string secret);
    // `user`, `session` and `proxy` are what the bus envelope says; `now_ms` unix milliseconds.
    TicketError verify(std::string_view ticket, uint64_t user, uint64_t session,
                       std::string_view proxy, int64_t now_ms);
    std::size_t remembered() const noexcept { return used_.size(); }

private:
    std::string secret_;
    std::unordered_set<std::string> used_;
    std::deque<std::pair<int64_t, std::string>> expiry_;  // (expires_ms, nonce), oldest first
};

// A random 16-hex-char nonce (OpenSSL RAND_bytes).
std::string ticket_nonce();

}  // namespace tb::common
