#include "nodes/common/mariadb.h"

#include <errmsg.h>
#include <fmt/format.h>
#include <mysql.h>
#include <mysqld_error.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <mutex>
#include <random>
#include <system_error>
#include <thread>

namespace tb::common {

namespace {

// SQL text in error messages is cut here: enough to recognise the statement, not a log flood.
constexpr std::size_t kMaxSqlInMessage = 200;
// First buffer for a string column of a prepared-statement result; longer values are fetched
// again whole with mysql_stmt_fetch_column, so this only trades memory against a second copy.
constexpr unsigned long kInitialColumnBuffer = 256;

// Errors after which the connection cannot be used again even though the status is not
// kConnection: the server drops the link after an oversized packet, and a protocol that is out
// of sync or malformed leaves no safe way to carry on.
bool breaks_connection(unsigned code) {
    if (classify_mariadb_error(code) == DbStatus::kConnection) return true;
    switch (code) {
        case ER_NET_PACKET_TOO_LARGE:
        case CR_NET_PACKET_TOO_LARGE:
        case CR_COMMANDS_OUT_OF_SYNC:
        case CR_MALFORMED_PACKET:
        case ER_NET_PACKETS_OUT_OF_ORDER: return true;
        default: return false;
    }
}

std::string sql_excerpt(std::string_view sql) {
    if (sql.size() <= kMaxSqlInMessage) return std::string(sql);
    return fmt::format("{}...", sql.substr(0, kMaxSqlInMessage));
}

// The server's message with any quoted literal replaced by '?': errors raised while running a
// statement quote the offending value ("Duplicate entry 'alice' for key 'account'", "Incorrect
// integer value: 'x' for column `t`.`c`"), and that value is a parameter, perhaps a secret.
// Identifiers are kept where MariaDB quotes them distinctly (backticks, the key name of 1062),
// since they are what an operator needs to find the problem.
std::string redact_values(unsigned code, std::string_view message) {
    const auto first = message.find('\'');
    if (first == std::string_view::npos) return std::string(message);
    std::size_t last = std::string_view::npos;
    if (code == ER_DUP_ENTRY || code == ER_DUP_ENTRY_WITH_KEY_NAME) {
        // The value itself may contain quotes, so anchor on the key name at the end.
        const auto key = message.rfind(" for key '");
        if (key != std::string_view::npos && key > first) last = key - 1;
    } else {
        const auto column = message.rfind("' for column ");
        if (column != std::string_view::npos && column > first) last = column;
    }
    if (last == std::string_view::npos) last = message.rfind('\'');
    if (last <= first || message[last] != '\'') {
        return fmt::format("{}'?'", message.substr(0, first));
    }
    return fmt::format("{}'?'{}", message.substr(0, first), message.substr(last + 1));
}

// The exception for a failed call; status kError when the connector left no code (it should
// not, but an "ok" failure would confuse every caller).
DbException make_error(unsigned code, std::string_view error, std::string_view what,
                       std::string_view sql) {
    DbStatus status = code == 0 ? DbStatus::kError : classify_mariadb_error(code);
    std::string message = fmt::format("MariaDB {} failed ({}): {}", what, code, error);
    if (!sql.empty()) message += fmt::format(" [sql: {}]", sql_excerpt(sql));
    return DbException(status, code, std::move(message));
}

// mysql_library_init is not thread safe and mysql_init calls it implicitly, so the first
// connects of a pool of threads would race inside it; do it exactly once up front.
void init_library_once() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (mysql_library_init(0, nullptr, nullptr) != 0) {
            throw DbException(DbStatus::kConnection, CR_UNKNOWN_ERROR,
                              "MariaDB client library initialisation failed");
        }
    });
}

template <class T>
std::string number_text(T value) {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
    return std::string(buf, end);
}

}  // namespace

std::string_view to_string(DbStatus status) noexcept {
    switch (status) {
        case DbStatus::kOk: return "ok";
        case DbStatus::kDuplicate: return "duplicate";
        case DbStatus::kRetry: return "retry";
        case DbStatus::kConnection: return "connection";
        case DbStatus::kError: return "error";
    }
    return "error";
}

