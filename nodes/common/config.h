#pragma once
// Start-up configuration of a node. Each node reads conf/<node>.toml once at start into its own
// typed structs; ConfigSchema binds dotted keys ("pool.size") to fields of those structs so that
// every node gets the same layering, type checks and error messages without parsing code of its
// own. Precedence, lowest first: the struct's default member values < the TOML file <
// environment TB_<SECTION>_<KEY> < command line (--set key=value, or a node's own aliases).
// Anything the schema does not know, or cannot convert, stops the node with a ConfigError that
// names where the value came from (file, env var or option) and the key: a mistyped key that is
// silently ignored in production is worse than a node that refuses to start.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace CLI {
class App;
}  // namespace CLI

namespace tb::common {

// A start-up failure the operator must fix (bad config, unusable log file). main() catches it
// and prints what() as one line; what() already names the file / env var / option and the key.
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Looks up an environment variable; nullptr when unset. Injectable so tests need not touch the
// process environment (which is shared by every test in the binary).
using EnvLookup = std::function<const char*(const char*)>;

// The real process environment (std::getenv).
EnvLookup process_env();

// Pointer to a field a key is bound to; these are all the types a key can have.
// std::chrono::milliseconds is written as an integer number of milliseconds.
using ConfigField = std::variant<bool*, int32_t*, int64_t*, uint16_t*, double*, std::string*,
                                 std::vector<std::string>*, std::chrono::milliseconds*>;

// A value of one of the ConfigField types, same alternative order.
using ConfigValue = std::variant<bool, int32_t, int64_t, uint16_t, double, std::string,
                                 std::vector<std::string>, std::chrono::milliseconds>;

// One registered key. ConfigSchema::add() returns it so that constraints chain:
//   schema.add("pool.size", &cfg.pool.size, "...").range(1, 64);
// The constraint setters are for start-up code on the thread that owns the schema; a constraint
// that does not fit the key's type (range() on a string, one_of() on an int) is a programming
// error and throws std::logic_error.
class ConfigOption {
public:
    // Inclusive bounds for a numeric key (for milliseconds: in milliseconds). Integral bounds
    // for integer keys; any arithmetic bounds for double keys.
    template <typename N>
    ConfigOption& range(N min, N max) {
        static_assert(std::is_arithmetic_v<N>, "range() takes numbers or milliseconds");
        if constexpr (std::is_integral_v<N>) {
            return set_int_range(static_cast<int64_t>(min), static_cast<int64_t>(max));
        } else {
            return set_real_range(static_cast<double>(min), static_cast<double>(max));
        }
    }
    ConfigOption& range(std::chrono::milliseconds min, std::chrono::milliseconds max) {
        return set_int_range(min.count(), max.count());
    }
    // Allowed values of a string key, or of every element of a vector<string> key.
    ConfigOption& one_of(std::vector<std::string> allowed);
    // A string or vector key must end up non-empty (checked after all layers, so a secret with
    // an empty default must be given by file, env or command line).
    ConfigOption& non_empty();
    // Never printed: describe() shows *** and error messages do not echo the value.
    ConfigOption& secret();

    const std::string& key() const noexcept { return key_; }
    const std::string& env_name() const noexcept { return env_name_; }
    const std::string& description() const noexcept { return description_; }
    bool is_secret() const noexcept { return secret_; }
    // Where the current value came from after load(): "default", the file path, the env var
    // name or "--set".
    const std::string& source() const noexcept { return source_; }

private:
    friend class ConfigSchema;
    friend struct SchemaLoader;

    ConfigOption(std::string key, ConfigField field, std::string description);
    ConfigOption& set_int_range(int64_t min, int64_t max);
    ConfigOption& set_real_range(double min, double max);
    bool is_numeric() const noexcept;
    bool is_text() const noexcept;

    std::string key_;
    std::string env_name_;
    std::string description_;
    ConfigField field_;
    ConfigValue default_;  // the field's value at add(), for help_text() and dump_defaults()
    std::optional<std::pair<int64_t, int64_t>> int_range_;
    std::optional<std::pair<double, double>> real_range_;
    std::vector<std::string> allowed_;
    bool non_empty_ = false;
    bool secret_ = false;
    std::string source_ = "default";
};

// The set of keys a node accepts, each bound to a field of the node's config struct. The fields
// must outlive the schema. Not thread-safe: build it, load() it and read the struct on the main
// thread before starting other threads; afterwards the struct is plain data.
class ConfigSchema {
public:
    ConfigSchema();
    ~ConfigSchema();
    ConfigSchema(const ConfigSchema&) = delete;
    ConfigSchema& operator=(const ConfigSchema&) = delete;

    // Registers `key` (lower_snake parts joined by dots; a dot means a TOML table) bound to
    // `field`, whose current value is the default. Its env var is TB_ + the key upper-cased with
    // dots as underscores. Throws std::logic_error on a malformed or duplicate key, a key that
    // is a prefix section of another key, a null field, or an env var name clash.
    ConfigOption& add(const std::string& key, ConfigField field, std::string description);

    // Applies, in order: the TOML file at `file_path` (empty = no file), the environment, then
    // `cli_sets` ("key=value" strings, later wins). Values from env and command line use the
    // text rules: bool true/false/1/0, integers in decimal, vectors comma-separated. Every layer
    // is type-, range- and choice-checked; then non_empty() is checked on the result. Throws
    // ConfigError on the first problem (file missing or unparsable, unknown key, bad value)
    // and then leaves every bound field untouched. Main thread, once, at start.
    void load(const std::string& file_path, const EnvLookup& env = process_env(),
              const std::vector<std::string>& cli_sets = {});

