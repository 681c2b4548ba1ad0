#include "tests/support/storage.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "tests/support/wait.h"
#include "tools/storage/servers.h"

#ifndef TB_TEST_STORAGE_DIR
#error "TB_TEST_STORAGE_DIR must be defined by the build (<build>/test-storage)"
#endif

namespace tb::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

namespace {

using storage::kPassword;
using storage::kUser;
constexpr auto kReadyLimit = 30s;

[[noreturn]] void throw_errno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

std::string tail_lines(const std::string& text, std::size_t lines) {
    std::size_t pos = text.size();
    if (pos > 0 && text[pos - 1] == '\n') --pos;
    for (std::size_t found = 0; pos > 0; --pos) {
        if (text[pos - 1] == '\n' && ++found == lines) break;
    }
    return text.substr(pos);
}

std::string trim_newline(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
}

std::string describe_run(const std::vector<std::string>& argv, const RunResult& r) {
    std::ostringstream s;
    s << join_args(argv) << ": ";
    if (r.timed_out) {
        s << "timed out after " << r.elapsed.count() << " ms";
    } else {
        s << "exit " << r.exit_code;
    }
    if (!r.err.empty()) s << "\n" << tail_lines(r.err, 10);
    if (!r.out.empty()) s << "\n" << tail_lines(r.out, 10);
    return s.str();
}

// A TCP connection to 127.0.0.1:port; -1 when refused.
int tcp_connect(uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw_errno("socket");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return -1;
    }
    timeval tv{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return fd;
}

// A raw RESP PING: true on "+PONG".
bool redis_tcp_ping(uint16_t port) {
    const int fd = tcp_connect(port);
    if (fd < 0) return false;
    bool ok = false;
    constexpr std::string_view ping = "PING\r\n";
    if (::send(fd, ping.data(), ping.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(ping.size())) {
        std::string got;
        char buf[64];
        while (got.find("\r\n") == std::string::npos) {
            const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0) break;
            got.append(buf, static_cast<std::size_t>(n));
        }
        ok = got.rfind("+PONG", 0) == 0;
    }
    ::close(fd);
    return ok;
}

// /proc/<pid>/stat state: true when the process is gone or a zombie (exited, not reaped yet;
// a stale server of a killed run is not our child).
bool process_gone(pid_t pid) {
    if (pid <= 0) return true;
    if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
    const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    const auto close_paren = stat.rfind(')');
    if (stat.empty() || close_paren == std::string::npos || close_paren + 2 >= stat.size()) {
        return true;
    }
    const char state = stat[close_paren + 2];
    return state == 'Z' || state == 'X';
}

bool keep_logs() {
    return std::getenv("TB_KEEP_TEST_LOGS") != nullptr;
}

void check_port_free(uint16_t port, std::string_view what) {
    if (!loopback_port_bindable(port)) {
        throw std::runtime_error(std::string(what) + ": port " + std::to_string(port) +
                                 " on 127.0.0.1 is already in use");
    }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Shared pair

fs::path storage_dir() {
    return fs::path(TB_TEST_STORAGE_DIR);
}

std::map<std::string, std::string> read_env_file(const fs::path& path) {
    std::map<std::string, std::string> env;
    std::istringstream in(read_file(path));
    std::string line;
    while (std::getline(in, line)) {
        const auto eq = line.find('=');
        if (line.empty() || line[0] == '#' || eq == std::string::npos) continue;
        env[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return env;
}

const StorageEndpoints& shared_storage() {
    static std::mutex mutex;
    static std::optional<StorageEndpoints> endpoints;
    std::lock_guard lock(mutex);
    if (endpoints) return *endpoints;
    const fs::path env_path = storage_dir() / "env";
    const auto env = read_env_file(env_path);
    if (env.empty()) {
        throw std::runtime_error(
            "shared storage not started: run through ctest (fixture storage); no " +
            env_path.string() + " (tb-test-storage start --dir " + storage_dir().string() + ")");
    }
    auto get = [&](const std::string& key) {
        const auto it = env.find(key);
        if (it == env.end() || it->second.empty()) {
            throw std::runtime_error("shared storage: " + env_path.string() + " has no " + key);
        }
        return it->second;
    };
    StorageEndpoints s;
    s.mariadb_port = static_cast<uint16_t>(std::stoul(get("mariadb_port")));
    s.mariadb_socket = get("mariadb_socket");
    s.mariadb_user = get("mariadb_user");
    s.mariadb_password = get("mariadb_password");
    s.redis_port = static_cast<uint16_t>(std::stoul(get("redis_port")));
    endpoints = s;
    return *endpoints;
}

std::string unique_name(std::string_view prefix) {
    static std::atomic<unsigned> counter{0};
    static const unsigned salt = [] {
        std::random_device rd;
        return rd();
    }();
    thread_local std::mt19937 rng(
        salt ^ static_cast<unsigned>(std::hash<std::thread::id>{}(std::this_thread::get_id())));
    char random[8];
    std::snprintf(random, sizeof random, "%06x", static_cast<unsigned>(rng() & 0xffffffU));
    std::string name(prefix);
    name += "_" + std::to_string(::getpid()) + "_" + std::to_string(++counter) + "_" + random;
    return name;
}

std::string mariadb_exec(const StorageEndpoints& s, std::string_view sql,
                         std::string_view database) {
    std::vector<std::string> argv{storage::find_program("mariadb"),
                                  "--no-defaults",
                                  "--protocol=TCP",
                                  "--host=" + s.host,
                                  "--port=" + std::to_string(s.mariadb_port),
                                  "--user=" + s.mariadb_user,
                                  "--password=" + s.mariadb_password,
                                  "--batch",
                                  "--skip-column-names",
                                  "--connect-timeout=10"};
    if (!database.empty()) argv.push_back("--database=" + std::string(database));
    argv.push_back("--execute=" + std::string(sql));
    const RunResult r = run_command(argv, 60s);
    if (r.exit_code != 0) throw std::runtime_error("mariadb_exec: " + describe_run(argv, r));
    return r.out;
}

std::string redis_exec(uint16_t port, const std::vector<std::string>& args) {
    std::vector<std::string> argv{storage::find_program("redis-cli"), "-h", "127.0.0.1", "-p",
                                  std::to_string(port)};
    argv.insert(argv.end(), args.begin(), args.end());
    const RunResult r = run_command(argv, 30s);
    // redis-cli exits 0 on a refused connection too, but prints to stderr.
    if (r.exit_code != 0 || r.out.rfind("ERR", 0) == 0 ||
        r.err.find("Could not connect") != std::string::npos) {
        throw std::runtime_error("redis_exec: " + describe_run(argv, r));
    }
    return trim_newline(r.out);
}

TestSchema::TestSchema(const StorageEndpoints& s) : endpoints_(s), name_(unique_name("tbt")) {
    mariadb_exec(endpoints_, "CREATE DATABASE `" + name_ + "`");
}

TestSchema::~TestSchema() {
    try {
        mariadb_exec(endpoints_, "DROP DATABASE IF EXISTS `" + name_ + "`");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "TestSchema: cannot drop %s: %s\n", name_.c_str(), e.what());
    }
}

std::string TestSchema::exec(std::string_view sql) const {
    return mariadb_exec(endpoints_, sql, name_);
}

TestRedisPrefix::TestRedisPrefix(const StorageEndpoints& s)
    : port_(s.redis_port), prefix_("tbt:" + unique_name("k").substr(2) + ":") {
    redis_exec(port_, {"PING"});  // fail here, clearly, when the server is not there
}

TestRedisPrefix::~TestRedisPrefix() {
    try {
        clear();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "TestRedisPrefix: cannot delete %s*: %s\n", prefix_.c_str(), e.what());
    }
}

std::size_t TestRedisPrefix::clear() const {
    // The prefix has no glob characters ([a-z0-9_:] only), so it is its own pattern.
    const std::string out = redis_exec(port_, {"--scan", "--pattern", prefix_ + "*"});
    std::vector<std::string> keys;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) {
        if (!line.empty()) keys.push_back(line);
    }
    for (std::size_t i = 0; i < keys.size(); i += 500) {
        std::vector<std::string> del{"UNLINK"};
        for (std::size_t j = i; j < keys.size() && j < i + 500; ++j) del.push_back(keys[j]);
        redis_exec(port_, del);
    }
    return keys.size();
}

// ---------------------------------------------------------------------------------------------
// PrivateMariaDb

PrivateMariaDb::PrivateMariaDb(fs::path dir, uint16_t port, fs::path template_dir)
    : dir_(std::move(dir)),
      template_dir_(template_dir.empty() ? storage_dir() / "mariadb-template"
                                         : std::move(template_dir)),
      port_(port) {
    dir_ = fs::absolute(dir_);
    fs::create_directories(dir_);
    socket_ = dir_ / "mysqld.sock";
    if (socket_.string().size() >= 100) {  // sun_path is 108 bytes
        socket_ = fs::temp_directory_path() / ("tb-mariadb-" + std::to_string(port_) + "-" +
                                               std::to_string(::getpid()) + ".sock");
    }
    prepare_datadir();
    start();
}

PrivateMariaDb::~PrivateMariaDb() {
    try {
        stop();
        if (!keep_logs()) {
            std::error_code ec;
            fs::remove_all(datadir(), ec);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "PrivateMariaDb: %s\n", e.what());
    }
}

void PrivateMariaDb::prepare_datadir() {
    const auto started = SteadyClock::now();
    std::error_code ec;
    fs::remove_all(datadir(), ec);
    from_template_ = fs::is_directory(template_dir_ / "mysql");
    if (!from_template_) {
        // Initialize into a private directory, then rename: a template is complete or absent,
        // even when several processes (or a killed one) got here at the same time.
        const fs::path tmp = template_dir_.parent_path() /
                             (template_dir_.filename().string() + ".tmp-" + unique_name("init"));
        fs::create_directories(tmp.parent_path());
        // A tmpdir of its own: a starting mariadbd deletes the #sql temporary files it finds
        // in its tmpdir, so bootstraps sharing /tmp broke each other ("Unknown table
        // 'mysql.tmp_user_sys'") when tests ran at the same time.
        const fs::path tmpdir = tmp.string() + "-tmpdir";
        fs::create_directories(tmpdir);
        const auto argv = storage::install_db_argv(tmp, tmpdir);
        const RunResult r = run_command(argv, 180s);
        fs::remove_all(tmpdir, ec);
        if (r.exit_code != 0) {
            fs::remove_all(tmp, ec);
            throw std::runtime_error("PrivateMariaDb: " + describe_run(argv, r));
        }
        fs::rename(tmp, template_dir_, ec);
        if (ec) fs::remove_all(tmp, ec);  // another process made it first: use theirs
    }
    fs::copy(template_dir_, datadir(), fs::copy_options::recursive);
    prepare_time_ =
        std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started);
}

