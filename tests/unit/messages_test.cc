// Message structs and their msgpack encoding (codec/messages.h). Inputs are built with
// msgpack::packer directly so these tests do not depend on the JSON converter.

#include "codec/messages.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace tb::codec;
using Packer = msgpack::packer<msgpack::sbuffer>;

template <class Fn>
std::string packed(Fn&& fn) {
    msgpack::sbuffer buf;
    Packer pk(buf);
    fn(pk);
    return std::string(buf.data(), buf.size());
}

void pack_key(Packer& pk, std::string_view s) {
    pk.pack_str(static_cast<uint32_t>(s.size()));
    pk.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}

// A one-field map {key: <whatever value_fn packs>}.
template <class Fn>
std::string one_field(std::string_view key, Fn&& value_fn) {
    return packed([&](Packer& pk) {
        pk.pack_map(1);
        pack_key(pk, key);
        value_fn(pk);
    });
}

template <class T>
T round_trip(const T& msg) {
    T out;
    REQUIRE(decode(encode(msg), out) == MsgError::kOk);
    return out;
}

NotifySitDown sample_sit_down() {
    NotifySitDown m;
    m.user_id = std::numeric_limits<int64_t>::max();
    m.user_name = "玩家 one";
    m.user_icon = 3;
    m.user_level = 7;
    m.user_gender = 1;
    m.user_score = -1234567890123;
    m.user_diamond = 42;
    m.table_id = 12;
    m.chair_id = 2;
    m.user_status = kUserStatusReady;
    return m;
}

landlords::NotifyScene sample_scene() {
    landlords::NotifyScene m;
    m.phase = 2;
    m.hand = {0, 1, 17, 52, 53};
    m.cards_left = {5, 17, 0};
    m.landlord_chair = 1;
    m.bottom_cards = {3, 4, 5};
    m.base_score = 3;
    m.multiple = 4;
    m.current_chair = 2;
    m.remaining_ms = 15000;
    m.last_play = {1, {8, 9, 10, 11, 12}, "straight"};
    m.trustee = {false, true, false};
    return m;
}

}  // namespace

TEST_CASE("msg_type puts the main command above the sub command", "[codec]") {
    static_assert(msg_type(150, 1) == 0x00960001u);
    static_assert(mcmd_of(msg_type(100, 106)) == 100);
    static_assert(scmd_of(msg_type(100, 106)) == 106);
    CHECK(msg_type(0xFFFF, 0xFFFF) == 0xFFFFFFFFu);
    CHECK(mcmd_of(0xFFFF0001u) == 0xFFFF);
    CHECK(scmd_of(0xFFFF0001u) == 1);
    CHECK(kMsgNotice == msg_type(0, 1));
    CHECK(kMsgFastRegister == msg_type(1, 1));
    CHECK(kMsgRanking == msg_type(1, 4));
    CHECK(kMsgNotifyGameLost == msg_type(100, 106));
    // Both games share mcmd 150; only the seat's GameType tells them apart.
    CHECK(kMsgGomokuPlaceStone == kMsgLandlordsCallScore);
    CHECK(gomoku::NotifyScene::kType == msg_type(150, 201));
    CHECK(landlords::BroadcastTrustee::kType == msg_type(150, 208));
    CHECK(InAnotherGameError::kType == kMsgFastLogin);
}

TEST_CASE("A flat message survives an encode and decode unchanged", "[codec]") {
    const NotifySitDown m = sample_sit_down();
    CHECK(round_trip(m) == m);

    FastRegisterRequest req{"acct", "secret", "machine-1", "Name", 4, 2, "10.0.0.7"};
    CHECK(round_trip(req) == req);

    NotifyTreasure t{1, -500, -7, kChangeTypeWinLose};
    CHECK(round_trip(t) == t);
}

