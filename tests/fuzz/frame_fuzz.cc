// Fuzzes the client frame decoder. Invariant: however the bytes are split into reads, the
// decoder yields the same frames and the same error as when they arrive in one read, and every
// frame it yields re-encodes to the bytes it came from.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "codec/frame.h"

using tb::codec::Frame;
using tb::codec::FrameDecoder;

namespace {

struct Result {
    std::vector<Frame> frames;
    tb::codec::FrameError error;
};

Result decode(std::string_view bytes, std::size_t chunk) {
    FrameDecoder d;
    Result r;
    Frame f;
    for (std::size_t i = 0; i < bytes.size(); i += chunk) {
        d.feed(bytes.substr(i, chunk));
        for (;;) {
            const auto s = d.next(f);
            if (s != FrameDecoder::Status::kFrame) break;
            r.frames.push_back(f);
        }
    }
    r.error = d.error();
    return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::size_t chunk = 1 + data[0] % 64;
    const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
    const Result whole = decode(bytes, bytes.size() + 1);
    const Result split = decode(bytes, chunk);
    if (whole.error != split.error || whole.frames.size() != split.frames.size()) std::abort();
    std::string again;
    for (std::size_t i = 0; i < whole.frames.size(); ++i) {
        const Frame& a = whole.frames[i];
        const Frame& b = split.frames[i];
        if (a.mcmd != b.mcmd || a.scmd != b.scmd || a.body != b.body || a.magic != b.magic) {
            std::abort();
        }
        if (a.body.size() > tb::codec::kMaxFrameBody) std::abort();
        if (!tb::codec::encode_frame(again, a.magic, a.mcmd, a.scmd, a.body)) std::abort();
    }
    if (bytes.substr(0, again.size()) != again) std::abort();
    return 0;
}