DbStatus classify_mariadb_error(unsigned code) noexcept {
    switch (code) {
        case 0: return DbStatus::kOk;

        case ER_DUP_ENTRY:
        case ER_DUP_ENTRY_WITH_KEY_NAME:
        case ER_DUP_KEY:
        case ER_DUP_UNIQUE: return DbStatus::kDuplicate;

        case ER_LOCK_DEADLOCK:
        case ER_LOCK_WAIT_TIMEOUT: return DbStatus::kRetry;

        // The server refused, closed or lost this session.
        case ER_CON_COUNT_ERROR:
        case ER_TOO_MANY_USER_CONNECTIONS:
        case ER_SERVER_SHUTDOWN:
        case ER_ABORTING_CONNECTION:
        case ER_NEW_ABORTING_CONNECTION:
        case ER_NET_READ_ERROR:
        case ER_NET_READ_INTERRUPTED:
        case ER_NET_ERROR_ON_WRITE:
        case ER_NET_WRITE_INTERRUPTED:
        case ER_CONNECTION_KILLED:
        // The client could not reach the server or lost the socket.
        case CR_SOCKET_CREATE_ERROR:
        case CR_CONNECTION_ERROR:
        case CR_CONN_HOST_ERROR:
        case CR_IPSOCK_ERROR:
        case CR_UNKNOWN_HOST:
        case CR_SERVER_GONE_ERROR:
        case CR_SERVER_HANDSHAKE_ERR:
        case CR_SERVER_LOST:
        case CR_SSL_CONNECTION_ERROR:
        case CR_SERVER_LOST_EXTENDED:
        case CR_ERR_NET_READ:
        case CR_ERR_NET_WRITE: return DbStatus::kConnection;

        default: return DbStatus::kError;
    }
}

DbException::DbException(DbStatus status, unsigned code, std::string message)
    : std::runtime_error(std::move(message)), status_(status), code_(code) {}

// --- Row ---------------------------------------------------------------------------------

const std::string& Row::value(std::size_t i) const {
    const auto& v = values_.at(i);
    if (!v) throw DbException(DbStatus::kError, 0, fmt::format("column {} is NULL", i));
    return *v;
}

bool Row::is_null(std::size_t i) const {
    return !values_.at(i).has_value();
}

const std::string& Row::str(std::size_t i) const {
    return value(i);
}

namespace {
// Parses the whole of `text` as T; the message names the column, never the value (result
// values can be as secret as parameters).
template <class T>
T parse_column(const std::string& text, std::size_t column, std::string_view type) {
    T out{};
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, out);
    if (ec != std::errc{} || ptr != end || text.empty()) {
        throw DbException(DbStatus::kError, 0,
                          fmt::format("column {} is not a valid {}", column, type));
    }
    return out;
}
}  // namespace

int64_t Row::i64(std::size_t i) const {
    return parse_column<int64_t>(value(i), i, "int64");
}
uint64_t Row::u64(std::size_t i) const {
    return parse_column<uint64_t>(value(i), i, "uint64");
}
double Row::f64(std::size_t i) const {
    return parse_column<double>(value(i), i, "double");
}

// --- deleters ----------------------------------------------------------------------------

namespace detail {
void MysqlCloser::operator()(st_mysql* mysql) const noexcept {
    mysql_close(mysql);
}
void MysqlStmtCloser::operator()(st_mysql_stmt* stmt) const noexcept {
    mysql_stmt_close(stmt);
}
void MysqlResultFreer::operator()(st_mysql_res* result) const noexcept {
    mysql_free_result(result);
}

void retry_backoff(int attempt) noexcept {
    thread_local std::minstd_rand rng{std::random_device{}()};
    const int cap_ms = 5 * std::clamp(attempt, 1, 10);
    std::uniform_int_distribution<int> ms(1, cap_ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(ms(rng)));
}
}  // namespace detail

using ResultPtr = std::unique_ptr<MYSQL_RES, detail::MysqlResultFreer>;

// --- Statement ---------------------------------------------------------------------------

Statement::Statement(MariaDb& owner, std::string sql) : owner_(&owner), sql_(std::move(sql)) {}

Statement::~Statement() = default;

void Statement::ensure_prepared() {
    if (stmt_) return;
    MYSQL* mysql = owner_->handle();
    StmtPtr stmt(mysql_stmt_init(mysql));
    if (!stmt) owner_->fail("statement init");
    if (mysql_stmt_prepare(stmt.get(), sql_.data(), static_cast<unsigned long>(sql_.size())) != 0) {
        const unsigned code = mysql_stmt_errno(stmt.get());
        DbException error = make_error(code, mysql_stmt_error(stmt.get()), "prepare", sql_);
        stmt.reset();
        if (breaks_connection(code)) owner_->close();
        throw error;
    }
    stmt_ = std::move(stmt);
}

