// tb-test-worker: a real node process for integration tests. It registers for a service on the
// node runtime and answers every request: by default with its own name and the request body
// ("<name>|<body>"), so a test can tell which worker served a call. Pushes it receives are
// counted and the count is readable with a request of type kMsgPushCount.
//   tb-test-worker --manager EP --service S --id N [--kind K] [--load L] [--capacity C]
//                  [--delay-ms D] [--idempotent] [--curve-public K --curve-secret K
//                  --curve-server K]
#include <CLI/CLI.hpp>
#include <cstdio>
#include <optional>

#include "bus/event_loop.h"
#include "bus/node.h"
#include "codec/messages.h"
#include "nodes/common/proxy_api.h"
#include "nodes/common/signals.h"
#include "nodes/common/ticket.h"

namespace {
constexpr uint32_t kMsgPushCount = 0xFE000001;
constexpr uint32_t kMsgSetLoad = 0xFE000002;
}  // namespace

int main(int argc, char** argv) try {
    tb::common::SignalWatcher signals;
    tb::bus::NodeOptions o;
    int64_t load = 0;
    int delay_ms = 0;
    CLI::App app{"tb-test-worker: echo worker for integration tests"};
    app.add_option("--manager", o.manager, "manager bus endpoint")->required();
    app.add_option("--announce", o.announce, "announcement endpoint (keeps a table replica)");
    app.add_option("--service", o.service, "service to serve")->required();
    app.add_option("--id", o.id, "node id")->required();
    o.kind = "worker";
    app.add_option("--kind", o.kind, "node kind (identity prefix)");
    app.add_option("--load", load, "load to report");
    app.add_option("--capacity", o.capacity, "capacity to declare");
    app.add_option("--delay-ms", delay_ms, "answer after this long");
    app.add_flag("--idempotent", o.idempotent, "declare the service idempotent");
    std::string ticket_secret;
    app.add_option("--ticket-secret", ticket_secret,
                   "act as a game node for FastLogin (100,1): verify the proxy's ticket with this "
                   "secret, seat the user, and push a NotifyStatus to the session");
    app.add_option("--curve-public", o.curve_public_key, "this node's CURVE public key (Z85)");
    app.add_option("--curve-secret", o.curve_secret_key, "this node's CURVE secret key (Z85)");
    app.add_option("--curve-server", o.curve_server_key, "the manager's CURVE public key (Z85)");
    CLI11_PARSE(app, argc, argv);

    zmq::context_t ctx;
    tb::bus::EventLoop loop;
    tb::bus::Node node(ctx, loop, o);
    node.set_load(load);
    uint64_t pushes = 0;
    node.on_any_push([&](const tb::codec::Envelope& env, std::string_view) {
        pushes += env.sessions.empty() ? 1 : env.sessions.size();
    });
    node.on_request(kMsgPushCount,
                    [&](tb::bus::Request& r) { node.reply(r.env, std::to_string(pushes)); });
    node.on_request(kMsgSetLoad, [&](tb::bus::Request& r) {
        node.set_load(std::stoll(r.body));
        node.reply(r.env, "ok");
    });
    std::optional<tb::common::TicketVerifier> tickets;
    if (!ticket_secret.empty()) tickets.emplace(ticket_secret);
    node.on_request(tb::codec::kMsgFastLogin, [&](tb::bus::Request& r) {
        tb::common::FastLoginForward req;
        if (!tickets || tb::codec::decode(r.body, req) != tb::codec::MsgError::kOk) {
            node.fail(r.env, tb::codec::to_int(tb::codec::Errno::kMalformed), "malformed");
            return;
        }
        const auto verdict = tickets->verify(req.ticket, r.env.user, r.env.session, r.env.source,
                                             tb::bus::unix_ms());
        if (verdict != tb::common::TicketError::kOk) {
            node.fail(r.env, tb::codec::to_int(tb::codec::Errno::kTicketInvalid),
                      std::string(tb::common::ticket_error_name(verdict)));
            return;
        }
        tb::codec::FastLoginReply reply;
        reply.game_id = o.id;
        reply.game_type = req.game_type;
        reply.game_level = req.game_level;
        node.reply(r.env, tb::codec::encode(reply));
        tb::codec::NotifyStatus status;
        status.chair_id = 0;
        status.user_status = 1;
        node.multicast(r.env.source, tb::codec::kMsgNotifyStatus, tb::codec::encode(status),
                       {r.env.session});
    });
    node.on_any_request([&](tb::bus::Request& r) {
        std::string answer = node.name() + "|" + r.body;
        if (delay_ms <= 0) {
            node.reply(r.env, answer);
            return;
        }
        loop.add_timer(std::chrono::milliseconds(delay_ms),
                       [&node, env = r.env, answer] { node.reply(env, answer); });
    });
    int exit_code = 0;
    node.on_fatal([&](const std::string& why) {
        std::fprintf(stderr, "tb-test-worker: %s\n", why.c_str());
        exit_code = 3;
        loop.quit();
    });
    loop.add_fd(signals.fd(), [&] {
        while (signals.read()) loop.quit();
    });
    node.start();
    loop.run();
    node.stop();
    return exit_code;
} catch (const std::exception& e) {
    std::fprintf(stderr, "tb-test-worker: %s\n", e.what());
    return 1;
}