void PrivateMariaDb::start() {
    if (process_ && process_->running()) return;
    process_.reset();
    check_port_free(port_, "PrivateMariaDb");
    std::error_code ec;
    fs::remove(socket_, ec);
    fs::create_directories(dir_ / "tmp");  // its own: see prepare()
    const auto argv = storage::mariadbd_argv(
        port_, {datadir(), dir_ / "tmp", socket_, dir_ / "mysqld.pid", dir_ / "error.log"});
    process_ = std::make_unique<ChildProcess>(argv);

    // Ready: our process still runs, its TCP port accepts, and mariadb-admin ping answers.
    const std::vector<std::string> ping{storage::find_program("mariadb-admin"),
                                        "--no-defaults",
                                        "--protocol=TCP",
                                        "-h127.0.0.1",
                                        "-P" + std::to_string(port_),
                                        "-uroot",
                                        "--connect-timeout=2",
                                        "ping"};
    bool died = false;
    const bool ready = wait_for(
        [&] {
            if (!process_->running()) {
                died = true;
                return true;
            }
            const int fd = tcp_connect(port_);
            if (fd < 0) return false;
            ::close(fd);
            return run_command(ping, 5s).exit_code == 0;
        },
        kReadyLimit);
    if (died || !ready) {
        const std::string what = died ? "exited during startup" : "not ready after 30 s";
        process_->stop(2s);
        process_.reset();
        throw std::runtime_error("PrivateMariaDb on port " + std::to_string(port_) + ": " + what +
                                 "\n" + describe());
    }
    std::string grants;
    for (const auto& sql : storage::grant_statements()) grants += sql + ";";
    root_exec(grants);
}

