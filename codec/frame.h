#pragma once
// The client frame of docs/PROTOCOL.md §1: an 8-byte big-endian header (magic, length, mcmd,
// scmd) and a body. The decoder is incremental: a proxy feeds it whatever each read() returned
// (a frame split over many reads, many frames in one read) and pulls whole frames out. It holds
// at most one partial frame plus the bytes of the last chunk, so memory per connection stays
// bounded by the caller's read size + kMaxFrameLength.
//
// Rules enforced here, each with its own error:
//  - magic 0x5277 (JSON body) or 0x5278 (msgpack body); anything else closes the connection;
//  - the first frame's magic fixes the connection's encoding; the other magic later is an error;
//  - 8 <= length <= 8192, length counting the header.
// Errors are sticky: once the stream is wrong the connection is to be closed, so the decoder
// returns the same error from then on and never yields another frame.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tb::codec {

enum class Magic : uint16_t {
    kJson = 0x5277,
    kMsgpack = 0x5278,
};

inline constexpr std::size_t kHeaderLength = 8;
inline constexpr std::size_t kMinFrameLength = kHeaderLength;
inline constexpr std::size_t kMaxFrameLength = 8192;
inline constexpr std::size_t kMaxFrameBody = kMaxFrameLength - kHeaderLength;

enum class FrameError : uint8_t {
    kOk = 0,
    kBadMagic,        // neither 0x5277 nor 0x5278
    kMagicSwitch,     // the other magic after the first frame fixed the encoding
    kLengthTooShort,  // length < 8
    kLengthTooLong,   // length > 8192
};

std::string_view frame_error_name(FrameError e) noexcept;

struct Frame {
    Magic magic = Magic::kJson;
    uint16_t mcmd = 0;
    uint16_t scmd = 0;
    std::string body;

    bool is_keep_alive() const noexcept { return mcmd == 0 && scmd == 0; }
};

class FrameDecoder {
public:
    enum class Status : uint8_t { kFrame, kNeedMore, kError };

    // Appends bytes read from the connection. Cheap; parsing happens in next(). Bytes fed after
    // an error are dropped.
    void feed(std::string_view bytes);

    // Takes the next whole frame out of the buffer into `out`. kNeedMore when no whole frame is
    // buffered yet; kError when the stream broke a rule (see error()).
    Status next(Frame& out);

    FrameError error() const noexcept { return error_; }
    // The connection's encoding, fixed by its first frame header; kJson before any frame.
    Magic magic() const noexcept { return magic_; }
    bool magic_fixed() const noexcept { return magic_fixed_; }
    // Bytes held (a partial frame, or whole frames not yet taken).
    std::size_t buffered() const noexcept { return buf_.size() - pos_; }

private:
    std::string buf_;
    std::size_t pos_ = 0;  // start of the unparsed bytes in buf_
    FrameError error_ = FrameError::kOk;
    Magic magic_ = Magic::kJson;
    bool magic_fixed_ = false;
};

// Appends one frame to `out`. False (and `out` untouched) when the body does not fit a frame.
bool encode_frame(std::string& out, Magic magic, uint16_t mcmd, uint16_t scmd,
                  std::string_view body);

// The 8 bytes of a keep-alive probe in the given encoding.
std::string keep_alive_frame(Magic magic);

}  // namespace tb::codec