TEST_CASE("Encoding writes every field by its wire name, zero values included", "[codec]") {
    const std::string bytes = encode(FastRegisterReply{});
    msgpack::object_handle oh = msgpack::unpack(bytes.data(), bytes.size());
    const msgpack::object& obj = oh.get();
    REQUIRE(obj.type == msgpack::type::MAP);
    REQUIRE(obj.via.map.size == 11);
    std::vector<std::string> keys;
    for (uint32_t i = 0; i < obj.via.map.size; ++i) {
        keys.push_back(obj.via.map.ptr[i].key.as<std::string>());
    }
    CHECK(keys == std::vector<std::string>{"UserID", "UserName", "UserIcon", "UserLevel",
                                           "UserGender", "BindPhone", "UserScore", "UserDiamond",
                                           "GameID", "GameType", "GameLevel"});
    CHECK(obj.via.map.ptr[0].val.type == msgpack::type::POSITIVE_INTEGER);
    CHECK(obj.via.map.ptr[1].val.type == msgpack::type::STR);

    // An empty body is still a map, so every reply is decodable the same way.
    CHECK(encode(Empty{}) == std::string("\x80", 1));
}

TEST_CASE("A message with a nested struct and a bool array survives a round trip", "[codec]") {
    const landlords::NotifyScene m = sample_scene();
    CHECK(round_trip(m) == m);
    CHECK(round_trip(m).trustee == std::vector<bool>{false, true, false});
    CHECK(round_trip(m).last_play.type == "straight");
}

TEST_CASE("A message with an array of structs survives a round trip", "[codec]") {
    RankingReply m;
    m.my_rank = 3;
    for (int32_t i = 1; i <= 50; ++i) {
        m.entries.push_back({i, 1000 + i, "user" + std::to_string(i), 100000 - i});
    }
    CHECK(round_trip(m) == m);
    CHECK(round_trip(RankingReply{}).entries.empty());
}

TEST_CASE("A message with an array of arrays survives a round trip", "[codec]") {
    landlords::BroadcastConclude m;
    m.landlord_win = true;
    m.spring = true;
    m.multiple = 8;
    m.scores = {-4000000000, 2000000000, 2000000000};
    m.hands = {{}, {0, 1, 2}, {53}};
    CHECK(round_trip(m) == m);
}

TEST_CASE("A 225-cell gomoku board survives a round trip", "[codec]") {
    gomoku::NotifyScene m;
    m.timeout = 30;
    m.line_number = 15;
    m.board.resize(225);
    for (std::size_t i = 0; i < m.board.size(); ++i) m.board[i] = static_cast<int32_t>(i % 3);
    m.current_chair = 1;
    m.remaining_ms = 29000;
    m.playing = true;
    CHECK(round_trip(m) == m);
}

TEMPLATE_TEST_CASE("Every message struct round-trips its zero value", "[codec]", Empty, ErrorBody,
                   Notice, FastRegisterRequest, FastRegisterReply, SignInDaysReply, SignInReply,
                   RankingRequest, RankingEntry, RankingReply, FastLoginRequest, FastLoginReply,
                   InAnotherGameError, NotifySitDown, NotifyStandUp, NotifyStatus, NotifyTreasure,
                   NotifyKick, NotifyGameLost, gomoku::PlaceStone, gomoku::BroadcastPlaceStone,
                   gomoku::NotifyScene, gomoku::BroadcastStart, gomoku::BroadcastConclude,
                   landlords::CallScore, landlords::PlayCards, landlords::Trustee,
                   landlords::LastPlay, landlords::NotifyScene, landlords::NotifyDeal,
                   landlords::BroadcastCallScore, landlords::BroadcastLandlord,
                   landlords::BroadcastPlay, landlords::BroadcastPass, landlords::BroadcastConclude,
                   landlords::BroadcastTrustee) {
    const TestType zero{};
    CHECK(round_trip(zero) == zero);
}

TEST_CASE("Missing fields decode as zero", "[codec]") {
    NotifySitDown out = sample_sit_down();
    const std::string bytes = one_field("UserName", [](Packer& pk) { pk.pack(std::string("x")); });
    REQUIRE(decode(bytes, out) == MsgError::kOk);
    NotifySitDown expected;
    expected.user_name = "x";
    CHECK(out == expected);

    landlords::NotifyScene scene = sample_scene();
    REQUIRE(decode(std::string("\x80", 1), scene) == MsgError::kOk);
    CHECK(scene == landlords::NotifyScene{});
}

