#include "tests/support/cluster.h"

#include "codec/fields.h"
#include "tests/support/process.h"

namespace tb::test {

std::string base_port_setting(uint16_t base) {
    return "node.base_port=" + std::to_string(base);
}

std::vector<std::string> db_node_argv(uint16_t base, const StorageEndpoints& s,
                                      const std::string& schema, const std::string& key_prefix,
                                      const std::vector<std::string>& extra) {
    std::vector<std::string> argv{bin("tb-db").string()};
    const auto set = [&](std::string kv) {
        argv.emplace_back("--set");
        argv.push_back(std::move(kv));
    };
    set(base_port_setting(base));
    set("mysql.host=" + s.host);
    set("mysql.port=" + std::to_string(s.mariadb_port));
    set("mysql.user=" + s.mariadb_user);
    set("mysql.password=" + s.mariadb_password);
    set("mysql.database=" + schema);
    set("redis.port=" + std::to_string(s.redis_port));
    set("redis.key_prefix=" + key_prefix);
    set("login.pbkdf2_iterations=1000");
    for (const auto& kv : extra) set(kv);
    return argv;
}

BusQueries::BusQueries(std::string manager, std::chrono::milliseconds timeout)
    : manager_(std::move(manager)), timeout_(timeout) {}

BusQueries::BusQueries(uint16_t base, std::chrono::milliseconds timeout)
    : BusQueries("tcp://127.0.0.1:" + std::to_string(base), timeout) {}

std::optional<bus::Reply> BusQueries::call(std::string_view target, std::string_view body) {
    return call(target, body, timeout_);
}

std::optional<bus::Reply> BusQueries::call(std::string_view target, std::string_view body,
                                           std::chrono::milliseconds timeout) {
    bus::ClientOptions o;
    o.manager = manager_;
    bus::BusClient c(ctx_, o);
    return c.call(target, body, timeout);
}

int64_t BusQueries::workers(const std::string& service) {
    const auto r = call(bus::kMmiService, codec::encode(bus::ServiceQuery{service}));
    if (!r) return -1;
    bus::ServiceList list;
    if (codec::decode(r->body, list) != codec::MsgError::kOk) return -1;
    return list.services.empty() ? 0 : list.services[0].workers;
}

std::vector<bus::WorkerInfo> BusQueries::worker_list(const std::string& service) {
    const auto r = call(bus::kMmiWorkers, codec::encode(bus::ServiceQuery{service}));
    bus::WorkerList list;
    if (!r || codec::decode(r->body, list) != codec::MsgError::kOk) return {};
    return list.workers;
}

std::optional<bus::WorkerInfo> BusQueries::worker(const std::string& service, int64_t id) {
    for (auto& w : worker_list(service)) {
        if (w.id == id) return std::move(w);
    }
    return std::nullopt;
}

int64_t BusQueries::load_of(int64_t id, const std::string& service) {
    const auto w = worker(service, id);
    return w ? w->load : -1;
}

std::optional<bus::HealthReply> BusQueries::health(const std::string& node) {
    const auto r = call(bus::kMmiHealth, codec::encode(bus::NodeQuery{node}));
    bus::HealthReply h;
    if (!r || !r->ok() || codec::decode(r->body, h) != codec::MsgError::kOk) return std::nullopt;
    return h;
}

}  // namespace tb::test
