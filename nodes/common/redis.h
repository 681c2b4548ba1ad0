#pragma once
// Redis client for tb-db (sessions, leaderboards, counters). Like MariaDb, one Redis object is
// one connection used by one thread at a time; tb-db's pool threads each own one, so nothing
// here locks and commands block for at most command_timeout_ms.
//
// Why a wrapper: hiredis hands back replies the caller must free, signals I/O failure with a
// null reply and an error string on the context, and leaves the context unusable after that.
// Here replies are copied into RedisValue (owning, recursive), every I/O failure closes the
// connection and throws DbException(kConnection) so the owner reconnects explicitly, and Redis
// error replies ("WRONGTYPE ...") stay ordinary values because they are answers, not outages.
//
// Commands go through redisCommandArgv, never a format string, so arguments are binary safe and
// cannot inject commands. Argument values never appear in messages (AUTH carries a password);
// only the command name does.

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nodes/common/mariadb.h"  // DbException, DbStatus

// hiredis types, declared so this header does not pull in <hiredis/hiredis.h> and its macros.
struct redisContext;

namespace tb::common {

struct RedisConfig {
    std::string host = "127.0.0.1";
    uint16_t port = 6379;
    std::string password;  // empty: no AUTH
    int db = 0;            // SELECTed after connecting when not 0
    int connect_timeout_ms = 1000;
    int command_timeout_ms = 2000;
    std::string key_prefix = "tb:";  // see Redis::key()
};

// One reply, copied out of hiredis. kString is a bulk string (binary safe, in str); kStatus a
// simple string such as "OK" (in str); kError an error reply, its text in str; kInteger in
// integer; kArray in elements (nested arrays nest); kNil a missing value.
struct RedisValue {
    enum class Type : uint8_t { kNil, kInteger, kString, kStatus, kError, kArray };
    Type type = Type::kNil;
    int64_t integer = 0;
    std::string str;
    std::vector<RedisValue> elements;

    bool is_error() const noexcept { return type == Type::kError; }
    bool is_nil() const noexcept { return type == Type::kNil; }
};

namespace detail {
// Deleter so the hiredis context only ever lives in std::unique_ptr (defined in redis.cc).
struct RedisContextFreer {
    void operator()(redisContext* context) const noexcept;
};
}  // namespace detail

// One Redis connection. Create it on any thread, then use it from one thread at a time (the
// pool thread that owns it); movable, but not while in use.
class Redis {
public:
    explicit Redis(RedisConfig cfg);
    ~Redis();
    Redis(Redis&&) noexcept;
    Redis& operator=(Redis&&) noexcept;
    Redis(const Redis&) = delete;
    Redis& operator=(const Redis&) = delete;

    // Connects (closing any previous connection first) with connect_timeout_ms, then sets
    // command_timeout_ms for every later read and write, turns on TCP keepalive, sends AUTH when
    // a password is set and SELECT when db is not 0. Owner thread. Throws
    // DbException(kConnection) if the server cannot be reached or AUTH/SELECT is refused; the
    // object then stays closed.
    void connect();

    // Whether a connection is open (it may have died unnoticed; the next command tells).
    // Owner thread.
    bool connected() const noexcept { return context_ != nullptr; }

    // Closes the connection. Idempotent. Owner thread.
    void close() noexcept;

    // Sends one command (name then arguments, each binary safe) and waits for its reply. An
    // error reply comes back as a kError value, not an exception. Owner thread. Throws
    // DbException(kConnection) when not connected or on an I/O error or timeout (the
    // connection is then closed: hiredis cannot resume after one), DbException(kError) for an
    // empty argument list.
    RedisValue command(std::initializer_list<std::string_view> args);
    RedisValue command(const std::vector<std::string>& args);
    RedisValue command(std::span<const std::string_view> args);

    // key_prefix + suffix: every key tb-db writes is namespaced so several deployments (or
    // tests) can share one Redis. Any thread.
    std::string key(std::string_view suffix) const;

    const RedisConfig& config() const noexcept { return cfg_; }

private:
    using ContextPtr = std::unique_ptr<redisContext, detail::RedisContextFreer>;

    // argv/lengths as hiredis wants them; throws as command() does.
    RedisValue send(int argc, const char** argv, const size_t* lengths);

    RedisConfig cfg_;
    ContextPtr context_;
};

}  // namespace tb::common