TEST_CASE("An empty body decodes as a message with every field zero", "[codec]") {
    NotifySitDown out = sample_sit_down();
    CHECK(decode(std::string_view{}, out) == MsgError::kOk);
    CHECK(out == NotifySitDown{});
    Empty e;
    CHECK(decode(std::string_view{}, e) == MsgError::kOk);
}

TEST_CASE("Unknown fields and non-string keys are ignored", "[codec]") {
    const std::string bytes = packed([](Packer& pk) {
        pk.pack_map(6);
        pack_key(pk, "PositionX");
        pk.pack(7);
        pack_key(pk, "Extra");
        pk.pack_array(2);
        pk.pack(std::string("\xff"));  // not validated: nobody reads it
        pk.pack_nil();
        pk.pack(5);  // integer key
        pk.pack(std::string("five"));
        pk.pack_array(0);  // array key
        pk.pack(1);
        pack_key(pk, "positiony");  // keys are case sensitive
        pk.pack(99);
        pack_key(pk, "PositionY");
        pk.pack(8);
    });
    gomoku::PlaceStone out;
    REQUIRE(decode(bytes, out) == MsgError::kOk);
    CHECK(out.position_x == 7);
    CHECK(out.position_y == 8);

    // Extra keys inside nested maps too.
    const std::string nested = one_field("LastPlay", [](Packer& pk) {
        pk.pack_map(2);
        pack_key(pk, "ChairID");
        pk.pack(2);
        pack_key(pk, "Bonus");
        pk.pack(true);
    });
    landlords::NotifyScene scene;
    REQUIRE(decode(nested, scene) == MsgError::kOk);
    CHECK(scene.last_play.chair_id == 2);
}

TEST_CASE("A repeated key takes its last value", "[codec]") {
    const std::string bytes = packed([](Packer& pk) {
        pk.pack_map(2);
        pack_key(pk, "ChairID");
        pk.pack(1);
        pack_key(pk, "ChairID");
        pk.pack(2);
    });
    NotifyStandUp out;
    REQUIRE(decode(bytes, out) == MsgError::kOk);
    CHECK(out.chair_id == 2);
}

TEST_CASE("Nil values decode as zero", "[codec]") {
    const std::string bytes = packed([](Packer& pk) {
        pk.pack_map(5);
        pack_key(pk, "Phase");
        pk.pack_nil();
        pack_key(pk, "Hand");
        pk.pack_nil();
        pack_key(pk, "LastPlay");
        pk.pack_nil();
        pack_key(pk, "Trustee");
        pk.pack_array(2);
        pk.pack_nil();
        pk.pack(true);
        pack_key(pk, "CardsLeft");
        pk.pack_array(2);
        pk.pack(4);
        pk.pack_nil();
    });
    landlords::NotifyScene out = sample_scene();
    REQUIRE(decode(bytes, out) == MsgError::kOk);
    landlords::NotifyScene expected;
    expected.trustee = {false, true};
    expected.cards_left = {4, 0};
    CHECK(out == expected);

    Notice notice{"hello", 2};
    REQUIRE(decode(one_field("Text", [](Packer& pk) { pk.pack_nil(); }), notice) == MsgError::kOk);
    CHECK(notice == Notice{});
}

