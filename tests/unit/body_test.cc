#include "codec/body.h"

#include <catch2/catch.hpp>
#include <msgpack.hpp>
#include <nlohmann/json.hpp>

using tb::codec::BodyError;
using tb::codec::json_to_msgpack;
using tb::codec::msgpack_to_json;
using Json = nlohmann::json;

namespace {

// JSON -> msgpack -> JSON, compared as values (key order and spacing may differ).
Json round_trip(const std::string& text) {
    std::string mp;
    REQUIRE(json_to_msgpack(text, mp) == BodyError::kOk);
    std::string back;
    REQUIRE(msgpack_to_json(mp, back) == BodyError::kOk);
    return Json::parse(back);
}

std::string packed(const auto& value) {
    msgpack::sbuffer buf;
    msgpack::pack(buf, value);
    return std::string(buf.data(), buf.size());
}

}  // namespace

TEST_CASE("a protocol body survives JSON to msgpack and back unchanged in meaning", "[codec]") {
    const std::string body =
        R"({"UserID":1,"UserName":"ann","UserScore":10000,"VarScore":-100,"IsWin":true,)"
        R"("Cards":[0,1,53],"LastPlay":{"ChairID":2,"Cards":[],"Type":"pair"},"Ratio":0.5})";
    CHECK(round_trip(body) == Json::parse(body));
}

TEST_CASE("bare JSON values and an empty body convert", "[codec]") {
    CHECK(round_trip("42") == Json(42));
    CHECK(round_trip(R"("text")") == Json("text"));
    CHECK(round_trip("null") == Json(nullptr));
    std::string out = "stale";
    CHECK(json_to_msgpack("", out) == BodyError::kOk);
    CHECK(out.empty());
    CHECK(json_to_msgpack(" \r\n", out) == BodyError::kOk);
    CHECK(out.empty());
    CHECK(msgpack_to_json("", out) == BodyError::kOk);
    CHECK(out.empty());
}

TEST_CASE("64-bit scores keep every digit", "[codec]") {
    const auto v = round_trip(R"({"UserScore":9007199254740993,"Low":-9223372036854775808})");
    CHECK(v["UserScore"].get<int64_t>() == 9007199254740993LL);
    CHECK(v["Low"].get<int64_t>() == INT64_MIN);
}

TEST_CASE("UTF-8 names pass and invalid UTF-8 is refused both ways", "[codec]") {
    CHECK(round_trip(R"({"Name":"斗地主 ♠"})")["Name"] == "斗地主 ♠");
    std::string out;
    CHECK(json_to_msgpack("{\"Name\":\"\xff\xfe\"}", out) == BodyError::kInvalidUtf8);
    CHECK(json_to_msgpack("{\"Name\":\"\xc0\xaf\"}", out) == BodyError::kInvalidUtf8);  // overlong
    CHECK(json_to_msgpack("{\"Name\":\"\xed\xa0\x80\"}", out) == BodyError::kInvalidUtf8);
    CHECK(msgpack_to_json(packed(std::string("\xff")), out) == BodyError::kInvalidUtf8);
    std::map<std::string, int> bad_key{{"\xc3", 1}};
    CHECK(msgpack_to_json(packed(bad_key), out) == BodyError::kInvalidUtf8);
}

TEST_CASE("JSON syntax errors and trailing garbage are refused", "[codec]") {
    std::string out;
    CHECK(json_to_msgpack(R"({"UserID":)", out) == BodyError::kSyntax);
    CHECK(json_to_msgpack(R"({"UserID":1} x)", out) == BodyError::kSyntax);
    CHECK(json_to_msgpack(R"({UserID:1})", out) == BodyError::kSyntax);
    CHECK(out.empty());
}

TEST_CASE("deep nesting is refused before anything recursive sees it", "[codec]") {
    std::string out;
    const std::string ok = std::string(32, '[') + std::string(32, ']');
    CHECK(json_to_msgpack(ok, out) == BodyError::kOk);
    const std::string deep = std::string(33, '[') + std::string(33, ']');
    CHECK(json_to_msgpack(deep, out) == BodyError::kTooDeep);
    const std::string hostile(8000, '[');
    CHECK(json_to_msgpack(hostile, out) == BodyError::kTooDeep);
    // Brackets inside strings do not count.
    CHECK(json_to_msgpack(R"({"Text":")" + std::string(100, '[') + R"("})", out) == BodyError::kOk);

    std::string deep_mp(40, '\x91');  // 40 nested one-element arrays
    deep_mp += '\x01';
    CHECK(msgpack_to_json(deep_mp, out) == BodyError::kTooDeep);
}

TEST_CASE("bodies over the size limits are refused", "[codec]") {
    std::string out;
    const std::string big_json = "\"" + std::string(8200, 'a') + "\"";
    CHECK(json_to_msgpack(big_json, out) == BodyError::kTooLarge);
    CHECK(msgpack_to_json(packed(std::string(8200, 'a')), out) == BodyError::kTooLarge);
    // A msgpack body that fits but whose JSON would not fit a client frame.
    std::vector<std::string> many(1000, std::string("\x01"));
    CHECK(msgpack_to_json(packed(many), out, 8184) == BodyError::kTooLarge);
    // Containers that claim more elements than the limits allow.
    const std::string huge_array("\xdd\x00\x10\x00\x00", 5);  // array32 of 1,048,576
    CHECK(msgpack_to_json(huge_array, out) == BodyError::kTooMany);
    const std::string huge_map("\xdf\x00\x01\x00\x00", 5);  // map32 of 65,536
    CHECK(msgpack_to_json(huge_map, out) == BodyError::kTooMany);
}

