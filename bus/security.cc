#include "bus/security.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>
#include <cerrno>
#include <iterator>
#include <stdexcept>
#include <zmq_addon.hpp>

namespace tb::bus {
namespace {

constexpr std::size_t kKeyBytes = 32;
constexpr std::string_view kZ85Alphabet =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

void require_curve() {
    if (zmq_has("curve") == 0) {
        throw std::runtime_error(
            "libzmq was built without CURVE support (zmq_has(\"curve\") is false); rebuild it "
            "with libsodium or run the bus without curve keys");
    }
}

// The key text is never echoed: a secret key must not end up in a log or an exception message.
void require_key(std::string_view key, std::string_view what) {
    if (!is_z85_key(key)) {
        throw std::invalid_argument(
            fmt::format("{} is not a Z85 CURVE key (expected {} characters of the Z85 alphabet, "
                        "got {} characters)",
                        what, kZ85KeyLength, key.size()));
    }
}

}  // namespace

CurveKeyPair generate_keypair() {
    require_curve();
    std::array<char, kZ85KeyLength + 1> pub{};
    std::array<char, kZ85KeyLength + 1> sec{};
    if (zmq_curve_keypair(pub.data(), sec.data()) != 0) {
        throw std::runtime_error(
            fmt::format("zmq_curve_keypair failed: {}", zmq_strerror(zmq_errno())));
    }
    return CurveKeyPair{std::string(pub.data(), kZ85KeyLength),
                        std::string(sec.data(), kZ85KeyLength)};
}

std::string public_from_secret(const std::string& z85_secret) {
    require_curve();
    require_key(z85_secret, "the secret key");
    std::array<char, kZ85KeyLength + 1> pub{};
    if (zmq_curve_public(pub.data(), z85_secret.c_str()) != 0) {
        throw std::runtime_error(
            fmt::format("zmq_curve_public failed: {}", zmq_strerror(zmq_errno())));
    }
    return std::string(pub.data(), kZ85KeyLength);
}

bool is_z85_key(std::string_view text) noexcept {
    if (text.size() != kZ85KeyLength) return false;
    std::array<char, kZ85KeyLength + 1> z{};
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (kZ85Alphabet.find(text[i]) == std::string_view::npos) return false;
        z[i] = text[i];
    }
    std::array<uint8_t, kKeyBytes> bin{};
    if (zmq_z85_decode(bin.data(), z.data()) == nullptr) return false;
    // A 5-character group can spell values up to 85^5 - 1 > 2^32; whether a decoder reports
    // the overflow or wraps it differs between libzmq versions, so insist on a round trip.
    std::array<char, kZ85KeyLength + 1> back{};
    if (zmq_z85_encode(back.data(), bin.data(), bin.size()) == nullptr) return false;
    return text == std::string_view(back.data(), kZ85KeyLength);
}

void apply_curve_server(zmq::socket_t& socket, const std::string& secret_key) {
    require_curve();
    require_key(secret_key, "the CURVE server secret key");
    socket.set(zmq::sockopt::curve_server, true);
    socket.set(zmq::sockopt::curve_secretkey, secret_key);
    socket.set(zmq::sockopt::zap_domain, std::string(kZapDomain));
}

void apply_curve_client(zmq::socket_t& socket, const CurveKeyPair& client,
                        const std::string& server_public_key) {
    require_curve();
    require_key(client.public_key, "the CURVE client public key");
    require_key(client.secret_key, "the CURVE client secret key");
    require_key(server_public_key, "the CURVE server public key");
    socket.set(zmq::sockopt::curve_serverkey, server_public_key);
    socket.set(zmq::sockopt::curve_publickey, client.public_key);
    socket.set(zmq::sockopt::curve_secretkey, client.secret_key);
}

ZapHandler::ZapHandler(zmq::context_t& context, EventLoop& loop,
                       const std::vector<std::string>& allowed_keys, Mode mode)
    : loop_(loop),
      socket_(context, zmq::socket_type::rep),
      mode_(mode),
      allowed_(validated(allowed_keys)) {
    socket_.set(zmq::sockopt::linger, 0);
    try {
        socket_.bind(kZapEndpoint);
    } catch (const zmq::error_t& e) {
        if (e.num() == EADDRINUSE) {
            throw std::runtime_error(
                fmt::format("ZAP handler: {} is already bound in this context (libzmq allows one "
                            "ZAP handler per context)",
                            kZapEndpoint));
        }
        throw std::runtime_error(
            fmt::format("ZAP handler: cannot bind {}: {}", kZapEndpoint, e.what()));
    }
    loop_.add_socket(socket_, [this] { on_readable(); });
}