    // The effective config, one "key = value" line per key in registration order (TOML syntax,
    // strings quoted), secrets as *** unless mask_secrets is false. Values not from defaults
    // carry a trailing "# from <source>" comment. For the start-up log line. Any thread once
    // load() has returned.
    std::string describe(bool mask_secrets = true) const;

    // Keys with type, default, constraints, env var and description, for a node's --help
    // footer (CLI::App::footer()).
    std::string help_text() const;

    // A commented TOML document of every key at its default (secrets empty), for writing an
    // example conf/<node>.toml.
    std::string dump_defaults() const;

    // The option registered under `key`, or nullptr.
    const ConfigOption* find(std::string_view key) const;
    const std::vector<std::unique_ptr<ConfigOption>>& options() const noexcept { return options_; }

private:
    friend struct SchemaLoader;

    std::vector<std::unique_ptr<ConfigOption>> options_;  // unique_ptr: add() hands out refs
    std::map<std::string, size_t, std::less<>> by_key_;   // key -> index in options_
};

// What the shared command-line flags collect; filled by CLI11 during parse.
struct CliOverrides {
    std::string config_file;        // -c/--config; empty when not given
    std::vector<std::string> sets;  // --set key=value (and aliases), in the order given
};

// Adds the flags every node has: "-c,--config FILE" and repeatable "--set KEY=VALUE". Values are
// only checked by ConfigSchema::load(). Main thread, before app.parse().
void add_cli(CLI::App& app, CliOverrides& out);

// Adds a node-specific flag (e.g. "--port") for a schema key, with the key's description. It
// feeds `out.sets` rather than the field, so precedence stays file < env < command line (a flag
// bound straight to the field would be overwritten by load()). The value is checked during
// parse, so a bad one is reported by CLI11 naming the flag. A bool key becomes a flag without
// a value that sets true. Throws std::logic_error if `key` is not registered.
void add_cli_alias(CLI::App& app, CliOverrides& out, const ConfigSchema& schema,
                   const std::string& flag, const std::string& key);

// The file a node should load: --config if given (load() then fails if it is missing), else
// conf/<node_name>.toml when it exists, else "" (defaults, env and command line only).
std::string config_path(const CliOverrides& cli, std::string_view node_name);

// Logging settings; applied by init_logging() (logging.h).
struct LogConfig {
    std::string level = "info";  // trace, debug, info, warn, error, critical, off
    std::string file;            // empty: stderr only
    int64_t max_size_mb = 64;    // rotate the file at this size
    int32_t max_files = 5;       // rotated files kept besides the current one
};

// How the kernel schedules the process (applied by apply_scheduler(), scheduling.h).
struct ProcessConfig {
    std::string scheduler = "batch";  // "batch" (SCHED_BATCH), "normal" (SCHED_OTHER), "idle"
    int32_t nice = 0;                 // every thread's nice value; 0: left as started
};

// Settings every node has, under [node], [log] and [process].
struct NodeConfig {
    int32_t id = 1;
    std::string manager;   // empty: tcp://127.0.0.1:<base_port>
    std::string announce;  // empty: tcp://127.0.0.1:<base_port + 1>
    uint16_t base_port = 5555;
    LogConfig log;
    ProcessConfig process;
    // CURVE to a manager that has it on (conf/manager.production.toml): this node's secret key
    // (its public key is derived from it and must be on the manager's allow-list) and the
    // manager's public key, Z85. Both empty: plain TCP.
    std::string curve_secret_key;
    std::string curve_server_key;

    // The endpoints to connect to, after the base port has been applied to unset ones.
    std::string manager_endpoint() const;
    std::string announce_endpoint() const;
};

// Registers node.id, node.manager, node.announce, node.base_port, curve.secret_key,
// curve.server_key, log.level, log.file, log.max_size_mb, log.max_files, process.scheduler and
// process.nice, bound to `cfg`.
void bind_node_config(ConfigSchema& schema, NodeConfig& cfg);
// Only the log.* keys (for the manager, which is not a node on the bus).
void bind_log_config(ConfigSchema& schema, LogConfig& cfg);
// process.scheduler and process.nice (every node, and the manager).
void bind_process_config(ConfigSchema& schema, ProcessConfig& cfg);

// The default listening ports, all derived from one base so that several installations can
// share a host by moving a single number.
struct Ports {
    uint16_t bus;       // base
    uint16_t announce;  // base + 1
    uint16_t metrics;   // base + 3545 (9100 for 5555)
    uint16_t clients;   // base + 3333 (8888 for 5555)

    friend bool operator==(const Ports&, const Ports&) = default;
};

inline constexpr uint16_t kDefaultBasePort = 5555;
inline constexpr uint16_t kMinBasePort = 1024;
// Highest base whose derived ports still fit in 16 bits: metrics = base + 3545 <= 65535.
inline constexpr uint16_t kMaxBasePort = 65535 - 3545;

// Ports derived from `base`. bind_node_config() keeps node.base_port in
// kMinBasePort..kMaxBasePort; a base above kMaxBasePort throws std::out_of_range rather than
// wrap around to a port some other service owns.
Ports ports_from_base(uint16_t base);

}  // namespace tb::common