void Statement::fail(std::string_view what) {
    const unsigned code = stmt_ ? mysql_stmt_errno(stmt_.get()) : 0;
    DbException error = make_error(
        code, stmt_ ? redact_values(code, mysql_stmt_error(stmt_.get())) : "no statement", what,
        sql_);
    // Dropping the connection also releases stmt_; nothing below may touch it.
    if (breaks_connection(code)) owner_->close();
    throw error;
}

uint64_t Statement::run(std::span<detail::Param> params, Rows* rows) {
    ensure_prepared();
    MYSQL_STMT* stmt = stmt_.get();

    const unsigned long expected = mysql_stmt_param_count(stmt);
    if (expected != params.size()) {
        throw DbException(DbStatus::kError, 0,
                          fmt::format("statement expects {} parameters, got {} [sql: {}]", expected,
                                      params.size(), sql_excerpt(sql_)));
    }

    // Sized per call: the buffers point into this call's arguments.
    std::vector<MYSQL_BIND> binds(params.size());
    std::vector<unsigned long> lengths(params.size());
    for (std::size_t i = 0; i < params.size(); ++i) {
        detail::Param& p = params[i];
        MYSQL_BIND& b = binds[i];
        switch (p.kind) {
            case detail::Param::Kind::kNull: b.buffer_type = MYSQL_TYPE_NULL; break;
            case detail::Param::Kind::kInt:
                b.buffer_type = MYSQL_TYPE_LONGLONG;
                b.buffer = &p.i;
                break;
            case detail::Param::Kind::kUint:
                b.buffer_type = MYSQL_TYPE_LONGLONG;
                b.buffer = &p.u;
                b.is_unsigned = 1;
                break;
            case detail::Param::Kind::kDouble:
                b.buffer_type = MYSQL_TYPE_DOUBLE;
                b.buffer = &p.d;
                break;
            case detail::Param::Kind::kBytes:
                // The connector only reads the buffer; an empty view may have no data pointer.
                b.buffer_type = MYSQL_TYPE_STRING;
                b.buffer = const_cast<char*>(p.bytes.empty() ? "" : p.bytes.data());
                lengths[i] = static_cast<unsigned long>(p.bytes.size());
                b.buffer_length = lengths[i];
                b.length = &lengths[i];
                break;
        }
    }
    if (!binds.empty() && mysql_stmt_bind_param(stmt, binds.data()) != 0) fail("bind");
    if (mysql_stmt_execute(stmt) != 0) fail("execute");

    if (mysql_stmt_field_count(stmt) > 0) {
        if (rows) {
            fetch_all(*rows);
        } else {
            // exec() of something that returns rows: read and drop them so the connection is
            // ready for the next command.
            if (mysql_stmt_store_result(stmt) != 0) fail("store result");
            mysql_stmt_free_result(stmt);
        }
    }
    const uint64_t affected = mysql_stmt_affected_rows(stmt);
    last_insert_id_ = mysql_stmt_insert_id(stmt);
    return affected == static_cast<uint64_t>(-1) ? 0 : affected;
}