TEST_CASE("A value of the wrong type rejects the message and leaves the output unchanged",
          "[codec]") {
    const landlords::NotifyScene before = sample_scene();
    landlords::NotifyScene out = before;
    std::string bytes;

    SECTION("string for an integer") {
        bytes = one_field("Phase", [](Packer& pk) { pk.pack(std::string("2")); });
    }
    SECTION("integer for a string") {
        bytes = one_field("LastPlay", [](Packer& pk) {
            pk.pack_map(1);
            pack_key(pk, "Type");
            pk.pack(3);
        });
    }
    SECTION("float for an integer") {
        bytes = one_field("Multiple", [](Packer& pk) { pk.pack(2.5); });
    }
    // msgpack-c packs integral doubles as integers, so whole-valued floats are written by hand.
    SECTION("whole float64 for an integer") {
        bytes = std::string("\x81\xa8Multiple\xcb\x40\x00\x00\x00\x00\x00\x00\x00", 19);
    }
    SECTION("whole float32 for an integer") {
        bytes = std::string("\x81\xa8Multiple\xca\x40\x00\x00\x00", 15);
    }
    SECTION("integer for a bool") {
        bytes = one_field("Trustee", [](Packer& pk) {
            pk.pack_array(1);
            pk.pack(1);
        });
    }
    SECTION("bool for an integer") {
        bytes = one_field("Phase", [](Packer& pk) { pk.pack(true); });
    }
    SECTION("map for an array") {
        bytes = one_field("Hand", [](Packer& pk) { pk.pack_map(0); });
    }
    SECTION("array for a nested struct") {
        bytes = one_field("LastPlay", [](Packer& pk) { pk.pack_array(0); });
    }
    SECTION("bin for an array") {
        bytes = one_field("Hand", [](Packer& pk) { pk.pack_bin(0); });
    }
    SECTION("wrong element type inside an array") {
        bytes = one_field("Hand", [](Packer& pk) {
            pk.pack_array(3);
            pk.pack(1);
            pk.pack(std::string("2"));
            pk.pack(3);
        });
    }
    SECTION("negative integer below the int32 range") {
        bytes = one_field(
            "Phase", [](Packer& pk) { pk.pack(int64_t{std::numeric_limits<int32_t>::min()} - 1); });
    }
    SECTION("positive integer above the int32 range") {
        bytes = one_field("BaseScore", [](Packer& pk) {
            pk.pack(int64_t{std::numeric_limits<int32_t>::max()} + 1);
        });
    }
    SECTION("integer above the int64 range") {
        bytes = one_field("RemainingMs", [](Packer& pk) {
            pk.pack(uint64_t{std::numeric_limits<int64_t>::max()} + 1);
        });
    }
    SECTION("a good field followed by a bad one") {
        bytes = packed([](Packer& pk) {
            pk.pack_map(2);
            pack_key(pk, "Phase");
            pk.pack(1);
            pack_key(pk, "CardsLeft");
            pk.pack(std::string("17"));
        });
    }
    CAPTURE(bytes.size());
    CHECK(decode(bytes, out) == MsgError::kMalformed);
    CHECK(out == before);
}

TEST_CASE("Integer fields accept their whole range", "[codec]") {
    NotifyTreasure out;
    const std::string bytes = packed([](Packer& pk) {
        pk.pack_map(3);
        pack_key(pk, "UserID");
        pk.pack(std::numeric_limits<int64_t>::max());
        pack_key(pk, "VarScore");
        pk.pack(std::numeric_limits<int64_t>::min());
        pack_key(pk, "ChangeType");
        pk.pack(std::numeric_limits<int32_t>::min());
    });
    REQUIRE(decode(bytes, out) == MsgError::kOk);
    CHECK(out.user_id == std::numeric_limits<int64_t>::max());
    CHECK(out.var_score == std::numeric_limits<int64_t>::min());
    CHECK(out.change_type == std::numeric_limits<int32_t>::min());

    // Unsigned wire formats carrying small values are still just integers.
    NotifyStandUp s;
    REQUIRE(decode(one_field("ChairID", [](Packer& pk) { pk.pack_uint64(2); }), s) ==
            MsgError::kOk);
    CHECK(s.chair_id == 2);
}

