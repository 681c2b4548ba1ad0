#include "codec/body.h"

#include <charconv>
#include <cmath>
#include <msgpack.hpp>
#include <nlohmann/json.hpp>
#include <vector>

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

// --- one-pass conversions ------------------------------------------------------------------
// The bodies a game sends and receives are small maps of integers, strings and short arrays.
// Converting them through a value tree costs a node allocation per value and a std::map per
// object, and the proxy converts every frame of a JSON client twice (in and out), so the
// common case is converted in one pass instead: parser events written straight out as the
// other encoding. Anything the one pass does not handle exactly as the tree does (floats,
// repeated keys, errors of any kind, limits) makes it give up, and the tree conversion runs as
// before: results and errors stay the same. One difference on success: a map's keys keep the
// sender's order, where the tree sorted them; neither JSON nor msgpack readers care.

// msgpack::packer's stream: appends to a string.
struct Appender {
    std::string& out;
    void write(const char* p, std::size_t n) { out.append(p, n); }
};

// nlohmann SAX events -> msgpack, in the smallest forms (msgpack::packer's, which are also
// nlohmann's). A container's header is written when it closes, in the one byte kept for it
// when it opened (widened in place for more than 15 entries).
class MsgpackWriter {
public:
    // More keys than this in one object: left to the tree (the repeat check is quadratic).
    static constexpr std::size_t kMaxKeys = 64;

    explicit MsgpackWriter(std::string& out) : out_(out), stream_{out}, pack_(stream_) {}

    bool null() {
        pack_.pack_nil();
        return counted();
    }
    bool boolean(bool v) {
        pack_.pack(v);
        return counted();
    }
    bool number_integer(Json::number_integer_t v) {
        pack_.pack_int64(v);
        return counted();
    }
    bool number_unsigned(Json::number_unsigned_t v) {
        pack_.pack_uint64(v);
        return counted();
    }
    bool number_float(Json::number_float_t, const std::string&) { return false; }
    bool string(std::string& s) {
        put_str(s);
        return counted();
    }
    bool binary(Json::binary_t&) { return false; }
    bool start_object(std::size_t) { return open(true); }
    bool key(std::string& k) {
        Open& o = open_.back();
        if (o.count >= kMaxKeys) return false;
        for (std::size_t i = o.first_key; i < keys_.size(); ++i) {
            if (std::string_view(out_).substr(keys_[i].first, keys_[i].second) == k) return false;
        }
        put_str(k);
        keys_.emplace_back(out_.size() - k.size(), k.size());
        return true;
    }
    bool end_object() { return close(); }
    bool start_array(std::size_t) { return open(false); }
    bool end_array() { return close(); }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
        return false;
    }

private:
    struct Open {
        std::size_t at;         // the header byte
        std::size_t count = 0;  // entries (an object's pairs) so far
        std::size_t first_key;  // this object's keys in keys_
        bool map;
    };

    void put_str(std::string_view s) {
        pack_.pack_str(static_cast<uint32_t>(s.size()));
        pack_.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
    }
    bool counted() {
        if (!open_.empty()) ++open_.back().count;
        return true;
    }
    bool open(bool map) {
        open_.push_back({out_.size(), 0, keys_.size(), map});
        out_ += '\0';
        return true;
    }
    bool close() {
        const Open o = open_.back();
        open_.pop_back();
        keys_.resize(o.first_key);
        std::string header;
        Appender to_header{header};
        msgpack::packer<Appender> pack(to_header);
        const auto n = static_cast<uint32_t>(o.count);
        if (o.map) {
            pack.pack_map(n);
        } else {
            pack.pack_array(n);
        }
        out_.replace(o.at, 1, header);
        return counted();
    }

    std::string& out_;
    Appender stream_;
    msgpack::packer<Appender> pack_;
    std::vector<Open> open_;
    std::vector<std::pair<std::size_t, std::size_t>> keys_;  // offset and size in out_
};

bool json_to_msgpack_fast(std::string_view json, std::string& out) {
    MsgpackWriter writer(out);
    return Json::sax_parse(json.begin(), json.end(), &writer);
}

