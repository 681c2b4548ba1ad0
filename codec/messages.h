#pragma once
// The client protocol's message bodies as C++ structs with their exact wire field names
// (docs/PROTOCOL.md §3), encoded as msgpack maps through codec/fields.h. The bus carries
// msgpack; JSON clients' bodies are converted whole by the proxy (codec/body.h).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "codec/fields.h"

namespace tb::codec {

// ---------------------------------------------------------------------------------------------
// Message types: main command in the high 16 bits, sub command in the low 16

constexpr uint32_t msg_type(uint16_t mcmd, uint16_t scmd) noexcept {
    return (static_cast<uint32_t>(mcmd) << 16) | scmd;
}
constexpr uint16_t mcmd_of(uint32_t type) noexcept {
    return static_cast<uint16_t>(type >> 16);
}
constexpr uint16_t scmd_of(uint32_t type) noexcept {
    return static_cast<uint16_t>(type & 0xFFFFu);
}

inline constexpr uint16_t kMcmdSystem = 0;
inline constexpr uint16_t kMcmdHall = 1;
inline constexpr uint16_t kMcmdRoom = 100;
// Game commands share one main command; the seat's GameType says which game's table applies.
inline constexpr uint16_t kMcmdGame = 150;

inline constexpr uint32_t kMsgNotice = msg_type(kMcmdSystem, 1);

inline constexpr uint32_t kMsgFastRegister = msg_type(kMcmdHall, 1);
inline constexpr uint32_t kMsgSignInDays = msg_type(kMcmdHall, 2);
inline constexpr uint32_t kMsgSignIn = msg_type(kMcmdHall, 3);
inline constexpr uint32_t kMsgRanking = msg_type(kMcmdHall, 4);

inline constexpr uint32_t kMsgFastLogin = msg_type(kMcmdRoom, 1);
inline constexpr uint32_t kMsgLogout = msg_type(kMcmdRoom, 2);
inline constexpr uint32_t kMsgReady = msg_type(kMcmdRoom, 3);
inline constexpr uint32_t kMsgNotifySitDown = msg_type(kMcmdRoom, 101);
inline constexpr uint32_t kMsgNotifyStandUp = msg_type(kMcmdRoom, 102);
inline constexpr uint32_t kMsgNotifyStatus = msg_type(kMcmdRoom, 103);
inline constexpr uint32_t kMsgNotifyTreasure = msg_type(kMcmdRoom, 104);
inline constexpr uint32_t kMsgNotifyKick = msg_type(kMcmdRoom, 105);
inline constexpr uint32_t kMsgNotifyGameLost = msg_type(kMcmdRoom, 106);

inline constexpr uint32_t kMsgGomokuPlaceStone = msg_type(kMcmdGame, 1);
inline constexpr uint32_t kMsgGomokuResign = msg_type(kMcmdGame, 2);
inline constexpr uint32_t kMsgGomokuBroadcastPlaceStone = msg_type(kMcmdGame, 101);
inline constexpr uint32_t kMsgGomokuNotifyScene = msg_type(kMcmdGame, 201);
inline constexpr uint32_t kMsgGomokuBroadcastStart = msg_type(kMcmdGame, 202);
inline constexpr uint32_t kMsgGomokuBroadcastConclude = msg_type(kMcmdGame, 203);

inline constexpr uint32_t kMsgLandlordsCallScore = msg_type(kMcmdGame, 1);
inline constexpr uint32_t kMsgLandlordsPlayCards = msg_type(kMcmdGame, 2);
inline constexpr uint32_t kMsgLandlordsPass = msg_type(kMcmdGame, 3);
inline constexpr uint32_t kMsgLandlordsTrustee = msg_type(kMcmdGame, 4);
inline constexpr uint32_t kMsgLandlordsNotifyScene = msg_type(kMcmdGame, 201);
inline constexpr uint32_t kMsgLandlordsNotifyDeal = msg_type(kMcmdGame, 202);
inline constexpr uint32_t kMsgLandlordsBroadcastCallScore = msg_type(kMcmdGame, 203);
inline constexpr uint32_t kMsgLandlordsBroadcastLandlord = msg_type(kMcmdGame, 204);
inline constexpr uint32_t kMsgLandlordsBroadcastPlay = msg_type(kMcmdGame, 205);
inline constexpr uint32_t kMsgLandlordsBroadcastPass = msg_type(kMcmdGame, 206);
inline constexpr uint32_t kMsgLandlordsBroadcastConclude = msg_type(kMcmdGame, 207);
inline constexpr uint32_t kMsgLandlordsBroadcastTrustee = msg_type(kMcmdGame, 208);
inline constexpr uint32_t kMsgLandlordsBroadcastRedeal = msg_type(kMcmdGame, 209);

// ---------------------------------------------------------------------------------------------
// Wire constants

inline constexpr int32_t kUserStatusFree = 0;
inline constexpr int32_t kUserStatusReady = 1;
inline constexpr int32_t kUserStatusPlaying = 2;
inline constexpr int32_t kUserStatusOffline = 3;

inline constexpr int32_t kChangeTypeRegister = 1;
inline constexpr int32_t kChangeTypeWinLose = 2;
inline constexpr int32_t kChangeTypeSignIn = 3;
inline constexpr int32_t kChangeTypeTopUp = 4;

inline constexpr int32_t kGameTypeLandlords = 1;
inline constexpr int32_t kGameTypeGomoku = 2;

// GameType <-> the kind name used in configuration and service names ("landlords", "gomoku").
// Unknown values give "" and 0 (0 is never a GameType).
std::string_view game_kind_name(int32_t game_type) noexcept;
int32_t game_type_of_kind(std::string_view kind) noexcept;

// ---------------------------------------------------------------------------------------------
// Common bodies

// Requests and notifications without fields: SignInDays, SignIn, Logout, Ready, gomoku Resign,
// landlords Pass and BroadcastRedeal.
struct Empty {
    template <class S, class F>
    static void fields(S&, F&&) {}
    bool operator==(const Empty&) const = default;
};

// The reply to any failed request.
struct ErrorBody {
    int32_t err_no = 0;
    std::string err_desc;

