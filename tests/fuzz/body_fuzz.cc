// Fuzzes the JSON <-> msgpack body converters. Invariants: both directions return without
// crashing on any input; JSON that converts to msgpack converts back to JSON, and that JSON
// converts to the very same msgpack (conversion preserves meaning, so it is a fixed point).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "codec/body.h"

using tb::codec::BodyError;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    constexpr std::size_t kRoomy = 1 << 20;

    std::string json;
    (void)tb::codec::msgpack_to_json(input, json);

    std::string mp1;
    if (tb::codec::json_to_msgpack(input, mp1) != BodyError::kOk) return 0;
    std::string text;
    if (tb::codec::msgpack_to_json(mp1, text, kRoomy) != BodyError::kOk) std::abort();
    std::string mp2;
    if (tb::codec::json_to_msgpack(text, mp2, kRoomy) != BodyError::kOk) std::abort();
    if (mp1 != mp2) std::abort();
    return 0;
}
