// Fuzzes the bus envelope decoder. Invariants: decoding never crashes or over-reads; a header
// that decodes re-encodes to exactly the same bytes (the layout has one encoding per value).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "codec/envelope.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    tb::codec::Envelope env;
    if (tb::codec::decode_envelope(input, env) != tb::codec::EnvelopeError::kOk) return 0;
    std::string again;
    if (!tb::codec::encode_envelope(env, again)) std::abort();
    if (again != input) std::abort();
    return 0;
}