    // Errno plus its standard client-facing text.
    static ErrorBody of(Errno e);

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("Errno", s.err_no);
        f("Errdesc", s.err_desc);
    }
    bool operator==(const ErrorBody&) const = default;
};

struct Notice {
    static constexpr uint32_t kType = kMsgNotice;
    std::string text;
    int32_t level = 0;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("Text", s.text);
        f("Level", s.level);
    }
    bool operator==(const Notice&) const = default;
};

// ---------------------------------------------------------------------------------------------
// Hall (mcmd 1)

struct FastRegisterRequest {
    static constexpr uint32_t kType = kMsgFastRegister;
    std::string account;
    std::string password;
    std::string machine;
    std::string name;
    int32_t icon = 0;
    int32_t gender = 0;
    std::string ip;  // set by the proxy from the connection; a client's value is overwritten

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("Account", s.account);
        f("Password", s.password);
        f("Machine", s.machine);
        f("Name", s.name);
        f("Icon", s.icon);
        f("Gender", s.gender);
        f("IP", s.ip);
    }
    bool operator==(const FastRegisterRequest&) const = default;
};

struct FastRegisterReply {
    static constexpr uint32_t kType = kMsgFastRegister;
    int64_t user_id = 0;
    std::string user_name;
    int32_t user_icon = 0;
    int32_t user_level = 0;
    int32_t user_gender = 0;
    std::string bind_phone;
    int64_t user_score = 0;
    int64_t user_diamond = 0;
    // The game the user is still seated in, if any (all zero otherwise), so it can reconnect.
    int32_t game_id = 0;
    int32_t game_type = 0;
    int32_t game_level = 0;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("UserID", s.user_id);
        f("UserName", s.user_name);
        f("UserIcon", s.user_icon);
        f("UserLevel", s.user_level);
        f("UserGender", s.user_gender);
        f("BindPhone", s.bind_phone);
        f("UserScore", s.user_score);
        f("UserDiamond", s.user_diamond);
        f("GameID", s.game_id);
        f("GameType", s.game_type);
        f("GameLevel", s.game_level);
    }
    bool operator==(const FastRegisterReply&) const = default;
};

struct SignInDaysReply {
    static constexpr uint32_t kType = kMsgSignInDays;
    bool can = false;
    int32_t days = 0;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("Can", s.can);
        f("Days", s.days);
    }
    bool operator==(const SignInDaysReply&) const = default;
};

