#include "codec/errors.h"

namespace tb::codec {

namespace {

struct ErrnoInfo {
    std::string_view name;
    std::string_view text;
};

// Indexed by the Errno value; keep in step with the enum (a unit test walks both).
constexpr ErrnoInfo kErrnoInfo[] = {
    {"ok", "ok"},
    {"failure", "failure"},
    {"malformed", "malformed message"},
    {"unknown_command", "unknown command"},
    {"not_logged_in", "not logged in"},
    {"wrong_password", "wrong password"},
    {"too_many_failures", "too many failed logins, try later"},
    {"no_service", "no such service"},
    {"timed_out", "timed out"},
    {"in_another_game", "in another game"},
    {"not_your_turn", "not your turn"},
    {"illegal_move", "illegal move or play"},
    {"not_enough_score", "not enough score"},
    {"wrong_table_status", "wrong table status"},
    {"not_seated", "user not seated"},
    {"storage_unavailable", "storage unavailable"},
    {"rate_limited", "rate limited"},
    {"draining", "server is draining"},
    {"kicked", "kicked"},
    {"invalid_field", "invalid field value"},
    {"ticket_invalid", "signature or ticket invalid"},
};
static_assert(std::size(kErrnoInfo) == kMaxKnownErrno + 1);

}  // namespace

std::string_view errno_name(Errno e) noexcept {
    const auto v = to_int(e);
    if (v < 0 || v > kMaxKnownErrno) return "unknown";
    return kErrnoInfo[v].name;
}

std::string_view errno_text(Errno e) noexcept {
    const auto v = to_int(e);
    if (v < 0 || v > kMaxKnownErrno) return "failure";
    return kErrnoInfo[v].text;
}

std::string_view bus_code_name(BusCode c) noexcept {
    switch (c) {
        case BusCode::kOk: return "ok";
        case BusCode::kNoService: return "no_service";
        case BusCode::kTimeout: return "timeout";
        case BusCode::kWorkerLost: return "worker_lost";
        case BusCode::kOverloaded: return "overloaded";
        case BusCode::kStorage: return "storage";
        case BusCode::kBadEnvelope: return "bad_envelope";
        case BusCode::kVersion: return "version";
        case BusCode::kUnknownTarget: return "unknown_target";
        case BusCode::kIdInUse: return "id_in_use";
        case BusCode::kNotRegistered: return "not_registered";
        case BusCode::kDraining: return "draining";
        case BusCode::kInternal: return "internal";
    }
    return "unknown";
}

std::string_view code_name(int32_t code) noexcept {
    if (is_bus_code(code)) return bus_code_name(static_cast<BusCode>(code));
    return errno_name(static_cast<Errno>(code));
}

Errno client_errno(int32_t code) noexcept {
    if (code < 0) return Errno::kFailure;
    if (!is_bus_code(code)) return static_cast<Errno>(code);
    switch (static_cast<BusCode>(code)) {
        case BusCode::kNoService:
        case BusCode::kUnknownTarget: return Errno::kNoService;
        case BusCode::kTimeout:
        case BusCode::kWorkerLost: return Errno::kTimedOut;
        case BusCode::kOverloaded: return Errno::kRateLimited;
        case BusCode::kStorage: return Errno::kStorageUnavailable;
        case BusCode::kDraining: return Errno::kDraining;
        default: return Errno::kFailure;
    }
}

}  // namespace tb::codec
