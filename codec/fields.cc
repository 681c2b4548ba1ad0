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

MsgError unpack_body(std::string_view bytes, msgpack::object_handle& out) noexcept {
    try {
        const msgpack::unpack_limit limit(kMaxArrayLen, kMaxMapLen, kMaxStringBytes,
                                          /*bin=*/0, /*ext=*/0, kMaxDepth);
        std::size_t off = 0;
        msgpack::object_handle handle =
            msgpack::unpack(bytes.data(), bytes.size(), off, nullptr, nullptr, limit);
        // A body is exactly one value; anything after it means the framing is off.
        if (!handle.zone() || off != bytes.size()) return MsgError::kMalformed;
        out = std::move(handle);
        return MsgError::kOk;
    } catch (...) {
        // msgpack throws for truncation, syntax errors and every limit; all mean the same here.
        return MsgError::kMalformed;
    }
}

}  // namespace detail

}  // namespace tb::codec
