#include "nodes/login/login_rules.h"

#include <limits>

#include "codec/utf8.h"

namespace tb::login {

bool valid_account(std::string_view account) noexcept {
    if (account.empty() || account.size() > kMaxAccountBytes) return false;
    for (const char c : account) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '@' || c == '-';
        if (!ok) return false;
    }
    return true;
}

bool valid_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > kMaxNameBytes || !codec::is_valid_utf8(name)) return false;
    for (const char c : name) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
    }
    return true;
}

RegisterCheck check_register(const codec::FastRegisterRequest& in) {
    RegisterCheck out;
    if (!valid_account(in.account)) {
        out.error = "invalid Account";
        return out;
    }
    const std::string_view name = in.name.empty() ? std::string_view(in.account) : in.name;
    if (!valid_name(name)) {
        out.error = "invalid Name";
        return out;
    }
    int32_t gender = in.gender;
    if (gender == 0) gender = kGenderUnknown;
    if (gender != kGenderMale && gender != kGenderFemale && gender != kGenderUnknown) {
        out.error = "invalid Gender";
        return out;
    }
    if (in.icon < 0) {
        out.error = "invalid Icon";
        return out;
    }
    if (in.password.size() > kMaxPasswordBytes) {
        out.error = "Password too long";
        return out;
    }
    if (in.machine.size() > kMaxMachineBytes) {
        out.error = "Machine too long";
        return out;
    }
    if (in.password.empty() && in.machine.empty()) {
        out.error = "a device account needs its Machine";
        return out;
    }
    if (in.ip.size() > kMaxIpBytes) {
        out.error = "invalid IP";
        return out;
    }
    auto& r = out.request;
    r.account = in.account;
    r.password = in.password;
    r.machine = in.machine;
    r.name = std::string(name);
    r.icon = in.icon;
    r.gender = gender;
    r.ip = in.ip;
    return out;
}

std::optional<int32_t> ranking_top(int32_t top) noexcept {
    if (top == 0) return kDefaultRankingTop;
    if (top < 1 || top > kMaxRankingTop) return std::nullopt;
    return top;
}

}  // namespace tb::login