// JSON string text for `s` (already checked to be UTF-8), escaped as nlohmann's dump() does.
void put_json_string(std::string& out, std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += '"';
    for (const char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    out += "\\u00";
                    out += kHex[(c >> 4) & 0xF];
                    out += kHex[c & 0xF];
                } else {
                    out += c;
                }
        }
    }
    out += '"';
}

// msgpack-c parse events -> compact JSON text.
class JsonWriter : public msgpack::null_visitor {
public:
    JsonWriter(std::string& out, std::size_t max_bytes) : out_(out), max_bytes_(max_bytes) {}

    bool visit_nil() { return scalar("null"); }
    bool visit_boolean(bool v) { return scalar(v ? "true" : "false"); }
    bool visit_positive_integer(uint64_t v) { return number(v); }
    bool visit_negative_integer(int64_t v) { return number(v); }
    bool visit_float32(float) { return false; }
    bool visit_float64(double) { return false; }
    bool visit_str(const char* p, uint32_t n) {
        const std::string_view s(p, n);
        if (n > max_bytes_ || !is_valid_utf8(s)) return false;
        if (in_key_) {
            Open& o = open_.back();
            for (std::size_t i = o.first_key; i < keys_.size(); ++i) {
                if (keys_[i] == s) return false;
            }
            keys_.push_back(s);
        }
        put_json_string(out_, s);
        return out_.size() <= max_bytes_;
    }
    bool visit_bin(const char*, uint32_t) { return false; }
    bool visit_ext(const char*, uint32_t) { return false; }
    bool start_array(uint32_t n) { return n <= kMaxArrayLen && open('['); }
    bool start_array_item() {
        comma();
        return true;
    }
    bool end_array() { return close(']'); }
    bool start_map(uint32_t n) { return n <= kMaxMapLen && open('{'); }
    bool start_map_key() {
        comma();
        in_key_ = true;
        return true;
    }
    bool end_map_key() {
        in_key_ = false;
        out_ += ':';
        return true;
    }
    bool end_map() { return close('}'); }
    void parse_error(std::size_t, std::size_t) {}
    void insufficient_bytes(std::size_t, std::size_t) {}

private:
    struct Open {
        std::size_t first_key;  // this map's keys in keys_
        bool any = false;       // an entry written: the next needs a comma
    };

    // Deeper nesting is left to the tree, whose limit is exact; bodies nest two or three deep.
    static constexpr std::size_t kMaxOpen = 16;

    template <class Int>
    bool number(Int v) {
        char buf[24];
        const auto r = std::to_chars(buf, buf + sizeof buf, v);
        return scalar({buf, static_cast<std::size_t>(r.ptr - buf)});
    }
    bool scalar(std::string_view text) {
        if (in_key_) return false;  // only string keys: left to the tree, which refuses
        out_ += text;
        return out_.size() <= max_bytes_;
    }
    void comma() {
        Open& o = open_.back();
        if (o.any) out_ += ',';
        o.any = true;
    }
    bool open(char bracket) {
        if (in_key_ || open_.size() >= kMaxOpen) return false;
        open_.push_back({keys_.size()});
        out_ += bracket;
        return true;
    }
    bool close(char bracket) {
        keys_.resize(open_.back().first_key);
        open_.pop_back();
        out_ += bracket;
        return out_.size() <= max_bytes_;
    }

    std::string& out_;
    std::size_t max_bytes_;
    bool in_key_ = false;
    std::vector<Open> open_;
    std::vector<std::string_view> keys_;  // into the msgpack input
};

bool msgpack_to_json_fast(std::string_view msgpack, std::string& out, std::size_t max_bytes) {
    JsonWriter writer(out, max_bytes);
    std::size_t offset = 0;
    return msgpack::parse(msgpack.data(), msgpack.size(), offset, writer) &&
           offset == msgpack.size();
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
        if (json_to_msgpack_fast(json, out) && out.size() <= max_bytes) return BodyError::kOk;
        out.clear();
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
        if (msgpack_to_json_fast(msgpack, out, max_bytes)) return BodyError::kOk;
        out.clear();
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
