#include "codec/errors.h"

#include <catch2/catch.hpp>
#include <set>
#include <string>

using namespace tb::codec;

TEST_CASE("every Errno has a distinct name and client text", "[codec]") {
    std::set<std::string_view> names;
    for (int32_t v = 0; v <= kMaxKnownErrno; ++v) {
        const auto e = static_cast<Errno>(v);
        CHECK(errno_name(e) != "unknown");
        CHECK_FALSE(errno_text(e).empty());
        names.insert(errno_name(e));
    }
    CHECK(names.size() == static_cast<std::size_t>(kMaxKnownErrno + 1));
    CHECK(errno_name(Errno::kTicketInvalid) == "ticket_invalid");
    CHECK(to_int(Errno::kKicked) == 18);
}

TEST_CASE("bus codes map to the client Errno values of the design", "[codec]") {
    CHECK(client_errno(to_int(BusCode::kNoService)) == Errno::kNoService);
    CHECK(client_errno(to_int(BusCode::kTimeout)) == Errno::kTimedOut);
    CHECK(client_errno(to_int(BusCode::kWorkerLost)) == Errno::kTimedOut);
    CHECK(client_errno(to_int(BusCode::kOverloaded)) == Errno::kRateLimited);
    CHECK(client_errno(to_int(BusCode::kStorage)) == Errno::kStorageUnavailable);
    CHECK(client_errno(to_int(BusCode::kDraining)) == Errno::kDraining);
    CHECK(client_errno(to_int(BusCode::kInternal)) == Errno::kFailure);
    CHECK(client_errno(to_int(BusCode::kBadEnvelope)) == Errno::kFailure);
}

TEST_CASE("node Errnos pass through to the client and bad codes become failure", "[codec]") {
    CHECK(client_errno(12) == Errno::kNotEnoughScore);
    CHECK(client_errno(0) == Errno::kOk);
    CHECK(client_errno(-5) == Errno::kFailure);
    CHECK(is_bus_code(1001));
    CHECK_FALSE(is_bus_code(20));
}

TEST_CASE("code names cover both ranges", "[codec]") {
    CHECK(code_name(5) == "wrong_password");
    CHECK(code_name(1004) == "overloaded");
    CHECK(code_name(1999) == "unknown");
    CHECK(code_name(999) == "unknown");
}
