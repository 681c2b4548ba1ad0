#pragma once
// Whole-body conversion between the two client encodings (docs/PROTOCOL.md §2): JSON for magic
// 0x5277 and msgpack for 0x5278. On the bus every body is msgpack; the proxy converts a JSON
// client's bodies on the way in and back on the way out, so a JSON client gets back what it
// would have got from a JSON server, unchanged in meaning.
//
// Both directions are noexcept and bounded: input longer than kMaxBodyBytes, nesting deeper than
// kMaxDepth, containers larger than the unpack limits and invalid UTF-8 are errors, never
// crashes, never large allocations. An empty body converts to an empty body. A map's keys keep
// the sender's order; a key repeated in one map keeps its last value.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "codec/limits.h"

namespace tb::codec {

enum class BodyError : uint8_t {
    kOk = 0,
    kTooLarge,     // input (or JSON output) larger than the limit
    kTooDeep,      // nesting deeper than kMaxDepth
    kSyntax,       // not valid JSON / not valid msgpack / trailing bytes
    kInvalidUtf8,  // a string that is not UTF-8
    kUnsupported,  // msgpack bin, ext or a non-string map key: nothing JSON can carry
    kTooMany,      // an array or map longer than the unpack limits
};

std::string_view body_error_name(BodyError e) noexcept;

// JSON text -> msgpack bytes, appended to `out` (cleared first). A bare JSON value (number,
// string...) is allowed, as the protocol allows it.
BodyError json_to_msgpack(std::string_view json, std::string& out,
                          std::size_t max_bytes = kMaxBodyBytes) noexcept;

// msgpack bytes -> compact JSON text in `out` (cleared first). `max_bytes` bounds both the input
// and the JSON produced (so the result always fits a client frame by default).
BodyError msgpack_to_json(std::string_view msgpack, std::string& out,
                          std::size_t max_bytes = kMaxBodyBytes) noexcept;

}  // namespace tb::codec
