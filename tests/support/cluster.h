#pragma once
// What the integration tests' clusters share: the command line of a tb-db node on test storage,
// and the questions a test asks the manager over the bus (MMI). Each test file keeps its own
// cluster shape (which nodes, which settings); these are the parts that were the same in all.

#include <zmq.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bus/client.h"
#include "bus/protocol.h"
#include "tests/support/storage.h"

namespace tb::test {

// "node.base_port=<base>": the --set that puts a node on the bus of the manager at `base`.
std::string base_port_setting(uint16_t base);

// tb-db on the bus at `base`, over the storage `s` with its own `schema` and Redis `key_prefix`,
// with PBKDF2 cut to 1,000 iterations (tests log in thousands of times; the cost setting itself
// is tested in the db tests), then `extra` settings ("key=value", each given as --set).
std::vector<std::string> db_node_argv(uint16_t base, const StorageEndpoints& s,
                                      const std::string& schema, const std::string& key_prefix,
                                      const std::vector<std::string>& extra = {});

// Questions to the manager at `manager` (a bus endpoint), each on a short-lived client of its
// own, so a test can ask while the manager restarts. Not thread-safe (one zmq context).
class BusQueries {
public:
    explicit BusQueries(std::string manager, std::chrono::milliseconds timeout = kDefaultTimeout);
    explicit BusQueries(uint16_t base, std::chrono::milliseconds timeout = kDefaultTimeout);

    static constexpr std::chrono::milliseconds kDefaultTimeout{500};

    // A request to `target`; nullopt when nothing came back within the timeout (the
    // constructor's unless given).
    std::optional<bus::Reply> call(std::string_view target, std::string_view body);
    std::optional<bus::Reply> call(std::string_view target, std::string_view body,
                                   std::chrono::milliseconds timeout);

    // Workers of `service` on the bus: 0 for a service nobody serves, -1 when the manager
    // does not answer.
    int64_t workers(const std::string& service);

    // The workers of `service` as the manager lists them (empty also when it does not answer).
    std::vector<bus::WorkerInfo> worker_list(const std::string& service);

    // Worker `id` of `service` ("game-<id>" and the like), nullopt when it is not registered or
    // the manager does not answer; its load as last reported, -1 in those cases.
    std::optional<bus::WorkerInfo> worker(const std::string& service, int64_t id);
    int64_t load_of(int64_t id, const std::string& service);

    // What mmi.health says of `node` ("db-1"); nullopt when the manager does not answer.
    std::optional<bus::HealthReply> health(const std::string& node);

    const std::string& manager_endpoint() const noexcept { return manager_; }
    zmq::context_t& context() noexcept { return ctx_; }

private:
    std::string manager_;
    std::chrono::milliseconds timeout_;
    zmq::context_t ctx_;
};

}  // namespace tb::test
