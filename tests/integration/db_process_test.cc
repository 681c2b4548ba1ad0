// tb-db as operators run it: real tb-manager and tb-db processes against the shared private
// MariaDB and Redis. Several tb-db processes serve one service at once and migrate safely.
#include <catch2/catch.hpp>

#include "bus/client.h"
#include "bus/protocol.h"
#include "codec/fields.h"
#include "nodes/common/db_api.h"
#include "tests/support/cluster.h"
#include "tests/support/process.h"
#include "tests/support/storage.h"
#include "tests/support/wait.h"

using namespace std::chrono_literals;
using namespace tb;

namespace {

// tb-db --id `id` on the bus at `base`.
std::vector<std::string> db_args(const test::StorageEndpoints& s, const test::TestSchema& schema,
                                 const test::TestRedisPrefix& prefix, uint16_t base, int id) {
    auto argv = test::db_node_argv(base, s, schema.name(), prefix.prefix());
    argv.insert(argv.end(), {"--id", std::to_string(id)});
    return argv;
}

}  // namespace

TEST_CASE("tb-db --migrate applies the schema and exits", "[db][process]") {
    const auto& s = test::shared_storage();
    test::TestSchema schema(s);
    test::TestRedisPrefix prefix(s);
    auto args = db_args(s, schema, prefix, test::port_base(24), 1);
    args.push_back("--migrate");
    const auto r = test::run_command(args, 30s);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(schema.exec("SELECT MAX(version) FROM schema_version") == "1\n");
    CHECK(schema.exec("SHOW TABLES LIKE 'treasure_log'") == "treasure_log\n");
}

TEST_CASE("a bad db config stops tb-db with one line naming the key", "[db][process]") {
    const auto r = test::run_command(
        {test::bin("tb-db").string(), "--set", "signin.timezone=Mars/Olympus"}, 10s);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains("signin.timezone"));
}

TEST_CASE("two tb-db processes start together, migrate once and both serve", "[db][process]") {
    const auto& s = test::shared_storage();
    test::TestSchema schema(s);
    test::TestRedisPrefix prefix(s);
    const uint16_t base = test::port_base(25);
    test::ChildProcess manager({test::bin("tb-manager").string(), "--base-port",
                                std::to_string(base), "--set", "manager.metrics=off"});
    test::ChildProcess db1(db_args(s, schema, prefix, base, 1));
    test::ChildProcess db2(db_args(s, schema, prefix, base, 2));

    zmq::context_t ctx;
    bus::ClientOptions o;
    o.manager = "tcp://127.0.0.1:" + std::to_string(base);
    bus::BusClient client(ctx, o);
    auto workers = [&] {
        auto r = client.call(bus::kMmiService, codec::encode(bus::ServiceQuery{"db"}), 500ms);
        bus::ServiceList list;
        if (!r || codec::decode(r->body, list) != codec::MsgError::kOk || list.services.empty()) {
            return int64_t{-1};
        }
        return list.services[0].workers;
    };
    REQUIRE(test::wait_for([&] { return workers() == 2; }, 20s));
    CHECK(schema.exec("SELECT COUNT(*) FROM schema_version") == "1\n");

    std::set<std::string> served_by;
    for (int i = 0; i < 20; ++i) {
        common::RegisterRequest req;
        req.account = "p" + std::to_string(i);
        req.machine = "machine-0123456789";
        req.name = req.account;
        auto r = client.call("db", codec::encode(req), 5s, common::kDbRegisterOrLogin);
        REQUIRE(r.has_value());
        REQUIRE(r->ok());
        served_by.insert(r->env.source);
    }
    CHECK(served_by == std::set<std::string>{"db-1", "db-2"});
    CHECK(schema.exec("SELECT COUNT(*) FROM accounts") == "20\n");
    CHECK(db1.stop() == 0);
    CHECK(db2.stop() == 0);
}
