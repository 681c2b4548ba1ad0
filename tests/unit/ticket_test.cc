#include "nodes/common/ticket.h"

#include <catch2/catch.hpp>

using namespace tb::common;

namespace {

constexpr int64_t kNow = 1'800'000'000'000;

TicketClaims claims() {
    TicketClaims c;
    c.user = 42;
    c.session = 7;
    c.proxy = "proxy-1";
    c.expires_ms = kNow + 30'000;
    c.nonce = ticket_nonce();
    return c;
}

}  // namespace

TEST_CASE("a signed ticket verifies once for its user, session and proxy", "[common]") {
    TicketVerifier v("secret");
    const auto t = sign_ticket(claims(), "secret");
    CHECK(v.verify(t, 42, 7, "proxy-1", kNow) == TicketError::kOk);
    CHECK(v.verify(t, 42, 7, "proxy-1", kNow) == TicketError::kReplayed);
}

TEST_CASE("forged, expired, mismatched and malformed tickets are refused", "[common]") {
    TicketVerifier v("secret");
    CHECK(v.verify(sign_ticket(claims(), "other"), 42, 7, "proxy-1", kNow) ==
          TicketError::kBadSignature);
    auto c = claims();
    c.expires_ms = kNow - 1;
    CHECK(v.verify(sign_ticket(c, "secret"), 42, 7, "proxy-1", kNow) == TicketError::kExpired);
    CHECK(v.verify(sign_ticket(claims(), "secret"), 43, 7, "proxy-1", kNow) ==
          TicketError::kMismatch);
    CHECK(v.verify(sign_ticket(claims(), "secret"), 42, 8, "proxy-1", kNow) ==
          TicketError::kMismatch);
    CHECK(v.verify(sign_ticket(claims(), "secret"), 42, 7, "proxy-2", kNow) ==
          TicketError::kMismatch);
    CHECK(v.verify("", 42, 7, "proxy-1", kNow) == TicketError::kMalformed);
    CHECK(v.verify("1.2.3", 42, 7, "proxy-1", kNow) == TicketError::kMalformed);
    // A changed user id with the old signature.
    auto t = sign_ticket(claims(), "secret");
    t[0] = '9';
    CHECK(v.verify(t, 92, 7, "proxy-1", kNow) == TicketError::kBadSignature);
    CHECK_THROWS(sign_ticket(claims(), ""));
}

TEST_CASE("used nonces are forgotten once their tickets expire", "[common]") {
    TicketVerifier v("secret");
    for (int i = 0; i < 100; ++i) {
        REQUIRE(v.verify(sign_ticket(claims(), "secret"), 42, 7, "proxy-1", kNow) ==
                TicketError::kOk);
    }
    CHECK(v.remembered() == 100);
    auto late = claims();
    late.expires_ms = kNow + 120'000;
    CHECK(v.verify(sign_ticket(late, "secret"), 42, 7, "proxy-1", kNow + 60'000) ==
          TicketError::kOk);
    CHECK(v.remembered() == 1);
}
