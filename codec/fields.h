#pragma once
// Msgpack encoding for any struct that lists its fields once, in a static fields() visitor:
//   template <class S, class F> static void fields(S& s, F&& f) { f("UserID", s.user_id); }
// Client messages (codec/messages.h) and the bus's own bodies (bus/protocol.h) both use it, so
// encode and decode cannot drift apart and adding a field is a one-line change.
//
// Decoding is lenient about what a newer or older peer may omit or add (missing fields are zero,
// unknown keys are ignored, nil is zero) and strict about everything else: a value of the wrong
// type, an integer outside the field's range or a string that is not UTF-8 rejects the whole
// message, so a handler never acts on a half-understood request.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <msgpack.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "codec/errors.h"
#include "codec/limits.h"
#include "codec/utf8.h"

namespace tb::codec {

// ---------------------------------------------------------------------------------------------
// Decoding results and limits

enum class MsgError : uint8_t {
    kOk = 0,
    kMalformed,  // not msgpack, not a map, wrong field type, out of range, not UTF-8, too big
};

std::string_view msg_error_name(MsgError e) noexcept;

// What a node answers a client with when a request body does not decode.
constexpr Errno to_errno(MsgError e) noexcept {
    return e == MsgError::kOk ? Errno::kOk : Errno::kMalformed;
}

namespace detail {

// Unpacks one whole msgpack value within codec/limits.h into `zone`; trailing bytes are
// malformed.
MsgError unpack_body(std::string_view bytes, msgpack::zone& zone, msgpack::object& out) noexcept;

// The zone a decode() unpacks into: one per thread, emptied after each decode but keeping its
// first chunk. A zone of its own per decode would malloc (and free) msgpack's 8 KiB chunk for
// every message, and in glibc a request that size also consolidates the small free lists. A
// decode within a decode gets a fresh zone.
class ScratchZone {
public:
    ScratchZone();
    ~ScratchZone();
    ScratchZone(const ScratchZone&) = delete;
    ScratchZone& operator=(const ScratchZone&) = delete;
    msgpack::zone& get() noexcept { return *zone_; }

private:
    msgpack::zone* zone_;
    std::optional<msgpack::zone> own_;  // when the thread's zone is in use
};

struct FieldProbe {
    template <class V>
    void operator()(std::string_view, V&) const noexcept {}
};

template <class T>
concept Fielded = std::is_class_v<T> && requires(T& t) {
    T::fields(t, FieldProbe{});
};

template <class T>
inline constexpr bool kIsVector = false;
template <class E, class A>
inline constexpr bool kIsVector<std::vector<E, A>> = true;

template <class T>
inline constexpr bool kAlwaysFalse = false;

using Packer = msgpack::packer<msgpack::sbuffer>;

template <Fielded T>
void pack_fields(Packer& pk, const T& msg);

template <class T>
void pack_value(Packer& pk, const T& v) {
    if constexpr (std::is_same_v<T, bool>) {
        pk.pack(v);
    } else if constexpr (std::is_integral_v<T>) {
        pk.pack(v);
    } else if constexpr (std::is_same_v<T, std::string>) {
        pk.pack_str(static_cast<uint32_t>(v.size()));
        pk.pack_str_body(v.data(), static_cast<uint32_t>(v.size()));
    } else if constexpr (kIsVector<T>) {
        pk.pack_array(static_cast<uint32_t>(v.size()));
        // const_reference, not const auto&: vector<bool> yields proxies.
        for (typename T::const_reference e : v) pack_value<typename T::value_type>(pk, e);
    } else if constexpr (Fielded<T>) {
        pack_fields(pk, v);
    } else {
        static_assert(kAlwaysFalse<T>, "no msgpack encoding for this field type");
    }
}

template <Fielded T>
void pack_fields(Packer& pk, const T& msg) {
    uint32_t count = 0;
    T::fields(msg, [&count](std::string_view, const auto&) { ++count; });
    pk.pack_map(count);
    T::fields(msg, [&pk](std::string_view name, const auto& v) {
        pk.pack_str(static_cast<uint32_t>(name.size()));
        pk.pack_str_body(name.data(), static_cast<uint32_t>(name.size()));
        pack_value(pk, v);
    });
}

template <class T>
bool read_integer(const msgpack::object& o, T& v) noexcept {
    using Limits = std::numeric_limits<T>;
    if (o.type == msgpack::type::POSITIVE_INTEGER) {
        if (o.via.u64 > static_cast<uint64_t>(Limits::max())) return false;
        v = static_cast<T>(o.via.u64);
        return true;
    }
    if constexpr (std::is_signed_v<T>) {
        if (o.type == msgpack::type::NEGATIVE_INTEGER) {
            if (o.via.i64 < static_cast<int64_t>(Limits::min())) return false;
            v = static_cast<T>(o.via.i64);
            return true;
        }
    }
    return false;
}

template <Fielded T>
bool read_fields(const msgpack::object& map, T& msg);

// May throw std::bad_alloc; the public decode() catches it.
template <class T>
bool read_value(const msgpack::object& o, T& v) {
    if (o.type == msgpack::type::NIL) {
        v = T{};
        return true;
    }
    if constexpr (std::is_same_v<T, bool>) {
        if (o.type != msgpack::type::BOOLEAN) return false;
        v = o.via.boolean;
        return true;
    } else if constexpr (std::is_integral_v<T>) {
        return read_integer(o, v);
    } else if constexpr (std::is_same_v<T, std::string>) {
        if (o.type != msgpack::type::STR) return false;
        const std::string_view s(o.via.str.ptr, o.via.str.size);
        if (!is_valid_utf8(s)) return false;
        v.assign(s);
        return true;
    } else if constexpr (kIsVector<T>) {
        if (o.type != msgpack::type::ARRAY) return false;
        v.clear();
        v.reserve(o.via.array.size);
        for (uint32_t i = 0; i < o.via.array.size; ++i) {
            typename T::value_type e{};
            if (!read_value(o.via.array.ptr[i], e)) return false;
            v.push_back(std::move(e));
        }
        return true;
    } else if constexpr (Fielded<T>) {
        if (o.type != msgpack::type::MAP) return false;
        v = T{};
        return read_fields(o, v);
    } else {
        static_assert(kAlwaysFalse<T>, "no msgpack decoding for this field type");
    }
}

template <Fielded T>
bool read_fields(const msgpack::object& map, T& msg) {
    for (uint32_t i = 0; i < map.via.map.size; ++i) {
        const msgpack::object_kv& kv = map.via.map.ptr[i];
        // Only string keys can name a field; anything else is someone else's extension.
        if (kv.key.type != msgpack::type::STR) continue;
        const std::string_view key(kv.key.via.str.ptr, kv.key.via.str.size);
        bool ok = true;
        T::fields(msg, [&](std::string_view name, auto& field) {
            if (ok && name == key) ok = read_value(kv.val, field);
        });
        if (!ok) return false;
    }
    return true;
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Encoding and decoding any message struct

// Appends `msg` as a msgpack map to a packer, e.g. inside a larger document.
template <detail::Fielded T>
void encode_into(msgpack::packer<msgpack::sbuffer>& pk, const T& msg) {
    detail::pack_fields(pk, msg);
}

// The msgpack body of `msg`: a map of every field, zero values included, so readers never have
// to guess whether an absent key means zero.
template <detail::Fielded T>
std::string encode(const T& msg) {
    // Bodies are mostly under 256 bytes. The default first buffer is 8 KiB, and in glibc a
    // request that size also consolidates the small free lists: a few % of a game node's CPU.
    msgpack::sbuffer buf(256);
    msgpack::packer<msgpack::sbuffer> pk(buf);
    detail::pack_fields(pk, msg);
    return std::string(buf.data(), buf.size());
}

// Decodes an already unpacked body. On any error `out` is left as it was.
template <detail::Fielded T>
MsgError decode(const msgpack::object& body, T& out) noexcept {
    try {
        if (body.type != msgpack::type::MAP) return MsgError::kMalformed;
        T tmp{};
        if (!detail::read_fields(body, tmp)) return MsgError::kMalformed;
        out = std::move(tmp);
        return MsgError::kOk;
    } catch (...) {
        return MsgError::kMalformed;
    }
}

// Decodes a msgpack body. An empty body is a message with every field zero (clients send
// nothing for requests without arguments). On any error `out` is left as it was.
template <detail::Fielded T>
MsgError decode(std::string_view msgpack_bytes, T& out) noexcept {
    if (msgpack_bytes.empty()) {
        out = T{};
        return MsgError::kOk;
    }
    detail::ScratchZone zone;
    msgpack::object body;
    if (const MsgError e = detail::unpack_body(msgpack_bytes, zone.get(), body);
        e != MsgError::kOk) {
        return e;
    }
    return decode(body, out);
}

}  // namespace tb::codec
