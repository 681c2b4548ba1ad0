#include "nodes/common/config.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <system_error>

namespace tb::common {

namespace {

// ConfigField / ConfigValue alternative indices.
enum Kind : size_t { kBool, kInt32, kInt64, kUint16, kDouble, kString, kStrings, kMillis };

bool is_integer_kind(size_t kind) {
    return kind == kInt32 || kind == kInt64 || kind == kUint16 || kind == kMillis;
}

std::string_view type_name(size_t kind) {
    static constexpr std::string_view kNames[] = {"bool",   "int32",  "int64",   "uint16",
                                                  "double", "string", "strings", "milliseconds"};
    return kNames[kind];
}

std::pair<int64_t, int64_t> type_bounds(size_t kind) {
    switch (kind) {
        case kInt32:
            return {std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()};
        case kUint16: return {0, std::numeric_limits<uint16_t>::max()};
        default: return {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()};
    }
}

ConfigValue read_field(const ConfigField& field) {
    return std::visit(
        [](auto* p) {
            return ConfigValue(std::in_place_type<std::remove_pointer_t<decltype(p)>>, *p);
        },
        field);
}

void write_field(const ConfigField& field, const ConfigValue& value) {
    std::visit([&](auto* p) { *p = std::get<std::remove_pointer_t<decltype(p)>>(value); }, field);
}

bool valid_key_part(std::string_view part) {
    return !part.empty() && std::all_of(part.begin(), part.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

bool valid_key(std::string_view key) {
    size_t start = 0;
    while (true) {
        const size_t dot = key.find('.', start);
        if (!valid_key_part(key.substr(start, dot - start))) return false;
        if (dot == std::string_view::npos) return true;
        start = dot + 1;
    }
}

std::string env_name_for(std::string_view key) {
    std::string name = "TB_";
    for (char c : key) {
        name += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return name;
}

// TOML basic-string quoting, so describe() output can be pasted back into a file.
std::string quote(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\t': out += "\\t"; break;
            case '\r': out += "\\r"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
                    out += fmt::format("\\u{:04X}", static_cast<unsigned>(c));
                } else {
                    out += c;
                }
        }
    }
    return out + "\"";
}

std::string render_double(double d) {
    if (std::isnan(d)) return "nan";
    if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
    std::string s = fmt::format("{}", d);
    // TOML reads "1" as an integer; keep the value a float when pasted back.
    if (s.find_first_of(".e") == std::string::npos) s += ".0";
    return s;
}

std::string render(const ConfigValue& value) {
    switch (value.index()) {
        case kBool: return std::get<bool>(value) ? "true" : "false";
        case kInt32: return std::to_string(std::get<int32_t>(value));
        case kInt64: return std::to_string(std::get<int64_t>(value));
        case kUint16: return std::to_string(std::get<uint16_t>(value));
        case kDouble: return render_double(std::get<double>(value));
        case kString: return quote(std::get<std::string>(value));
        case kStrings: {
            std::string out = "[";
            for (const auto& s : std::get<std::vector<std::string>>(value)) {
                if (out.size() > 1) out += ", ";
                out += quote(s);
            }
            return out + "]";
        }
        default: return std::to_string(std::get<std::chrono::milliseconds>(value).count());
    }
}

bool value_empty(const ConfigValue& value) {
    if (const auto* s = std::get_if<std::string>(&value)) return s->empty();
    if (const auto* v = std::get_if<std::vector<std::string>>(&value)) return v->empty();
    return false;
}

std::string_view trim(std::string_view s) {
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return {};
    const auto last = s.find_last_not_of(" \t\r\n");
    return s.substr(first, last - first + 1);
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
    std::string out;
    for (const auto& item : items) {
        if (!out.empty()) out += sep;
        out += item;
    }
    return out;
}

size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            const size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
            diagonal = above;
        }
    }
    return row[b.size()];
}

std::string_view last_part(std::string_view key) {
    const auto dot = key.rfind('.');
    return dot == std::string_view::npos ? key : key.substr(dot + 1);
}

std::string_view section_of(std::string_view key) {
    const auto dot = key.rfind('.');
    return dot == std::string_view::npos ? std::string_view{} : key.substr(0, dot);
}

