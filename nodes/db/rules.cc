#include "nodes/db/rules.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <charconv>
#include <stdexcept>

#include "codec/utf8.h"

namespace tb::db {

std::string hash_password(std::string_view password, std::string_view salt, int iterations) {
    std::string out(32, '\0');
    if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                          reinterpret_cast<const unsigned char*>(salt.data()),
                          static_cast<int>(salt.size()), iterations, EVP_sha256(),
                          static_cast<int>(out.size()),
                          reinterpret_cast<unsigned char*>(out.data())) != 1) {
        throw std::runtime_error("PBKDF2 failed");
    }
    return out;
}

std::string random_bytes(std::size_t n) {
    std::string out(n, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
        throw std::runtime_error("RAND_bytes failed");
    }
    return out;
}

bool equal_secret(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

int parse_utc_offset(std::string_view text) {
    if (text == "Z" || text == "UTC" || text == "+00:00") return 0;
    const auto bad = [&] {
        return std::invalid_argument("time zone '" + std::string(text) +
                                     "' is not an offset like +08:00");
    };
    if (text.size() != 6 || (text[0] != '+' && text[0] != '-') || text[3] != ':') throw bad();
    int h = 0;
    int m = 0;
    if (std::from_chars(text.data() + 1, text.data() + 3, h).ec != std::errc() ||
        std::from_chars(text.data() + 4, text.data() + 6, m).ec != std::errc() || h > 14 ||
        m > 59) {
        throw bad();
    }
    const int minutes = h * 60 + m;
    return text[0] == '-' ? -minutes : minutes;
}

int64_t day_of(int64_t unix_seconds, int offset_minutes) noexcept {
    const int64_t local = unix_seconds + int64_t{offset_minutes} * 60;
    // Floor division: a moment before 1970 still belongs to the day before.
    return local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
}

SignInState sign_in_state(int64_t last_day, int32_t streak, int64_t today) noexcept {
    SignInState s;
    if (streak <= 0 || last_day < today - 1) {
        // Never signed in, or a day was missed: the cycle starts again.
        s.can = true;
        s.streak = 0;
        s.next_day = 1;
    } else if (last_day >= today) {
        s.can = false;
        s.streak = streak;
        s.next_day = streak % 7 + 1;
    } else {
        s.can = true;
        s.streak = streak;
        s.next_day = streak % 7 + 1;  // after day 7 the cycle starts again at day 1
    }
    return s;
}

bool valid_transfers(const std::vector<common::Transfer>& transfers) noexcept {
    for (const auto& t : transfers) {
        if (t.amount <= 0 || t.from <= 0 || t.to <= 0 || t.from == t.to) return false;
        // Keep products below int64 range in clamp_transfers.
        if (t.amount > (int64_t{1} << 40)) return false;
    }
    return true;
}

// amount * balance can exceed 64 bits before the division brings it back into range.
__extension__ typedef __int128 Wide;

std::map<int64_t, int64_t> clamp_transfers(const std::vector<common::Transfer>& transfers,
                                           const std::map<int64_t, int64_t>& balances) {
    std::map<int64_t, int64_t> owed;
    std::map<int64_t, int64_t> delta;
    for (const auto& t : transfers) {
        owed[t.from] += t.amount;
        delta[t.from];
        delta[t.to];
    }
    for (const auto& t : transfers) {
        const auto it = balances.find(t.from);
        const int64_t balance = it == balances.end() ? 0 : std::max<int64_t>(0, it->second);
        const int64_t total = owed[t.from];
        const int64_t paid =
            total <= balance ? t.amount
                             : static_cast<int64_t>(static_cast<Wide>(t.amount) * balance / total);
        delta[t.from] -= paid;
        delta[t.to] += paid;
    }
    return delta;
}

bool valid_account(std::string_view account) noexcept {
    if (account.empty() || account.size() > 32) return false;
    for (const char c : account) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '@' || c == '-';
        if (!ok) return false;
    }
    return true;
}

bool valid_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > 32 || !codec::is_valid_utf8(name)) return false;
    for (const char c : name) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
    }
    return true;
}

}  // namespace tb::db
