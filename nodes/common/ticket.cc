#include "nodes/common/ticket.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <charconv>
#include <stdexcept>
#include <vector>

namespace tb::common {

namespace {

std::string hex(const unsigned char* p, std::size_t n) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * n);
    for (std::size_t i = 0; i < n; ++i) {
        out += kDigits[p[i] >> 4];
        out += kDigits[p[i] & 0xf];
    }
    return out;
}

std::string payload_of(const TicketClaims& c) {
    return std::to_string(c.user) + "." + std::to_string(c.session) + "." + c.proxy + "." +
           std::to_string(c.expires_ms) + "." + c.nonce;
}

std::string mac(std::string_view payload, std::string_view secret) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), out, &len);
    return hex(out, len);
}

template <class T>
bool parse(std::string_view s, T& v) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::string_view ticket_error_name(TicketError e) noexcept {
    switch (e) {
        case TicketError::kOk: return "ok";
        case TicketError::kMalformed: return "malformed";
        case TicketError::kBadSignature: return "bad signature";
        case TicketError::kExpired: return "expired";
        case TicketError::kMismatch: return "not issued for this session";
        case TicketError::kReplayed: return "already used";
    }
    return "unknown";
}

std::string ticket_nonce() {
    unsigned char b[8];
    if (RAND_bytes(b, sizeof b) != 1) throw std::runtime_error("RAND_bytes failed");
    return hex(b, sizeof b);
}

std::string sign_ticket(const TicketClaims& claims, std::string_view secret) {
    if (secret.empty()) throw std::invalid_argument("ticket secret is empty");
    const std::string payload = payload_of(claims);
    return payload + "." + mac(payload, secret);
}

TicketVerifier::TicketVerifier(std::string secret) : secret_(std::move(secret)) {
    if (secret_.empty()) throw std::invalid_argument("ticket secret is empty");
}

TicketError TicketVerifier::verify(std::string_view ticket, uint64_t user, uint64_t session,
                                   std::string_view proxy, int64_t now_ms) {
    // Forget nonces whose tickets have expired: they can no longer be replayed anyway, so the
    // set stays bounded by the tickets issued within one lifetime.
    while (!expiry_.empty() && expiry_.front().first < now_ms) {
        used_.erase(expiry_.front().second);
        expiry_.pop_front();
    }
    if (ticket.size() > 256) return TicketError::kMalformed;
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= ticket.size(); ++i) {
        if (i == ticket.size() || ticket[i] == '.') {
            parts.push_back(ticket.substr(start, i - start));
            start = i + 1;
        }
    }
    // The proxy identity itself has no dots ("proxy-1"), so there are exactly six parts.
    if (parts.size() != 6) return TicketError::kMalformed;
    TicketClaims c;
    if (!parse(parts[0], c.user) || !parse(parts[1], c.session) || !parse(parts[3], c.expires_ms) ||
        parts[4].size() != 16) {
        return TicketError::kMalformed;
    }
    c.proxy = std::string(parts[2]);
    c.nonce = std::string(parts[4]);
    const std::string expected = mac(payload_of(c), secret_);
    if (parts[5].size() != expected.size() ||
        CRYPTO_memcmp(parts[5].data(), expected.data(), expected.size()) != 0) {
        return TicketError::kBadSignature;
    }
    if (c.expires_ms < now_ms) return TicketError::kExpired;
    if (c.user != user || c.session != session || c.proxy != proxy) return TicketError::kMismatch;
    if (!used_.insert(c.nonce).second) return TicketError::kReplayed;
    expiry_.emplace_back(c.expires_ms, c.nonce);
    return TicketError::kOk;
}

}  // namespace tb::common
