// The login node's field rules (nodes/login/login_rules.h): what FastRegister accepts, the
// defaults it applies, the GameID of a game node's identity and the Ranking Top.
#include "nodes/login/login_rules.h"

#include <catch2/catch.hpp>
#include <string>

using namespace tb::login;
using tb::codec::FastRegisterRequest;

namespace {

FastRegisterRequest good() {
    FastRegisterRequest r;
    r.account = "ann";
    r.password = "pw";
    r.machine = "ann-phone-0123456789";
    r.name = "Ann";
    r.icon = 1;
    r.gender = 2;
    r.ip = "10.0.0.1";
    return r;
}

}  // namespace

TEST_CASE("accounts are 1..32 characters of [A-Za-z0-9_.@-]", "[login]") {
    CHECK(valid_account("a"));
    CHECK(valid_account("Ann_Lee.99@mail-x"));
    CHECK(valid_account(std::string(32, 'x')));
    CHECK_FALSE(valid_account(""));
    CHECK_FALSE(valid_account(std::string(33, 'x')));
    CHECK_FALSE(valid_account("ann lee"));
    CHECK_FALSE(valid_account("ann!"));
    CHECK_FALSE(valid_account("ann+1"));
    CHECK_FALSE(valid_account("\xe5\xae\x89"));  // 安: letters only from ASCII
    CHECK_FALSE(valid_account(std::string("a\0b", 3)));
}

TEST_CASE("names are 1..32 bytes of UTF-8 without control characters", "[login]") {
    CHECK(valid_name("Ann"));
    CHECK(valid_name("\xe5\xae\x89\xe5\xa6\xae"));  // 安妮
    CHECK(valid_name(std::string(32, 'n')));
    // 11 three-byte characters are 33 bytes: the limit is in bytes, not characters.
    std::string han;
    for (int i = 0; i < 11; ++i) han += "\xe5\xae\x89";
    CHECK_FALSE(valid_name(han));
    CHECK(valid_name(han.substr(0, 30)));
    CHECK_FALSE(valid_name(""));
    CHECK_FALSE(valid_name(std::string(33, 'n')));
    CHECK_FALSE(valid_name("\xe5\xae"));  // truncated sequence
    CHECK_FALSE(valid_name("\xc0\xaf"));  // overlong
    CHECK_FALSE(valid_name("a\nb"));
    CHECK_FALSE(valid_name("a\x7f"));
    CHECK_FALSE(valid_name(std::string("a\0b", 3)));
}

TEST_CASE("a good FastRegister passes through to the db request unchanged", "[login]") {
    const auto c = check_register(good());
    REQUIRE(c.ok());
    CHECK(c.request.account == "ann");
    CHECK(c.request.password == "pw");
    CHECK(c.request.machine == "ann-phone-0123456789");
    CHECK(c.request.name == "Ann");
    CHECK(c.request.icon == 1);
    CHECK(c.request.gender == 2);
    CHECK(c.request.ip == "10.0.0.1");
}

TEST_CASE("FastRegister defaults: Name from the Account, Gender 0 is unknown", "[login]") {
    auto r = good();
    r.name.clear();
    r.gender = 0;
    const auto c = check_register(r);
    REQUIRE(c.ok());
    CHECK(c.request.name == "ann");
    CHECK(c.request.gender == kGenderUnknown);
    for (const int32_t g : {1, 2, 3}) {
        r.gender = g;
        CHECK(check_register(r).request.gender == g);
    }
}

TEST_CASE("bad FastRegister fields are refused with a short reason", "[login]") {
    const auto refused = [](auto mutate) {
        auto r = good();
        mutate(r);
        const auto c = check_register(r);
        CHECK_FALSE(c.ok());
        return std::string(c.error);
    };
    CHECK(refused([](auto& r) { r.account.clear(); }) == "invalid Account");
    CHECK(refused([](auto& r) { r.account = "bad account"; }) == "invalid Account");
    CHECK(refused([](auto& r) { r.account = std::string(33, 'a'); }) == "invalid Account");
    CHECK(refused([](auto& r) { r.name = std::string(33, 'n'); }) == "invalid Name");
    CHECK(refused([](auto& r) { r.name = "tab\there"; }) == "invalid Name");
    CHECK(refused([](auto& r) { r.gender = 4; }) == "invalid Gender");
    CHECK(refused([](auto& r) { r.gender = -1; }) == "invalid Gender");
    CHECK(refused([](auto& r) { r.icon = -1; }) == "invalid Icon");
    CHECK(refused([](auto& r) { r.password = std::string(65, 'p'); }) == "Password too long");
    CHECK(refused([](auto& r) { r.machine = std::string(129, 'm'); }) == "Machine too long");
    CHECK(refused([](auto& r) { r.ip = std::string(65, '1'); }) == "invalid IP");
    CHECK(refused([](auto& r) {
              r.password.clear();
              r.machine.clear();
          }) == "a device account needs its Machine");
}

TEST_CASE("FastRegister limits are inclusive", "[login]") {
    auto r = good();
    r.password = std::string(kMaxPasswordBytes, 'p');
    r.machine = std::string(kMaxMachineBytes, 'm');
    r.ip = std::string(kMaxIpBytes, '1');
    r.icon = 0;
    CHECK(check_register(r).ok());
    // A device account: any non-empty Machine, even shorter than the 16 clients are told to use.
    r.password.clear();
    r.machine = "m";
    CHECK(check_register(r).ok());
    // A password account needs no Machine.
    r.password = "pw";
    r.machine.clear();
    CHECK(check_register(r).ok());
}

TEST_CASE("the GameID of a game node is the number in game-<N>", "[login]") {
    CHECK(game_id_of_node("game-7") == 7);
    CHECK(game_id_of_node("game-1") == 1);
    CHECK(game_id_of_node("game-2147483647") == 2147483647);
    CHECK(game_id_of_node("") == 0);
    CHECK(game_id_of_node("game-") == 0);
    CHECK(game_id_of_node("game-0") == 0);
    CHECK(game_id_of_node("game-07") == 0);
    CHECK(game_id_of_node("game--7") == 0);
    CHECK(game_id_of_node("game-+7") == 0);
    CHECK(game_id_of_node("game-7x") == 0);
    CHECK(game_id_of_node("game-2147483648") == 0);
    CHECK(game_id_of_node("login-7") == 0);
    CHECK(game_id_of_node("games-7") == 0);
}

TEST_CASE("Ranking Top: 0 means 10, 1..100 as asked, others refused", "[login]") {
    CHECK(ranking_top(0) == kDefaultRankingTop);
    CHECK(ranking_top(1) == 1);
    CHECK(ranking_top(100) == 100);
    CHECK_FALSE(ranking_top(101).has_value());
    CHECK_FALSE(ranking_top(-1).has_value());
}