std::string toml_got(const toml::node& node) {
    switch (node.type()) {
        case toml::node_type::table: return "a table";
        case toml::node_type::array: return "an array";
        case toml::node_type::string: return quote(node.as_string()->get());
        case toml::node_type::integer: return std::to_string(node.as_integer()->get());
        case toml::node_type::floating_point: return render_double(node.as_floating_point()->get());
        case toml::node_type::boolean: return node.as_boolean()->get() ? "true" : "false";
        case toml::node_type::date: return "a date";
        case toml::node_type::time: return "a time";
        case toml::node_type::date_time: return "a date-time";
        default: return "nothing";
    }
}

// A problem found while walking the file; the earliest line is reported.
struct FileProblem {
    uint32_t line;
    std::string message;
};

}  // namespace

// Conversion and checking shared by load() and add_cli_alias(); a struct so that ConfigOption
// and ConfigSchema can befriend it without exposing these helpers in the header.
struct SchemaLoader {
    static size_t kind(const ConfigOption& opt) { return opt.field_.index(); }

    // "an integer in 1..64": the phrase after "expected" in every bad-value message.
    static std::string expectation(const ConfigOption& opt) {
        const size_t k = kind(opt);
        if (k == kBool) return "true or false";
        if (is_integer_kind(k)) {
            std::string out = k == kMillis ? "an integer number of milliseconds" : "an integer";
            auto [lo, hi] = int_bounds(opt);
            if (opt.int_range_ || k == kInt32 || k == kUint16) {
                out += fmt::format(" in {}..{}", lo, hi);
            }
            return out;
        }
        if (k == kDouble) {
            if (!opt.real_range_) return "a number";
            return fmt::format("a number in {}..{}", render_double(opt.real_range_->first),
                               render_double(opt.real_range_->second));
        }
        const bool list = k == kStrings;
        std::string out =
            list ? (opt.non_empty_ ? "a non-empty list of strings" : "a list of strings")
                 : (opt.non_empty_ ? "a non-empty string" : "a string");
        if (!opt.allowed_.empty()) {
            out = (list ? "a list of: " : "one of ") + join(opt.allowed_, ", ");
        }
        return out;
    }

    static std::pair<int64_t, int64_t> int_bounds(const ConfigOption& opt) {
        auto bounds = type_bounds(kind(opt));
        if (opt.int_range_) {
            bounds.first = std::max(bounds.first, opt.int_range_->first);
            bounds.second = std::min(bounds.second, opt.int_range_->second);
        }
        return bounds;
    }

    static std::optional<ConfigValue> from_int(const ConfigOption& opt, int64_t v) {
        auto [lo, hi] = int_bounds(opt);
        if (v < lo || v > hi) return std::nullopt;
        switch (kind(opt)) {
            case kInt32: return ConfigValue(std::in_place_index<kInt32>, static_cast<int32_t>(v));
            case kInt64: return ConfigValue(std::in_place_index<kInt64>, v);
            case kUint16:
                return ConfigValue(std::in_place_index<kUint16>, static_cast<uint16_t>(v));
            default: return ConfigValue(std::chrono::milliseconds(v));
        }
    }

    static std::optional<ConfigValue> from_double(const ConfigOption& opt, double v) {
        if (std::isnan(v)) return std::nullopt;
        if (opt.real_range_ && !(v >= opt.real_range_->first && v <= opt.real_range_->second)) {
            return std::nullopt;
        }
        return ConfigValue(v);
    }

    // Range, choice and emptiness checks on a value already of the right type.
    static bool acceptable(const ConfigOption& opt, const ConfigValue& value) {
        if (opt.non_empty_ && value_empty(value)) return false;
        auto allowed = [&](const std::string& s) {
            return opt.allowed_.empty() ||
                   std::find(opt.allowed_.begin(), opt.allowed_.end(), s) != opt.allowed_.end();
        };
        switch (value.index()) {
            case kInt32: return from_int(opt, std::get<int32_t>(value)).has_value();
            case kInt64: return from_int(opt, std::get<int64_t>(value)).has_value();
            case kUint16: return from_int(opt, std::get<uint16_t>(value)).has_value();
            case kMillis:
                return from_int(opt, std::get<std::chrono::milliseconds>(value).count())
                    .has_value();
            case kDouble: return from_double(opt, std::get<double>(value)).has_value();
            case kString: return allowed(std::get<std::string>(value));
            case kStrings: {
                const auto& items = std::get<std::vector<std::string>>(value);
                return std::all_of(items.begin(), items.end(), allowed);
            }
            default: return true;
        }
    }

