#pragma once
// tb-ctl's commands as a library (main.cc only parses the command line). Each returns the exit
// status of tools/mon/tool.h: 0 done, 1 the manager refused (unknown node, bad value...), 2 the
// manager did not answer. Human output is one line; --json prints one object and nothing else.
//
// Threading: one thread per Session.

#include <cstdint>
#include <iosfwd>
#include <string>

#include "tools/mon/tool.h"

namespace tb::ctl {

// mmi.shut / mmi.open: no more service-routed work for NODE (addressed "@NODE" requests still
// reach it), or again. --json: {node, action, ok, detail}.
int set_open(tools::Session& s, const std::string& node, bool open, std::ostream& out);

// mmi.notice: an announcement (topic "notice") to every subscriber, e.g. proxies that relay it
// to players. --json: {ok, detail}.
int notice(tools::Session& s, const std::string& text, int32_t level, std::ostream& out);

// mmi.kick: every proxy is told to drop the user's session. --json: {ok, detail}.
int kick(tools::Session& s, int64_t user_id, const std::string& reason, std::ostream& out);

// mmi.health, the Kubernetes probe: 0 when NODE is registered and not degraded (shut is
// healthy: it is draining on purpose), 1 otherwise, 2 when the manager does not answer.
// --json: {node, registered, open, degraded, healthy}.
int health(tools::Session& s, const std::string& node, std::ostream& out);

// Asks game node NODE directly ("@NODE", common::kMsgGameTables) for its tables: phase, time
// in that phase, round id and seats (user, robot, offline, session). Exit 0 on an answer, 1 when
// the node is unknown or answers badly, 2 on no answer. --json: the reply as one object
// {node, seated, tables_total, tables: [...], unseated}.
int tables(tools::Session& s, const std::string& node, std::ostream& out);

// A new CURVE key pair as TOML lines (public = "...", secret = "..."), or with `json`
// {"public": ..., "secret": ...}. Needs no manager.
int keygen(bool json, std::ostream& out, std::ostream& err);

}  // namespace tb::ctl
