#pragma once
// Error codes of tablebus, in two ranges that never overlap:
//  - Errno: the client protocol's table (docs/PROTOCOL.md "Errno"). Wire protocol: append only,
//    never renumber. Nodes answer requests with these.
//  - BusCode: the bus's own failures (no service, deadline, lost worker, overloaded, storage...),
//    from 1000 up, produced by the broker and the node runtime. The proxy maps them to an Errno
//    before anything reaches a client (client_errno()).
// An envelope's error field carries either kind; is_bus_code() tells which.

#include <cstdint>
#include <string_view>

namespace tb::codec {

enum class Errno : int32_t {
    kOk = 0,
    kFailure = 1,
    kMalformed = 2,
    kUnknownCommand = 3,
    kNotLoggedIn = 4,
    kWrongPassword = 5,
    kTooManyFailures = 6,
    kNoService = 7,
    kTimedOut = 8,
    kInAnotherGame = 9,
    kNotYourTurn = 10,
    kIllegalMove = 11,
    kNotEnoughScore = 12,
    kWrongTableStatus = 13,
    kNotSeated = 14,
    kStorageUnavailable = 15,
    kRateLimited = 16,
    kDraining = 17,
    kKicked = 18,
    kInvalidField = 19,
    kTicketInvalid = 20,
};

// The largest Errno this build knows; values above it (from a newer peer) are still valid
// failures to a client, which treats any non-zero Errno as failure.
inline constexpr int32_t kMaxKnownErrno = 20;

enum class BusCode : int32_t {
    kOk = 0,
    kNoService = 1001,      // no worker for the service within its queue deadline
    kTimeout = 1002,        // the caller's deadline passed
    kWorkerLost = 1003,     // the worker died or was expired with the request in flight
    kOverloaded = 1004,     // queue or in-flight cap reached
    kStorage = 1005,        // db could not reach MariaDB or Redis
    kBadEnvelope = 1006,    // header frame could not be decoded
    kVersion = 1007,        // header of another protocol version
    kUnknownTarget = 1008,  // @identity not on the bus
    kIdInUse = 1009,        // READY with an id another live node holds
    kNotRegistered = 1010,  // traffic from a peer that never sent READY
    kDraining = 1011,       // the target is shutting down
    kInternal = 1012,       // a handler threw; logged with the request id
};

inline constexpr int32_t kBusCodeBase = 1000;

constexpr bool is_bus_code(int32_t code) noexcept {
    return code >= kBusCodeBase;
}

// Stable lower_snake names, for logs, metrics labels and tb-mon output.
std::string_view errno_name(Errno e) noexcept;
std::string_view bus_code_name(BusCode c) noexcept;
// Name of any code carried in an envelope: an Errno, a BusCode or "code_<n>" for unknown ones
// (the returned view points at static storage for known codes; unknown ones give "unknown").
std::string_view code_name(int32_t code) noexcept;

// Short client-facing text for an Errno (Errdesc); never internal detail.
std::string_view errno_text(Errno e) noexcept;

// What a client sees for a code carried on the bus: Errnos pass through, bus codes map per
// docs/ARCHITECTURE.md (no service -> 7, deadline or lost worker -> 8, overloaded -> 16,
// storage -> 15, draining -> 17, anything else -> 1). Negative codes become 1.
Errno client_errno(int32_t code) noexcept;

constexpr int32_t to_int(Errno e) noexcept {
    return static_cast<int32_t>(e);
}
constexpr int32_t to_int(BusCode c) noexcept {
    return static_cast<int32_t>(c);
}

}  // namespace tb::codec