void Statement::fetch_all(Rows& rows) {
    MYSQL_STMT* stmt = stmt_.get();
    ResultPtr meta(mysql_stmt_result_metadata(stmt));
    if (!meta) fail("result metadata");
    const unsigned columns = mysql_num_fields(meta.get());
    const MYSQL_FIELD* fields = mysql_fetch_fields(meta.get());

    if (mysql_stmt_store_result(stmt) != 0) fail("store result");
    // Frees the stored rows on every exit; after a connection failure stmt_ is already gone.
    struct FreeResult {
        Statement* self;
        ~FreeResult() {
            if (self->stmt_) mysql_stmt_free_result(self->stmt_.get());
        }
    } free_result{this};

    // Integers and floats are bound typed (cheap, no truncation); everything else, DECIMAL and
    // temporal types included, as text the connector formats for us.
    enum class Kind : uint8_t { kInt, kUint, kFloat, kDouble, kText };
    struct Column {
        Kind kind = Kind::kText;
        int64_t i = 0;
        float f = 0;
        double d = 0;
        std::string text;
        unsigned long length = 0;
        my_bool is_null = 0;
        my_bool error = 0;
    };
    std::vector<Column> cols(columns);
    std::vector<MYSQL_BIND> binds(columns);
    for (unsigned c = 0; c < columns; ++c) {
        Column& col = cols[c];
        MYSQL_BIND& b = binds[c];
        switch (fields[c].type) {
            case MYSQL_TYPE_TINY:
            case MYSQL_TYPE_SHORT:
            case MYSQL_TYPE_INT24:
            case MYSQL_TYPE_LONG:
            case MYSQL_TYPE_LONGLONG:
            case MYSQL_TYPE_YEAR:
                col.kind = (fields[c].flags & UNSIGNED_FLAG) ? Kind::kUint : Kind::kInt;
                b.buffer_type = MYSQL_TYPE_LONGLONG;
                b.buffer = &col.i;
                b.is_unsigned = col.kind == Kind::kUint;
                break;
            case MYSQL_TYPE_FLOAT:
                col.kind = Kind::kFloat;
                b.buffer_type = MYSQL_TYPE_FLOAT;
                b.buffer = &col.f;
                break;
            case MYSQL_TYPE_DOUBLE:
                col.kind = Kind::kDouble;
                b.buffer_type = MYSQL_TYPE_DOUBLE;
                b.buffer = &col.d;
                break;
            default:
                col.kind = Kind::kText;
                col.text.resize(kInitialColumnBuffer);
                b.buffer_type = MYSQL_TYPE_STRING;
                b.buffer = col.text.data();
                b.buffer_length = kInitialColumnBuffer;
                break;
        }
        b.length = &col.length;
        b.is_null = &col.is_null;
        b.error = &col.error;
    }
    if (columns > 0 && mysql_stmt_bind_result(stmt, binds.data()) != 0) fail("bind result");

    rows.reserve(rows.size() + static_cast<std::size_t>(mysql_stmt_num_rows(stmt)));
    for (;;) {
        const int rc = mysql_stmt_fetch(stmt);
        if (rc == MYSQL_NO_DATA) break;
        if (rc != 0 && rc != MYSQL_DATA_TRUNCATED) fail("fetch");

        std::vector<std::optional<std::string>> values(columns);
        for (unsigned c = 0; c < columns; ++c) {
            Column& col = cols[c];
            if (col.is_null) continue;
            switch (col.kind) {
                case Kind::kInt: values[c] = number_text(col.i); break;
                case Kind::kUint: values[c] = number_text(static_cast<uint64_t>(col.i)); break;
                case Kind::kFloat: values[c] = number_text(col.f); break;
                case Kind::kDouble: values[c] = number_text(col.d); break;
                case Kind::kText:
                    if (col.length <= kInitialColumnBuffer) {
                        values[c].emplace(col.text.data(), col.length);
                        break;
                    }
                    {
                        // Truncated: col.length is the full size; fetch the column again into
                        // a buffer that fits it.
                        std::string whole(col.length, '\0');
                        unsigned long whole_length = 0;
                        MYSQL_BIND b{};
                        b.buffer_type = MYSQL_TYPE_STRING;
                        b.buffer = whole.data();
                        b.buffer_length = col.length;
                        b.length = &whole_length;
                        if (mysql_stmt_fetch_column(stmt, &b, c, 0) != 0) fail("fetch column");
                        whole.resize(std::min(whole_length, col.length));
                        values[c] = std::move(whole);
                    }
                    break;
            }
        }
        rows.emplace_back(std::move(values));
    }
}

// --- MariaDb -----------------------------------------------------------------------------

MariaDb::MariaDb(MariaDbConfig cfg) : cfg_(std::move(cfg)) {}

MariaDb::~MariaDb() {
    close();
}

MariaDb::MariaDb(MariaDb&& other) noexcept
    : cfg_(std::move(other.cfg_)),
      mysql_(std::move(other.mysql_)),
      statements_(std::move(other.statements_)) {
    for (auto& [sql, statement] : statements_) statement->owner_ = this;
}

MariaDb& MariaDb::operator=(MariaDb&& other) noexcept {
    if (this != &other) {
        close();
        statements_.clear();
        cfg_ = std::move(other.cfg_);
        mysql_ = std::move(other.mysql_);
        statements_ = std::move(other.statements_);
        for (auto& [sql, statement] : statements_) statement->owner_ = this;
    }
    return *this;
}

