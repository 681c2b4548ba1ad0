// `tb-bench path`: the action path's shape with nothing of tablebus in it, to show what this
// machine allows that shape at all. Players on TCP connections -> a gateway (the proxy's place:
// epoll over the client sockets inside zmq_poll, one DEALER to the broker) -> zmq_proxy (the
// manager's place) -> a plain libzmq echo (the game's place) -> back the same way -> the gateway
// writes the "broadcast" to both players of the table. Closed loop: a player's broadcast reaching
// its opponent starts the opponent's move, as in gomoku. No codec, no game logic, no settlement,
// no strategy: every cost left is the sockets, the wake-ups and libzmq's thread hand-offs, which
// tablebus pays too. tablebus's action figures divided by these are what our own code costs.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>
#include <sstream>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <zmq.hpp>

#include "tools/bench/bench.h"
#include "tools/bench/harness.h"
#include "tools/bench/process.h"
#include "tools/bench/sides.h"

namespace tb::bench {

namespace {

// A frame on the player sockets: [u16 length, little-endian][payload]. Payload: [u8 kind]
// [u32 table][u8 seat][i64 send time, steady_clock ns][padding up to the body size].
constexpr uint8_t kHello = 1;  // a player names its table and seat; the gateway echoes it
constexpr uint8_t kMove = 2;   // a move to the bus, and back from it as the broadcast
constexpr std::size_t kHeader = 1 + 4 + 1 + 8;
constexpr std::size_t kMaxPayload = 1024;
constexpr uint32_t kMaxTables = 100000;
constexpr auto kStall = std::chrono::seconds(5);

// An owned file descriptor.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() { reset(); }
    Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
    Fd& operator=(Fd&& o) noexcept {
        if (this != &o) {
            reset();
            fd_ = o.fd_;
            o.fd_ = -1;
        }
        return *this;
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const noexcept { return fd_; }
    void reset() noexcept {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_ = -1;
};

[[noreturn]] void fail_errno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

void set_nonblocking(int fd) {
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) fail_errno("fcntl");
}

void set_nodelay(int fd) {
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

sockaddr_in loopback_addr(uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

struct Payload {
    uint8_t kind = 0;
    uint32_t table = 0;
    uint8_t seat = 0;
    int64_t sent_ns = 0;
};

// Reads the fixed part of a payload; false when it is too short.
bool parse(const char* p, std::size_t n, Payload& out) {
    if (n < kHeader) return false;
    out.kind = static_cast<uint8_t>(p[0]);
    std::memcpy(&out.table, p + 1, 4);
    out.seat = static_cast<uint8_t>(p[5]);
    std::memcpy(&out.sent_ns, p + 6, 8);
    return true;
}

// A whole frame, length prefix included, of `size` payload bytes (at least kHeader).
std::string frame(const Payload& v, std::size_t size) {
    std::string f(2 + size, 'x');
    const auto len = static_cast<uint16_t>(size);
    std::memcpy(f.data(), &len, 2);
    f[2] = static_cast<char>(v.kind);
    std::memcpy(f.data() + 3, &v.table, 4);
    f[7] = static_cast<char>(v.seat);
    std::memcpy(f.data() + 8, &v.sent_ns, 8);
    return f;
}

// Frames from a byte stream: append what was read, then take whole frames out.
class FrameReader {
public:
    // Reads what the socket has (one recv: the epolls are level-triggered). False on EOF or a
    // fatal error; throws on a frame longer than kMaxPayload.
    bool fill(int fd) {
        char buf[8192];
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n == 0) return false;
        if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        buf_.append(buf, static_cast<std::size_t>(n));
        return true;
    }
    // The next whole payload, or false.
    bool next(std::string_view& payload) {
        if (buf_.size() - pos_ < 2) return compact();
        uint16_t len = 0;
        std::memcpy(&len, buf_.data() + pos_, 2);
        if (len > kMaxPayload) throw std::runtime_error("path: frame too long");
        if (buf_.size() - pos_ < 2u + len) return compact();
        payload = std::string_view(buf_.data() + pos_ + 2, len);
        pos_ += 2u + len;
        return true;
    }

private:
    bool compact() {
        buf_.erase(0, pos_);
        pos_ = 0;
        return false;
    }
    std::string buf_;
    std::size_t pos_ = 0;
};

// Writes a whole frame or throws: in a closed loop a table has at most two frames in flight,
// so a full socket buffer means something is broken, not slow.
void write_all(int fd, std::string_view f) {
    const ssize_t n = ::send(fd, f.data(), f.size(), MSG_NOSIGNAL);
    if (n != static_cast<ssize_t>(f.size())) {
        throw std::runtime_error(n < 0 ? std::string("path: send: ") + std::strerror(errno)
                                       : "path: short send");
    }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The gateway (hidden subcommand raw-gateway), the proxy's place.

int raw_gateway_main(uint16_t port, const std::string& broker) try {
    zmq::context_t ctx;
    zmq::socket_t bus(ctx, zmq::socket_type::dealer);
    tune_raw_socket(bus);
    bus.connect(broker);

    Fd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (listener.get() < 0) fail_errno("socket");
    const int one = 1;
    ::setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    const sockaddr_in addr = loopback_addr(port);
    if (::bind(listener.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        fail_errno("bind 127.0.0.1:" + std::to_string(port));
    }
    if (::listen(listener.get(), 4096) != 0) fail_errno("listen");
    Fd ep(::epoll_create1(EPOLL_CLOEXEC));
    if (ep.get() < 0) fail_errno("epoll_create1");
    epoll_event lev{};
    lev.events = EPOLLIN;
    lev.data.fd = listener.get();
    ::epoll_ctl(ep.get(), EPOLL_CTL_ADD, listener.get(), &lev);

    struct Conn {
        Fd fd;
        FrameReader in;
        std::optional<std::pair<uint32_t, uint8_t>> seat;
    };
    std::unordered_map<int, Conn> conns;
    std::vector<std::array<int, 2>> tables;

    const auto drop = [&](int fd) {
        auto it = conns.find(fd);
        if (it == conns.end()) return;
        if (it->second.seat) tables[it->second.seat->first][it->second.seat->second] = -1;
        ::epoll_ctl(ep.get(), EPOLL_CTL_DEL, fd, nullptr);
        conns.erase(it);
    };
    const auto on_client = [&](int fd) {
        auto it = conns.find(fd);
        if (it == conns.end()) return;
        Conn& c = it->second;
        if (!c.in.fill(fd)) return drop(fd);
        std::string_view p;
        while (c.in.next(p)) {
            Payload v;
            if (!parse(p.data(), p.size(), v) || v.seat > 1 || v.table >= kMaxTables) {
                return drop(fd);
            }
            if (v.kind == kHello) {
                if (tables.size() <= v.table) tables.resize(v.table + 1, {-1, -1});
                tables[v.table][v.seat] = fd;
                c.seat.emplace(v.table, v.seat);
                write_all(fd, frame(v, p.size()));
            } else {
                (void)bus.send(zmq::message_t(), zmq::send_flags::sndmore);
                (void)bus.send(zmq::const_buffer(p.data(), p.size()), zmq::send_flags::none);
            }
        }
    };
    const auto on_epoll = [&] {
        epoll_event events[256];
        const int n = ::epoll_wait(ep.get(), events, 256, 0);
        for (int i = 0; i < n; ++i) {
            const int fd = events[i].data.fd;
            if (fd != listener.get()) {
                on_client(fd);
                continue;
            }
            for (;;) {
                Fd c(::accept4(listener.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
                if (c.get() < 0) break;
                set_nodelay(c.get());
                epoll_event ev{};
                ev.events = EPOLLIN;
                ev.data.fd = c.get();
                ::epoll_ctl(ep.get(), EPOLL_CTL_ADD, c.get(), &ev);
                const int key = c.get();
                conns[key].fd = std::move(c);
            }
        }
    };
    const auto on_bus = [&] {
        zmq::message_t delimiter, body;
        while (bus.recv(delimiter, zmq::recv_flags::dontwait)) {
            if (!delimiter.more() || !bus.recv(body, zmq::recv_flags::none)) continue;
            Payload v;
            if (!parse(static_cast<const char*>(body.data()), body.size(), v) ||
                v.table >= tables.size()) {
                continue;
            }
            // One encoding of the broadcast, written to both seats, as the proxy does.
            const std::string f = frame(v, body.size());
            for (const int fd : tables[v.table]) {
                if (fd >= 0) write_all(fd, f);
            }
        }
    };

    zmq::pollitem_t items[2] = {{bus.handle(), 0, ZMQ_POLLIN, 0},
                                {nullptr, ep.get(), ZMQ_POLLIN, 0}};
    // Runs until the process is signalled (the default SIGTERM action ends it).
    for (;;) {
        zmq::poll(items, 2, std::chrono::milliseconds(-1));
        if (items[1].revents != 0) on_epoll();
        if (items[0].revents != 0) on_bus();
    }
} catch (const std::exception& e) {
    std::fprintf(stderr, "tb-bench raw-gateway: %s\n", e.what());
    return 1;
}

// ---------------------------------------------------------------------------------------------
// The players, in tb-bench's own thread, and the run.

namespace {

struct Player {
    Fd fd;
    FrameReader in;
    uint32_t table = 0;
    uint8_t seat = 0;
    bool greeted = false;
};

int64_t now_ns(Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

PathBenchResults run_path_bench(const PathBenchOptions& o) {
    if (o.players < 2 || o.players % 2 != 0 || o.players > 10000) {
        throw std::invalid_argument("--players must be even, 2..10000");
    }
    if (o.base_port < 1024 || o.base_port > 65535 - 3) {
        throw std::invalid_argument("--base-port must be in 1024..65532");
    }
    if (o.duration.count() <= 0 || o.warmup.count() < 0) {
        throw std::invalid_argument("duration must be positive and warm-up not negative");
    }
    const std::size_t body = std::max(o.body_size, kHeader);
    if (body > kMaxPayload) throw std::invalid_argument("--body must be at most 1024");
    const auto progress = [&](const std::string& s) {
        if (o.progress) o.progress(s);
    };

    if (o.scheduler != "batch" && o.scheduler != "normal") {
        throw std::invalid_argument("--scheduler must be batch or normal");
    }
    const std::string self = self_exe();
    // The children inherit the policy of the thread that forks them; this thread, which plays,
    // goes back to the default once they run.
    const auto set_policy = [](int policy) {
        const sched_param param{};
        if (::sched_setscheduler(0, policy, &param) != 0) fail_errno("sched_setscheduler");
    };
    set_policy(o.scheduler == "batch" ? SCHED_BATCH : SCHED_OTHER);
    const std::string front = "tcp://127.0.0.1:" + std::to_string(o.base_port);
    const std::string back = "tcp://127.0.0.1:" + std::to_string(o.base_port + 1);
    const auto gateway_port = static_cast<uint16_t>(o.base_port + 2);
    Child broker("raw-proxy", {self, "raw-proxy", "--frontend", front, "--backend", back});
    Child table("raw-echo", {self, "raw-echo", "--connect", back});
    Child gateway("raw-gateway", {self, "raw-gateway", "--listen", std::to_string(gateway_port),
                                  "--broker", front});
    std::vector<Child*> children{&broker, &table, &gateway};
    set_policy(SCHED_OTHER);
    const auto check = [&] {
        if (stop_requested()) throw Interrupted();
        for (Child* c : children) {
            if (!c->running()) throw std::runtime_error(c->describe());
        }
    };

    // Connect every player, retrying while the gateway starts.
    progress("path: connecting " + std::to_string(o.players) + " players");
    std::vector<Player> players(static_cast<std::size_t>(o.players));
    Fd ep(::epoll_create1(EPOLL_CLOEXEC));
    if (ep.get() < 0) fail_errno("epoll_create1");
    const auto connect_until = Clock::now() + std::chrono::seconds(15);
    for (std::size_t i = 0; i < players.size(); ++i) {
        Player& p = players[i];
        p.table = static_cast<uint32_t>(i / 2);
        p.seat = static_cast<uint8_t>(i % 2);
        for (;;) {
            Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
            if (fd.get() < 0) fail_errno("socket");
            const sockaddr_in addr = loopback_addr(gateway_port);
            if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
                p.fd = std::move(fd);
                break;
            }
            check();
            if (Clock::now() >= connect_until) {
                throw std::runtime_error("path: the gateway did not accept within 15 s");
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        set_nodelay(p.fd.get());
        set_nonblocking(p.fd.get());
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = i;
        ::epoll_ctl(ep.get(), EPOLL_CTL_ADD, p.fd.get(), &ev);
        Payload hello{kHello, p.table, p.seat, 0};
        write_all(p.fd.get(), frame(hello, body));
    }

    const std::size_t tables = players.size() / 2;
    std::vector<Clock::time_point> progress_at(tables);
    std::vector<bool> active(tables, false);
    std::size_t greeted = 0, active_tables = 0;
    std::vector<int64_t> samples;
    samples.reserve(1 << 20);
    uint64_t actions = 0;
    Clock::time_point w0{}, w1{}, stop_at{};  // set once everyone is greeted
    std::vector<double> cpu0(children.size() + 1);
    std::pair<double, double> busy0{};
    PathBenchResults r;
    r.players = o.players;
    r.scheduler = o.scheduler;

    const auto move = [&](Player& p, Clock::time_point now) {
        Payload v{kMove, p.table, p.seat, now_ns(now)};
        write_all(p.fd.get(), frame(v, body));
    };
    const auto cpu_now = [&](std::vector<double>& out) {
        out[0] = cpu_seconds(::getpid());
        for (std::size_t i = 0; i < children.size(); ++i)
            out[i + 1] = cpu_seconds(children[i]->pid());
    };
    bool measuring = false, measured = false;
    auto last_check = Clock::now();
    const auto greet_until = Clock::now() + std::chrono::seconds(15);

    epoll_event events[256];
    for (;;) {
        const int n = ::epoll_wait(ep.get(), events, 256, 100);
        if (n < 0 && errno != EINTR) fail_errno("epoll_wait");
        const auto now = Clock::now();
        for (int k = 0; k < n; ++k) {
            Player& p = players[events[k].data.u64];
            if (!p.in.fill(p.fd.get()))
                throw std::runtime_error("path: the gateway closed a player");
            std::string_view pl;
            while (p.in.next(pl)) {
                Payload v;
                if (!parse(pl.data(), pl.size(), v) || v.table != p.table) {
                    throw std::runtime_error("path: a player received a malformed frame");
                }
                if (v.kind == kHello) {
                    if (!p.greeted) ++greeted;
                    p.greeted = true;
                    continue;
                }
                progress_at[p.table] = now;
                if (v.seat == p.seat) {
                    // Our own move's broadcast: the round trip. Counted for moves sent in the
                    // window, so the warm-up and the drain stay out.
                    const auto sent = Clock::time_point(Clock::duration(v.sent_ns));
                    if (measuring && sent >= w0 && sent < w1) {
                        samples.push_back(
                            std::chrono::duration_cast<std::chrono::nanoseconds>(now - sent)
                                .count());
                        ++actions;
                    }
                } else if (now < w1) {
                    move(p, now);  // the opponent moved: our turn
                } else if (active[p.table]) {
                    active[p.table] = false;  // the run is over: the table stops here
                    --active_tables;
                }
            }
        }
        // Everyone greeted: start every table (seat 0 moves first).
        if (stop_at == Clock::time_point{} && greeted == players.size()) {
            w0 = now + o.warmup;
            w1 = w0 + o.duration;
            stop_at = w1 + kStall;
            for (std::size_t t = 0; t < tables; ++t) {
                active[t] = true;
                progress_at[t] = now;
                move(players[2 * t], now);
            }
            active_tables = tables;
            progress("path: " + std::to_string(tables) + " tables playing");
        }
        if (stop_at == Clock::time_point{} && now >= greet_until) {
            throw std::runtime_error("path: " + std::to_string(players.size() - greeted) +
                                     " players were not greeted within 15 s");
        }
        if (!measuring && !measured && stop_at != Clock::time_point{} && now >= w0) {
            measuring = true;
            w0 = now;  // the window opens when we notice it; moves before it are warm-up
            w1 = w0 + o.duration;
            stop_at = w1 + kStall;
            cpu_now(cpu0);
            busy0 = machine_jiffies();
        }
        if (measuring && now >= w1) {
            measuring = false;
            measured = true;
            std::vector<double> cpu1(cpu0.size());
            cpu_now(cpu1);
            const auto busy1 = machine_jiffies();
            r.seconds = std::chrono::duration<double>(now - w0).count();
            const double per = actions > 0 ? 1e6 / static_cast<double>(actions) : 0;
            r.cpu_players_us = (cpu1[0] - cpu0[0]) * per;
            r.cpu_broker_us = (cpu1[1] - cpu0[1]) * per;
            r.cpu_table_us = (cpu1[2] - cpu0[2]) * per;
            r.cpu_gateway_us = (cpu1[3] - cpu0[3]) * per;
            r.machine_busy = busy1.second > busy0.second
                                 ? (busy1.first - busy0.first) / (busy1.second - busy0.second)
                                 : 0;
        }
        if (measured && active_tables == 0) break;
        if (now - last_check >= std::chrono::milliseconds(500)) {
            last_check = now;
            check();
            for (std::size_t t = 0; t < tables; ++t) {
                if (active[t] && now - progress_at[t] > kStall) {
                    throw std::runtime_error("path: table " + std::to_string(t) +
                                             " had no broadcast for 5 s");
                }
            }
        }
        if (stop_at != Clock::time_point{} && now >= stop_at) {
            throw std::runtime_error("path: the tables did not stop within 5 s of the end");
        }
    }
    if (actions == 0) throw std::runtime_error("path: no action completed in the window");
    r.actions = actions;
    r.actions_per_s = static_cast<double>(actions) / r.seconds;
    r.p50_ms = percentile_us(samples, 50) / 1000.0;
    r.p90_ms = percentile_us(samples, 90) / 1000.0;
    r.p99_ms = percentile_us(samples, 99) / 1000.0;
    r.p999_ms = percentile_us(samples, 99.9) / 1000.0;
    progress("path: " + std::to_string(actions) + " actions");
    return r;
}

nlohmann::ordered_json to_json(const PathBenchResults& r) {
    nlohmann::ordered_json j;
    j["players"] = r.players;
    j["actions"] = r.actions;
    j["seconds"] = round_to(r.seconds, 3);
    j["actions_per_s"] = static_cast<int64_t>(std::llround(r.actions_per_s));
    j["p50_ms"] = round_to(r.p50_ms, 3);
    j["p90_ms"] = round_to(r.p90_ms, 3);
    j["p99_ms"] = round_to(r.p99_ms, 3);
    j["p999_ms"] = round_to(r.p999_ms, 3);
    j["cpu_us_per_action"] = {{"players", round_to(r.cpu_players_us, 1)},
                              {"gateway", round_to(r.cpu_gateway_us, 1)},
                              {"broker", round_to(r.cpu_broker_us, 1)},
                              {"table", round_to(r.cpu_table_us, 1)}};
    j["machine_busy_pct"] = round_to(r.machine_busy * 100, 1);
    j["scheduler"] = r.scheduler;
    return j;
}

std::string to_table(const PathBenchResults& r, const PathBenchOptions& o) {
    std::ostringstream s;
    char line[200];
    std::snprintf(line, sizeof line,
                  "tb-bench path: %d players (%d tables), closed loop, %zu-byte moves, %.1f s "
                  "after %.1f s warm-up, scheduler %s\n",
                  r.players, r.players / 2, std::max(o.body_size, kHeader), r.seconds,
                  static_cast<double>(o.warmup.count()) / 1000.0, o.scheduler.c_str());
    s << line;
    std::snprintf(line, sizeof line,
                  "  %.0f actions/s, round trip p50 %.3f ms, p90 %.3f, p99 %.3f, p99.9 %.3f\n",
                  r.actions_per_s, r.p50_ms, r.p90_ms, r.p99_ms, r.p999_ms);
    s << line;
    std::snprintf(line, sizeof line,
                  "  CPU us per action: players %.1f, gateway %.1f, broker %.1f, table %.1f "
                  "(sum %.1f); machine %.0f%% busy\n",
                  r.cpu_players_us, r.cpu_gateway_us, r.cpu_broker_us, r.cpu_table_us,
                  r.cpu_players_us + r.cpu_gateway_us + r.cpu_broker_us + r.cpu_table_us,
                  r.machine_busy * 100);
    s << line;
    return s.str();
}

}  // namespace tb::bench
