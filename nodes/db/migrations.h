#pragma once
// The schema migrations of conf/sql/NNN_*.sql, compiled into tb-db (CMake embeds them) so the
// binary never depends on where it runs from.

#include <string>
#include <string_view>
#include <vector>

namespace tb::db {

struct Migration {
    int version;           // NNN of the file name; applied in order, each once
    std::string_view sql;  // the whole file
};

// Every migration, in version order.
const std::vector<Migration>& migrations();

// Splits a migration into statements: at each ';' that ends a line, skipping "--" comment
// lines. Migrations hold no procedures or strings with ";\n", so this is enough.
std::vector<std::string> split_sql(std::string_view sql);

}  // namespace tb::db
