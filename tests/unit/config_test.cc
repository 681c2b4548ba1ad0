// Tests of ConfigSchema: layering (defaults < file < env < --set), the error messages an operator
// sees, describe() masking, the shared node keys and the derived ports.

#include "nodes/common/config.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>

namespace tb::common {
namespace {

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using namespace std::chrono_literals;

// A fresh directory under the system temp dir, removed with everything in it at scope exit.
class TempDir {
public:
    TempDir() {
        static std::atomic<int> counter{0};
        path_ = fs::temp_directory_path() /
                ("tb_config_test_" + std::to_string(::getpid()) + "_" + std::to_string(++counter));
        fs::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    std::string write(const std::string& name, const std::string& content) const {
        const fs::path file = path_ / name;
        std::ofstream(file) << content;
        return file.string();
    }
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

// The environment as a map, so tests never touch the process's (shared) environment.
EnvLookup env_of(std::map<std::string, std::string> vars) {
    return [vars = std::move(vars)](const char* name) -> const char* {
        auto it = vars.find(name);
        return it == vars.end() ? nullptr : it->second.c_str();
    };
}

const EnvLookup kNoEnv = env_of({});

struct PoolConfig {
    int32_t size = 4;
    std::chrono::milliseconds timeout = 250ms;
};

// One field of every supported type, plus the shared node keys.
struct TestConfig {
    NodeConfig node;
    PoolConfig pool;
    bool debug = false;
    double ratio = 0.5;
    int64_t budget = 1000;
    std::vector<std::string> tags = {"a"};
    std::string mode = "fast";
    std::string secret = "s3cret-default";
};

struct Fixture {
    TestConfig cfg;
    ConfigSchema schema;

    Fixture() {
        bind_node_config(schema, cfg.node);
        schema.add("pool.size", &cfg.pool.size, "threads with their own connection").range(1, 64);
        schema.add("pool.timeout_ms", &cfg.pool.timeout, "query timeout").range(10ms, 60000ms);
        schema.add("debug", &cfg.debug, "a top-level key");
        schema.add("tuning.ratio", &cfg.ratio, "a double").range(0.0, 1.0);
        schema.add("tuning.budget", &cfg.budget, "an int64");
        schema.add("tuning.tags", &cfg.tags, "a list").one_of({"a", "b", "c"});
        schema.add("tuning.mode", &cfg.mode, "a choice").one_of({"fast", "safe"});
        schema.add("ticket.secret", &cfg.secret, "signing key").secret().non_empty();
    }
};

TEST_CASE("Without file, env or --set every key keeps its default", "[common]") {
    Fixture f;
    f.schema.load("", kNoEnv, {});
    CHECK(f.cfg.node.id == 1);
    CHECK(f.cfg.node.manager_endpoint() == "tcp://127.0.0.1:5555");
    CHECK(f.cfg.node.announce_endpoint() == "tcp://127.0.0.1:5556");
    CHECK(f.cfg.node.base_port == 5555);
    CHECK(f.cfg.node.log.level == "info");
    CHECK(f.cfg.node.log.file.empty());
    CHECK(f.cfg.node.log.max_size_mb == 64);
    CHECK(f.cfg.node.log.max_files == 5);
    CHECK(f.cfg.pool.size == 4);
    CHECK(f.cfg.pool.timeout == 250ms);
    CHECK(f.schema.find("pool.size")->source() == "default");
    CHECK(f.schema.find("pool.size")->env_name() == "TB_POOL_SIZE");
    CHECK(f.schema.find("debug")->env_name() == "TB_DEBUG");
}

TEST_CASE("A file overrides defaults for every supported type", "[common]") {
    TempDir dir;
    Fixture f;
    const auto file = dir.write("db.toml", R"(
debug = true
[node]
id = 7
base_port = 6000
[log]
level = "debug"
max_size_mb = 10
[pool]
size = 16
timeout_ms = 1500
[tuning]
ratio = 1          # an integer is fine for a double
budget = 9000000000
tags = ["b", "c"]
mode = "safe"
)");
    f.schema.load(file, kNoEnv, {});
    CHECK(f.cfg.debug);
    CHECK(f.cfg.node.id == 7);
    CHECK(f.cfg.node.base_port == 6000);
    CHECK(f.cfg.node.log.level == "debug");
    CHECK(f.cfg.node.log.max_size_mb == 10);
    CHECK(f.cfg.node.log.max_files == 5);
    CHECK(f.cfg.pool.size == 16);
    CHECK(f.cfg.pool.timeout == 1500ms);
    CHECK(f.cfg.ratio == 1.0);
    CHECK(f.cfg.budget == 9000000000);
    CHECK(f.cfg.tags == std::vector<std::string>{"b", "c"});
    CHECK(f.cfg.mode == "safe");
    CHECK(f.schema.find("pool.size")->source() == file);
}

TEST_CASE("Dotted keys and inline tables in the file reach the same keys", "[common]") {
    TempDir dir;
    Fixture f;
    f.schema.load(dir.write("a.toml", "pool.size = 3\nlog = { level = \"warn\" }\n"), kNoEnv, {});
    CHECK(f.cfg.pool.size == 3);
    CHECK(f.cfg.node.log.level == "warn");
}

TEST_CASE("The environment overrides the file", "[common]") {
    TempDir dir;
    Fixture f;
    const auto file = dir.write("db.toml", "[pool]\nsize = 16\n[log]\nlevel = \"debug\"\n");
    f.schema.load(file,
                  env_of({{"TB_POOL_SIZE", "32"},
                          {"TB_DEBUG", "1"},
                          {"TB_TUNING_TAGS", " a , c,"},
                          {"TB_TUNING_RATIO", "0.25"},
                          {"TB_POOL_TIMEOUT_MS", "20"}}),
                  {});
    CHECK(f.cfg.pool.size == 32);
    CHECK(f.cfg.node.log.level == "debug");  // not in the env: the file's value stays
    CHECK(f.cfg.debug);
    CHECK(f.cfg.tags == std::vector<std::string>{"a", "c"});
    CHECK(f.cfg.ratio == 0.25);
    CHECK(f.cfg.pool.timeout == 20ms);
    CHECK(f.schema.find("pool.size")->source() == "TB_POOL_SIZE");
}

TEST_CASE("A --set overrides the environment, the last --set winning", "[common]") {
    Fixture f;
    f.schema.load("", env_of({{"TB_POOL_SIZE", "32"}, {"TB_DEBUG", "true"}}),
                  {"pool.size=8", "debug=false", "pool.size = 9", "tuning.tags="});
    CHECK(f.cfg.pool.size == 9);
    CHECK_FALSE(f.cfg.debug);
    CHECK(f.cfg.tags.empty());
    CHECK(f.schema.find("pool.size")->source() == "--set");
}

TEST_CASE("An unknown key in the file stops the load naming the file and the key", "[common]") {
    TempDir dir;
    Fixture f;
    const auto file = dir.write("db.toml", "[pool]\nsise = 3\n");
    REQUIRE_THROWS_AS(f.schema.load(file, kNoEnv, {}), ConfigError);
    REQUIRE_THROWS_WITH(f.schema.load(file, kNoEnv, {}),
                        file + ": unknown key 'pool.sise' (did you mean 'pool.size'?) (line 2)");
}

TEST_CASE("Unknown keys in nested and unknown sections are named in full", "[common]") {
    TempDir dir;
    Fixture f;
    SECTION("a table under a known section") {
        const auto file = dir.write("a.toml", "[log.rotate]\ncount = 3\n");
        REQUIRE_THROWS_WITH(f.schema.load(file, kNoEnv, {}),
                            Contains(file + ": unknown key 'log.rotate.count'"));
    }
    SECTION("an empty unknown section") {
        const auto file = dir.write("a.toml", "[pol]\n");
        REQUIRE_THROWS_WITH(f.schema.load(file, kNoEnv, {}),
                            Contains(file + ": unknown key 'pol'"));
    }
    SECTION("a known key name in the wrong section") {
        const auto file = dir.write("a.toml", "level = \"debug\"\n");
        REQUIRE_THROWS_WITH(f.schema.load(file, kNoEnv, {}),
                            Contains("unknown key 'level' (did you mean 'log.level'?)"));
    }
    SECTION("an empty known section is fine") {
        f.schema.load(dir.write("a.toml", "[pool]\n"), kNoEnv, {});
        CHECK(f.cfg.pool.size == 4);
    }
    SECTION("the earliest problem in the file is reported, with the count of the others") {
        const auto file = dir.write("a.toml", "zzz = 1\n[pool]\nsize = \"x\"\n");
        REQUIRE_THROWS_WITH(f.schema.load(file, kNoEnv, {}),
                            Contains("unknown key 'zzz'") && Contains("(line 1) and 1 more"));
    }
}

TEST_CASE("A value of the wrong type names the key and what was expected", "[common]") {
    TempDir dir;
    Fixture f;
    SECTION("a string for an integer") {
        const auto file = dir.write("db.toml", "[pool]\nsize = \"x\"\n");
        REQUIRE_THROWS_WITH(f.schema.load(file, kNoEnv, {}),
                            file + ": pool.size: expected an integer in 1..64, got \"x\" (line 2)");
    }
    SECTION("a table for a string") {
        const auto file = dir.write("db.toml", "[log.level]\nx = 1\n");
        REQUIRE_THROWS_WITH(f.schema.load(file, kNoEnv, {}),
                            Contains("log.level: expected one of trace, debug, info, warn, "
                                     "error, critical, off, got a table"));
    }
    SECTION("a float for an integer") {
        const auto file = dir.write("db.toml", "[node]\nid = 1.5\n");
        REQUIRE_THROWS_WITH(f.schema.load(file, kNoEnv, {}),
                            Contains("node.id: expected an integer in 1..1000000, got 1.5"));
    }
    SECTION("an array of tables for a list of strings") {
        const auto file = dir.write("db.toml", "[[tuning.tags]]\nx = 1\n");
        REQUIRE_THROWS_WITH(f.schema.load(file, kNoEnv, {}),
                            Contains("tuning.tags: expected a list of: a, b, c, got an array"));
    }
    SECTION("an array for a bool") {
        const auto file = dir.write("db.toml", "debug = [true]\n");
        REQUIRE_THROWS_WITH(f.schema.load(file, kNoEnv, {}),
                            Contains("debug: expected true or false, got an array"));
    }
}

TEST_CASE("A number out of range names the key and the range", "[common]") {
    TempDir dir;
    Fixture f;
    SECTION("above an explicit range") {
        const auto file = dir.write("db.toml", "[pool]\nsize = 65\n");
        REQUIRE_THROWS_WITH(f.schema.load(file, kNoEnv, {}),
                            Contains("pool.size: expected an integer in 1..64, got 65"));
    }
    SECTION("beyond what a port holds") {
        REQUIRE_THROWS_WITH(f.schema.load("", kNoEnv, {"node.base_port=70000"}),
                            Contains("node.base_port: expected an integer in 1024..61990"));
    }
    SECTION("a double outside its range") {
        const auto file = dir.write("db.toml", "[tuning]\nratio = 1.5\n");
        REQUIRE_THROWS_WITH(f.schema.load(file, kNoEnv, {}),
                            Contains("tuning.ratio: expected a number in 0.0..1.0, got 1.5"));
    }
    SECTION("milliseconds below their range") {
        REQUIRE_THROWS_WITH(
            f.schema.load("", env_of({{"TB_POOL_TIMEOUT_MS", "5"}}), {}),
            "TB_POOL_TIMEOUT_MS: pool.timeout_ms: expected an integer number of milliseconds "
            "in 10..60000, got \"5\"");
    }
}

TEST_CASE("A string outside one_of names the allowed values", "[common]") {
    TempDir dir;
    Fixture f;
    const auto file = dir.write("db.toml", "[log]\nlevel = \"verbose\"\n");
    REQUIRE_THROWS_WITH(f.schema.load(file, kNoEnv, {}),
                        file +
                            ": log.level: expected one of trace, debug, info, warn, error, "
                            "critical, off, got \"verbose\" (line 2)");
    REQUIRE_THROWS_WITH(f.schema.load("", kNoEnv, {"tuning.tags=a,z"}),
                        Contains("tuning.tags: expected a list of: a, b, c"));
}

TEST_CASE("A bad environment value names the variable and the key", "[common]") {
    Fixture f;
    REQUIRE_THROWS_WITH(f.schema.load("", env_of({{"TB_POOL_SIZE", "x"}}), {}),
                        "TB_POOL_SIZE: pool.size: expected an integer in 1..64, got \"x\"");
    REQUIRE_THROWS_WITH(f.schema.load("", env_of({{"TB_DEBUG", "yes"}}), {}),
                        "TB_DEBUG: debug: expected true or false, got \"yes\"");
    REQUIRE_THROWS_WITH(f.schema.load("", env_of({{"TB_TUNING_BUDGET", "12abc"}}), {}),
                        Contains("TB_TUNING_BUDGET: tuning.budget: expected an integer"));
}

TEST_CASE("A bad --set names the option and the key", "[common]") {
    Fixture f;
    REQUIRE_THROWS_WITH(f.schema.load("", kNoEnv, {"pool.sise=3"}),
                        "--set pool.sise=3: unknown key 'pool.sise' (did you mean 'pool.size'?)");
    REQUIRE_THROWS_WITH(f.schema.load("", kNoEnv, {"pool.size"}),
                        "--set \"pool.size\": expected KEY=VALUE");
    REQUIRE_THROWS_WITH(f.schema.load("", kNoEnv, {"pool.size=100"}),
                        "--set pool.size: expected an integer in 1..64, got \"100\"");
}

TEST_CASE("A TOML syntax error names the file, line and column", "[common]") {
    TempDir dir;
    Fixture f;
    const auto file = dir.write("db.toml", "[pool]\nsize = 3\nsize 4\n");
    REQUIRE_THROWS_AS(f.schema.load(file, kNoEnv, {}), ConfigError);
    REQUIRE_THROWS_WITH(f.schema.load(file, kNoEnv, {}), Contains(file + ":3:"));
}

TEST_CASE("A missing config file that was asked for is an error", "[common]") {
    TempDir dir;
    Fixture f;
    const std::string missing = (dir.path() / "nope.toml").string();
    REQUIRE_THROWS_WITH(f.schema.load(missing, kNoEnv, {}), missing + ": config file not found");
    REQUIRE_THROWS_WITH(f.schema.load(dir.path().string(), kNoEnv, {}),
                        Contains("is not a regular file"));
}

TEST_CASE("A failed load leaves every field as it was", "[common]") {
    Fixture f;
    REQUIRE_THROWS_AS(f.schema.load("", env_of({{"TB_NODE_ID", "5"}}), {"pool.size=0"}),
                      ConfigError);
    CHECK(f.cfg.node.id == 1);
    CHECK(f.cfg.pool.size == 4);
}

TEST_CASE("A non_empty key left empty everywhere stops the load", "[common]") {
    TestConfig cfg;
    cfg.secret.clear();
    ConfigSchema schema;
    schema.add("ticket.secret", &cfg.secret, "signing key").secret().non_empty();
    REQUIRE_THROWS_WITH(schema.load("", kNoEnv, {}),
                        "ticket.secret: must be set (in the config file, TB_TICKET_SECRET or "
                        "--set ticket.secret=...)");
    schema.load("", env_of({{"TB_TICKET_SECRET", "k"}}), {});
    CHECK(cfg.secret == "k");
}

TEST_CASE("describe() lists the effective config with secrets masked", "[common]") {
    Fixture f;
    f.schema.load("", env_of({{"TB_TICKET_SECRET", "hunter2"}}), {"pool.size=8"});
    const std::string text = f.schema.describe();
    CHECK_THAT(text, Contains("node.id = 1\n"));
    CHECK_THAT(text, Contains("node.base_port = 5555\n"));
    CHECK_THAT(text, Contains("pool.size = 8  # from --set\n"));
    CHECK_THAT(text, Contains("pool.timeout_ms = 250\n"));
    CHECK_THAT(text, Contains("tuning.tags = [\"a\"]\n"));
    CHECK_THAT(text, Contains("tuning.ratio = 0.5\n"));
    CHECK_THAT(text, Contains("ticket.secret = ***  # from TB_TICKET_SECRET\n"));
    CHECK(text.find("hunter2") == std::string::npos);
    CHECK_THAT(f.schema.describe(false), Contains("ticket.secret = \"hunter2\""));
}

TEST_CASE("A bad secret value is not echoed in the error", "[common]") {
    ConfigSchema schema;
    int32_t pin = 1;
    schema.add("pin", &pin, "a secret number").secret().range(1, 9);
    REQUIRE_THROWS_WITH(schema.load("", env_of({{"TB_PIN", "12345"}}), {}),
                        "TB_PIN: pin: expected an integer in 1..9, got ***");
}

TEST_CASE("dump_defaults() is a config file that loads back cleanly", "[common]") {
    TempDir dir;
    Fixture f;
    const std::string toml = f.schema.dump_defaults();
    CHECK_THAT(toml, Contains("[pool]\n"));
    CHECK_THAT(toml, Contains("size = 4\n"));
    CHECK(toml.find("s3cret-default") == std::string::npos);
    CHECK_THAT(toml, Contains("# secret = \"...\"  (secret; or set TB_TICKET_SECRET)\n"));
    CHECK(toml.find("\ndebug = false\n") < toml.find('['));  // root keys before any [section]
    Fixture g;
    g.schema.load(dir.write("defaults.toml", toml), env_of({{"TB_TICKET_SECRET", "k"}}), {});
    CHECK(g.cfg.pool.size == 4);
    CHECK_THAT(f.schema.help_text(), Contains("pool.size = 4  (int32; expected an integer in "
                                              "1..64; env TB_POOL_SIZE)"));
}

TEST_CASE("Mistakes in registering keys are logic errors", "[common]") {
    TestConfig cfg;
    ConfigSchema schema;
    schema.add("pool.size", &cfg.pool.size, "");
    CHECK_THROWS_AS(schema.add("pool.size", &cfg.pool.size, ""), std::logic_error);
    CHECK_THROWS_AS(schema.add("pool", &cfg.mode, ""), std::logic_error);
    CHECK_THROWS_AS(schema.add("pool.size.x", &cfg.mode, ""), std::logic_error);
    CHECK_THROWS_AS(schema.add("Pool.Size2", &cfg.mode, ""), std::logic_error);
    CHECK_THROWS_AS(schema.add("pool_size", &cfg.mode, ""), std::logic_error);  // TB_POOL_SIZE
    CHECK_THROWS_AS(schema.add("mode", &cfg.mode, "").range(1, 2), std::logic_error);
    CHECK_THROWS_AS(schema.add("n", &cfg.budget, "").one_of({"x"}), std::logic_error);
}

TEST_CASE("add_cli collects -c and repeated --set for load()", "[common]") {
    Fixture f;
    CliOverrides cli;
    CLI::App app{"test node"};
    add_cli(app, cli);
    add_cli_alias(app, cli, f.schema, "--pool-size", "pool.size");
    add_cli_alias(app, cli, f.schema, "--debug", "debug");
    const char* argv[] = {"node",           "-c",          "x.toml", "--set",  "node.id=3", "--set",
                          "log.level=warn", "--pool-size", "12",     "--debug"};
    app.parse(static_cast<int>(std::size(argv)), argv);
    CHECK(cli.config_file == "x.toml");
    CHECK(config_path(cli, "db") == "x.toml");
    f.schema.load("", kNoEnv, cli.sets);
    CHECK(f.cfg.node.id == 3);
    CHECK(f.cfg.node.log.level == "warn");
    CHECK(f.cfg.pool.size == 12);
    CHECK(f.cfg.debug);
}

TEST_CASE("A bad value for a node's own flag is rejected by CLI11 naming the flag", "[common]") {
    Fixture f;
    CliOverrides cli;
    CLI::App app{"test node"};
    add_cli(app, cli);
    add_cli_alias(app, cli, f.schema, "--pool-size", "pool.size");
    const char* argv[] = {"node", "--pool-size", "99"};
    try {
        app.parse(3, argv);
        FAIL("parse accepted --pool-size 99");
    } catch (const CLI::ValidationError& e) {
        CHECK_THAT(e.what(), Contains("--pool-size") && Contains("1..64"));
    }
    CHECK_THROWS_AS(add_cli_alias(app, cli, f.schema, "--nope", "no.such"), std::logic_error);
}

TEST_CASE("Without --config the node's default file is used only when it exists", "[common]") {
    CliOverrides cli;
    CHECK(config_path(cli, "no_such_node_for_sure").empty());
}

TEST_CASE("One base port shifts all four default ports", "[common]") {
    CHECK(ports_from_base(5555) ==
          Ports{.bus = 5555, .announce = 5556, .metrics = 9100, .clients = 8888});
    CHECK(ports_from_base(7000) ==
          Ports{.bus = 7000, .announce = 7001, .metrics = 10545, .clients = 10333});
    CHECK(ports_from_base(kMaxBasePort).metrics == 65535);
    CHECK_THROWS_AS(ports_from_base(kMaxBasePort + 1), std::out_of_range);
}

}  // namespace
}  // namespace tb::common

TEST_CASE("Unset manager endpoints follow the base port, set ones stay", "[common]") {
    tb::common::NodeConfig n;
    n.base_port = 7000;
    CHECK(n.manager_endpoint() == "tcp://127.0.0.1:7000");
    CHECK(n.announce_endpoint() == "tcp://127.0.0.1:7001");
    n.manager = "tcp://10.0.0.5:5555";
    CHECK(n.manager_endpoint() == "tcp://10.0.0.5:5555");
}