struct SignInReply {
    static constexpr uint32_t kType = kMsgSignIn;
    int32_t total_days = 0;
    int64_t score_reward = 0;
    int64_t diamond_reward = 0;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("TotalDays", s.total_days);
        f("ScoreReward", s.score_reward);
        f("DiamondReward", s.diamond_reward);
    }
    bool operator==(const SignInReply&) const = default;
};

struct RankingRequest {
    static constexpr uint32_t kType = kMsgRanking;
    int32_t top = 0;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("Top", s.top);
    }
    bool operator==(const RankingRequest&) const = default;
};

struct RankingEntry {
    int32_t rank = 0;
    int64_t user_id = 0;
    std::string user_name;
    int64_t user_score = 0;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("Rank", s.rank);
        f("UserID", s.user_id);
        f("UserName", s.user_name);
        f("UserScore", s.user_score);
    }
    bool operator==(const RankingEntry&) const = default;
};

struct RankingReply {
    static constexpr uint32_t kType = kMsgRanking;
    std::vector<RankingEntry> entries;
    int32_t my_rank = 0;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("Entries", s.entries);
        f("MyRank", s.my_rank);
    }
    bool operator==(const RankingReply&) const = default;
};

// ---------------------------------------------------------------------------------------------
// Room (mcmd 100)

struct FastLoginRequest {
    static constexpr uint32_t kType = kMsgFastLogin;
    int32_t game_id = 0;
    int32_t game_type = 0;
    int32_t game_level = 0;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("GameID", s.game_id);
        f("GameType", s.game_type);
        f("GameLevel", s.game_level);
    }
    bool operator==(const FastLoginRequest&) const = default;
};

struct FastLoginReply {
    static constexpr uint32_t kType = kMsgFastLogin;
    int32_t game_id = 0;
    int32_t game_type = 0;
    int32_t game_level = 0;
    int32_t table_id = 0;
    int32_t chair_id = 0;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("GameID", s.game_id);
        f("GameType", s.game_type);
        f("GameLevel", s.game_level);
        f("TableID", s.table_id);
        f("ChairID", s.chair_id);
    }
    bool operator==(const FastLoginReply&) const = default;
};

// FastLogin's Errno 9 reply: an ErrorBody that also names the game the user must return to.
struct InAnotherGameError {
    static constexpr uint32_t kType = kMsgFastLogin;
    int32_t err_no = to_int(Errno::kInAnotherGame);
    std::string err_desc;
    int32_t game_id = 0;
    int32_t game_type = 0;
    int32_t game_level = 0;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("Errno", s.err_no);
        f("Errdesc", s.err_desc);
        f("GameID", s.game_id);
        f("GameType", s.game_type);
        f("GameLevel", s.game_level);
    }
    bool operator==(const InAnotherGameError&) const = default;
};

struct NotifySitDown {
    static constexpr uint32_t kType = kMsgNotifySitDown;
    int64_t user_id = 0;
    std::string user_name;
    int32_t user_icon = 0;
    int32_t user_level = 0;
    int32_t user_gender = 0;
    int64_t user_score = 0;
    int64_t user_diamond = 0;
    int32_t table_id = 0;
    int32_t chair_id = 0;
    int32_t user_status = 0;  // kUserStatus*

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("UserID", s.user_id);
        f("UserName", s.user_name);
        f("UserIcon", s.user_icon);
        f("UserLevel", s.user_level);
        f("UserGender", s.user_gender);
        f("UserScore", s.user_score);
        f("UserDiamond", s.user_diamond);
        f("TableID", s.table_id);
        f("ChairID", s.chair_id);
        f("UserStatus", s.user_status);
    }
    bool operator==(const NotifySitDown&) const = default;
};

struct NotifyStandUp {
    static constexpr uint32_t kType = kMsgNotifyStandUp;
    int32_t chair_id = 0;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("ChairID", s.chair_id);
    }
    bool operator==(const NotifyStandUp&) const = default;
};

struct NotifyStatus {
    static constexpr uint32_t kType = kMsgNotifyStatus;
    int32_t chair_id = 0;
    int32_t user_status = 0;  // kUserStatus*

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("ChairID", s.chair_id);
        f("UserStatus", s.user_status);
    }
    bool operator==(const NotifyStatus&) const = default;
};

