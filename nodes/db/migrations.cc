#include "nodes/db/migrations.h"

#include <sstream>

namespace tb::db {

namespace {
#include "migrations.inc"  // generated: kMigrations[] = {{version, R"...(sql)..."}, ...}
}  // namespace

const std::vector<Migration>& migrations() {
    static const std::vector<Migration> all(std::begin(kMigrations), std::end(kMigrations));
    return all;
}

std::vector<std::string> split_sql(std::string_view sql) {
    std::vector<std::string> out;
    std::string current;
    std::istringstream in{std::string(sql)};
    std::string line;
    while (std::getline(in, line)) {
        const auto first = line.find_first_not_of(" \t");
        if (first == std::string::npos || line.compare(first, 2, "--") == 0) continue;
        current += line;
        current += '\n';
        const auto last = line.find_last_not_of(" \t\r");
        if (last != std::string::npos && line[last] == ';') {
            out.push_back(current);
            current.clear();
        }
    }
    if (current.find_first_not_of(" \t\r\n") != std::string::npos) out.push_back(current);
    return out;
}

}  // namespace tb::db