TEST_CASE("msgpack that JSON cannot carry is refused", "[codec]") {
    std::string out;
    CHECK(msgpack_to_json(std::string("\xc4\x01\x00", 3), out) != BodyError::kOk);  // bin
    std::map<int, int> int_keys{{1, 2}};
    CHECK(msgpack_to_json(packed(int_keys), out) == BodyError::kUnsupported);
    CHECK(msgpack_to_json(packed(std::numeric_limits<double>::quiet_NaN()), out) ==
          BodyError::kUnsupported);
}

TEST_CASE("truncated and trailing msgpack is refused", "[codec]") {
    std::string out;
    auto full = packed(std::map<std::string, int>{{"UserID", 7}});
    CHECK(msgpack_to_json(full.substr(0, full.size() - 1), out) == BodyError::kSyntax);
    CHECK(msgpack_to_json(full + "\x01", out) == BodyError::kSyntax);
    CHECK(msgpack_to_json(std::string("\xc1", 1), out) == BodyError::kSyntax);  // never used
}

namespace {

// Bodies whose object keys are already in sorted order: the value tree (which sorts keys)
// and the one-pass conversion must then write the very same bytes.
std::vector<std::string> sorted_key_bodies() {
    std::vector<std::string> v = {
        R"({"A":0,"B":127,"C":128,"D":255,"E":256,"F":65535,"G":65536,"H":4294967295,)"
        R"("I":4294967296,"J":18446744073709551615})",
        R"({"A":-1,"B":-32,"C":-33,"D":-128,"E":-129,"F":-32768,"G":-32769,)"
        R"("H":-2147483648,"I":-2147483649,"J":-9223372036854775808,"K":-0})",
        R"({"Empty":"","Esc":"q\" b\\ \b\f\n\r\t \u0001\u001f \u007f é 斗 /","Off":false,"On":true,)"
        R"("Z":null})",
        R"({"a":[],"b":{},"c":[[1,[2,[3]]],{"d":{"e":[true,null]}}]})",
        R"([1,"two",{"three":3}])",
        R"("bare")",
        "7",
    };
    for (const std::size_t n : {31, 32, 255, 256, 300}) {
        v.push_back("{\"S\":\"" + std::string(n, 'x') + "\"}");
    }
    for (const int n : {15, 16, 300}) {
        std::string arr = "[";
        for (int i = 0; i < n; ++i) arr += (i == 0 ? "" : ",") + std::to_string(i);
        v.push_back(arr + "]");
    }
    for (const int n : {15, 16, 40}) {
        std::string obj = "{";
        for (int i = 0; i < n; ++i) {
            obj += (i == 0 ? "\"k" : ",\"k") + std::to_string(100 + i) + "\":" + std::to_string(i);
        }
        v.push_back(obj + "}");
    }
    return v;
}

}  // namespace

TEST_CASE("the one-pass conversion writes exactly what the value tree writes", "[codec]") {
    for (const auto& text : sorted_key_bodies()) {
        INFO(text);
        std::vector<uint8_t> tree_bytes;
        Json::to_msgpack(Json::parse(text), tree_bytes);
        const std::string tree(tree_bytes.begin(), tree_bytes.end());
        std::string mp;
        REQUIRE(json_to_msgpack(text, mp) == BodyError::kOk);
        CHECK(mp == tree);
        std::string json;
        REQUIRE(msgpack_to_json(tree, json) == BodyError::kOk);
        CHECK(json == Json::from_msgpack(tree_bytes).dump());
    }
}

TEST_CASE("keys keep the sender's order; a repeated key keeps the last value", "[codec]") {
    std::string mp;
    REQUIRE(json_to_msgpack(R"({"b":1,"a":2})", mp) == BodyError::kOk);
    CHECK(mp == std::string("\x82\xa1"
                            "b\x01\xa1"
                            "a\x02",
                            7));
    std::string json;
    REQUIRE(msgpack_to_json(mp, json) == BodyError::kOk);
    CHECK(json == R"({"b":1,"a":2})");
    // Repeats are rare enough to be left to the value tree, which keeps the last.
    REQUIRE(json_to_msgpack(R"({"a":1,"b":[1],"a":3})", mp) == BodyError::kOk);
    CHECK(Json::from_msgpack(mp) == Json::parse(R"({"a":3,"b":[1]})"));
    const std::string repeated(
        "\x82\xa1"
        "a\x01\xa1"
        "a\x02",
        7);
    REQUIRE(msgpack_to_json(repeated, json) == BodyError::kOk);
    CHECK(json == R"({"a":2})");
    // A key repeated in another object is no repeat.
    REQUIRE(json_to_msgpack(R"({"a":{"a":1},"b":{"a":2}})", mp) == BodyError::kOk);
    REQUIRE(msgpack_to_json(mp, json) == BodyError::kOk);
    CHECK(json == R"({"a":{"a":1},"b":{"a":2}})");
}