struct NotifyTreasure {
    static constexpr uint32_t kType = kMsgNotifyTreasure;
    int64_t user_id = 0;
    int64_t var_score = 0;  // signed deltas, not new totals
    int64_t var_diamond = 0;
    int32_t change_type = 0;  // kChangeType*

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("UserID", s.user_id);
        f("VarScore", s.var_score);
        f("VarDiamond", s.var_diamond);
        f("ChangeType", s.change_type);
    }
    bool operator==(const NotifyTreasure&) const = default;
};

struct NotifyKick {
    static constexpr uint32_t kType = kMsgNotifyKick;
    int32_t err_no = 0;
    std::string err_desc;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("Errno", s.err_no);
        f("Errdesc", s.err_desc);
    }
    bool operator==(const NotifyKick&) const = default;
};

struct NotifyGameLost {
    static constexpr uint32_t kType = kMsgNotifyGameLost;
    int32_t game_id = 0;
    int32_t game_type = 0;
    int32_t game_level = 0;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("GameID", s.game_id);
        f("GameType", s.game_type);
        f("GameLevel", s.game_level);
    }
    bool operator==(const NotifyGameLost&) const = default;
};

// ---------------------------------------------------------------------------------------------
// Gomoku (mcmd 150, GameType 2). Wire formats only; the rules live with the game.

namespace gomoku {

struct PlaceStone {
    static constexpr uint32_t kType = kMsgGomokuPlaceStone;
    int32_t position_x = 0;
    int32_t position_y = 0;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("PositionX", s.position_x);
        f("PositionY", s.position_y);
    }
    bool operator==(const PlaceStone&) const = default;
};

struct BroadcastPlaceStone {
    static constexpr uint32_t kType = kMsgGomokuBroadcastPlaceStone;
    bool is_win = false;
    int32_t chair_id = 0;
    int32_t position_x = 0;
    int32_t position_y = 0;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("IsWin", s.is_win);
        f("ChairID", s.chair_id);
        f("PositionX", s.position_x);
        f("PositionY", s.position_y);
    }
    bool operator==(const BroadcastPlaceStone&) const = default;
};

struct NotifyScene {
    static constexpr uint32_t kType = kMsgGomokuNotifyScene;
    int32_t timeout = 0;
    int32_t line_number = 0;
    std::vector<int32_t> board;  // line_number * line_number cells (225 on a 15-line board)
    int32_t current_chair = 0;
    int64_t remaining_ms = 0;
    bool playing = false;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("Timeout", s.timeout);
        f("LineNumber", s.line_number);
        f("Board", s.board);
        f("CurrentChair", s.current_chair);
        f("RemainingMs", s.remaining_ms);
        f("Playing", s.playing);
    }
    bool operator==(const NotifyScene&) const = default;
};

struct BroadcastStart {
    static constexpr uint32_t kType = kMsgGomokuBroadcastStart;
    int32_t chair_id = 0;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("ChairID", s.chair_id);
    }
    bool operator==(const BroadcastStart&) const = default;
};

struct BroadcastConclude {
    static constexpr uint32_t kType = kMsgGomokuBroadcastConclude;
    int32_t winner_chair = 0;
    std::string reason;
    std::vector<int64_t> scores;  // per chair

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("WinnerChair", s.winner_chair);
        f("Reason", s.reason);
        f("Scores", s.scores);
    }
    bool operator==(const BroadcastConclude&) const = default;
};

}  // namespace gomoku

// ---------------------------------------------------------------------------------------------
// Landlords (mcmd 150, GameType 1). Cards are ids 0..53; per-chair arrays are indexed by chair.

namespace landlords {

struct CallScore {
    static constexpr uint32_t kType = kMsgLandlordsCallScore;
    int32_t score = 0;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("Score", s.score);
    }
    bool operator==(const CallScore&) const = default;
};

struct PlayCards {
    static constexpr uint32_t kType = kMsgLandlordsPlayCards;
    std::vector<int32_t> cards;
    std::string type;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("Cards", s.cards);
        f("Type", s.type);
    }
    bool operator==(const PlayCards&) const = default;
};

struct Trustee {
    static constexpr uint32_t kType = kMsgLandlordsTrustee;
    bool on = false;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("On", s.on);
    }
    bool operator==(const Trustee&) const = default;
};

// The play to beat, inside NotifyScene.
struct LastPlay {
    int32_t chair_id = 0;
    std::vector<int32_t> cards;
    std::string type;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("ChairID", s.chair_id);
        f("Cards", s.cards);
        f("Type", s.type);
    }
    bool operator==(const LastPlay&) const = default;
};

