#include "codec/frame.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using tb::codec::encode_frame;
using tb::codec::Frame;
using tb::codec::FrameDecoder;
using tb::codec::FrameError;
using tb::codec::Magic;
using Status = tb::codec::FrameDecoder::Status;

namespace {

std::string raw_header(uint16_t magic, uint16_t length, uint16_t mcmd = 1, uint16_t scmd = 1) {
    std::string h;
    for (uint16_t v : {magic, length, mcmd, scmd}) {
        h.push_back(static_cast<char>(v >> 8));
        h.push_back(static_cast<char>(v & 0xff));
    }
    return h;
}

std::string frame_of(Magic magic, uint16_t mcmd, uint16_t scmd, std::string_view body) {
    std::string out;
    REQUIRE(encode_frame(out, magic, mcmd, scmd, body));
    return out;
}

std::vector<Frame> drain(FrameDecoder& d) {
    std::vector<Frame> frames;
    Frame f;
    while (d.next(f) == Status::kFrame) frames.push_back(f);
    return frames;
}

}  // namespace

TEST_CASE("a keep-alive frame is the eight documented bytes", "[codec]") {
    const std::string expected{"\x52\x77\x00\x08\x00\x00\x00\x00", 8};
    CHECK(tb::codec::keep_alive_frame(Magic::kJson) == expected);
    CHECK(tb::codec::keep_alive_frame(Magic::kMsgpack) ==
          std::string("\x52\x78\x00\x08\0\0\0\0", 8));
}

TEST_CASE("encoder writes a big-endian header with the whole length", "[codec]") {
    const auto f = frame_of(Magic::kJson, 100, 101, "{}");
    CHECK(f == raw_header(0x5277, 10, 100, 101) + "{}");
}

TEST_CASE("encoder refuses a body that does not fit a frame", "[codec]") {
    std::string out = "keep";
    CHECK(encode_frame(out, Magic::kJson, 1, 1, std::string(8184, 'x')));
    CHECK(out.size() == 4 + 8192);
    out = "keep";
    CHECK_FALSE(encode_frame(out, Magic::kJson, 1, 1, std::string(8185, 'x')));
    CHECK(out == "keep");
}

TEST_CASE("decoder yields a frame of length 8 with an empty body", "[codec]") {
    FrameDecoder d;
    d.feed(raw_header(0x5277, 8, 0, 0));
    Frame f;
    REQUIRE(d.next(f) == Status::kFrame);
    CHECK(f.is_keep_alive());
    CHECK(f.body.empty());
    CHECK(d.next(f) == Status::kNeedMore);
}

TEST_CASE("decoder rejects a length of 7", "[codec]") {
    FrameDecoder d;
    d.feed(raw_header(0x5277, 7));
    Frame f;
    CHECK(d.next(f) == Status::kError);
    CHECK(d.error() == FrameError::kLengthTooShort);
}

TEST_CASE("decoder accepts a length of 8192 and rejects 8193", "[codec]") {
    Frame f;
    FrameDecoder ok;
    ok.feed(raw_header(0x5277, 8192) + std::string(8184, 'a'));
    REQUIRE(ok.next(f) == Status::kFrame);
    CHECK(f.body.size() == 8184);

    FrameDecoder bad;
    bad.feed(raw_header(0x5277, 8193));
    CHECK(bad.next(f) == Status::kError);
    CHECK(bad.error() == FrameError::kLengthTooLong);
}

TEST_CASE("decoder rejects a length over the limit before the body arrives", "[codec]") {
    FrameDecoder d;
    d.feed(std::string("\x52\x77\xff\xff", 4));
    Frame f;
    CHECK(d.next(f) == Status::kError);
    CHECK(d.error() == FrameError::kLengthTooLong);
    CHECK(d.buffered() == 0);
}

TEST_CASE("decoder rejects a bad magic after two bytes", "[codec]") {
    FrameDecoder d;
    d.feed("GE");  // an HTTP client knocking on the game port
    Frame f;
    CHECK(d.next(f) == Status::kError);
    CHECK(d.error() == FrameError::kBadMagic);
}

