#include "nodes/login/login_config.h"

namespace tb::login {

void bind_login_config(common::ConfigSchema& schema, LoginConfig& cfg) {
    common::bind_node_config(schema, cfg.node);
    schema
        .add("db.timeout_ms", &cfg.db_timeout,
             "deadline of each call to the db service, in milliseconds")
        .range(std::chrono::milliseconds(50), std::chrono::milliseconds(60000));
}

}  // namespace tb::login
