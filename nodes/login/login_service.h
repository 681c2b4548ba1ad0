#pragma once
// The login service on the bus: the (1,*) commands of docs/PROTOCOL.md §4.2 — FastRegister,
// SignInDays, SignIn and Ranking. Requests come from the proxy: the message type is the client's
// (mcmd, scmd), the body is the client's body as msgpack, the envelope's `user` is the user the
// proxy vouches for (0 = this session has not logged in) and `session` its session id.
//
// The node is stateless: every answer comes from the db service, so any number of login nodes
// can serve side by side and one dying loses nothing but the requests it had in flight (which
// the proxy sees as a lost worker). Fields are checked here first (login_rules.h), so a bad
// request costs no storage round trip; db errors (wrong password 5, lockout 6, storage 1005,
// a bus timeout 1002...) are passed to the proxy unchanged, which maps bus codes to an Errno.
//
// Passwords and Machine ids (a device account's only credential) are never logged.
//
// Threading: construct, start, stop and destroy on the loop thread (or before the loop runs).

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <zmq.hpp>

#include "bus/event_loop.h"
#include "bus/node.h"
#include "codec/envelope.h"
#include "codec/messages.h"
#include "nodes/login/login_config.h"

namespace tb::login {

class LoginService {
public:
    // `cfg` must outlive the service.
    LoginService(zmq::context_t& ctx, bus::EventLoop& loop, const LoginConfig& cfg);
    LoginService(const LoginService&) = delete;
    LoginService& operator=(const LoginService&) = delete;

    void start();
    // Leaves the bus. Requests still waiting on the db service are failed by the node runtime;
    // no new db call starts from then on.
    void stop();

    bus::Node& node() noexcept { return node_; }
    // Client requests waiting on the db service (also reported as this node's load).
    int64_t in_flight() const noexcept { return in_flight_; }

private:
    using Deadline = bus::Clock::time_point;
    using DbDone = std::function<void(bus::Reply&&)>;

    void fast_register(bus::Request& req);
    void sign_in_days(bus::Request& req);
    void sign_in(bus::Request& req);
    void ranking(bus::Request& req);
    // SignInDays and SignIn: a logged-in user's request relayed to `db` as a UserQuery; db
    // errors pass through, and `convert` turns db's `DbReply` into the client's reply body.
    template <class DbReply, class Convert>
    void relay_for_user(bus::Request& req, uint32_t db_type, Convert convert);

    // Looks up the game the user is still seated in and answers the FastRegister.
    void finish_register(const codec::Envelope& env, Deadline deadline,
                         codec::FastRegisterReply reply);

    // Starts counting a client request as in flight; finish_* stop counting it.
    void begin();
    // Calls the db service on behalf of the client request `env`, within db.timeout_ms and
    // what is left of the proxy's deadline. `done` runs exactly once, on the loop thread.
    void call_db(const codec::Envelope& env, Deadline deadline, uint32_t type, std::string body,
                 DbDone done);
    // The final answer to a request counted by begin().
    void finish_reply(const codec::Envelope& env, std::string_view body);
    void finish_fail(const codec::Envelope& env, int32_t code, std::string_view text);

    const LoginConfig& cfg_;  // owned by main, outlives the service
    bus::Node node_;
    int64_t in_flight_ = 0;
    bool stopping_ = false;
};

}  // namespace tb::login
