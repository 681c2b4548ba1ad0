#pragma once
// tb-login's settings (conf/login.toml): the node's bus settings and how long it waits for the
// db node. The login node keeps no state of its own: accounts, sign-in and ranking live behind
// the db service, so there is little to tune here.

#include <chrono>

#include "nodes/common/config.h"

namespace tb::login {

struct LoginConfig {
    common::NodeConfig node;
    // Deadline of each call to the db service (a FastRegister makes two). The proxy's own
    // deadline for the client's request shortens it when that is less.
    std::chrono::milliseconds db_timeout{3000};
};

void bind_login_config(common::ConfigSchema& schema, LoginConfig& cfg);

}  // namespace tb::login
