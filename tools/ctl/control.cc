#include "tools/ctl/control.h"

#include <ostream>

#include "bus/protocol.h"
#include "bus/security.h"
#include "nodes/common/game_api.h"

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

int tables(tools::Session& s, const std::string& node, std::ostream& out) {
    const std::string what = "tables " + node;
    const auto a = s.call("@" + node, {}, s.connection().timeout(), common::kMsgGameTables);
    if (const int rc = s.check(a, what); rc != kExitOk) return rc;
    common::TablesReply r;
    if (codec::decode(a.reply.body, r) != codec::MsgError::kOk) {
        s.fail(what, "malformed answer (is " + node + " a game node?)");
        return kExitFailed;
    }
    if (s.connection().json) {
        out << tools::dump_json(tools::json_of(r)) << '\n';
        return finish(out);
    }
    out << r.node << ": " << r.seated << " seated at " << r.tables_total << " tables\n";
    tools::Table t({">table", "phase", ">for", "round", "seats (chair:user)"});
    for (const auto& ti : r.tables) {
        std::string seats;
        for (const auto& seat : ti.seats) {
            if (!seats.empty()) seats += ' ';
            seats += std::to_string(seat.chair) + ":" + std::to_string(seat.user_id);
            if (seat.robot) seats += "(robot)";
            if (seat.offline) seats += "(offline)";
        }
        t.add({std::to_string(ti.table_id), ti.phase, tools::format_age_ms(ti.phase_ms),
               ti.round_id.empty() ? "-" : ti.round_id, seats});
    }
    if (!t.empty()) t.print(out);
    if (static_cast<int64_t>(r.tables.size()) < r.tables_total) {
        out << "(" << r.tables_total - static_cast<int64_t>(r.tables.size())
            << " more tables not shown)\n";
    }
    if (!r.unseated.empty()) {
        out << "counted as seated but at no table:";
        for (const int64_t u : r.unseated) out << ' ' << u;
        out << '\n';
    }
    return finish(out);
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
