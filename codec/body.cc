#include "codec/body.h"

#include <cmath>
#include <msgpack.hpp>
#include <nlohmann/json.hpp>

#include "codec/utf8.h"

namespace tb::codec {

namespace {

using Json = nlohmann::json;

// Nesting depth of JSON text, counted without parsing, so that nothing recursive (the parser's
// value tree, to_msgpack, the destructor) ever sees a hostile depth.
bool json_depth_ok(std::string_view text) noexcept {
    int depth = 0;
    bool in_string = false;
    bool escaped = false;
    for (const char c : text) {
        if (in_string) {
            if (escaped) {
                escaped = false;
            } else if (c == '\\') {
                escaped = true;
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        switch (c) {
            case '"': in_string = true; break;
            case '[':
            case '{':
                if (++depth > kMaxDepth) return false;
                break;
            case ']':
            case '}': --depth; break;
            default: break;
        }
    }
    return true;
}

// msgpack object -> JSON value. Depth is bounded by the unpack limit, so the recursion is too.
BodyError to_json(const msgpack::object& o, Json& out) {
    switch (o.type) {
        case msgpack::type::NIL: out = nullptr; return BodyError::kOk;
        case msgpack::type::BOOLEAN: out = o.via.boolean; return BodyError::kOk;
        case msgpack::type::POSITIVE_INTEGER: out = o.via.u64; return BodyError::kOk;
        case msgpack::type::NEGATIVE_INTEGER: out = o.via.i64; return BodyError::kOk;
        case msgpack::type::FLOAT32:
        case msgpack::type::FLOAT64:
            // JSON has no NaN or infinity; writing null would change the meaning.
            if (!std::isfinite(o.via.f64)) return BodyError::kUnsupported;
            out = o.via.f64;
            return BodyError::kOk;
        case msgpack::type::STR: {
            const std::string_view s(o.via.str.ptr, o.via.str.size);
            if (!is_valid_utf8(s)) return BodyError::kInvalidUtf8;
            out = std::string(s);
            return BodyError::kOk;
        }
        case msgpack::type::ARRAY: {
            out = Json::array();
            for (uint32_t i = 0; i < o.via.array.size; ++i) {
                Json v;
                if (auto e = to_json(o.via.array.ptr[i], v); e != BodyError::kOk) return e;
                out.push_back(std::move(v));
            }
            return BodyError::kOk;
        }
        case msgpack::type::MAP: {
            out = Json::object();
            for (uint32_t i = 0; i < o.via.map.size; ++i) {
                const auto& kv = o.via.map.ptr[i];
                if (kv.key.type != msgpack::type::STR) return BodyError::kUnsupported;
                const std::string_view key(kv.key.via.str.ptr, kv.key.via.str.size);
                if (!is_valid_utf8(key)) return BodyError::kInvalidUtf8;
                Json v;
                if (auto e = to_json(kv.val, v); e != BodyError::kOk) return e;
                out[std::string(key)] = std::move(v);
            }
            return BodyError::kOk;
        }
        case msgpack::type::BIN:
        case msgpack::type::EXT: return BodyError::kUnsupported;
    }
    return BodyError::kUnsupported;
}

}  // namespace

std::string_view body_error_name(BodyError e) noexcept {
    switch (e) {
        case BodyError::kOk: return "ok";
        case BodyError::kTooLarge: return "body too large";
        case BodyError::kTooDeep: return "body nested too deep";
        case BodyError::kSyntax: return "body syntax error";
        case BodyError::kInvalidUtf8: return "body not UTF-8";
        case BodyError::kUnsupported: return "body holds a value JSON cannot carry";
        case BodyError::kTooMany: return "body container too long";
    }
    return "unknown";
}

BodyError json_to_msgpack(std::string_view json, std::string& out, std::size_t max_bytes) noexcept {
    out.clear();
    if (json.size() > max_bytes) return BodyError::kTooLarge;
    if (json.find_first_not_of(" \t\r\n") == std::string_view::npos) return BodyError::kOk;
    if (!is_valid_utf8(json)) return BodyError::kInvalidUtf8;
    if (!json_depth_ok(json)) return BodyError::kTooDeep;
    try {
        const Json value = Json::parse(json, nullptr, /*allow_exceptions=*/false);
        if (value.is_discarded()) return BodyError::kSyntax;
        std::vector<uint8_t> bytes;
        Json::to_msgpack(value, bytes);
        if (bytes.size() > max_bytes) return BodyError::kTooLarge;
        out.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
        return BodyError::kOk;
    } catch (const std::bad_alloc&) {
        return BodyError::kTooLarge;
    } catch (const std::exception&) {
        return BodyError::kSyntax;
    }
}

BodyError msgpack_to_json(std::string_view msgpack, std::string& out,
                          std::size_t max_bytes) noexcept {
    out.clear();
    if (msgpack.empty()) return BodyError::kOk;
    if (msgpack.size() > max_bytes) return BodyError::kTooLarge;
    try {
        std::size_t offset = 0;
        const msgpack::unpack_limit limit(kMaxArrayLen, kMaxMapLen, max_bytes, 0, 0, kMaxDepth);
        const msgpack::object_handle handle =
            msgpack::unpack(msgpack.data(), msgpack.size(), offset, nullptr, nullptr, limit);
        if (offset != msgpack.size()) return BodyError::kSyntax;
        Json value;
        if (auto e = to_json(handle.get(), value); e != BodyError::kOk) return e;
        std::string text = value.dump();
        if (text.size() > max_bytes) return BodyError::kTooLarge;
        out = std::move(text);
        return BodyError::kOk;
    } catch (const msgpack::depth_size_overflow&) {
        return BodyError::kTooDeep;
    } catch (const msgpack::bin_size_overflow&) {
        return BodyError::kUnsupported;
    } catch (const msgpack::ext_size_overflow&) {
        return BodyError::kUnsupported;
    } catch (const msgpack::str_size_overflow&) {
        return BodyError::kTooLarge;
    } catch (const msgpack::size_overflow&) {
        return BodyError::kTooMany;
    } catch (const std::bad_alloc&) {
        return BodyError::kTooLarge;
    } catch (const std::exception&) {
        return BodyError::kSyntax;
    }
}

}  // namespace tb::codec
