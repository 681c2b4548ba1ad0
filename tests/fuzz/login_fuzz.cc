// Fuzzes what the login node decodes and checks: the client's FastRegister and Ranking bodies
// (as msgpack, or as JSON converted the way the proxy converts a JSON client's body), the field
// rules applied after decoding (check_register, ranking_top), and the db node's replies it
// reads (register, online entry with its GameID, sign-in, ranking).
// Input: one selector byte, then the body. Selector bits 0-2 pick the message; bit 7 says the
// body is JSON. Invariants:
// - decoding never crashes; a body that decodes re-encodes to bytes that decode to the same
//   encoding (a fixed point), and a body that does not decode leaves the output untouched;
// - whatever check_register() accepts satisfies every field rule, with the defaults applied;
// - ranking_top() answers 1..100 or nothing; game_id_of_node() reads back its own spelling.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "codec/body.h"
#include "codec/fields.h"
#include "codec/messages.h"
#include "nodes/common/db_api.h"
#include "nodes/login/login_rules.h"

namespace codec = tb::codec;
namespace common = tb::common;
namespace login = tb::login;

namespace {

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "login_fuzz: invariant broken: %s\n", what);
    std::abort();
}

void check(bool ok, const char* what) {
    if (!ok) fail(what);
}

// Decodes `body` into a T prefilled with `sentinel`; checks the fixed point and that a failure
// leaves the sentinel. True when the body decoded.
template <class T>
bool decode_checked(std::string_view body, T& out, const T& sentinel) {
    out = sentinel;
    const std::string before = codec::encode(out);
    if (codec::decode(body, out) != codec::MsgError::kOk) {
        check(codec::encode(out) == before, "a failed decode changed its output");
        return false;
    }
    const std::string once = codec::encode(out);
    T again{};
    check(codec::decode(once, again) == codec::MsgError::kOk, "re-encoded body does not decode");
    check(codec::encode(again) == once, "decode/encode is not a fixed point");
    return true;
}

void fast_register(std::string_view body) {
    codec::FastRegisterRequest sentinel;
    sentinel.account = "sentinel";
    sentinel.gender = 77;
    codec::FastRegisterRequest in;
    if (!decode_checked(body, in, sentinel)) return;
    const login::RegisterCheck c = login::check_register(in);
    if (!c.ok()) return;
    const common::RegisterRequest& r = c.request;
    check(login::valid_account(r.account) && r.account == in.account, "accepted a bad Account");
    check(login::valid_name(r.name), "accepted a bad Name");
    check(in.name.empty() ? r.name == in.account : r.name == in.name, "Name default wrong");
    check(r.gender >= login::kGenderMale && r.gender <= login::kGenderUnknown,
          "accepted a bad Gender");
    check(in.gender == 0 ? r.gender == login::kGenderUnknown : r.gender == in.gender,
          "Gender default wrong");
    check(r.icon >= 0 && r.icon == in.icon, "accepted a bad Icon");
    check(r.password.size() <= login::kMaxPasswordBytes, "accepted a long Password");
    check(r.machine.size() <= login::kMaxMachineBytes, "accepted a long Machine");
    check(!r.password.empty() || !r.machine.empty(), "accepted a device account without Machine");
    check(r.ip.size() <= login::kMaxIpBytes, "accepted a long IP");
    check(r.password == in.password && r.machine == in.machine && r.ip == in.ip,
          "a field was altered");
    common::RegisterRequest back;
    check(codec::decode(codec::encode(r), back) == codec::MsgError::kOk,
          "the db request does not decode");
}

void ranking(std::string_view body) {
    codec::RankingRequest in;
    if (!decode_checked(body, in, codec::RankingRequest{-5})) return;
    const auto top = login::ranking_top(in.top);
    if (top) check(*top >= 1 && *top <= login::kMaxRankingTop, "ranking_top out of range");
    check(top.has_value() == (in.top >= 0 && in.top <= login::kMaxRankingTop),
          "ranking_top refused a valid Top or took a bad one");
}

void online_entry(std::string_view body) {
    common::OnlineEntry sentinel;
    sentinel.node = "sentinel";
    common::OnlineEntry e;
    if (!decode_checked(body, e, sentinel)) return;
    const int32_t id = login::game_id_of_node(e.node);
    check(id >= 0, "negative GameID");
    if (id > 0) check(e.node == "game-" + std::to_string(id), "GameID is not the node's");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const uint8_t selector = data[0];
    std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
    std::string converted;
    if ((selector & 0x80) != 0) {
        // A JSON client's body, converted by the proxy before it reaches the login node.
        if (codec::json_to_msgpack(body, converted) != codec::BodyError::kOk) return 0;
        body = converted;
    }
    switch (selector & 0x07) {
        case 0: fast_register(body); break;
        case 1: ranking(body); break;
        case 2: online_entry(body); break;
        case 3: {
            common::RegisterReply r;
            (void)decode_checked(body, r, common::RegisterReply{});
            break;
        }
        case 4: {
            common::SignInDaysReply r;
            (void)decode_checked(body, r, common::SignInDaysReply{});
            break;
        }
        case 5: {
            common::SignInReply r;
            (void)decode_checked(body, r, common::SignInReply{});
            break;
        }
        case 6: {
            common::RankingReply r;
            (void)decode_checked(body, r, common::RankingReply{});
            break;
        }
        default: {
            // Requests without fields: the login node ignores their bodies, but the proxy
            // still converts them; a decode as Empty must never crash either.
            codec::Empty e;
            (void)codec::decode(body, e);
            break;
        }
    }
    return 0;
}