void PrivateMariaDb::stop(std::chrono::milliseconds grace) {
    if (!process_) return;
    process_->stop(grace);
    process_.reset();
}

bool PrivateMariaDb::running() {
    return process_ && process_->running();
}

StorageEndpoints PrivateMariaDb::endpoints() const {
    StorageEndpoints s;
    s.mariadb_port = port_;
    s.mariadb_socket = socket_.string();
    s.mariadb_user = kUser;
    s.mariadb_password = kPassword;
    return s;
}

std::string PrivateMariaDb::root_exec(std::string_view sql) const {
    const std::vector<std::string> argv{storage::find_program("mariadb"),
                                        "--no-defaults",
                                        "--socket=" + socket_.string(),
                                        "--user=root",
                                        "--batch",
                                        "--skip-column-names",
                                        "--execute=" + std::string(sql)};
    const RunResult r = run_command(argv, 60s);
    if (r.exit_code != 0) throw std::runtime_error("PrivateMariaDb: " + describe_run(argv, r));
    return r.out;
}

std::string PrivateMariaDb::describe() const {
    return "mariadbd in " + dir_.string() + " (port " + std::to_string(port_) +
           ")\n--- error.log (tail) ---\n" + tail_lines(read_file(dir_ / "error.log"), 15);
}

