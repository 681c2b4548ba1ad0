#include "codec/envelope.h"

#include <catch2/catch.hpp>

using namespace tb::codec;

namespace {

Envelope sample() {
    Envelope e;
    e.command = Command::kPush;
    e.flags = kFlagIdempotent;
    e.msg_type = (150u << 16) | 101u;
    e.correlation = 0x0102030405060708ULL;
    e.session = UINT64_MAX;
    e.user = 1ULL << 40;
    e.error_code = -3;
    e.timeout_ms = 5000;
    e.target = "@proxy-1";
    e.source = "game-2";
    e.error_text = "ok";
    e.sessions = {1, 2, 0xffffffffffULL};
    return e;
}

std::string encoded(const Envelope& e) {
    std::string out;
    REQUIRE(encode_envelope(e, out));
    return out;
}

}  // namespace

TEST_CASE("an envelope round-trips every field", "[codec]") {
    const auto in = sample();
    Envelope out;
    REQUIRE(decode_envelope(encoded(in), out) == EnvelopeError::kOk);
    CHECK(out.command == in.command);
    CHECK(out.flags == in.flags);
    CHECK(out.msg_type == in.msg_type);
    CHECK(out.correlation == in.correlation);
    CHECK(out.session == in.session);
    CHECK(out.user == in.user);
    CHECK(out.error_code == in.error_code);
    CHECK(out.timeout_ms == in.timeout_ms);
    CHECK(out.target == in.target);
    CHECK(out.source == in.source);
    CHECK(out.error_text == in.error_text);
    CHECK(out.sessions == in.sessions);
}

TEST_CASE("the header starts with the version and command bytes", "[codec]") {
    const auto bytes = encoded(sample());
    CHECK(static_cast<uint8_t>(bytes[0]) == kBusVersion);
    CHECK(static_cast<uint8_t>(bytes[1]) == static_cast<uint8_t>(Command::kPush));
    CHECK(bytes.size() == kFixedHeaderLength + 1 + 8 + 1 + 6 + 2 + 2 + 2 + 3 * 8);
}

TEST_CASE("an envelope of another protocol version is refused with the version seen", "[codec]") {
    auto bytes = encoded(sample());
    bytes[0] = 2;
    Envelope out;
    uint8_t seen = 0;
    CHECK(decode_envelope(bytes, out, &seen) == EnvelopeError::kVersion);
    CHECK(seen == 2);
}

TEST_CASE("every truncation of a header is refused", "[codec]") {
    const auto bytes = encoded(sample());
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        Envelope out;
        CAPTURE(n);
        CHECK(decode_envelope(bytes.substr(0, n), out) == EnvelopeError::kTruncated);
    }
}

TEST_CASE("trailing bytes after a header are refused", "[codec]") {
    Envelope out;
    CHECK(decode_envelope(encoded(sample()) + "x", out) == EnvelopeError::kTrailingBytes);
}

TEST_CASE("unknown commands are refused", "[codec]") {
    auto bytes = encoded(sample());
    Envelope out;
    bytes[1] = 0;
    CHECK(decode_envelope(bytes, out) == EnvelopeError::kBadCommand);
    bytes[1] = static_cast<char>(kMaxCommand + 1);
    CHECK(decode_envelope(bytes, out) == EnvelopeError::kBadCommand);
}

TEST_CASE("hostile lengths are refused without allocating", "[codec]") {
    Envelope e;
    e.target = "db";
    auto bytes = encoded(e);
    Envelope out;
    // Target length byte claims 200 (over the 64 cap).
    auto long_target = bytes;
    long_target[kFixedHeaderLength] = static_cast<char>(200);
    CHECK(decode_envelope(long_target, out) == EnvelopeError::kFieldTooLong);
    // Session count claims 65535 with no bytes behind it.
    auto many = bytes;
    many[many.size() - 2] = '\xff';
    many[many.size() - 1] = '\xff';
    CHECK(decode_envelope(many, out) == EnvelopeError::kFieldTooLong);
    // Session count within the cap but the bytes are missing.
    many[many.size() - 2] = '\x00';
    many[many.size() - 1] = '\x10';
    CHECK(decode_envelope(many, out) == EnvelopeError::kTruncated);
}

TEST_CASE("identities with control bytes or spaces are refused", "[codec]") {
    Envelope e;
    e.target = "game 1";
    Envelope out;
    CHECK(decode_envelope(encoded(e), out) == EnvelopeError::kBadIdentity);
    e.target = "db";
    e.source = std::string("x\n", 2);
    CHECK(decode_envelope(encoded(e), out) == EnvelopeError::kBadIdentity);
    CHECK(is_valid_identity("game-2"));
    CHECK_FALSE(is_valid_identity(""));
    CHECK_FALSE(is_valid_identity(std::string(65, 'a')));
}

TEST_CASE("the encoder refuses oversized identities and session lists", "[codec]") {
    Envelope e;
    std::string out = "keep";
    e.target = std::string(65, 'a');
    CHECK_FALSE(encode_envelope(e, out));
    e.target = "db";
    e.sessions.assign(kMaxMulticastSessions + 1, 1);
    CHECK_FALSE(encode_envelope(e, out));
    CHECK(out == "keep");
    e.sessions.assign(kMaxMulticastSessions, 1);
    CHECK(encode_envelope(e, out));
    Envelope back;
    CHECK(decode_envelope(std::string_view(out).substr(4), back) == EnvelopeError::kOk);
    CHECK(back.sessions.size() == kMaxMulticastSessions);
}

TEST_CASE("long error text is cut to its cap, not refused", "[codec]") {
    Envelope e;
    e.command = Command::kError;
    e.error_text = std::string(2000, 'e');
    Envelope out;
    REQUIRE(decode_envelope(encoded(e), out) == EnvelopeError::kOk);
    CHECK(out.error_text.size() == kMaxErrorTextLength);
}
