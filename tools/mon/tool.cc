#include "tools/mon/tool.h"

#include <poll.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <ctime>
#include <ostream>
#include <thread>

#include "bus/security.h"
#include "codec/body.h"
#include "codec/errors.h"

namespace tb::tools {

// Largest body converted for --json output (stats announcements of a big cluster).
constexpr std::size_t kMaxJsonBody = 16u << 20;

std::string Connection::announce_endpoint() const {
    if (!announce.empty()) return announce;
    std::string ep = bus::announce_endpoint_for(manager);
    if (ep.empty()) {
        throw UsageError("cannot derive the announcement endpoint from --manager " + manager +
                         "; pass --announce");
    }
    return ep;
}

void add_connection_options(CLI::App& app, Connection& c, bool with_announce) {
    app.add_option("--manager", c.manager, "manager bus endpoint (default tcp://127.0.0.1:5555)")
        ->envname("TB_MANAGER");
    if (with_announce) {
        app.add_option("--announce", c.announce,
                       "manager announcement endpoint (default: the bus port + 1)");
    }
    app.add_option("--timeout-ms", c.timeout_ms,
                   "how long to wait for the manager's answer (default 1000)")
        ->check(CLI::Range(int64_t{1}, int64_t{600000}));
    app.add_option("--curve-public", c.curve_public,
                   "CURVE: this tool's public key, Z85 (default: derived from the secret)");
    app.add_option("--curve-secret", c.curve_secret, "CURVE: this tool's secret key, Z85")
        ->envname("TB_CURVE_SECRET");
    app.add_option("--curve-server", c.curve_server, "CURVE: the manager's public key, Z85");
    app.add_flag("--json", c.json, "machine-readable output on stdout (errors go to stderr)");
}

bus::ClientOptions client_options(const Connection& c, const std::string& tool) {
    bus::ClientOptions o;
    o.manager = c.manager;
    o.tool = tool;
    const bool any = !c.curve_public.empty() || !c.curve_secret.empty() || !c.curve_server.empty();
    if (!any) return o;
    if (c.curve_secret.empty() || c.curve_server.empty()) {
        throw UsageError("CURVE needs both --curve-secret and --curve-server");
    }
    if (!bus::is_z85_key(c.curve_secret)) throw UsageError("--curve-secret is not a Z85 key");
    if (!bus::is_z85_key(c.curve_server)) throw UsageError("--curve-server is not a Z85 key");
    std::string pub = c.curve_public;
    if (pub.empty()) {
        pub = bus::public_from_secret(c.curve_secret);
    } else if (!bus::is_z85_key(pub)) {
        throw UsageError("--curve-public is not a Z85 key");
    } else if (bus::public_from_secret(c.curve_secret) != pub) {
        throw UsageError("--curve-public does not belong to --curve-secret");
    }
    o.curve_public_key = pub;
    o.curve_secret_key = c.curve_secret;
    o.curve_server_key = c.curve_server;
    return o;
}

std::string dump_json(const Json& j) {
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::optional<Json> msgpack_json(std::string_view body, std::string* error) {
    std::string text;
    const codec::BodyError e = codec::msgpack_to_json(body, text, kMaxJsonBody);
    if (e != codec::BodyError::kOk) {
        if (error != nullptr) *error = std::string(codec::body_error_name(e));
        return std::nullopt;
    }
    if (text.empty()) return Json::object();
    try {
        return Json::parse(text);
    } catch (const std::exception& ex) {
        if (error != nullptr) *error = ex.what();
        return std::nullopt;
    }
}

// ---------------------------------------------------------------------------------------------
// Session

Session::Session(const Connection& c, std::string tool, std::ostream& err) try
    : conn_(c), tool_(std::move(tool)), err_(err), client_(ctx_, client_options(conn_, tool_)) {
} catch (const zmq::error_t& e) {
    throw UsageError("cannot connect to --manager " + c.manager + ": " + e.what());
}

Session::Answer Session::call(std::string_view target, std::string_view body,
                              std::chrono::milliseconds timeout, uint32_t msg_type) {
    Answer a;
    const auto start = std::chrono::steady_clock::now();
    auto reply = client_.call(target, body, timeout, msg_type);
    a.rtt = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                  start);
    if (!reply) return a;
    a.outcome = reply->ok() ? Outcome::kOk : Outcome::kError;
    a.reply = std::move(*reply);
    return a;
}

std::string Session::no_answer_text() const {
    return "no answer from the manager at " + conn_.manager + " within " +
           std::to_string(conn_.timeout_ms) + " ms";
}

int Session::check(const Answer& a, std::string_view what) {
    switch (a.outcome) {
        case Outcome::kOk: return kExitOk;
        case Outcome::kError: fail(what, describe_error(a.reply)); return kExitFailed;
        case Outcome::kNoAnswer: fail(what, no_answer_text()); return kExitNoManager;
    }
    return kExitFailed;
}

void Session::fail(std::string_view what, std::string_view reason) {
    err_ << tool_ << ": ";
    if (!what.empty()) err_ << what << ": ";
    err_ << reason << '\n';
    err_.flush();
}

std::string describe_error(const bus::Reply& r) {
    std::string s = r.text.empty() ? std::string(codec::code_name(r.code)) : r.text;
    s += " (" + std::string(codec::code_name(r.code)) + ", " + std::to_string(r.code) + ")";
    return s;
}

// ---------------------------------------------------------------------------------------------
// Table

Table::Table(std::vector<std::string> headers) {
    for (auto& h : headers) {
        const bool right = !h.empty() && h.front() == '>';
        right_.push_back(right);
        headers_.push_back(right ? h.substr(1) : std::move(h));
    }
}

void Table::add(std::vector<std::string> row) {
    row.resize(headers_.size());
    rows_.push_back(std::move(row));
}

void Table::print(std::ostream& out) const {
    std::vector<std::size_t> width(headers_.size());
    for (std::size_t i = 0; i < headers_.size(); ++i) width[i] = headers_[i].size();
    for (const auto& row : rows_) {
        for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
    }
    const auto line = [&](const std::vector<std::string>& cells) {
        std::string s;
        for (std::size_t i = 0; i < cells.size(); ++i) {
            const std::string pad(width[i] - cells[i].size(), ' ');
            if (i > 0) s += "  ";
            if (right_[i]) {
                s += pad + cells[i];
            } else if (i + 1 < cells.size()) {
                s += cells[i] + pad;
            } else {
                s += cells[i];  // no trailing blanks
            }
        }
        out << s << '\n';
    };
    line(headers_);
    for (const auto& row : rows_) line(row);
}

// ---------------------------------------------------------------------------------------------
// Formatting

namespace {
std::string fixed(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}
}  // namespace

std::string format_us(int64_t us) {
    if (us < 0) return "-";
    if (us < 1000) return std::to_string(us) + "us";
    if (us < 1000000) return fixed(static_cast<double>(us) / 1e3, us < 10000 ? 2 : 1) + "ms";
    return fixed(static_cast<double>(us) / 1e6, 2) + "s";
}

std::string format_age_ms(int64_t ms) {
    if (ms < 0) ms = 0;
    const int64_t s = ms / 1000;
    char buf[64];
    if (s < 60) {
        std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
    } else if (s < 3600) {
        std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60),
                      static_cast<long long>(s % 60));
    } else if (s < 86400) {
        std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600),
                      static_cast<long long>(s % 3600 / 60));
    } else {
        std::snprintf(buf, sizeof buf, "%lldd%02lldh", static_cast<long long>(s / 86400),
                      static_cast<long long>(s % 86400 / 3600));
    }
    return buf;
}

std::string format_rate(double per_second) {
    if (!std::isfinite(per_second) || per_second < 0) return "-";
    if (per_second < 10) return fixed(per_second, 1);
    if (per_second < 10000) return fixed(per_second, 0);
    if (per_second < 1e6) return fixed(per_second / 1e3, 1) + "k";
    return fixed(per_second / 1e6, 1) + "M";
}

std::string format_clock_ms(int64_t unix_ms) {
    const std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
    std::tm tm{};
    localtime_r(&secs, &tm);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(unix_ms % 1000));
    return buf;
}

bool wait_for_signal(int signal_fd, std::chrono::milliseconds timeout) {
    if (signal_fd < 0) {
        std::this_thread::sleep_for(timeout);
        return false;
    }
    pollfd p{signal_fd, POLLIN, 0};
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        const int n = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(0, left.count())));
        if (n > 0) return true;
        if (n == 0 || left.count() <= 0) return false;
        // EINTR: try again with the time left.
    }
}

}  // namespace tb::tools