ZapHandler::~ZapHandler() {
    loop_.remove_socket(socket_);
}

void ZapHandler::set_allowed(const std::vector<std::string>& allowed_keys) {
    allowed_ = validated(allowed_keys);  // validated() throws before anything is replaced
}

bool ZapHandler::is_allowed(std::string_view public_key_z85) const {
    return allowed_.count(std::string(public_key_z85)) != 0;
}

std::unordered_set<std::string> ZapHandler::validated(const std::vector<std::string>& keys) {
    std::unordered_set<std::string> out;
    for (std::size_t i = 0; i < keys.size(); ++i) {
        // Public keys are not secret, so naming the bad entry is safe and saves a config hunt.
        if (!is_z85_key(keys[i])) {
            throw std::invalid_argument(
                fmt::format("allow-list entry {} (\"{}\") is not a Z85 CURVE public key "
                            "(expected {} characters of the Z85 alphabet)",
                            i, keys[i], kZ85KeyLength));
        }
        out.insert(keys[i]);
    }
    return out;
}

void ZapHandler::on_readable() {
    // Drain everything queued: each request is a handshake parked in libzmq until answered.
    for (;;) {
        std::vector<zmq::message_t> request;
        if (!zmq::recv_multipart(socket_, std::back_inserter(request), zmq::recv_flags::dontwait)) {
            return;
        }
        const Verdict verdict = judge(request);
        const bool ok = verdict.status == "200";
        const std::string request_id = request.size() > 1 ? request[1].to_string() : std::string();
        const std::string address = request.size() > 3 ? request[3].to_string() : std::string();
        // User id: the client's key, which the broker can read back as a message's "User-Id".
        const std::string_view status_text = ok ? std::string_view("OK") : verdict.reason;
        const std::string_view user_id = ok ? std::string_view(verdict.public_key) : "";
        // REP must answer before it may receive again, so even a malformed request gets a reply.
        const std::array<zmq::const_buffer, 6> reply = {
            zmq::buffer(std::string_view("1.0")),
            zmq::buffer(request_id),
            zmq::buffer(verdict.status),
            zmq::buffer(status_text),
            zmq::buffer(user_id),
            zmq::const_buffer(),
        };
        zmq::send_multipart(socket_, reply);
        if (ok) {
            admitted_.fetch_add(1, std::memory_order_relaxed);
            spdlog::debug("zap: admitted {} key {}", address,
                          verdict.public_key.empty() ? "(none)" : verdict.public_key);
            continue;
        }
        refused_.fetch_add(1, std::memory_order_relaxed);
        spdlog::warn("zap: refused {} key {}: {}", address,
                     verdict.public_key.empty() ? "(none)" : verdict.public_key, verdict.reason);
        if (on_refused_) on_refused_(address, verdict.public_key, verdict.reason);
    }
}

ZapHandler::Verdict ZapHandler::judge(const std::vector<zmq::message_t>& request) const {
    // RFC 27 request: version, request id, domain, address, identity, mechanism, credentials...
    if (request.size() < 6) return {"500", "", "malformed ZAP request"};
    if (request[0].to_string_view() != "1.0") return {"500", "", "unsupported ZAP version"};
    const std::string_view mechanism = request[5].to_string_view();
    if (mechanism == "CURVE") {
        if (request.size() != 7 || request[6].size() != kKeyBytes) {
            return {"400", "", "malformed CURVE credentials"};
        }
        std::array<char, kZ85KeyLength + 1> z85{};
        zmq_z85_encode(z85.data(), static_cast<const uint8_t*>(request[6].data()), kKeyBytes);
        std::string key(z85.data(), kZ85KeyLength);
        if (allowed_.count(key) == 0) {
            return {"400", std::move(key), "public key not on the allow-list"};
        }
        return {"200", std::move(key), ""};
    }
    if (mechanism == "NULL") {
        if (mode_ == Mode::kCurveOrNull) return {"200", "", ""};
        return {"400", "", "NULL mechanism refused: this bus requires CURVE"};
    }
    return {"400", "", fmt::format("mechanism {} refused: this bus requires CURVE", mechanism)};
}

}  // namespace tb::bus
