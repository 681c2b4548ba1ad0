#include "codec/envelope.h"

#include <cstring>

namespace tb::codec {

namespace {

// A bounds-checked big-endian reader: every read says whether the bytes were there.
class Reader {
public:
    explicit Reader(std::string_view b) noexcept : p_(b.data()), left_(b.size()) {}

    template <class T>
    bool get(T& v) noexcept {
        if (left_ < sizeof(T)) return false;
        uint64_t x = 0;
        for (std::size_t i = 0; i < sizeof(T); ++i) x = (x << 8) | static_cast<uint8_t>(p_[i]);
        v = static_cast<T>(x);
        p_ += sizeof(T);
        left_ -= sizeof(T);
        return true;
    }
    bool bytes(std::size_t n, std::string_view& v) noexcept {
        if (left_ < n) return false;
        v = std::string_view(p_, n);
        p_ += n;
        left_ -= n;
        return true;
    }
    std::size_t left() const noexcept { return left_; }

private:
    const char* p_;
    std::size_t left_;
};

bool printable(std::string_view s) noexcept {
    for (const char c : s) {
        if (c < 0x21 || c > 0x7e) return false;
    }
    return true;
}

}  // namespace

std::string_view command_name(Command c) noexcept {
    switch (c) {
        case Command::kReady: return "READY";
        case Command::kHeartbeat: return "HEARTBEAT";
        case Command::kRequest: return "REQUEST";
        case Command::kReply: return "REPLY";
        case Command::kPush: return "PUSH";
        case Command::kError: return "ERROR";
        case Command::kDisconnect: return "DISCONNECT";
        case Command::kDrain: return "DRAIN";
    }
    return "UNKNOWN";
}

std::string_view envelope_error_name(EnvelopeError e) noexcept {
    switch (e) {
        case EnvelopeError::kOk: return "ok";
        case EnvelopeError::kTruncated: return "truncated header";
        case EnvelopeError::kVersion: return "unsupported bus protocol version";
        case EnvelopeError::kBadCommand: return "unknown bus command";
        case EnvelopeError::kFieldTooLong: return "header field over its cap";
        case EnvelopeError::kBadIdentity: return "identity not printable ASCII";
        case EnvelopeError::kTrailingBytes: return "trailing bytes after header";
    }
    return "unknown";
}

Envelope answer_to(const Envelope& request, Command command, int32_t error_code,
                   std::string_view error_text) {
    Envelope e;
    e.command = command;
    e.msg_type = request.msg_type;
    e.correlation = request.correlation;
    e.session = request.session;
    e.user = request.user;
    e.error_code = error_code;
    e.error_text = std::string(error_text);
    return e;
}

bool is_valid_identity(std::string_view s) noexcept {
    return !s.empty() && s.size() <= kMaxIdentityLength && printable(s);
}

bool encode_envelope(const Envelope& env, std::string& out) {
    if (env.target.size() > kMaxIdentityLength || env.source.size() > kMaxIdentityLength ||
        env.sessions.size() > kMaxMulticastSessions) {
        return false;
    }
    const std::string_view text = std::string_view(env.error_text).substr(0, kMaxErrorTextLength);
    // Sized once, then written through a pointer: no capacity check per byte or field.
    const std::size_t at = out.size();
    out.resize(at + kFixedHeaderLength + 6 + env.target.size() + env.source.size() + text.size() +
               8 * env.sessions.size());
    char* p = out.data() + at;
    const auto be = [&p](uint64_t v, std::size_t bytes) {
        for (std::size_t i = 0; i < bytes; ++i) {
            *p++ = static_cast<char>(v >> ((bytes - 1 - i) * 8));
        }
    };
    const auto raw = [&p](std::string_view s) {
        if (!s.empty()) std::memcpy(p, s.data(), s.size());
        p += s.size();
    };
    be(kBusVersion, 1);
    be(static_cast<uint8_t>(env.command), 1);
    be(env.flags, 2);
    be(env.msg_type, 4);
    be(env.correlation, 8);
    be(env.session, 8);
    be(env.user, 8);
    be(static_cast<uint32_t>(env.error_code), 4);
    be(env.timeout_ms, 4);
    be(env.target.size(), 1);
    raw(env.target);
    be(env.source.size(), 1);
    raw(env.source);
    be(text.size(), 2);
    raw(text);
    be(env.sessions.size(), 2);
    for (const uint64_t s : env.sessions) be(s, 8);
    return true;
}

EnvelopeError decode_envelope(std::string_view bytes, Envelope& out,
                              uint8_t* version_seen) noexcept {
    Reader r(bytes);
    uint8_t version = 0;
    if (!r.get(version)) return EnvelopeError::kTruncated;
    if (version_seen != nullptr) *version_seen = version;
    // Another version's layout is unknown past the first byte, so stop before reading it.
    if (version != kBusVersion) return EnvelopeError::kVersion;
    uint8_t command = 0;
    uint32_t error_code = 0;
    if (!r.get(command) || !r.get(out.flags) || !r.get(out.msg_type) || !r.get(out.correlation) ||
        !r.get(out.session) || !r.get(out.user) || !r.get(error_code) || !r.get(out.timeout_ms)) {
        return EnvelopeError::kTruncated;
    }
    if (command < 1 || command > kMaxCommand) return EnvelopeError::kBadCommand;
    out.command = static_cast<Command>(command);
    out.error_code = static_cast<int32_t>(error_code);

    uint8_t target_len = 0;
    uint8_t source_len = 0;
    uint16_t text_len = 0;
    uint16_t session_count = 0;
    std::string_view target;
    std::string_view source;
    std::string_view text;
    if (!r.get(target_len)) return EnvelopeError::kTruncated;
    if (target_len > kMaxIdentityLength) return EnvelopeError::kFieldTooLong;
    if (!r.bytes(target_len, target) || !r.get(source_len)) return EnvelopeError::kTruncated;
    if (source_len > kMaxIdentityLength) return EnvelopeError::kFieldTooLong;
    if (!r.bytes(source_len, source) || !r.get(text_len)) return EnvelopeError::kTruncated;
    if (text_len > kMaxErrorTextLength) return EnvelopeError::kFieldTooLong;
    if (!r.bytes(text_len, text) || !r.get(session_count)) return EnvelopeError::kTruncated;
    if (session_count > kMaxMulticastSessions) return EnvelopeError::kFieldTooLong;
    if (r.left() < 8u * session_count) return EnvelopeError::kTruncated;
    if (!printable(target) || !printable(source)) return EnvelopeError::kBadIdentity;
    try {
        out.target.assign(target);
        out.source.assign(source);
        out.error_text.assign(text);
        out.sessions.resize(session_count);
    } catch (...) {
        // Only bad_alloc can land here, and every size above is capped; treat as unreadable.
        return EnvelopeError::kFieldTooLong;
    }
    for (uint64_t& s : out.sessions) r.get(s);
    if (r.left() != 0) return EnvelopeError::kTrailingBytes;
    return EnvelopeError::kOk;
}

}  // namespace tb::codec
