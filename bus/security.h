#pragma once
// CURVE encryption and authentication for the bus. The manager's ROUTER (bus) and PUB
// (announcements) run as CURVE servers; every node connects as a CURVE client with its own key
// pair and the manager's public key. CURVE alone only proves that a client holds *some* key, so
// the manager also runs a ZAP handler (ZeroMQ RFC 27) that admits only the public keys on an
// allow-list: a stolen server public key is not enough to join the bus.
//
// Keys are Z85 text (40 characters for 32 bytes), the form ZeroMQ's tools and config files use.
//
// Ordering matters, because libzmq 4.3 without the draft API has no ZMQ_ZAP_ENFORCE_DOMAIN:
// when no handler is bound in the context, a CURVE server admits every client that knows the
// server key. Construct the ZapHandler before the secured sockets bind, and keep it alive for as
// long as they accept connections.

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>
#include <zmq.hpp>

#include "bus/event_loop.h"

namespace tb::bus {

// The ZAP domain apply_curve_server() sets. Any non-empty domain makes libzmq consult ZAP (for
// NULL sockets too); one name for the whole bus keeps the handler's decisions domain-free.
inline constexpr std::string_view kZapDomain = "tablebus";
// The endpoint libzmq sends ZAP requests to, fixed by RFC 27; one bind per context.
inline constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";
// Length of a CURVE key in Z85 text (32 bytes -> 40 characters).
inline constexpr std::size_t kZ85KeyLength = 40;

struct CurveKeyPair {
    std::string public_key;  // Z85, 40 characters: safe to hand out
    std::string secret_key;  // Z85, 40 characters: keep it in the node's private config
};

// Any thread. A fresh key pair. Throws std::runtime_error when libzmq was built without CURVE
// (zmq_has("curve") is false) or key generation fails.
CurveKeyPair generate_keypair();

// Any thread. The public key belonging to a Z85 secret key, so configs need store only the
// secret. Throws std::invalid_argument for a malformed key, std::runtime_error without CURVE.
std::string public_from_secret(const std::string& z85_secret);

// Any thread. True when `text` is exactly 40 characters of the Z85 alphabet that decode to a
// 32-byte key (no 5-character group overflowing 32 bits). Never throws.
bool is_z85_key(std::string_view text) noexcept;

// Thread owning the socket, before it binds. Makes `socket` a CURVE server with `secret_key`
// and sets the ZAP domain kZapDomain so every handshake is checked by the ZapHandler. Throws
// std::invalid_argument for a malformed key, std::runtime_error without CURVE support, and
// zmq::error_t if libzmq rejects an option.
void apply_curve_server(zmq::socket_t& socket, const std::string& secret_key);

// Thread owning the socket, before it connects. Makes `socket` a CURVE client that expects the
// server to hold the secret behind `server_public_key`. Throws as apply_curve_server().
void apply_curve_client(zmq::socket_t& socket, const CurveKeyPair& client,
                        const std::string& server_public_key);

// Answers libzmq's ZAP requests for one context: admits CURVE clients whose public key is on the
// allow-list and refuses everything else. Runs on an EventLoop: libzmq's I/O thread parks the
// handshake until the loop replies, so a loop that is not running stalls every new connection
// (it does not admit them).
//
// Threading: construct, destroy and call set_allowed()/is_allowed()/on_refused() on the loop
// thread (or before the loop runs / after it stops). Counters may be read from any thread.
class ZapHandler {
public:
    enum class Mode {
        kCurveOnly,    // NULL clients refused: the production setting
        kCurveOrNull,  // NULL clients admitted: a socket-by-socket migration to CURVE
    };
    // Called on the loop thread for each refused handshake: `address` is the peer's IP address,
    // `public_key_z85` is empty when the client offered no CURVE key, `reason` is for humans.
    using RefusedCallback = std::function<void(
        const std::string& address, const std::string& public_key_z85, const std::string& reason)>;

    // Binds kZapEndpoint in `context` and registers it on `loop`. Throws std::invalid_argument
    // naming the first malformed key in `allowed_keys`, and std::runtime_error when another ZAP
    // handler already serves this context.
    ZapHandler(zmq::context_t& context, EventLoop& loop,
               const std::vector<std::string>& allowed_keys, Mode mode = Mode::kCurveOnly);
    ~ZapHandler();
    ZapHandler(const ZapHandler&) = delete;
    ZapHandler& operator=(const ZapHandler&) = delete;

    // Replaces the allow-list; it applies to handshakes that start afterwards (live connections
    // are not cut). On a malformed key throws std::invalid_argument and keeps the old list.
    void set_allowed(const std::vector<std::string>& allowed_keys);
    bool is_allowed(std::string_view public_key_z85) const;
    std::size_t allowed_count() const noexcept { return allowed_.size(); }
    Mode mode() const noexcept { return mode_; }

    void on_refused(RefusedCallback callback) { on_refused_ = std::move(callback); }

    // Any thread. Handshakes answered 200 and answered otherwise, since construction.
    uint64_t admitted() const noexcept { return admitted_.load(std::memory_order_relaxed); }
    uint64_t refused() const noexcept { return refused_.load(std::memory_order_relaxed); }

private:
    struct Verdict {
        std::string status;      // RFC 27 status code: "200", "400", or "500" (malformed)
        std::string public_key;  // Z85; empty when none was offered
        std::string reason;      // why it was refused; the status text of the reply
    };

    void on_readable();
    Verdict judge(const std::vector<zmq::message_t>& request) const;
    static std::unordered_set<std::string> validated(const std::vector<std::string>& keys);

    EventLoop& loop_;  // owned by the caller, outlives the handler
    zmq::socket_t socket_;
    Mode mode_;
    std::unordered_set<std::string> allowed_;
    RefusedCallback on_refused_;
    std::atomic<uint64_t> admitted_{0};
    std::atomic<uint64_t> refused_{0};
};

}  // namespace tb::bus