void MariaDb::connect() {
    close();
    init_library_once();

    MysqlPtr mysql(mysql_init(nullptr));
    if (!mysql) {
        throw DbException(DbStatus::kConnection, CR_OUT_OF_MEMORY, "MariaDB mysql_init failed");
    }
    // Timeouts bound how long a pool thread can hang on a dead server; 0 or less keeps the
    // connector's default.
    const auto set_timeout = [&](mysql_option option, int seconds) {
        if (seconds <= 0) return;
        const unsigned value = static_cast<unsigned>(seconds);
        mysql_options(mysql.get(), option, &value);
    };
    set_timeout(MYSQL_OPT_CONNECT_TIMEOUT, cfg_.connect_timeout_s);
    set_timeout(MYSQL_OPT_READ_TIMEOUT, cfg_.read_timeout_s);
    set_timeout(MYSQL_OPT_WRITE_TIMEOUT, cfg_.write_timeout_s);
    // See the header: reconnecting behind our back would lose transactions and statements.
    const my_bool reconnect = 0;
    mysql_options(mysql.get(), MYSQL_OPT_RECONNECT, &reconnect);
    // Emoji in nicknames and chat need 4-byte UTF-8; "utf8" is the 3-byte subset.
    mysql_options(mysql.get(), MYSQL_SET_CHARSET_NAME, "utf8mb4");
    // A hostile or spoofed server must not be able to ask us for local files.
    const unsigned local_infile = 0;
    mysql_options(mysql.get(), MYSQL_OPT_LOCAL_INFILE, &local_infile);

    const bool use_socket = !cfg_.unix_socket.empty();
    const unsigned protocol = use_socket ? MYSQL_PROTOCOL_SOCKET : MYSQL_PROTOCOL_TCP;
    mysql_options(mysql.get(), MYSQL_OPT_PROTOCOL, &protocol);
    const std::string endpoint =
        use_socket ? cfg_.unix_socket : fmt::format("{}:{}", cfg_.host, cfg_.port);

    if (!mysql_real_connect(
            mysql.get(), use_socket ? "localhost" : cfg_.host.c_str(), cfg_.user.c_str(),
            cfg_.password.c_str(), cfg_.database.empty() ? nullptr : cfg_.database.c_str(),
            cfg_.port, use_socket ? cfg_.unix_socket.c_str() : nullptr, CLIENT_MULTI_STATEMENTS)) {
        // Every connect failure is kConnection, whatever the code (access denied included):
        // the caller's question is only "do I have a connection".
        throw DbException(DbStatus::kConnection, mysql_errno(mysql.get()),
                          fmt::format("MariaDB connect to {} failed ({}): {}", endpoint,
                                      mysql_errno(mysql.get()), mysql_error(mysql.get())));
    }
    // The server's default may be autocommit=0 (init_connect, my.cnf); we rely on it being on
    // outside explicit transactions.
    if (mysql_autocommit(mysql.get(), 1) != 0) {
        throw DbException(DbStatus::kConnection, mysql_errno(mysql.get()),
                          fmt::format("MariaDB autocommit on {} failed ({}): {}", endpoint,
                                      mysql_errno(mysql.get()), mysql_error(mysql.get())));
    }
    mysql_ = std::move(mysql);
}

void MariaDb::close() noexcept {
    // Closing the connection first invalidates its statements inside the connector, so their
    // handles are then freed without a COM_STMT_CLOSE each; the server drops them with the
    // session anyway.
    mysql_.reset();
    for (auto& [sql, statement] : statements_) statement->stmt_.reset();
}

bool MariaDb::ping() noexcept {
    if (!mysql_) return false;
    if (mysql_ping(mysql_.get()) != 0) {
        close();
        return false;
    }
    return true;
}

MYSQL* MariaDb::handle() {
    if (!mysql_) {
        throw DbException(DbStatus::kConnection, CR_SERVER_GONE_ERROR,
                          "MariaDB connection is closed: connect() first");
    }
    return mysql_.get();
}

void MariaDb::fail(std::string_view what, std::string_view sql, bool redact) {
    const unsigned code = mysql_ ? mysql_errno(mysql_.get()) : 0;
    std::string text = mysql_ ? mysql_error(mysql_.get()) : "not connected";
    if (redact) text = redact_values(code, text);
    DbException error = make_error(code, text, what, sql);
    if (breaks_connection(code)) close();
    throw error;
}

