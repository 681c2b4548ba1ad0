#include "nodes/common/redis.h"

#include <fmt/format.h>
#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <utility>

namespace tb::common {

namespace {

struct ReplyFreer {
    void operator()(redisReply* reply) const noexcept { freeReplyObject(reply); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyFreer>;

timeval to_timeval(int ms) {
    timeval tv{};
    tv.tv_sec = ms / 1000;
    tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
    return tv;
}

RedisValue convert(const redisReply& reply) {
    RedisValue value;
    switch (reply.type) {
        case REDIS_REPLY_STRING:
            value.type = RedisValue::Type::kString;
            value.str.assign(reply.str, reply.len);
            break;
        case REDIS_REPLY_STATUS:
            value.type = RedisValue::Type::kStatus;
            value.str.assign(reply.str, reply.len);
            break;
        case REDIS_REPLY_ERROR:
            value.type = RedisValue::Type::kError;
            value.str.assign(reply.str, reply.len);
            break;
        case REDIS_REPLY_INTEGER:
            value.type = RedisValue::Type::kInteger;
            value.integer = reply.integer;
            break;
        case REDIS_REPLY_ARRAY:
            value.type = RedisValue::Type::kArray;
            value.elements.reserve(reply.elements);
            for (size_t i = 0; i < reply.elements; ++i) {
                value.elements.push_back(convert(*reply.element[i]));
            }
            break;
        case REDIS_REPLY_NIL:
        default: value.type = RedisValue::Type::kNil; break;
    }
    return value;
}

}  // namespace

namespace detail {
void RedisContextFreer::operator()(redisContext* context) const noexcept {
    redisFree(context);
}
}  // namespace detail

Redis::Redis(RedisConfig cfg) : cfg_(std::move(cfg)) {}
Redis::~Redis() = default;
Redis::Redis(Redis&&) noexcept = default;
Redis& Redis::operator=(Redis&&) noexcept = default;

void Redis::connect() {
    close();
    const std::string endpoint = fmt::format("{}:{}", cfg_.host, cfg_.port);
    const timeval connect_timeout = to_timeval(cfg_.connect_timeout_ms);
    ContextPtr context(redisConnectWithTimeout(cfg_.host.c_str(), cfg_.port, connect_timeout));
    if (!context) {
        throw DbException(DbStatus::kConnection, 0,
                          fmt::format("Redis connect to {} failed: out of memory", endpoint));
    }
    if (context->err != 0) {
        throw DbException(DbStatus::kConnection, 0,
                          fmt::format("Redis connect to {} failed: {}", endpoint, context->errstr));
    }
    // Without a command timeout a server that stops answering would hang the pool thread.
    if (cfg_.command_timeout_ms > 0 &&
        redisSetTimeout(context.get(), to_timeval(cfg_.command_timeout_ms)) != REDIS_OK) {
        throw DbException(DbStatus::kConnection, 0,
                          fmt::format("Redis timeout on {} failed: {}", endpoint, context->errstr));
    }
    // Keepalive notices a peer that vanished (host down, NAT dropped) on an idle connection.
    redisEnableKeepAlive(context.get());
    context_ = std::move(context);

    // AUTH and SELECT through command() so an I/O failure closes and throws like anywhere else;
    // a refusal closes too, since a connection without them would work on the wrong data.
    const auto require_ok = [&](std::initializer_list<std::string_view> args) {
        RedisValue reply = command(args);
        if (reply.is_error()) {
            close();
            throw DbException(
                DbStatus::kConnection, 0,
                fmt::format("Redis {} on {} refused: {}", *args.begin(), endpoint, reply.str));
        }
    };
    if (!cfg_.password.empty()) require_ok({"AUTH", cfg_.password});
    if (cfg_.db != 0) require_ok({"SELECT", std::to_string(cfg_.db)});
}

void Redis::close() noexcept {
    context_.reset();
}

RedisValue Redis::command(std::initializer_list<std::string_view> args) {
    return command(std::span<const std::string_view>(args.begin(), args.size()));
}

RedisValue Redis::command(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    argv.reserve(args.size());
    lengths.reserve(args.size());
    for (const std::string& arg : args) {
        argv.push_back(arg.data());
        lengths.push_back(arg.size());
    }
    return send(static_cast<int>(args.size()), argv.data(), lengths.data());
}

RedisValue Redis::command(std::span<const std::string_view> args) {
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    argv.reserve(args.size());
    lengths.reserve(args.size());
    for (std::string_view arg : args) {
        // hiredis copies `length` bytes; an empty view may have no data pointer.
        argv.push_back(arg.empty() ? "" : arg.data());
        lengths.push_back(arg.size());
    }
    return send(static_cast<int>(args.size()), argv.data(), lengths.data());
}

RedisValue Redis::send(int argc, const char** argv, const size_t* lengths) {
    if (argc == 0) throw DbException(DbStatus::kError, 0, "Redis command without arguments");
    if (!context_) {
        throw DbException(DbStatus::kConnection, 0, "Redis connection is closed: connect() first");
    }
    ReplyPtr reply(static_cast<redisReply*>(redisCommandArgv(context_.get(), argc, argv, lengths)));
    if (!reply) {
        // Only the command name: the arguments may be secrets (AUTH) or user data.
        std::string message =
            fmt::format("Redis {} failed: {}", std::string_view(argv[0], lengths[0]),
                        context_->err != 0 ? context_->errstr : "no reply");
        close();
        throw DbException(DbStatus::kConnection, 0, std::move(message));
    }
    return convert(*reply);
}

std::string Redis::key(std::string_view suffix) const {
    std::string out;
    out.reserve(cfg_.key_prefix.size() + suffix.size());
    out.append(cfg_.key_prefix).append(suffix);
    return out;
}

}  // namespace tb::common
