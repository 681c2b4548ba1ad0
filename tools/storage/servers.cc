#include "tools/storage/servers.h"

#include <unistd.h>

#include <stdexcept>

namespace tb::storage {

namespace fs = std::filesystem;

namespace {

// Smaller than the 96M default: the template datadir (and each copy of it) is 34 MB, not 114.
constexpr const char* kLogFileSize = "--innodb-log-file-size=16M";

void as_root_if_root(std::vector<std::string>& argv) {
    // mariadbd refuses to run as root unless told to.
    if (::geteuid() == 0) argv.emplace_back("--user=root");
}

}  // namespace

std::string find_program(std::string_view name) {
    for (const char* d : {"/usr/bin", "/usr/sbin", "/usr/local/bin", "/bin", "/sbin"}) {
        const fs::path p = fs::path(d) / std::string(name);
        if (::access(p.c_str(), X_OK) == 0) return p.string();
    }
    throw std::runtime_error(std::string(name) + " not found (run tools/install-deps.sh)");
}

std::vector<std::string> install_db_argv(const fs::path& datadir, const fs::path& tmpdir) {
    std::vector<std::string> argv{find_program("mariadb-install-db"),
                                  "--no-defaults",
                                  "--datadir=" + datadir.string(),
                                  "--tmpdir=" + tmpdir.string(),
                                  "--auth-root-authentication-method=normal",
                                  "--skip-test-db",
                                  "--skip-name-resolve",
                                  kLogFileSize};
    as_root_if_root(argv);
    return argv;
}

std::vector<std::string> mariadbd_argv(uint16_t port, const MariaDbdFiles& files) {
    std::vector<std::string> argv{kMariaDbd,
                                  "--no-defaults",
                                  "--datadir=" + files.datadir.string(),
                                  "--tmpdir=" + files.tmpdir.string(),
                                  "--port=" + std::to_string(port),
                                  "--bind-address=127.0.0.1",
                                  "--socket=" + files.socket.string(),
                                  "--pid-file=" + files.pid_file.string(),
                                  "--skip-name-resolve",
                                  "--innodb-flush-log-at-trx-commit=1",  // durable: never off
                                  "--innodb-buffer-pool-size=64M",
                                  kLogFileSize,
                                  "--max-connections=500",
                                  "--skip-log-bin",
                                  "--log-error=" + files.error_log.string()};
    as_root_if_root(argv);
    return argv;
}

const std::vector<std::string>& grant_statements() {
    static const std::vector<std::string> statements = [] {
        std::vector<std::string> out;
        for (const char* host : {"%", "localhost"}) {
            const std::string who = std::string("'") + kUser + "'@'" + host + "'";
            out.push_back("CREATE USER IF NOT EXISTS " + who + " IDENTIFIED BY '" + kPassword +
                          "'");
            out.push_back("GRANT ALL PRIVILEGES ON *.* TO " + who + " WITH GRANT OPTION");
        }
        return out;
    }();
    return statements;
}

std::vector<std::string> redis_server_argv(uint16_t port, const fs::path& dir,
                                           const fs::path& pid_file) {
    std::vector<std::string> argv{find_program("redis-server"),
                                  "--port",
                                  std::to_string(port),
                                  "--bind",
                                  "127.0.0.1",
                                  "--dir",
                                  dir.string(),
                                  "--save",
                                  "",
                                  "--appendonly",
                                  "no",
                                  "--protected-mode",
                                  "no",
                                  "--daemonize",
                                  "no",
                                  "--logfile",
                                  (dir / "redis.log").string()};
    if (!pid_file.empty()) {
        argv.emplace_back("--pidfile");
        argv.push_back(pid_file.string());
    }
    return argv;
}

}  // namespace tb::storage
