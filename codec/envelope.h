#pragma once
// The bus envelope (docs/ARCHITECTURE.md "The bus"): every bus message is the ZeroMQ frames
//   [routing id, added/removed by ROUTER]  [header]  [body]
// where [header] is this fixed binary routing header and [body] is opaque msgpack. The broker
// decodes only the header, so it routes without ever parsing or copying a body, and the header
// is a flat big-endian layout rather than msgpack so routing costs a few loads, not a parse.
//
// Header layout, version 1 (all integers big-endian):
//   u8 version | u8 command | u16 flags | u32 msg_type | u64 correlation | u64 session
//   | u64 user | i32 error_code | u32 timeout_ms
//   | u8 n + n bytes target | u8 n + n bytes source | u16 n + n bytes error_text
//   | u16 n + n * u64 sessions
// Decoding is noexcept and bounded: every length is checked against what is left and against
// its own cap, identities must be printable ASCII, and trailing bytes are an error.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tb::codec {

inline constexpr uint8_t kBusVersion = 1;

enum class Command : uint8_t {
    kReady = 1,       // node -> broker: service, id, capacity, version, pid, host, flags (body)
    kHeartbeat = 2,   // both ways, 1 s; from a node the body carries its load
    kRequest = 3,     // caller -> broker -> worker; answered by exactly one REPLY or ERROR
    kReply = 4,       // worker -> broker -> caller, same correlation id
    kPush = 5,        // one-way; `sessions` lists the receivers on a proxy (multicast)
    kError = 6,       // a failed request: error_code/error_text set, same correlation id
    kDisconnect = 7,  // broker -> node: you are not registered (or refused); READY again or exit
    kDrain = 8,       // broker -> node: shut (flags bit 0 clear) or open (bit 0 set)
};
inline constexpr uint8_t kMaxCommand = 8;

std::string_view command_name(Command c) noexcept;

// Flag bits.
inline constexpr uint16_t kFlagIdempotent = 1u << 0;  // READY: requests may be requeued once
inline constexpr uint16_t kFlagOpen = 1u << 1;        // DRAIN: open (clear = shut)

// Caps that keep a hostile header small.
inline constexpr std::size_t kMaxIdentityLength = 64;  // target and source
inline constexpr std::size_t kMaxErrorTextLength = 512;
inline constexpr std::size_t kMaxMulticastSessions = 4096;
inline constexpr std::size_t kFixedHeaderLength = 40;
inline constexpr std::size_t kMaxHeaderLength = kFixedHeaderLength + 1 + kMaxIdentityLength + 1 +
                                                kMaxIdentityLength + 2 + kMaxErrorTextLength + 2 +
                                                8 * kMaxMulticastSessions;

struct Envelope {
    Command command = Command::kRequest;
    uint16_t flags = 0;
    uint32_t msg_type = 0;           // (mcmd << 16) | scmd for client messages; node-defined above
    uint64_t correlation = 0;        // chosen by the caller, echoed by REPLY/ERROR
    uint64_t session = 0;            // proxy session the message is about (0 = none)
    uint64_t user = 0;               // user id the proxy vouches for (0 = not logged in)
    int32_t error_code = 0;          // Errno or BusCode (codec/errors.h); 0 = success
    uint32_t timeout_ms = 0;         // caller's remaining deadline, 0 = none given
    std::string target;              // service, "@<identity>" or "mmi.<op>"
    std::string source;              // bus identity of the sender; set by the broker on delivery
    std::string error_text;          // short, client-safe text for error_code
    std::vector<uint64_t> sessions;  // PUSH to a proxy: every session to deliver to
};

enum class EnvelopeError : uint8_t {
    kOk = 0,
    kTruncated,      // shorter than its own lengths say
    kVersion,        // another protocol version (carried in error detail: see decoded.version)
    kBadCommand,     // command outside 1..kMaxCommand
    kFieldTooLong,   // an identity, error text or session list over its cap
    kBadIdentity,    // target or source with a byte outside printable ASCII
    kTrailingBytes,  // bytes after the last field
};

std::string_view envelope_error_name(EnvelopeError e) noexcept;

// Appends the header for `env` to `out`. Fields over their caps are truncated (error_text) or
// make the call fail (identities, sessions): false, `out` untouched.
bool encode_envelope(const Envelope& env, std::string& out);

// Decodes a header frame into `out`. On error `out` is unspecified except that when the error
// is kVersion, `version_seen` (if given) holds the peer's version.
EnvelopeError decode_envelope(std::string_view bytes, Envelope& out,
                              uint8_t* version_seen = nullptr) noexcept;

// The envelope of an answer (REPLY or ERROR) to `request`: same message type, correlation,
// session and user; error code and text set for an ERROR.
Envelope answer_to(const Envelope& request, Command command, int32_t error_code = 0,
                   std::string_view error_text = {});

// A bus identity or service name is 1..64 printable ASCII bytes without spaces.
bool is_valid_identity(std::string_view s) noexcept;

}  // namespace tb::codec
