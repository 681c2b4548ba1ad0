#include "codec/messages.h"

namespace tb::codec {

std::string_view game_kind_name(int32_t game_type) noexcept {
    switch (game_type) {
        case kGameTypeLandlords: return "landlords";
        case kGameTypeGomoku: return "gomoku";
        default: return {};
    }
}

int32_t game_type_of_kind(std::string_view kind) noexcept {
    if (kind == "landlords") return kGameTypeLandlords;
    if (kind == "gomoku") return kGameTypeGomoku;
    return 0;
}

ErrorBody ErrorBody::of(Errno e) {
    return ErrorBody{to_int(e), std::string(errno_text(e))};
}

}  // namespace tb::codec