struct NotifyScene {
    static constexpr uint32_t kType = kMsgLandlordsNotifyScene;
    int32_t phase = 0;
    std::vector<int32_t> hand;
    std::vector<int32_t> cards_left;
    int32_t landlord_chair = 0;
    std::vector<int32_t> bottom_cards;
    int32_t base_score = 0;
    int32_t multiple = 0;
    int32_t current_chair = 0;
    int64_t remaining_ms = 0;
    LastPlay last_play;
    std::vector<bool> trustee;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("Phase", s.phase);
        f("Hand", s.hand);
        f("CardsLeft", s.cards_left);
        f("LandlordChair", s.landlord_chair);
        f("BottomCards", s.bottom_cards);
        f("BaseScore", s.base_score);
        f("Multiple", s.multiple);
        f("CurrentChair", s.current_chair);
        f("RemainingMs", s.remaining_ms);
        f("LastPlay", s.last_play);
        f("Trustee", s.trustee);
    }
    bool operator==(const NotifyScene&) const = default;
};

struct NotifyDeal {
    static constexpr uint32_t kType = kMsgLandlordsNotifyDeal;
    std::vector<int32_t> cards;
    int32_t first_chair = 0;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("Cards", s.cards);
        f("FirstChair", s.first_chair);
    }
    bool operator==(const NotifyDeal&) const = default;
};

struct BroadcastCallScore {
    static constexpr uint32_t kType = kMsgLandlordsBroadcastCallScore;
    int32_t chair_id = 0;
    int32_t score = 0;
    int32_t next_chair = 0;
    int64_t remaining_ms = 0;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("ChairID", s.chair_id);
        f("Score", s.score);
        f("NextChair", s.next_chair);
        f("RemainingMs", s.remaining_ms);
    }
    bool operator==(const BroadcastCallScore&) const = default;
};

struct BroadcastLandlord {
    static constexpr uint32_t kType = kMsgLandlordsBroadcastLandlord;
    int32_t chair_id = 0;
    std::vector<int32_t> bottom_cards;
    int32_t base_score = 0;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("ChairID", s.chair_id);
        f("BottomCards", s.bottom_cards);
        f("BaseScore", s.base_score);
    }
    bool operator==(const BroadcastLandlord&) const = default;
};

struct BroadcastPlay {
    static constexpr uint32_t kType = kMsgLandlordsBroadcastPlay;
    int32_t chair_id = 0;
    std::vector<int32_t> cards;
    std::string type;
    int32_t next_chair = 0;
    int64_t remaining_ms = 0;
    int32_t multiple = 0;
    std::vector<int32_t> cards_left;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("ChairID", s.chair_id);
        f("Cards", s.cards);
        f("Type", s.type);
        f("NextChair", s.next_chair);
        f("RemainingMs", s.remaining_ms);
        f("Multiple", s.multiple);
        f("CardsLeft", s.cards_left);
    }
    bool operator==(const BroadcastPlay&) const = default;
};

struct BroadcastPass {
    static constexpr uint32_t kType = kMsgLandlordsBroadcastPass;
    int32_t chair_id = 0;
    int32_t next_chair = 0;
    int64_t remaining_ms = 0;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("ChairID", s.chair_id);
        f("NextChair", s.next_chair);
        f("RemainingMs", s.remaining_ms);
    }
    bool operator==(const BroadcastPass&) const = default;
};

struct BroadcastConclude {
    static constexpr uint32_t kType = kMsgLandlordsBroadcastConclude;
    bool landlord_win = false;
    bool spring = false;
    int32_t multiple = 0;
    std::vector<int64_t> scores;
    std::vector<std::vector<int32_t>> hands;  // what each chair still held

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("LandlordWin", s.landlord_win);
        f("Spring", s.spring);
        f("Multiple", s.multiple);
        f("Scores", s.scores);
        f("Hands", s.hands);
    }
    bool operator==(const BroadcastConclude&) const = default;
};

struct BroadcastTrustee {
    static constexpr uint32_t kType = kMsgLandlordsBroadcastTrustee;
    int32_t chair_id = 0;
    bool on = false;

    template <class S, class F>
    static void fields(S& s, F&& f) {
        f("ChairID", s.chair_id);
        f("On", s.on);
    }
    bool operator==(const BroadcastTrustee&) const = default;
};

}  // namespace landlords

}  // namespace tb::codec
