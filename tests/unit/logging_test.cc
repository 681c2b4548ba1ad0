// Tests of init_logging(): level filtering, SPDLOG_LEVEL, the rotating file, and that a failing
// log call is counted instead of thrown. Output is captured with an ostream sink.

#include "nodes/common/logging.h"

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

namespace tb::common {
namespace {

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

// Puts spdlog back to a plain default logger at scope exit, so no test leaves a default logger
// that writes into a destroyed stream.
class SpdlogReset {
public:
    SpdlogReset() = default;
    ~SpdlogReset() {
        spdlog::drop_all();
        spdlog::set_default_logger(std::make_shared<spdlog::logger>(
            "", std::make_shared<spdlog::sinks::stderr_color_sink_mt>()));
    }
    SpdlogReset(const SpdlogReset&) = delete;
    SpdlogReset& operator=(const SpdlogReset&) = delete;
};

// Sets or unsets an environment variable for one scope and restores it afterwards.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        if (value != nullptr) {
            ::setenv(name, value, 1);
        } else {
            ::unsetenv(name);
        }
    }
    ~ScopedEnv() {
        if (old_) {
            ::setenv(name_.c_str(), old_->c_str(), 1);
        } else {
            ::unsetenv(name_.c_str());
        }
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
    std::string name_;
    std::optional<std::string> old_;
};

