#include "tools/ctl/control.h"

#include <ostream>

#include "bus/protocol.h"
#include "bus/security.h"

namespace tb::ctl {

using tools::kExitFailed;
using tools::kExitOk;

namespace {

int finish(std::ostream& out) {
    out.flush();
    return out ? kExitOk : kExitFailed;
}

}  // namespace

int set_open(tools::Session& s, const std::string& node, bool open, std::ostream& out) {
    const std::string action = open ? "open" : "shut";
    bus::OkBody ok;
    const int rc =
        s.ask(open ? bus::kMmiOpen : bus::kMmiShut, bus::NodeQuery{node}, ok, action + " " + node);
    if (rc != kExitOk) return rc;
    if (s.connection().json) {
        tools::Json j = {{"node", node}, {"action", action}, {"ok", ok.ok}, {"detail", ok.detail}};
        out << tools::dump_json(j) << '\n';
    } else {
        out << node << ": "
            << (open ? "open (gets service requests again)"
                     : "shut (no new service requests; @" + node + " still works)")
            << '\n';
    }
    return finish(out);
}

int notice(tools::Session& s, const std::string& text, int32_t level, std::ostream& out) {
    bus::OkBody ok;
    const int rc = s.ask(bus::kMmiNotice, bus::NoticeBody{text, level}, ok, "notice");
    if (rc != kExitOk) return rc;
    if (s.connection().json) {
        out << tools::dump_json(tools::json_of(ok)) << '\n';
    } else {
        out << "notice sent (level " << level << ")\n";
    }
    return finish(out);
}

int kick(tools::Session& s, int64_t user_id, const std::string& reason, std::ostream& out) {
    bus::OkBody ok;
    bus::KickBody body;
    body.user_id = user_id;
    body.reason = reason;
    const int rc = s.ask(bus::kMmiKick, body, ok, "kick " + std::to_string(user_id));
    if (rc != kExitOk) return rc;
    if (s.connection().json) {
        out << tools::dump_json(tools::json_of(ok)) << '\n';
    } else {
        out << "kick " << user_id << ": " << (ok.detail.empty() ? "sent" : ok.detail) << '\n';
    }
    return finish(out);
}

int health(tools::Session& s, const std::string& node, std::ostream& out) {
    bus::HealthReply h;
    const int rc = s.ask(bus::kMmiHealth, bus::NodeQuery{node}, h, "health " + node);
    if (rc != kExitOk) return rc;
    const bool healthy = h.registered && !h.degraded;
    if (s.connection().json) {
        tools::Json j = tools::json_of(h);
        j["node"] = node;
        j["healthy"] = healthy;
        out << tools::dump_json(j) << '\n';
    } else if (!h.registered) {
        out << node << ": not registered\n";
    } else {
        out << node << ": " << (healthy ? "healthy" : "degraded") << " (registered, "
            << (h.open ? "open" : "shut") << ")\n";
    }
    if (finish(out) != kExitOk) return kExitFailed;
    return healthy ? kExitOk : kExitFailed;
}

int keygen(bool json, std::ostream& out, std::ostream& err) {
    bus::CurveKeyPair k;
    try {
        k = bus::generate_keypair();
    } catch (const std::exception& e) {
        err << "tb-ctl: keygen: " << e.what() << '\n';
        return kExitFailed;
    }
    if (json) {
        out << tools::dump_json({{"public", k.public_key}, {"secret", k.secret_key}}) << '\n';
    } else {
        // Z85 has no '"' or '\', so the keys are valid TOML basic strings as they are.
        out << "public = \"" << k.public_key << "\"\n"
            << "secret = \"" << k.secret_key << "\"\n";
    }
    return finish(out);
}

}  // namespace tb::ctl
