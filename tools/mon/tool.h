#pragma once
// What tb-mon and tb-ctl share: the connection flags (--manager, --announce, --timeout-ms,
// --curve-*, --json), a session that asks the manager and turns "no answer" and error answers
// into one clear stderr line and an exit status, bus structs as JSON, and aligned tables.
//
// Exit statuses of both tools (scripts and Kubernetes probes rely on them):
//   0  done (tb-ctl health: registered and not degraded)
//   1  the manager answered with an error (unknown node...), a bad answer, or a bad argument
//      (tb-ctl health: not registered or degraded)
//   2  the manager did not answer within --timeout-ms
// Command-line syntax errors exit with CLI11's own codes (100 and up) after its message.
//
// Threading: one thread (a Session owns a ZeroMQ socket).

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>
#include <zmq.hpp>

#include "bus/client.h"
#include "codec/fields.h"

namespace CLI {
class App;
}

namespace tb::tools {

// JSON objects keep their keys in the order written (the wire order of the bus structs).
using Json = nlohmann::ordered_json;

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitNoManager = 2;

// A bad combination of arguments found after parsing (e.g. a malformed CURVE key): exit 1.
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct Connection {
    std::string manager = "tcp://127.0.0.1:5555";
    std::string announce;  // empty: bus::announce_endpoint_for(manager)
    int64_t timeout_ms = 1000;
    std::string curve_public;  // empty with a secret: derived from the secret
    std::string curve_secret;
    std::string curve_server;
    bool json = false;

    // The announcement endpoint to subscribe to. Throws UsageError when it cannot be derived.
    std::string announce_endpoint() const;
    std::chrono::milliseconds timeout() const { return std::chrono::milliseconds(timeout_ms); }
};

// Adds --manager (env TB_MANAGER), --timeout-ms, --curve-public, --curve-secret (env
// TB_CURVE_SECRET), --curve-server and --json to `app`; --announce too when `with_announce`.
// Call it for the app and for each subcommand, so the flags go before or after the subcommand
// and every --help lists them.
void add_connection_options(CLI::App& app, Connection& c, bool with_announce);

// The client options `c` means, CURVE keys checked. Throws UsageError naming the bad flag.
bus::ClientOptions client_options(const Connection& c, const std::string& tool);

// The body of an mmi.* request without arguments (an empty map).
struct NoArgs {
    template <class S, class F>
    static void fields(S&, F&&) {}
};

// Bus structs (codec/fields.h) as JSON objects with the same snake_case keys as on the wire.
template <class T>
Json json_of(const T& v) {
    if constexpr (std::is_same_v<T, bool> || std::is_integral_v<T> ||
                  std::is_same_v<T, std::string>) {
        return Json(v);
    } else if constexpr (codec::detail::kIsVector<T>) {
        Json a = Json::array();
        for (typename T::const_reference e : v) a.push_back(json_of<typename T::value_type>(e));
        return a;
    } else {
        static_assert(codec::detail::Fielded<T>, "no JSON form for this type");
        Json o = Json::object();
        T::fields(v, [&o](std::string_view name, const auto& field) {
            o[std::string(name)] = json_of(field);
        });
        return o;
    }
}

// One line of JSON (invalid UTF-8 replaced, never throws on it).
std::string dump_json(const Json& j);

// A msgpack body as JSON (any size the bus carries), or nullopt with `error` set.
std::optional<Json> msgpack_json(std::string_view body, std::string* error = nullptr);

// Asks the manager and reports failures on `err` as "<tool>: <what>: <reason>".
class Session {
public:
    // Throws UsageError for bad CURVE keys.
    Session(const Connection& c, std::string tool, std::ostream& err);

    enum class Outcome { kOk, kError, kNoAnswer };
    struct Answer {
        Outcome outcome = Outcome::kNoAnswer;
        bus::Reply reply;
        std::chrono::microseconds rtt{0};
    };
    // Raw request; nothing is printed.
    Answer call(std::string_view target, std::string_view body, std::chrono::milliseconds timeout,
                uint32_t msg_type = 0);

    // Sends `request` to an mmi.* target and decodes the answer into `out`. Returns kExitOk, or
    // prints why not (`what` names the action, e.g. "shut game-2") and returns the exit status.
    template <class Req, class Resp>
    int ask(std::string_view target, const Req& request, Resp& out, std::string_view what) {
        const Answer a = call(target, codec::encode(request), conn_.timeout());
        if (const int rc = check(a, what); rc != kExitOk) return rc;
        if (codec::decode(a.reply.body, out) != codec::MsgError::kOk) {
            fail(what, "malformed answer from the manager");
            return kExitFailed;
        }
        return kExitOk;
    }

    // Exit status for an answer, printing the reason when it is not kOk.
    int check(const Answer& a, std::string_view what);
    // Prints "<tool>: <what>: <reason>".
    void fail(std::string_view what, std::string_view reason);
    std::string no_answer_text() const;

    const Connection& connection() const noexcept { return conn_; }
    zmq::context_t& context() noexcept { return ctx_; }
    std::ostream& err() noexcept { return err_; }
    const std::string& tool() const noexcept { return tool_; }

private:
    Connection conn_;
    std::string tool_;
    std::ostream& err_;
    zmq::context_t ctx_;
    bus::BusClient client_;
};

// "no_service (1001): no service" for an error answer.
std::string describe_error(const bus::Reply& r);

// A text table: columns padded to their widest cell, numbers right-aligned.
class Table {
public:
    // A header starting with '>' is right-aligned (the '>' is not printed).
    explicit Table(std::vector<std::string> headers);
    void add(std::vector<std::string> row);
    void print(std::ostream& out) const;
    bool empty() const noexcept { return rows_.empty(); }

private:
    std::vector<std::string> headers_;
    std::vector<bool> right_;
    std::vector<std::vector<std::string>> rows_;
};

// Human forms: "417us", "12.3ms", "1.25s" ("-" when negative); "3d04h", "1h02m", "4m05s", "42s";
// "1.5k".
std::string format_us(int64_t us);
std::string format_age_ms(int64_t ms);
std::string format_rate(double per_second);
// Local wall-clock time "HH:MM:SS.mmm" of a unix time in ms.
std::string format_clock_ms(int64_t unix_ms);

// Waits up to `timeout` for a signal on `signal_fd` (a signalfd; -1: just sleeps). True when
// one is pending (it is not consumed).
bool wait_for_signal(int signal_fd, std::chrono::milliseconds timeout);

}  // namespace tb::tools
