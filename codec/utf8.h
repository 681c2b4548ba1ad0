#pragma once
// UTF-8 validation for text that came off a socket (RFC 3629: no overlongs, no surrogates,
// nothing above U+10FFFF). Client names and bodies must be UTF-8 before they reach JSON or SQL.

#include <string_view>

namespace tb::codec {

bool is_valid_utf8(std::string_view s) noexcept;

}  // namespace tb::codec