Statement& MariaDb::prepare(std::string_view sql) {
    auto it = statements_.find(sql);
    if (it != statements_.end()) {
        it->second->ensure_prepared();
        return *it->second;
    }
    std::unique_ptr<Statement> statement(new Statement(*this, std::string(sql)));
    statement->ensure_prepared();
    auto [inserted, ok] = statements_.emplace(statement->sql(), std::move(statement));
    return *inserted->second;
}

void MariaDb::execute(std::string_view sql) {
    MYSQL* mysql = handle();
    if (mysql_real_query(mysql, sql.data(), static_cast<unsigned long>(sql.size())) != 0) {
        fail("query", sql);
    }
    if (mysql_field_count(mysql) != 0) {
        ResultPtr result(mysql_store_result(mysql));
        if (!result) fail("store result", sql);
    }
    drain_results(sql);
}

Rows MariaDb::query(std::string_view sql) {
    MYSQL* mysql = handle();
    if (mysql_real_query(mysql, sql.data(), static_cast<unsigned long>(sql.size())) != 0) {
        fail("query", sql);
    }
    Rows rows = take_result(sql);
    drain_results(sql);
    return rows;
}

Rows MariaDb::take_result(std::string_view sql) {
    MYSQL* mysql = mysql_.get();
    Rows rows;
    ResultPtr result(mysql_store_result(mysql));
    if (!result) {
        if (mysql_field_count(mysql) != 0) fail("store result", sql);
        return rows;
    }
    const unsigned columns = mysql_num_fields(result.get());
    rows.reserve(static_cast<std::size_t>(mysql_num_rows(result.get())));
    while (MYSQL_ROW row = mysql_fetch_row(result.get())) {
        const unsigned long* lengths = mysql_fetch_lengths(result.get());
        std::vector<std::optional<std::string>> values(columns);
        for (unsigned c = 0; c < columns; ++c) {
            if (row[c]) values[c].emplace(row[c], lengths[c]);
        }
        rows.emplace_back(std::move(values));
    }
    return rows;
}

std::vector<Rows> MariaDb::query_batch(std::string_view sql, std::string_view label) {
    MYSQL* mysql = handle();
    if (mysql_real_query(mysql, sql.data(), static_cast<unsigned long>(sql.size())) != 0) {
        fail("batch", label, true);
    }
    std::vector<Rows> results;
    results.push_back(take_result(label));
    while (mysql_more_results(mysql)) {
        // > 0: the next statement failed, and the server ran none after it.
        if (mysql_next_result(mysql) > 0) fail("batch", label, true);
        results.push_back(take_result(label));
    }
    return results;
}

std::string MariaDb::quote(std::string_view value) {
    MYSQL* mysql = handle();
    std::string out(value.size() * 2 + 3, '\0');
    out[0] = '\'';
    const unsigned long n = mysql_real_escape_string(mysql, out.data() + 1, value.data(),
                                                     static_cast<unsigned long>(value.size()));
    out[n + 1] = '\'';
    out.resize(n + 2);
    return out;
}

void MariaDb::drain_results(std::string_view sql) {
    MYSQL* mysql = mysql_.get();
    while (mysql_more_results(mysql)) {
        if (mysql_next_result(mysql) > 0) fail("next result", sql);
        if (mysql_field_count(mysql) != 0) {
            ResultPtr result(mysql_store_result(mysql));
            if (!result) fail("store result", sql);
        }
    }
}

bool MariaDb::in_transaction() const noexcept {
    if (!mysql_) return false;
    unsigned status = 0;
    if (mariadb_get_infov(mysql_.get(), MARIADB_CONNECTION_SERVER_STATUS, &status) != 0) {
        return false;
    }
    return (status & SERVER_STATUS_IN_TRANS) != 0;
}

void MariaDb::begin() {
    handle();
    if (in_transaction()) {
        throw DbException(DbStatus::kError, 0,
                          "MariaDB begin() inside an open transaction (it would commit it)");
    }
    execute("START TRANSACTION");
}

void MariaDb::commit() {
    execute("COMMIT");
}

void MariaDb::rollback() noexcept {
    if (!mysql_) return;
    // If even ROLLBACK fails the session state is unknown; closing makes the server roll back.
    if (mysql_rollback(mysql_.get()) != 0) close();
}

// --- Transaction -------------------------------------------------------------------------

Transaction::Transaction(MariaDb& db) : db_(db) {
    db_.begin();
}

Transaction::~Transaction() {
    if (!done_) db_.rollback();
}

void Transaction::commit() {
    db_.commit();
    done_ = true;
}

}  // namespace tb::common
