#include "codec/utf8.h"

#include <cstdint>

namespace tb::codec {

bool is_valid_utf8(std::string_view s) noexcept {
    const auto* p = reinterpret_cast<const uint8_t*>(s.data());
    const auto* end = p + s.size();
    while (p < end) {
        const uint8_t c = *p;
        if (c < 0x80) {
            ++p;
            continue;
        }
        int len = 0;
        uint8_t lo = 0x80;
        uint8_t hi = 0xbf;
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            if (c == 0xe0) lo = 0xa0;  // overlong
            if (c == 0xed) hi = 0x9f;  // surrogates
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            if (c == 0xf0) lo = 0x90;  // overlong
            if (c == 0xf4) hi = 0x8f;  // above U+10FFFF
        } else {
            return false;
        }
        if (end - p < len) return false;
        if (p[1] < lo || p[1] > hi) return false;
        for (int i = 2; i < len; ++i) {
            if (p[i] < 0x80 || p[i] > 0xbf) return false;
        }
        p += len;
    }
    return true;
}

}  // namespace tb::codec