// ---------------------------------------------------------------------------------------------
// PrivateRedis

PrivateRedis::PrivateRedis(fs::path dir, uint16_t port) : dir_(fs::absolute(dir)), port_(port) {
    fs::create_directories(dir_);
    start();
}

PrivateRedis::~PrivateRedis() {
    try {
        stop();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "PrivateRedis: %s\n", e.what());
    }
}

void PrivateRedis::start() {
    if (process_ && process_->running()) return;
    process_.reset();
    check_port_free(port_, "PrivateRedis");
    const auto argv = storage::redis_server_argv(port_, dir_, dir_ / "redis.pid");
    process_ = std::make_unique<ChildProcess>(argv);
    bool died = false;
    const bool ready = wait_for(
        [&] {
            if (!process_->running()) {
                died = true;
                return true;
            }
            return redis_tcp_ping(port_);
        },
        kReadyLimit);
    if (died || !ready) {
        const std::string what = died ? "exited during startup" : "not ready after 30 s";
        process_->stop(2s);
        process_.reset();
        throw std::runtime_error("PrivateRedis on port " + std::to_string(port_) + ": " + what +
                                 "\n" + describe());
    }
}

void PrivateRedis::stop(std::chrono::milliseconds grace) {
    if (!process_) return;
    process_->stop(grace);
    process_.reset();
}

bool PrivateRedis::running() {
    return process_ && process_->running();
}

std::string PrivateRedis::describe() const {
    return "redis-server in " + dir_.string() + " (port " + std::to_string(port_) +
           ")\n--- redis.log (tail) ---\n" + tail_lines(read_file(dir_ / "redis.log"), 15);
}

// ---------------------------------------------------------------------------------------------
// Ports and stale servers

uint16_t free_loopback_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw_errno("socket");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = 0;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        const int err = errno;
        ::close(fd);
        errno = err;
        throw_errno("free_loopback_port");
    }
    ::close(fd);
    return ntohs(addr.sin_port);
}

bool loopback_port_free(uint16_t port) {
    return loopback_port_bindable(port);
}

int kill_servers_under(const fs::path& dir, std::chrono::milliseconds grace) {
    std::string root = fs::absolute(dir).lexically_normal().string();
    while (root.size() > 1 && root.back() == '/') root.pop_back();
    auto under = [&](const std::string& s) {
        return s == root || s.rfind(root + "/", 0) == 0 ||
               s.find("=" + root + "/") != std::string::npos;
    };
    std::vector<pid_t> pids;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/proc", ec)) {
        const std::string name = entry.path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
        const pid_t pid = static_cast<pid_t>(std::stol(name));
        if (pid == ::getpid()) continue;
        const std::string comm = trim_newline(read_file(entry.path() / "comm"));
        if (comm != "mariadbd" && comm != "mysqld" && comm != "redis-server") continue;
        // redis-server rewrites its command line ("redis-server 127.0.0.1:P"), but both servers
        // run in their data directory; mariadbd keeps its --datadir=... arguments.
        std::error_code cwd_ec;
        const std::string cwd = fs::read_symlink(entry.path() / "cwd", cwd_ec).string();
        bool match = !cwd_ec && under(cwd);
        if (!match) {
            std::string cmdline = read_file(entry.path() / "cmdline");
            for (auto& c : cmdline) {
                if (c == '\0') c = ' ';
            }
            std::istringstream words(cmdline);
            for (std::string w; !match && words >> w;) match = under(w);
        }
        if (match && !process_gone(pid)) pids.push_back(pid);
    }
    for (const pid_t pid : pids) ::kill(pid, SIGTERM);
    auto all_gone = [&] {
        for (const pid_t pid : pids) {
            if (!process_gone(pid)) return false;
        }
        return true;
    };
    if (!wait_for(all_gone, grace)) {
        for (const pid_t pid : pids) ::kill(pid, SIGKILL);
        wait_for(all_gone, 10s);
    }
    return static_cast<int>(pids.size());
}

}  // namespace tb::test