class TempDir {
public:
    TempDir() {
        static std::atomic<int> counter{0};
        path_ = fs::temp_directory_path() /
                ("tb_logging_test_" + std::to_string(::getpid()) + "_" + std::to_string(++counter));
        fs::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

// Silences the stderr sink (init_logging() puts it first) so only the captured sink sees output.
void quiet_stderr(spdlog::logger& logger) {
    logger.sinks().front()->set_level(spdlog::level::off);
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream out;
    out << in.rdbuf();
    return out.str();
}

TEST_CASE("The node logger drops messages below the configured level", "[common]") {
    ScopedEnv no_env_level("SPDLOG_LEVEL", nullptr);
    std::ostringstream out;
    SpdlogReset reset;
    LogConfig cfg;
    cfg.level = "warn";
    auto logger =
        init_logging("tb_test", cfg, {std::make_shared<spdlog::sinks::ostream_sink_mt>(out)});
    quiet_stderr(*logger);
    logger->info("quiet {}", 1);
    logger->warn("loud {}", 2);
    spdlog::error("via the default logger");
    const std::string text = out.str();
    CHECK(text.find("quiet") == std::string::npos);
    CHECK_THAT(text, Contains("loud 2"));
    CHECK_THAT(text, Contains("tb_test["));
    CHECK_THAT(text, Contains("warning"));
    CHECK_THAT(text, Contains("via the default logger"));
    CHECK(spdlog::default_logger()->name() == "tb_test");
    CHECK(spdlog::get("tb_test") == logger);
}

TEST_CASE("SPDLOG_LEVEL overrides the configured level", "[common]") {
    ScopedEnv env_level("SPDLOG_LEVEL", "debug");
    std::ostringstream out;
    SpdlogReset reset;
    LogConfig cfg;
    cfg.level = "error";
    auto logger =
        init_logging("tb_test", cfg, {std::make_shared<spdlog::sinks::ostream_sink_mt>(out)});
    quiet_stderr(*logger);
    logger->debug("shown because of the environment");
    logger->trace("still hidden");
    CHECK_THAT(out.str(), Contains("shown because of the environment"));
    CHECK(out.str().find("still hidden") == std::string::npos);
}

TEST_CASE("A bad level string is a ConfigError naming log.level", "[common]") {
    SpdlogReset reset;
    LogConfig cfg;
    cfg.level = "verbose";
    REQUIRE_THROWS_AS(init_logging("tb_test", cfg), ConfigError);
    REQUIRE_THROWS_WITH(init_logging("tb_test", cfg),
                        Contains("log.level") && Contains("\"verbose\""));
    CHECK(parse_log_level("warn") == spdlog::level::warn);
    CHECK(parse_log_level("off") == spdlog::level::off);
}

TEST_CASE("With log.file set the log is written to a file", "[common]") {
    ScopedEnv no_env_level("SPDLOG_LEVEL", nullptr);
    TempDir dir;
    SpdlogReset reset;
    LogConfig cfg;
    cfg.file = (dir.path() / "logs" / "node.log").string();  // the directory is created
    auto logger = init_logging("tb_test", cfg);
    quiet_stderr(*logger);
    logger->info("to the file {}", 42);
    logger->flush();
    CHECK_THAT(read_file(cfg.file), Contains("to the file 42"));
}

TEST_CASE("The log file rotates at max_size_mb keeping max_files", "[common]") {
    ScopedEnv no_env_level("SPDLOG_LEVEL", nullptr);
    TempDir dir;
    SpdlogReset reset;
    LogConfig cfg;
    cfg.level = "debug";
    cfg.file = (dir.path() / "node.log").string();
    cfg.max_size_mb = 1;
    cfg.max_files = 2;
    auto logger = init_logging("tb_test", cfg);
    quiet_stderr(*logger);  // only the file should see this volume
    const std::string line(200, 'x');
    for (int i = 0; i < 4 * 1024 * 1024 / 200; ++i) logger->debug("{} {}", i, line);
    logger->flush();
    CHECK(fs::exists(dir.path() / "node.log"));
    CHECK(fs::exists(dir.path() / "node.1.log"));
    CHECK(fs::exists(dir.path() / "node.2.log"));
    CHECK_FALSE(fs::exists(dir.path() / "node.3.log"));
    CHECK(fs::file_size(dir.path() / "node.1.log") <= 1024 * 1024);
}

TEST_CASE("A log file that cannot be opened is a ConfigError naming log.file", "[common]") {
    TempDir dir;
    SpdlogReset reset;
    std::ofstream(dir.path() / "plain") << "not a directory";
    LogConfig cfg;
    cfg.file = (dir.path() / "plain" / "node.log").string();
    REQUIRE_THROWS_AS(init_logging("tb_test", cfg), ConfigError);
    REQUIRE_THROWS_WITH(init_logging("tb_test", cfg), Contains("log.file") && Contains(cfg.file));
}

TEST_CASE("A failing log call is counted and never throws", "[common]") {
    std::ostringstream out;
    SpdlogReset reset;
    auto logger = init_logging("tb_test", LogConfig{},
                               {std::make_shared<spdlog::sinks::ostream_sink_mt>(out)});
    quiet_stderr(*logger);
    const uint64_t before = log_error_count();
    // A runtime format string with a missing argument makes fmt throw inside spdlog.
    REQUIRE_NOTHROW(logger->info(fmt::runtime("{} and {}"), 1));
    CHECK(log_error_count() == before + 1);
    logger->info("still logging");
    CHECK_THAT(out.str(), Contains("still logging"));
}

TEST_CASE("The effective config is logged one key a line with secrets masked", "[common]") {
    ScopedEnv no_env_level("SPDLOG_LEVEL", nullptr);
    std::ostringstream out;
    SpdlogReset reset;
    NodeConfig node;
    std::string secret = "hunter2";
    ConfigSchema schema;
    bind_node_config(schema, node);
    schema.add("ticket.secret", &secret, "signing key").secret();
    auto logger = init_logging("tb_test", LogConfig{},
                               {std::make_shared<spdlog::sinks::ostream_sink_mt>(out)});
    quiet_stderr(*logger);
    log_effective_config(*logger, schema);
    CHECK_THAT(out.str(), Contains("config: node.id = 1\n"));
    CHECK_THAT(out.str(), Contains("config: ticket.secret = ***\n"));
    CHECK(out.str().find("hunter2") == std::string::npos);
}

}  // namespace
}  // namespace tb::common
