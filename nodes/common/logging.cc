#include "nodes/common/logging.h"

#include <spdlog/cfg/env.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdio>
#include <string_view>
#include <utility>

namespace tb::common {

namespace {

std::atomic<uint64_t> g_log_errors{0};

constexpr std::pair<std::string_view, spdlog::level::level_enum> kLevels[] = {
    {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug},
    {"info", spdlog::level::info},   {"warn", spdlog::level::warn},
    {"error", spdlog::level::err},   {"critical", spdlog::level::critical},
    {"off", spdlog::level::off},
};

// Replaces spdlog's handler (which prints every failure) so that a log call that goes wrong in
// a hot loop costs a counter increment, not a flood on stderr; the first one is still shown.
void on_log_error(const std::string& message) noexcept {
    if (g_log_errors.fetch_add(1, std::memory_order_relaxed) == 0) {
        std::fprintf(stderr, "logging failed (further failures are only counted): %s\n",
                     message.c_str());
    }
}

}  // namespace

spdlog::level::level_enum parse_log_level(const std::string& level) {
    for (const auto& [name, value] : kLevels) {
        if (level == name) return value;
    }
    // spdlog::level::from_str() would quietly turn a typo into "off".
    throw ConfigError(
        "log.level: expected one of trace, debug, info, warn, error, critical, off, "
        "got \"" +
        level + "\"");
}

std::shared_ptr<spdlog::logger> init_logging(const std::string& node_name, const LogConfig& cfg,
                                             std::vector<spdlog::sink_ptr> extra_sinks) {
    const auto level = parse_log_level(cfg.level);

    std::vector<spdlog::sink_ptr> sinks;
    // Automatic colour mode: colours only when stderr is a terminal that supports them.
    sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    if (!cfg.file.empty()) {
        if (cfg.max_size_mb < 1 || cfg.max_files < 1) {
            throw ConfigError("log.max_size_mb and log.max_files must be at least 1");
        }
        try {
            sinks.push_back(std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
                cfg.file, static_cast<size_t>(cfg.max_size_mb) * 1024 * 1024,
                static_cast<size_t>(cfg.max_files)));
        } catch (const spdlog::spdlog_ex& e) {
            throw ConfigError("log.file: cannot open \"" + cfg.file + "\": " + e.what());
        }
    }
    for (auto& sink : extra_sinks) sinks.push_back(std::move(sink));

    auto logger = std::make_shared<spdlog::logger>(node_name, sinks.begin(), sinks.end());
    logger->set_level(level);
    logger->set_pattern(kLogPattern);
    // Warnings and errors reach the disk at once: they are what a post-mortem needs.
    logger->flush_on(spdlog::level::warn);
    logger->set_error_handler(on_log_error);

    spdlog::drop(node_name);  // register_logger() throws on a name already taken
    spdlog::register_logger(logger);
    spdlog::set_default_logger(logger);
    // After set_level(): SPDLOG_LEVEL (e.g. "debug" or "db=trace") wins over log.level.
    spdlog::cfg::load_env_levels();
    return logger;
}

void log_effective_config(spdlog::logger& logger, const ConfigSchema& schema) {
    const std::string text = schema.describe(true);
    std::string_view rest = text;
    while (!rest.empty()) {
        const auto end = rest.find('\n');
        logger.info("config: {}", rest.substr(0, end));
        if (end == std::string_view::npos) break;
        rest.remove_prefix(end + 1);
    }
}

uint64_t log_error_count() noexcept {
    return g_log_errors.load(std::memory_order_relaxed);
}

}  // namespace tb::common
