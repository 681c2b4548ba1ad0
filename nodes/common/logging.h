#pragma once
// Logging set-up shared by every node: one spdlog logger per node, named after it, writing to
// stderr (coloured on a terminal) and optionally to a size-rotated file, made the default logger
// so spdlog::info() and friends work everywhere in the node. Set up once in main from the node's
// LogConfig; SPDLOG_LEVEL in the environment overrides the configured level, so an operator can
// turn on debug output for one run without editing conf/. Logging must never take a node down:
// a failing log call (bad format string, full disk) is counted, not thrown.

#include <spdlog/logger.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nodes/common/config.h"

namespace tb::common {

// Time with milliseconds, level, logger (node) name, thread id, message.
inline constexpr char kLogPattern[] = "%Y-%m-%d %H:%M:%S.%e %^%-8l%$ %n[%t] %v";

// Parses a log.level value (trace, debug, info, warn, error, critical, off). Throws
// ConfigError naming log.level on anything else; any thread.
spdlog::level::level_enum parse_log_level(const std::string& level);

// Creates the node's logger from `cfg` and makes it spdlog's default logger, replacing any logger
// of the same name (so tests may call it repeatedly). `extra_sinks` are added after stderr and
// the file (tests pass an ostream sink; a node could add syslog). Flushes on warn and above.
// Main thread, at start, before other threads log. Throws ConfigError on a bad level or when
// the log file cannot be opened (the message names log.file and the path).
std::shared_ptr<spdlog::logger> init_logging(const std::string& node_name, const LogConfig& cfg,
                                             std::vector<spdlog::sink_ptr> extra_sinks = {});

// Logs describe() of `schema` at info, one line per key, secrets masked. Any thread.
void log_effective_config(spdlog::logger& logger, const ConfigSchema& schema);

// Log calls that failed inside spdlog since start (reported by the error handler that
// init_logging() installs instead of spdlog's). For metrics and tests; any thread.
uint64_t log_error_count() noexcept;

}  // namespace tb::common
