#include "tools/bench/storage.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "nodes/common/mariadb.h"
#include "nodes/common/redis.h"
#include "tools/bench/bench.h"
#include "tools/storage/servers.h"

namespace tb::bench {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr auto kReadyLimit = 60s;

std::string read_tail(const fs::path& path, std::size_t lines) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    std::size_t pos = text.size();
    if (pos > 0 && text[pos - 1] == '\n') --pos;
    for (std::size_t found = 0; pos > 0; --pos) {
        if (text[pos - 1] == '\n' && ++found == lines) break;
    }
    return text.substr(pos);
}

bool tcp_accepts(uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

// Polls `ready` every 50 ms until it is true; throws (with `describe`) when `child` dies, the
// limit passes, or a stop is requested (Interrupted).
template <class Ready, class Describe>
void wait_ready(Child& child, const std::string& what, Ready&& ready, Describe&& describe) {
    const auto until = SteadyClock::now() + kReadyLimit;
    for (;;) {
        if (stop_requested()) throw Interrupted();
        if (!child.running())
            throw std::runtime_error(what + " exited during startup\n" + describe());
        if (ready()) return;
        if (SteadyClock::now() >= until) {
            throw std::runtime_error(what + " not ready after 60 s\n" + describe());
        }
        std::this_thread::sleep_for(50ms);
    }
}

common::MariaDbConfig root_over_socket(const std::string& socket) {
    common::MariaDbConfig c;
    c.unix_socket = socket;
    c.user = "root";
    c.connect_timeout_s = 2;
    return c;
}

}  // namespace

fs::path default_storage_root() {
    const std::string self = self_exe();
    const fs::path bin = fs::path(self).parent_path();
    const fs::path root = bin.parent_path() / "bench-storage";
    std::error_code ec;
    fs::create_directories(root, ec);
    if (!ec && ::access(root.c_str(), W_OK) == 0) return root;
    const fs::path tmp = fs::temp_directory_path() / "tb-bench-storage";
    fs::create_directories(tmp);
    return tmp;
}

void remove_stale_runs(const fs::path& root) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(root, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind("run-", 0) != 0) continue;
        const std::string pid = name.substr(4);
        if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
        if (fs::exists("/proc/" + pid)) continue;  // that run is still going
        std::error_code rm;
        fs::remove_all(entry.path(), rm);
    }
}

// ---------------------------------------------------------------------------------------------
// MariaDB

BenchMariaDb::BenchMariaDb(fs::path run_dir, fs::path template_dir, uint16_t port,
                           std::vector<std::string> extra_args)
    : dir_(fs::absolute(run_dir) / "mariadb"), port_(port) {
    fs::create_directories(dir_);
    socket_ = (dir_ / "mysqld.sock").string();
    if (socket_.size() >= 100) {  // sun_path is 108 bytes
        socket_ = (fs::temp_directory_path() /
                   ("tb-bench-mariadb-" + std::to_string(::getpid()) + ".sock"))
                      .string();
    }
    prepare_datadir(fs::absolute(template_dir));
    std::error_code ec;
    fs::remove(socket_, ec);
    // A tmpdir of its own: a starting mariadbd deletes the #sql temporary files in its tmpdir,
    // which breaks other servers (and bootstraps) sharing /tmp.
    fs::create_directories(dir_ / "tmp");
    auto argv = storage::mariadbd_argv(
        port_, {datadir(), dir_ / "tmp", socket_, dir_ / "mysqld.pid", dir_ / "error.log"});
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    // Its few lines before --log-error takes over (max_open_files) go to a file too.
    process_ =
        std::make_unique<Child>("mariadbd", argv, ChildOptions{{}, (dir_ / "stdout.log").string()});

    common::MariaDb root(root_over_socket(socket_));
    wait_ready(
        *process_, "mariadbd on port " + std::to_string(port_),
        [&] {
            if (!tcp_accepts(port_)) return false;
            try {
                root.connect();
                return true;
            } catch (const common::DbException&) {
                return false;
            }
        },
        [&] { return describe(); });
    for (const auto& sql : storage::grant_statements()) root.execute(sql);
}

BenchMariaDb::~BenchMariaDb() {
    // A clean InnoDB shutdown is quick on a small datadir; the data goes anyway.
    if (process_) process_->stop(std::chrono::milliseconds(15000));
    std::error_code ec;
    fs::remove_all(dir_, ec);
    fs::remove(socket_, ec);
}

