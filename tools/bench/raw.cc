// The baseline: what the same round trip costs on plain libzmq. A DEALER per caller sends
// [empty][body] REQ-style to a zmq_proxy (ROUTER frontend, DEALER backend); one echo process on
// a DEALER sends every message's frames straight back. No envelope, no routing table, no stats.
#include <cstring>
#include <stdexcept>

#include "tools/bench/harness.h"
#include "tools/bench/sides.h"

namespace tb::bench {

namespace {

constexpr int kHwm = 100000;  // as the broker and the node runtime set theirs

class RawCaller {
public:
    RawCaller(zmq::context_t& ctx, const std::string& frontend)
        : socket_(ctx, zmq::socket_type::dealer) {
        tune_raw_socket(socket_);
        // Short receive slices, so a stuck run notices an interrupt or a failed peer.
        socket_.set(zmq::sockopt::rcvtimeo, 100);
        socket_.connect(frontend);
    }

    void send(std::string_view body) {
        if (!socket_.send(zmq::message_t(), zmq::send_flags::sndmore) ||
            !socket_.send(zmq::const_buffer(body.data(), body.size()), zmq::send_flags::none)) {
            throw std::runtime_error("raw caller: send would block");
        }
    }

    // Waits for one reply ([empty][body]) until `deadline`; false when none came by then or the
    // run was aborted (`line`, when given).
    bool recv(zmq::message_t& body, Clock::time_point deadline, const StartLine* line) {
        zmq::message_t delimiter;
        for (;;) {
            if (socket_.recv(delimiter, zmq::recv_flags::none)) break;
            if (stop_requested()) throw Interrupted();
            if ((line != nullptr && line->aborted()) || Clock::now() >= deadline) return false;
        }
        if (!delimiter.more() || !socket_.recv(body, zmq::recv_flags::none)) {
            throw std::runtime_error("raw caller: malformed reply");
        }
        return true;
    }

    void wait_reply(zmq::message_t& body, const StartLine& line) {
        if (recv(body, Clock::now() + kCallTimeout, &line)) return;
        if (line.aborted()) throw std::runtime_error("raw caller: aborted");
        throw std::runtime_error("raw caller: no reply within 5 s");
    }

private:
    zmq::socket_t socket_;
};

Clock::time_point stamp(std::string& body) {
    const auto now = Clock::now();
    const int64_t ns = now.time_since_epoch().count();
    std::memcpy(body.data(), &ns, sizeof ns);
    return now;
}

Clock::time_point stamped(const zmq::message_t& reply) {
    int64_t ns = 0;
    if (reply.size() < sizeof ns) throw std::runtime_error("raw caller: short reply");
    std::memcpy(&ns, reply.data(), sizeof ns);
    return Clock::time_point(Clock::duration(ns));
}

}  // namespace

void tune_raw_socket(zmq::socket_t& s) {
    s.set(zmq::sockopt::linger, 0);
    s.set(zmq::sockopt::sndhwm, kHwm);
    s.set(zmq::sockopt::rcvhwm, kHwm);
}

void raw_wait_ready(zmq::context_t& ctx, const std::string& frontend, const HealthCheck& check,
                    std::chrono::milliseconds limit) {
    RawCaller c(ctx, frontend);
    const auto until = Clock::now() + limit;
    c.send(make_body(8));
    zmq::message_t reply;
    while (
        !c.recv(reply, std::min(until, Clock::now() + std::chrono::milliseconds(200)), nullptr)) {
        check();
        if (Clock::now() >= until) {
            throw std::runtime_error("raw echo path (" + frontend + ") did not answer within " +
                                     std::to_string(limit.count()) + " ms");
        }
    }
}

Measurement raw_sync(zmq::context_t& ctx, const std::string& frontend, int callers,
                     const BusBenchOptions& o) {
    const int warmup = warmup_share(o.warmup, callers);
    return run_callers(callers, o.duration, [&](int, StartLine& line, Samples& out) {
        RawCaller c(ctx, frontend);
        const std::string body = make_body(o.body_size);
        zmq::message_t reply;
        for (int i = 0; i < warmup && !line.aborted(); ++i) {
            c.send(body);
            c.wait_reply(reply, line);
        }
        const Window w = line.wait();
        while (!line.aborted()) {
            const auto sent = Clock::now();
            if (sent >= w.end) break;
            c.send(body);
            c.wait_reply(reply, line);
            out.record(sent, Clock::now());
        }
    });
}

Measurement raw_pipelined(zmq::context_t& ctx, const std::string& frontend,
                          const BusBenchOptions& o) {
    return run_callers(1, o.duration, [&](int, StartLine& line, Samples& out) {
        RawCaller c(ctx, frontend);
        std::string body = make_body(o.body_size);
        zmq::message_t reply;
        int inflight = 0;
        const auto issue = [&] {
            stamp(body);
            c.send(body);
            ++inflight;
        };
        // Warm-up at the same depth.
        int issued = 0;
        for (; issued < std::min(o.depth, o.warmup); ++issued) issue();
        for (int done = 0; done < o.warmup && !line.aborted(); ++done) {
            c.wait_reply(reply, line);
            --inflight;
            if (issued < o.warmup) {
                issue();
                ++issued;
            }
        }
        const Window w = line.wait();
        // The send time travels in the body, so nothing is looked up per reply.
        for (int i = 0; i < o.depth; ++i) issue();
        while (inflight > 0 && !line.aborted()) {
            c.wait_reply(reply, line);
            const auto now = Clock::now();
            --inflight;
            out.record(stamped(reply), now);
            if (now < w.end) issue();
        }
    });
}

int raw_proxy_main(const std::string& frontend, const std::string& backend) {
    zmq::context_t ctx;
    zmq::socket_t front(ctx, zmq::socket_type::router);
    zmq::socket_t back(ctx, zmq::socket_type::dealer);
    tune_raw_socket(front);
    tune_raw_socket(back);
    front.bind(frontend);
    back.bind(backend);
    // Runs until the process is signalled (the default SIGTERM action ends it).
    zmq::proxy(front, back);
    return 0;
}

int raw_echo_main(const std::string& connect) {
    zmq::context_t ctx;
    zmq::socket_t s(ctx, zmq::socket_type::dealer);
    tune_raw_socket(s);
    s.connect(connect);
    // REP-style echo on raw frames: [caller id][empty][body] back as received.
    std::vector<zmq::message_t> frames(4);
    for (;;) {
        std::size_t n = 0;
        do {
            if (n == frames.size()) frames.emplace_back();
            (void)s.recv(frames[n++], zmq::recv_flags::none);  // blocking: always a message
        } while (frames[n - 1].more());
        for (std::size_t i = 0; i < n; ++i) {
            (void)s.send(frames[i], i + 1 < n ? zmq::send_flags::sndmore : zmq::send_flags::none);
        }
    }
}

}  // namespace tb::bench