TEST_CASE("A body that is not a map is rejected", "[codec]") {
    NotifyStandUp out{5};
    CHECK(decode(packed([](Packer& pk) { pk.pack_array(0); }), out) == MsgError::kMalformed);
    CHECK(decode(packed([](Packer& pk) { pk.pack(1); }), out) == MsgError::kMalformed);
    CHECK(decode(packed([](Packer& pk) { pk.pack(std::string("x")); }), out) ==
          MsgError::kMalformed);
    CHECK(decode(packed([](Packer& pk) { pk.pack_nil(); }), out) == MsgError::kMalformed);
    CHECK(decode(packed([](Packer& pk) { pk.pack_bin(0); }), out) == MsgError::kMalformed);
    CHECK(out.chair_id == 5);
}

TEST_CASE("Truncated msgpack and trailing bytes are rejected", "[codec]") {
    const std::string bytes = encode(sample_scene());
    const landlords::NotifyScene before = sample_scene();
    for (std::size_t len = 1; len < bytes.size(); ++len) {
        landlords::NotifyScene out = before;
        CAPTURE(len);
        CHECK(decode(std::string_view(bytes.data(), len), out) == MsgError::kMalformed);
        CHECK(out == before);
    }
    landlords::NotifyScene out;
    CHECK(decode(bytes + std::string("\x01", 1), out) == MsgError::kMalformed);
    CHECK(decode(bytes + bytes, out) == MsgError::kMalformed);
    // 0xc1 is the one byte msgpack never uses.
    CHECK(decode(std::string("\xc1", 1), out) == MsgError::kMalformed);
    CHECK(out == landlords::NotifyScene{});
}

TEST_CASE("Bodies beyond the unpack limits are rejected without crashing", "[codec]") {
    landlords::NotifyDeal out{{1, 2}, 1};
    const landlords::NotifyDeal before = out;

    SECTION("nesting deeper than the depth limit") {
        // The top-level map counts as one level.
        const auto nested = [](std::size_t arrays) {
            return one_field("Deep", [arrays](Packer& pk) {
                for (std::size_t i = 0; i < arrays; ++i) pk.pack_array(1);
                pk.pack(0);
            });
        };
        CHECK(decode(nested(static_cast<std::size_t>(kMaxDepth) - 1), out) == MsgError::kOk);
        out = before;
        CHECK(decode(nested(static_cast<std::size_t>(kMaxDepth)), out) == MsgError::kMalformed);
        CHECK(decode(nested(10000), out) == MsgError::kMalformed);
    }
    SECTION("an array longer than the array limit") {
        const auto cards = [](std::size_t n) {
            return one_field("Cards", [n](Packer& pk) {
                pk.pack_array(static_cast<uint32_t>(n));
                for (std::size_t i = 0; i < n; ++i) pk.pack(1);
            });
        };
        REQUIRE(decode(cards(kMaxArrayLen), out) == MsgError::kOk);
        CHECK(out.cards.size() == kMaxArrayLen);
        out = before;
        CHECK(decode(cards(kMaxArrayLen + 1), out) == MsgError::kMalformed);
    }
    SECTION("an array header claiming four billion elements") {
        // {"Cards": array32 of 0xffffffff} with no elements after it.
        const std::string bytes =
            one_field("Cards", [](Packer& pk) { pk.pack_array(0xFFFFFFFFu); });
        CHECK(decode(bytes, out) == MsgError::kMalformed);
    }
    SECTION("a map larger than the map limit") {
        const std::string bytes = packed([](Packer& pk) {
            pk.pack_map(static_cast<uint32_t>(kMaxMapLen + 1));
            for (std::size_t i = 0; i <= kMaxMapLen; ++i) {
                pk.pack(static_cast<int64_t>(i));
                pk.pack_nil();
            }
        });
        CHECK(decode(bytes, out) == MsgError::kMalformed);
    }
    SECTION("a string longer than the string limit") {
        const std::string big(kMaxStringBytes + 1, 'a');
        CHECK(decode(one_field("Note", [&big](Packer& pk) { pk.pack(big); }), out) ==
              MsgError::kMalformed);
    }
    SECTION("bin and ext values") {
        const std::string bin = one_field("Blob", [](Packer& pk) {
            pk.pack_bin(1);
            pk.pack_bin_body("x", 1);
        });
        const std::string ext = one_field("Ext", [](Packer& pk) {
            pk.pack_ext(1, 5);
            pk.pack_ext_body("x", 1);
        });
        CHECK(decode(bin, out) == MsgError::kMalformed);
        CHECK(decode(ext, out) == MsgError::kMalformed);
    }
    CHECK(out == before);
}