    // Text from an env var or the command line; nullopt when it does not convert or check.
    static std::optional<ConfigValue> from_text(const ConfigOption& opt, std::string_view text) {
        std::optional<ConfigValue> value;
        const std::string_view t = trim(text);
        const size_t k = kind(opt);
        if (k == kBool) {
            std::string lower(t);
            std::transform(lower.begin(), lower.end(), lower.begin(),
                           [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
            if (lower == "true" || lower == "1") value = ConfigValue(true);
            if (lower == "false" || lower == "0") value = ConfigValue(false);
        } else if (is_integer_kind(k)) {
            int64_t v = 0;
            const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
            if (ec == std::errc{} && end == t.data() + t.size() && !t.empty()) {
                value = from_int(opt, v);
            }
        } else if (k == kDouble) {
            double v = 0;
            const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
            if (ec == std::errc{} && end == t.data() + t.size() && !t.empty()) {
                value = from_double(opt, v);
            }
        } else if (k == kString) {
            // Strings are taken verbatim: leading spaces may be meant (a prefix, a password).
            value = ConfigValue(std::string(text));
        } else {
            std::vector<std::string> items;
            size_t start = 0;
            while (start <= t.size() && !t.empty()) {
                const size_t comma = std::min(t.find(',', start), t.size());
                const std::string_view item = trim(t.substr(start, comma - start));
                if (!item.empty()) items.emplace_back(item);
                start = comma + 1;
            }
            value = ConfigValue(std::move(items));
        }
        if (value && !acceptable(opt, *value)) value.reset();
        return value;
    }

    static std::optional<ConfigValue> from_toml(const ConfigOption& opt, const toml::node& node) {
        std::optional<ConfigValue> value;
        const size_t k = kind(opt);
        if (k == kBool && node.is_boolean()) {
            value = ConfigValue(node.as_boolean()->get());
        } else if (is_integer_kind(k) && node.is_integer()) {
            value = from_int(opt, node.as_integer()->get());
        } else if (k == kDouble && node.is_floating_point()) {
            value = from_double(opt, node.as_floating_point()->get());
        } else if (k == kDouble && node.is_integer()) {
            value = from_double(opt, static_cast<double>(node.as_integer()->get()));
        } else if (k == kString && node.is_string()) {
            value = ConfigValue(node.as_string()->get());
        } else if (k == kStrings && node.is_array()) {
            std::vector<std::string> items;
            for (const auto& element : *node.as_array()) {
                if (!element.is_string()) return std::nullopt;
                items.push_back(element.as_string()->get());
            }
            value = ConfigValue(std::move(items));
        }
        if (value && !acceptable(opt, *value)) value.reset();
        return value;
    }

    static std::string bad_value(const ConfigOption& opt, const std::string& got) {
        return fmt::format("{}: expected {}, got {}", opt.key_, expectation(opt),
                           opt.secret_ ? "***" : got);
    }

    static std::string unknown_key(const ConfigSchema& schema, std::string_view key) {
        std::string msg = fmt::format("unknown key '{}'", key);
        const ConfigOption* best = nullptr;
        size_t best_distance = std::max<size_t>(2, key.size() / 4) + 1;
        for (const auto& opt : schema.options_) {
            const size_t d = edit_distance(key, opt->key_);
            if (d < best_distance) {
                best = opt.get();
                best_distance = d;
            }
        }
        if (best == nullptr) {
            // Right name in the wrong section, e.g. "level" at the top instead of in [log].
            for (const auto& opt : schema.options_) {
                if (last_part(opt->key_) == last_part(key)) best = opt.get();
            }
        }
        if (best != nullptr) msg += fmt::format(" (did you mean '{}'?)", best->key_);
        return msg;
    }

    // Whether some key lives under `section` (so an empty [section] table is fine).
    static bool has_section(const ConfigSchema& schema, std::string_view section) {
        const std::string prefix = std::string(section) + ".";
        auto it = schema.by_key_.lower_bound(prefix);
        return it != schema.by_key_.end() && it->first.starts_with(prefix);
    }

    static void walk(const ConfigSchema& schema, const toml::table& table,
                     const std::string& prefix, const std::string& file,
                     std::vector<ConfigValue>& staged, std::vector<std::string>& sources,
                     std::vector<FileProblem>& problems) {
        for (auto&& [k, node] : table) {
            const std::string key =
                prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
            const uint32_t line =
                k.source().begin.line > 0 ? k.source().begin.line : node.source().begin.line;
            auto it = schema.by_key_.find(key);
            if (it != schema.by_key_.end()) {
                const ConfigOption& opt = *schema.options_[it->second];
                if (auto value = from_toml(opt, node)) {
                    staged[it->second] = std::move(*value);
                    sources[it->second] = file;
                } else {
                    problems.push_back({line, bad_value(opt, toml_got(node))});
                }
            } else if (node.is_table() && !node.as_table()->empty()) {
                // Recurse even into unknown sections so the message names the full key.
                walk(schema, *node.as_table(), key, file, staged, sources, problems);
            } else if (!(node.is_table() && has_section(schema, key))) {
                problems.push_back({line, unknown_key(schema, key)});
            }
        }
    }

    static void load(ConfigSchema& schema, const std::string& file_path, const EnvLookup& env,
                     const std::vector<std::string>& cli_sets) {
        const auto& options = schema.options_;
        // Work on copies so a failed load() leaves the node's struct as it was.
        std::vector<ConfigValue> staged;
        std::vector<std::string> sources;
        for (const auto& opt : options) {
            staged.push_back(read_field(opt->field_));
            sources.emplace_back("default");
        }

        if (!file_path.empty()) load_file(schema, file_path, staged, sources);

        for (size_t i = 0; i < options.size(); ++i) {
            const ConfigOption& opt = *options[i];
            const char* text = env ? env(opt.env_name_.c_str()) : nullptr;
            if (text == nullptr) continue;
            auto value = from_text(opt, text);
            if (!value) {
                throw ConfigError(
                    fmt::format("{}: {}", opt.env_name_, bad_value(opt, quote(text))));
            }
            staged[i] = std::move(*value);
            sources[i] = opt.env_name_;
        }

        for (const std::string& set : cli_sets) {
            const auto eq = set.find('=');
            if (eq == std::string::npos) {
                throw ConfigError(fmt::format("--set {}: expected KEY=VALUE", quote(set)));
            }
            const std::string key(trim(std::string_view(set).substr(0, eq)));
            const std::string_view text = std::string_view(set).substr(eq + 1);
            auto it = schema.by_key_.find(key);
            if (it == schema.by_key_.end()) {
                throw ConfigError(fmt::format("--set {}: {}", set, unknown_key(schema, key)));
            }
            const ConfigOption& opt = *options[it->second];
            auto value = from_text(opt, text);
            if (!value) {
                throw ConfigError(fmt::format("--set {}", bad_value(opt, quote(text))));
            }
            staged[it->second] = std::move(*value);
            sources[it->second] = "--set";
        }

        // Defaults were never checked; an empty required value is the operator's to fix.
        for (size_t i = 0; i < options.size(); ++i) {
            const ConfigOption& opt = *options[i];
            if (opt.non_empty_ && value_empty(staged[i])) {
                throw ConfigError(
                    fmt::format("{}: must be set (in the config file, {} or --set {}=...)",
                                opt.key_, opt.env_name_, opt.key_));
            }
            if (!acceptable(opt, staged[i])) {
                throw ConfigError("default of " + bad_value(opt, render(staged[i])));
            }
        }

        for (size_t i = 0; i < options.size(); ++i) {
            write_field(options[i]->field_, staged[i]);
            options[i]->source_ = std::move(sources[i]);
        }
    }

    static void load_file(const ConfigSchema& schema, const std::string& file_path,
                          std::vector<ConfigValue>& staged, std::vector<std::string>& sources) {
        std::error_code ec;
        const auto status = std::filesystem::status(file_path, ec);
        if (!std::filesystem::exists(status)) {
            throw ConfigError(fmt::format("{}: config file not found", file_path));
        }
        if (!std::filesystem::is_regular_file(status)) {
            throw ConfigError(fmt::format("{}: config file is not a regular file", file_path));
        }
        toml::table root;
        try {
            root = toml::parse_file(file_path);
        } catch (const toml::parse_error& e) {
            const auto& where = e.source().begin;
            if (where) {
                throw ConfigError(fmt::format("{}:{}:{}: {}", file_path, where.line, where.column,
                                              e.description()));
            }
            throw ConfigError(fmt::format("{}: {}", file_path, e.description()));
        }
        std::vector<FileProblem> problems;
        walk(schema, root, "", file_path, staged, sources, problems);
        if (problems.empty()) return;
        // toml::table iterates in key order; report what the operator meets first in the file.
        const auto first = std::min_element(
            problems.begin(), problems.end(),
            [](const FileProblem& a, const FileProblem& b) { return a.line < b.line; });
        std::string msg = fmt::format("{}: {} (line {})", file_path, first->message, first->line);
        if (problems.size() > 1) msg += fmt::format(" and {} more problem(s)", problems.size() - 1);
        throw ConfigError(msg);
    }
};

EnvLookup process_env() {
    return [](const char* name) -> const char* { return std::getenv(name); };
}

ConfigOption::ConfigOption(std::string key, ConfigField field, std::string description)
    : key_(std::move(key)),
      env_name_(env_name_for(key_)),
      description_(std::move(description)),
      field_(field),
      default_(read_field(field)) {}

bool ConfigOption::is_numeric() const noexcept {
    return is_integer_kind(field_.index()) || field_.index() == kDouble;
}

bool ConfigOption::is_text() const noexcept {
    return field_.index() == kString || field_.index() == kStrings;
}

ConfigOption& ConfigOption::set_int_range(int64_t min, int64_t max) {
    if (field_.index() == kDouble) {
        return set_real_range(static_cast<double>(min), static_cast<double>(max));
    }
    if (!is_numeric() || min > max) {
        throw std::logic_error("config key '" + key_ + "': range() needs a numeric key, min<=max");
    }
    int_range_.emplace(min, max);
    return *this;
}

ConfigOption& ConfigOption::set_real_range(double min, double max) {
    if (field_.index() != kDouble || !(min <= max)) {
        throw std::logic_error("config key '" + key_ +
                               "': a floating range needs a double key and min<=max");
    }
    real_range_.emplace(min, max);
    return *this;
}

ConfigOption& ConfigOption::one_of(std::vector<std::string> allowed) {
    if (!is_text() || allowed.empty()) {
        throw std::logic_error("config key '" + key_ + "': one_of() needs a string key and values");
    }
    allowed_ = std::move(allowed);
    return *this;
}

ConfigOption& ConfigOption::non_empty() {
    if (!is_text()) {
        throw std::logic_error("config key '" + key_ + "': non_empty() needs a string key");
    }
    non_empty_ = true;
    return *this;
}

ConfigOption& ConfigOption::secret() {
    secret_ = true;
    return *this;
}

ConfigSchema::ConfigSchema() = default;
ConfigSchema::~ConfigSchema() = default;

ConfigOption& ConfigSchema::add(const std::string& key, ConfigField field,
                                std::string description) {
    const bool null_field = std::visit([](auto* p) { return p == nullptr; }, field);
    if (null_field) throw std::logic_error("config key '" + key + "': null field");
    if (!valid_key(key)) {
        throw std::logic_error("config key '" + key + "': want lower_snake parts joined by dots");
    }
    if (by_key_.count(key) != 0) throw std::logic_error("config key '" + key + "' added twice");
    // A key cannot also be a table: "log" and "log.level" would need [log] to be both.
    for (std::string_view section = section_of(key); !section.empty();
         section = section_of(section)) {
        if (by_key_.count(section) != 0) {
            throw std::logic_error("config key '" + key + "' is under key '" +
                                   std::string(section) + "'");
        }
    }
    if (SchemaLoader::has_section(*this, key)) {
        throw std::logic_error("config key '" + key + "' is already a section");
    }
    auto option =
        std::unique_ptr<ConfigOption>(new ConfigOption(key, field, std::move(description)));
    for (const auto& other : options_) {
        if (other->env_name_ == option->env_name_) {
            throw std::logic_error("config keys '" + key + "' and '" + other->key_ +
                                   "' share env var " + option->env_name_);
        }
    }
    by_key_.emplace(key, options_.size());
    options_.push_back(std::move(option));
    return *options_.back();
}

void ConfigSchema::load(const std::string& file_path, const EnvLookup& env,
                        const std::vector<std::string>& cli_sets) {
    SchemaLoader::load(*this, file_path, env, cli_sets);
}

const ConfigOption* ConfigSchema::find(std::string_view key) const {
    auto it = by_key_.find(key);
    return it == by_key_.end() ? nullptr : options_[it->second].get();
}

std::string ConfigSchema::describe(bool mask_secrets) const {
    std::string out;
    for (const auto& opt : options_) {
        const ConfigValue value = read_field(opt->field_);
        const bool masked = mask_secrets && opt->secret_ && !value_empty(value);
        out += fmt::format("{} = {}", opt->key_, masked ? "***" : render(value));
        if (opt->source_ != "default") out += "  # from " + opt->source_;
        out += '\n';
    }
    return out;
}

std::string ConfigSchema::help_text() const {
    std::string out =
        "Config keys (set in the file, as env TB_<SECTION>_<KEY>, or with --set KEY=VALUE):\n";
    for (const auto& opt : options_) {
        const ConfigValue& value = opt->default_;
        out += fmt::format("  {} = {}  ({}; expected {}; env {})\n      {}\n", opt->key_,
                           opt->secret_ && !value_empty(value) ? "***" : render(value),
                           type_name(opt->field_.index()), SchemaLoader::expectation(*opt),
                           opt->env_name_, opt->description_);
    }
    return out;
}

std::string ConfigSchema::dump_defaults() const {
    // Root keys must precede every [section] header, and a section may be opened only once.
    std::vector<std::string_view> sections;
    for (const auto& opt : options_) {
        const std::string_view section = section_of(opt->key_);
        if (std::find(sections.begin(), sections.end(), section) == sections.end()) {
            sections.push_back(section);
        }
    }
    std::stable_partition(sections.begin(), sections.end(),
                          [](std::string_view s) { return s.empty(); });
    std::string out;
    for (std::string_view section : sections) {
        if (!section.empty()) out += fmt::format("{}[{}]\n", out.empty() ? "" : "\n", section);
        for (const auto& opt : options_) {
            if (section_of(opt->key_) != section) continue;
            out += fmt::format("# {} (expected {})\n", opt->description_,
                               SchemaLoader::expectation(*opt));
            // A secret's default is not written out; a commented line shows where it goes
            // (commented, as an empty value would fail non_empty() on loading the file back).
            if (opt->secret_) {
                out += fmt::format("# {} = \"...\"  (secret; or set {})\n", last_part(opt->key_),
                                   opt->env_name_);
            } else {
                out += fmt::format("{} = {}\n", last_part(opt->key_), render(opt->default_));
            }
        }
    }
    return out;
}

void add_cli(CLI::App& app, CliOverrides& out) {
    app.add_option("-c,--config", out.config_file,
                   "config file (default: conf/<node>.toml when it exists)")
        ->type_name("FILE");
    // allow_extra_args(false): each --set takes exactly one word, so positionals are not eaten.
    app.add_option("--set", out.sets, "override a config key, e.g. --set log.level=debug")
        ->type_name("KEY=VALUE")
        ->allow_extra_args(false);
}

void add_cli_alias(CLI::App& app, CliOverrides& out, const ConfigSchema& schema,
                   const std::string& flag, const std::string& key) {
    const ConfigOption* opt = schema.find(key);
    if (opt == nullptr) throw std::logic_error("add_cli_alias: unknown config key '" + key + "'");
    const std::string help = opt->description() + " (config key " + key + ")";
    if (SchemaLoader::kind(*opt) == kBool) {
        app.add_flag_callback(
            flag, [&out, key] { out.sets.push_back(key + "=true"); }, help);
        return;
    }
    app.add_option_function<std::string>(
           flag, [&out, key](const std::string& value) { out.sets.push_back(key + "=" + value); },
           help)
        ->type_name(std::string(type_name(SchemaLoader::kind(*opt))))
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast)
        // The option outlives parse() only as long as the schema does; nodes keep both in main.
        ->check(CLI::Validator(
            [opt](std::string& value) -> std::string {
                if (SchemaLoader::from_text(*opt, value)) return {};
                return "expected " + SchemaLoader::expectation(*opt) + ", got " +
                       (opt->is_secret() ? "***" : quote(value));
            },
            ""));
}

std::string config_path(const CliOverrides& cli, std::string_view node_name) {
    if (!cli.config_file.empty()) return cli.config_file;
    std::string path = "conf/" + std::string(node_name) + ".toml";
    std::error_code ec;
    return std::filesystem::is_regular_file(path, ec) ? path : std::string();
}

void bind_node_config(ConfigSchema& schema, NodeConfig& cfg) {
    schema.add("node.id", &cfg.id, "this node's id on the bus, unique among nodes of its kind")
        .range(1, 1000000);
    schema.add("node.manager", &cfg.manager,
               "ZeroMQ endpoint of the manager's bus (ROUTER); empty: tcp://127.0.0.1:<base_port>");
    schema.add("node.announce", &cfg.announce,
               "ZeroMQ endpoint of the manager's announcements (PUB); empty: base_port + 1");
    schema
        .add("node.base_port", &cfg.base_port,
             "shifts the default ports: bus = base, announcements = base+1, "
             "clients = base+3333, metrics = base+3545")
        .range(kMinBasePort, kMaxBasePort);
    schema
        .add("curve.secret_key", &cfg.curve_secret_key,
             "CURVE: this node's secret key, Z85 (tb-ctl keygen); empty: no CURVE")
        .secret();
    schema.add("curve.server_key", &cfg.curve_server_key,
               "CURVE: the manager's public key, Z85; set together with curve.secret_key");
    bind_log_config(schema, cfg.log);
    bind_process_config(schema, cfg.process);
}

void bind_log_config(ConfigSchema& schema, LogConfig& cfg) {
    schema.add("log.level", &cfg.level, "lowest level logged; SPDLOG_LEVEL overrides it")
        .one_of({"trace", "debug", "info", "warn", "error", "critical", "off"});
    schema.add("log.file", &cfg.file, "also log to this file, rotated by size (empty: no file)");
    schema.add("log.max_size_mb", &cfg.max_size_mb, "rotate the log file at this size (MiB)")
        .range(1, 4096);
    schema.add("log.max_files", &cfg.max_files, "rotated log files kept").range(1, 100);
}

void bind_process_config(ConfigSchema& schema, ProcessConfig& cfg) {
    schema
        .add("process.scheduler", &cfg.scheduler,
             "batch: a woken thread does not preempt the running one, so it finds more messages "
             "per wake-up (faster under load); normal: the kernel's default policy; idle: "
             "yields the core to any other thread (the storage side sharing cores with the "
             "action path; starves while the cores are saturated)")
        .one_of({"batch", "normal", "idle"});
    schema
        .add("process.nice", &cfg.nice,
             "the nice value of every thread, -20..19 (0: as started). 19 gives the process "
             "the least CPU among busy threads of its scheduling group without starving it: "
             "the storage side sharing cores with the action path")
        .range(-20, 19);
}

Ports ports_from_base(uint16_t base) {
    if (base > kMaxBasePort) {
        throw std::out_of_range(
            fmt::format("base port {} is above {}: metrics would pass 65535", base, kMaxBasePort));
    }
    auto at = [base](int offset) { return static_cast<uint16_t>(base + offset); };
    return Ports{.bus = base, .announce = at(1), .metrics = at(3545), .clients = at(3333)};
}

std::string NodeConfig::manager_endpoint() const {
    if (!manager.empty()) return manager;
    return "tcp://127.0.0.1:" + std::to_string(ports_from_base(base_port).bus);
}

std::string NodeConfig::announce_endpoint() const {
    if (!announce.empty()) return announce;
    return "tcp://127.0.0.1:" + std::to_string(ports_from_base(base_port).announce);
}

}  // namespace tb::common