TEST_CASE("decoder errors are sticky and later bytes yield nothing", "[codec]") {
    FrameDecoder d;
    d.feed(raw_header(0x1234, 8));
    Frame f;
    CHECK(d.next(f) == Status::kError);
    d.feed(frame_of(Magic::kJson, 0, 0, ""));
    CHECK(d.next(f) == Status::kError);
    CHECK(d.error() == FrameError::kBadMagic);
    CHECK(d.buffered() == 0);
}

TEST_CASE("the first frame's magic fixes the encoding and a switch is an error", "[codec]") {
    FrameDecoder d;
    CHECK_FALSE(d.magic_fixed());
    d.feed(frame_of(Magic::kMsgpack, 1, 1, "\x80"));
    Frame f;
    REQUIRE(d.next(f) == Status::kFrame);
    CHECK(d.magic_fixed());
    CHECK(d.magic() == Magic::kMsgpack);
    CHECK(f.magic == Magic::kMsgpack);
    d.feed(frame_of(Magic::kMsgpack, 0, 0, ""));
    REQUIRE(d.next(f) == Status::kFrame);
    d.feed(frame_of(Magic::kJson, 0, 0, ""));
    CHECK(d.next(f) == Status::kError);
    CHECK(d.error() == FrameError::kMagicSwitch);
}

TEST_CASE("a frame delivered one byte at a time decodes once", "[codec]") {
    const std::string body = R"({"Account":"ann","Password":"pw"})";
    const auto bytes = frame_of(Magic::kJson, 1, 1, body);
    FrameDecoder d;
    Frame f;
    for (std::size_t i = 0; i + 1 < bytes.size(); ++i) {
        d.feed(bytes.substr(i, 1));
        REQUIRE(d.next(f) == Status::kNeedMore);
    }
    d.feed(bytes.substr(bytes.size() - 1));
    REQUIRE(d.next(f) == Status::kFrame);
    CHECK(f.mcmd == 1);
    CHECK(f.scmd == 1);
    CHECK(f.body == body);
    CHECK(d.buffered() == 0);
}

TEST_CASE("a thousand frames in one chunk decode in order", "[codec]") {
    std::string chunk;
    for (int i = 0; i < 1000; ++i) {
        chunk += frame_of(Magic::kJson, 150, static_cast<uint16_t>(i), std::to_string(i));
    }
    FrameDecoder d;
    d.feed(chunk);
    const auto frames = drain(d);
    REQUIRE(frames.size() == 1000);
    for (int i = 0; i < 1000; ++i) {
        CHECK(frames[i].scmd == i);
        CHECK(frames[i].body == std::to_string(i));
    }
    CHECK(d.buffered() == 0);
}

TEST_CASE("frames split at every offset across two reads decode the same", "[codec]") {
    const auto a = frame_of(Magic::kJson, 100, 3, "");
    const auto b = frame_of(Magic::kJson, 150, 1, R"({"PositionX":7,"PositionY":7})");
    const std::string both = a + b;
    for (std::size_t cut = 0; cut <= both.size(); ++cut) {
        FrameDecoder d;
        d.feed(both.substr(0, cut));
        auto frames = drain(d);
        d.feed(both.substr(cut));
        for (auto& f : drain(d)) frames.push_back(f);
        REQUIRE(frames.size() == 2);
        CHECK(frames[0].scmd == 3);
        CHECK(frames[1].body == R"({"PositionX":7,"PositionY":7})");
    }
}

TEST_CASE("decoder memory stays bounded over a long connection", "[codec]") {
    FrameDecoder d;
    const auto f = frame_of(Magic::kJson, 0, 0, "");
    Frame out;
    for (int i = 0; i < 100000; ++i) {
        d.feed(f.substr(0, 3));
        d.feed(f.substr(3));
        REQUIRE(d.next(out) == Status::kFrame);
    }
    CHECK(d.buffered() == 0);
}
