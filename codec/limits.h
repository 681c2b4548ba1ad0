#pragma once
// Bounds on every body that comes off a socket, shared by the JSON<->msgpack converter
// (codec/body.h) and the struct decoder (codec/fields.h) so that a body the proxy accepted
// also decodes at the node, and a hostile body is refused before it costs memory or stack.

#include <cstddef>

namespace tb::codec {

// Deepest nesting of arrays/maps (the protocol's bodies use three).
inline constexpr int kMaxDepth = 32;
// Largest client body: a frame carries at most 8192 - 8 bytes after its header.
inline constexpr std::size_t kMaxBodyBytes = 8192 - 8;
// Longest string inside a body.
inline constexpr std::size_t kMaxStringBytes = 8192;
// Per-container element limits when unpacking msgpack (msgpack::unpack_limit).
inline constexpr std::size_t kMaxArrayLen = 4096;
inline constexpr std::size_t kMaxMapLen = 1024;

}  // namespace tb::codec
