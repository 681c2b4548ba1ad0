#include "codec/fields.h"

namespace tb::codec {

std::string_view msg_error_name(MsgError e) noexcept {
    switch (e) {
        case MsgError::kOk: return "ok";
        case MsgError::kMalformed: return "malformed";
    }
    return "unknown";
}

namespace detail {

namespace {

struct ThreadZone {
    msgpack::zone zone;
    bool busy = false;
};
thread_local ThreadZone thread_zone;

}  // namespace

ScratchZone::ScratchZone() {
    if (thread_zone.busy) {
        zone_ = &own_.emplace();
    } else {
        thread_zone.busy = true;
        zone_ = &thread_zone.zone;
    }
}

ScratchZone::~ScratchZone() {
    if (own_) return;
    thread_zone.zone.clear();  // frees every chunk but the first
    thread_zone.busy = false;
}

MsgError unpack_body(std::string_view bytes, msgpack::zone& zone, msgpack::object& out) noexcept {
    try {
        const msgpack::unpack_limit limit(kMaxArrayLen, kMaxMapLen, kMaxStringBytes,
                                          /*bin=*/0, /*ext=*/0, kMaxDepth);
        std::size_t off = 0;
        const msgpack::object value =
            msgpack::unpack(zone, bytes.data(), bytes.size(), off, nullptr, nullptr, limit);
        // A body is exactly one value; anything after it means the framing is off.
        if (off != bytes.size()) return MsgError::kMalformed;
        out = value;
        return MsgError::kOk;
    } catch (...) {
        // msgpack throws for truncation, syntax errors and every limit; all mean the same here.
        return MsgError::kMalformed;
    }
}

}  // namespace detail

}  // namespace tb::codec
