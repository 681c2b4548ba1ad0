#include "codec/frame.h"

namespace tb::codec {

namespace {

uint16_t read_u16(const char* p) noexcept {
    return static_cast<uint16_t>((static_cast<uint8_t>(p[0]) << 8) | static_cast<uint8_t>(p[1]));
}

void put_u16(std::string& out, uint16_t v) {
    out.push_back(static_cast<char>(v >> 8));
    out.push_back(static_cast<char>(v & 0xff));
}

}  // namespace

std::string_view frame_error_name(FrameError e) noexcept {
    switch (e) {
        case FrameError::kOk: return "ok";
        case FrameError::kBadMagic: return "bad magic";
        case FrameError::kMagicSwitch: return "magic switched mid-connection";
        case FrameError::kLengthTooShort: return "frame length under 8";
        case FrameError::kLengthTooLong: return "frame length over 8192";
    }
    return "unknown";
}

void FrameDecoder::feed(std::string_view bytes) {
    if (error_ != FrameError::kOk) return;
    // Compact before growing so a long-lived connection never accumulates consumed bytes.
    if (pos_ > 0 && (pos_ == buf_.size() || pos_ >= kMaxFrameLength)) {
        buf_.erase(0, pos_);
        pos_ = 0;
    }
    buf_.append(bytes);
}

FrameDecoder::Status FrameDecoder::next(Frame& out) {
    if (error_ != FrameError::kOk) return Status::kError;
    const std::size_t avail = buf_.size() - pos_;
    // The magic and length are checked as soon as their bytes are in, so a hostile peer is
    // caught after 2 or 4 bytes instead of after a whole frame's worth.
    if (avail < 2) return Status::kNeedMore;
    const char* p = buf_.data() + pos_;
    const uint16_t magic = read_u16(p);
    if (magic != static_cast<uint16_t>(Magic::kJson) &&
        magic != static_cast<uint16_t>(Magic::kMsgpack)) {
        error_ = FrameError::kBadMagic;
    } else if (magic_fixed_ && magic != static_cast<uint16_t>(magic_)) {
        error_ = FrameError::kMagicSwitch;
    }
    if (error_ == FrameError::kOk && avail >= 4) {
        const uint16_t length = read_u16(p + 2);
        if (length < kMinFrameLength) error_ = FrameError::kLengthTooShort;
        if (length > kMaxFrameLength) error_ = FrameError::kLengthTooLong;
    }
    if (error_ != FrameError::kOk) {
        buf_.clear();
        pos_ = 0;
        return Status::kError;
    }
    if (avail < kHeaderLength) return Status::kNeedMore;
    const uint16_t length = read_u16(p + 2);
    if (avail < length) return Status::kNeedMore;

    magic_ = static_cast<Magic>(magic);
    magic_fixed_ = true;
    out.magic = magic_;
    out.mcmd = read_u16(p + 4);
    out.scmd = read_u16(p + 6);
    out.body.assign(p + kHeaderLength, length - kHeaderLength);
    pos_ += length;
    if (pos_ == buf_.size()) {
        buf_.clear();
        pos_ = 0;
    }
    return Status::kFrame;
}

bool encode_frame(std::string& out, Magic magic, uint16_t mcmd, uint16_t scmd,
                  std::string_view body) {
    if (body.size() > kMaxFrameBody) return false;
    out.reserve(out.size() + kHeaderLength + body.size());
    put_u16(out, static_cast<uint16_t>(magic));
    put_u16(out, static_cast<uint16_t>(kHeaderLength + body.size()));
    put_u16(out, mcmd);
    put_u16(out, scmd);
    out.append(body);
    return true;
}

std::string keep_alive_frame(Magic magic) {
    std::string out;
    encode_frame(out, magic, 0, 0, {});
    return out;
}

}  // namespace tb::codec