TEST_CASE("Strings that are not valid UTF-8 are rejected", "[codec]") {
    const auto text = [](std::string s) {
        return one_field("Text", [&s](Packer& pk) { pk.pack(s); });
    };
    Notice out{"keep", 1};
    for (const char* bad : {"\xff", "a\x80", "\xc0\xaf", "\xc2", "\xe2\x82", "\xed\xa0\x80",
                            "\xf4\x90\x80\x80", "\xf0\x82\x82\xac", "\xf8\x88\x80\x80\x80"}) {
        CAPTURE(std::string_view(bad));
        CHECK(decode(text(bad), out) == MsgError::kMalformed);
        CHECK(out == Notice{"keep", 1});
    }
    for (const char* good : {"", "plain", "€", "中文", "\xf0\x9d\x84\x9e", "\xf4\x8f\xbf\xbf",
                             "\xef\xbf\xbf", "\xed\x9f\xbf"}) {
        CAPTURE(std::string_view(good));
        REQUIRE(decode(text(good), out) == MsgError::kOk);
        CHECK(out.text == good);
    }
    // An embedded NUL is valid UTF-8 and is kept.
    REQUIRE(decode(text(std::string("a\0b", 3)), out) == MsgError::kOk);
    CHECK(out.text == std::string("a\0b", 3));
}

TEST_CASE("Decoding an already unpacked object matches decoding the bytes", "[codec]") {
    const landlords::NotifyScene m = sample_scene();
    const std::string bytes = encode(m);
    msgpack::object_handle oh = msgpack::unpack(bytes.data(), bytes.size());
    landlords::NotifyScene out;
    REQUIRE(decode(oh.get(), out) == MsgError::kOk);
    CHECK(out == m);

    msgpack::object_handle arr = msgpack::unpack("\x90", 1);
    CHECK(decode(arr.get(), out) == MsgError::kMalformed);
    CHECK(out == m);

    // encode_into lets a node put a body inside a larger document.
    msgpack::sbuffer buf;
    Packer pk(buf);
    pk.pack_array(2);
    pk.pack(7);
    encode_into(pk, m);
    msgpack::object_handle doc = msgpack::unpack(buf.data(), buf.size());
    landlords::NotifyScene inner;
    REQUIRE(decode(doc.get().via.array.ptr[1], inner) == MsgError::kOk);
    CHECK(inner == m);
}

TEST_CASE("A malformed body maps to the protocol's Errno 2", "[codec]") {
    CHECK(to_errno(MsgError::kMalformed) == Errno::kMalformed);
    CHECK(to_int(to_errno(MsgError::kMalformed)) == 2);
    CHECK(to_errno(MsgError::kOk) == Errno::kOk);
    CHECK(msg_error_name(MsgError::kMalformed) == "malformed");

    const ErrorBody e = ErrorBody::of(Errno::kMalformed);
    CHECK(e.err_no == 2);
    CHECK(e.err_desc == errno_text(Errno::kMalformed));
    CHECK(round_trip(e) == e);

    InAnotherGameError busy;
    CHECK(busy.err_no == 9);
}

TEST_CASE("GameType and game kind names map both ways", "[codec]") {
    CHECK(game_kind_name(kGameTypeLandlords) == "landlords");
    CHECK(game_kind_name(kGameTypeGomoku) == "gomoku");
    CHECK(game_kind_name(0).empty());
    CHECK(game_kind_name(3).empty());
    CHECK(game_type_of_kind("landlords") == 1);
    CHECK(game_type_of_kind("gomoku") == 2);
    CHECK(game_type_of_kind("chess") == 0);
    CHECK(game_type_of_kind("") == 0);
}