void BenchMariaDb::prepare_datadir(const fs::path& template_dir) {
    std::error_code ec;
    fs::remove_all(datadir(), ec);
    if (!fs::is_directory(template_dir / "mysql")) {
        // Initialize privately, then rename: a template is complete or absent, even when two
        // runs (or a killed one) got here at once.
        const fs::path tmp = template_dir.parent_path() / (template_dir.filename().string() +
                                                           ".tmp-" + std::to_string(::getpid()));
        fs::remove_all(tmp, ec);
        fs::create_directories(tmp.parent_path());
        const fs::path log = dir_ / "install-db.log";
        const fs::path tmpdir = tmp.string() + "-tmpdir";  // its own, as for the server
        fs::create_directories(tmpdir);
        const auto argv = storage::install_db_argv(tmp, tmpdir);
        int code = -1;
        try {
            code = run_to_end("mariadb-install-db", argv, std::chrono::minutes(3),
                              ChildOptions{{}, log.string()});
        } catch (...) {
            fs::remove_all(tmp, ec);
            fs::remove_all(tmpdir, ec);
            throw;
        }
        fs::remove_all(tmpdir, ec);
        if (code != 0) {
            fs::remove_all(tmp, ec);
            throw std::runtime_error("mariadb-install-db failed (status " + std::to_string(code) +
                                     "):\n" + read_tail(log, 15));
        }
        fs::rename(tmp, template_dir, ec);
        if (ec) fs::remove_all(tmp, ec);  // another run made it first: use theirs
    }
    fs::copy(template_dir, datadir(), fs::copy_options::recursive);
}

std::string BenchMariaDb::describe() {
    return (process_ ? process_->describe() : std::string("mariadbd")) + " in " + dir_.string() +
           "\n--- error.log (tail) ---\n" + read_tail(dir_ / "error.log", 15);
}

// ---------------------------------------------------------------------------------------------
// Redis

BenchRedis::BenchRedis(fs::path dir, uint16_t port)
    : dir_(fs::absolute(dir) / "redis"), port_(port) {
    fs::create_directories(dir_);
    const auto argv = storage::redis_server_argv(port_, dir_);
    process_ = std::make_unique<Child>("redis-server", argv);
    common::RedisConfig c;
    c.port = port_;
    common::Redis redis(c);
    wait_ready(
        *process_, "redis-server on port " + std::to_string(port_),
        [&] {
            try {
                if (!redis.connected()) redis.connect();
                return redis.command({"PING"}).str == "PONG";
            } catch (const common::DbException&) {
                redis.close();
                return false;
            }
        },
        [&] { return describe(); });
}

BenchRedis::~BenchRedis() {
    if (process_) process_->stop(std::chrono::milliseconds(5000));
    std::error_code ec;
    fs::remove_all(dir_, ec);
}

std::string BenchRedis::describe() {
    return (process_ ? process_->describe() : std::string("redis-server")) + " in " +
           dir_.string() + "\n--- redis.log (tail) ---\n" + read_tail(dir_ / "redis.log", 15);
}

// ---------------------------------------------------------------------------------------------
// The disk

namespace {

// One stream of measure_fsyncs: its own file; syncs done until `end`.
uint64_t fsync_stream(const fs::path& path, SteadyClock::time_point end) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "open " + path.string());
    struct Cleanup {
        int fd;
        fs::path path;
        ~Cleanup() {
            ::close(fd);
            std::error_code ec;
            fs::remove(path, ec);
        }
    } cleanup{fd, path};
    constexpr std::size_t kBlock = 4096;
    constexpr std::size_t kFile = 1 << 20;
    std::string block(kBlock, 'x');
    const auto write_at = [&](std::size_t offset) {
        if (::pwrite(fd, block.data(), kBlock, static_cast<off_t>(offset)) !=
            static_cast<ssize_t>(kBlock)) {
            throw std::system_error(errno, std::generic_category(), "pwrite " + path.string());
        }
    };
    for (std::size_t off = 0; off < kFile; off += kBlock) write_at(off);  // preallocate
    if (::fsync(fd) != 0) throw std::system_error(errno, std::generic_category(), "fsync");
    uint64_t syncs = 0;
    std::size_t off = 0;
    while (SteadyClock::now() < end && !stop_requested()) {
        block[0] = static_cast<char>('a' + syncs % 26);
        write_at(off);
        if (::fdatasync(fd) != 0) {
            throw std::system_error(errno, std::generic_category(), "fdatasync " + path.string());
        }
        ++syncs;
        off = (off + kBlock) % kFile;
    }
    return syncs;
}

}  // namespace

double measure_fsyncs(const fs::path& dir, std::chrono::milliseconds duration, int streams) {
    fs::create_directories(dir);
    const auto start = SteadyClock::now();
    const auto end = start + duration;
    std::vector<uint64_t> syncs(static_cast<std::size_t>(std::max(1, streams)), 0);
    std::vector<std::exception_ptr> errors(syncs.size());
    {
        std::vector<std::jthread> threads;
        for (std::size_t i = 0; i < syncs.size(); ++i) {
            threads.emplace_back([&, i] {
                try {
                    syncs[i] = fsync_stream(dir / ("fsync-probe-" + std::to_string(::getpid()) +
                                                   "-" + std::to_string(i)),
                                            end);
                } catch (...) {
                    errors[i] = std::current_exception();
                }
            });
        }
    }
    if (stop_requested()) throw Interrupted();
    for (auto& e : errors) {
        if (e) std::rethrow_exception(e);
    }
    const double seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
    uint64_t total = 0;
    for (const uint64_t n : syncs) total += n;
    return seconds > 0 ? static_cast<double>(total) / seconds : 0;
}

}  // namespace tb::bench
