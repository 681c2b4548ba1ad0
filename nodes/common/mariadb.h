#pragma once
// MariaDB client for tb-db, the only node that talks to the database. tb-db runs blocking
// MariaDB work on a pool of threads and gives each thread a connection of its own, so one
// MariaDb object is one connection used by one thread at a time: nothing here locks.
//
// Why a wrapper at all: MariaDB Connector/C reports every failure as an errno on a handle that
// must be checked after each call, and its prepared statements need MYSQL_BIND arrays that point
// at buffers the caller keeps alive. This file turns both into C++: failures become DbException
// with a DbStatus the caller can act on (kDuplicate for "already there", kRetry for deadlocks,
// kConnection for "reconnect and maybe retry"), parameters are ordinary arguments, and results
// come back as Rows of text that own their memory.
//
// Reconnection is explicit. Auto-reconnect in the connector silently loses session state
// (an open transaction, SET variables, prepared statements) and can replay half of a
// transaction on a new connection; instead any connection-level failure closes the connection
// and throws kConnection, and the owner (the pool) calls connect() again. A few kError failures
// also leave the session unusable (a packet over max_allowed_packet, a protocol out of sync) and
// close it too, so after any DbException the pool checks connected(). Statement objects outlive
// a reconnect: a Statement& from prepare() stays valid as long as its MariaDb and re-prepares
// itself on the new connection the next time it runs.
//
// Parameter values never appear in exception messages or logs: they can be passwords or tokens.
// Messages carry the error code, the server's error text and the SQL text; for failures while a
// statement runs, literals the server quotes in its text ("Duplicate entry 'x' for key 'k'")
// are replaced by '?', because they are parameter values. Text-protocol SQL (execute(), query())
// appears in messages as given, so it must not embed secrets: bind them as parameters.

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

// Connector/C handle types, declared here so this header does not drag <mysql.h> and its macros
// into every file that uses the wrapper; mariadb.cc includes the real definitions.
struct st_mysql;
struct st_mysql_stmt;
struct st_mysql_res;

namespace tb::common {

// What a caller can do about a failure; the raw server or client error code rides along in
// DbException::code().
enum class DbStatus : uint8_t {
    kOk,
    kDuplicate,   // unique key violation (ER_DUP_ENTRY 1062 and friends): the row already exists
    kRetry,       // deadlock (1213) or lock wait timeout (1205): run the transaction again
    kConnection,  // server unreachable or the connection broke: connect() again before reuse
    kError,       // anything else (bad SQL, constraint, type error, misuse of this API)
};

// The name of a status for log lines ("ok", "duplicate", "retry", "connection", "error").
std::string_view to_string(DbStatus status) noexcept;

// Classifies a MariaDB server (ER_*, 1000-1999, 3000+) or client (CR_*, 2000-2999, 5000+)
// error code. 0 is kOk. Exposed so tests and the pool can reason about codes they see.
DbStatus classify_mariadb_error(unsigned code) noexcept;

// A failure of a MariaDB or Redis call. code() is the server or client error code (0 when the
// failure came from this wrapper or from Redis, which has no numeric codes).
class DbException : public std::runtime_error {
public:
    DbException(DbStatus status, unsigned code, std::string message);

    DbStatus status() const noexcept { return status_; }
    unsigned code() const noexcept { return code_; }
    // The connection is gone and has been closed: connect() before using the object again.
    bool connection_lost() const noexcept { return status() == DbStatus::kConnection; }

private:
    DbStatus status_;
    unsigned code_;
};

struct MariaDbConfig {
    std::string host = "127.0.0.1";
    uint16_t port = 3306;
    std::string unix_socket;  // when set, used instead of host and port
    std::string user = "tablebus";
    std::string password;
    std::string database;  // empty: no default database
    // Seconds; 0 or less keeps the connector's default. The read timeout also bounds the
    // longest statement: a query running longer fails as a lost connection (kConnection).
    int connect_timeout_s = 2;
    int read_timeout_s = 10;
    int write_timeout_s = 10;
};

// One result row. Every value is kept as the text MariaDB would print for it (or NULL), which
// is what the text protocol returns anyway; prepared-statement results are converted to the
// same text so both paths read alike. str() is binary safe (BLOB and VARBINARY may hold NULs).
// Getters throw std::out_of_range for a bad column index and DbException(kError) for NULL or
// for a value that does not convert (i64 of "12.5", u64 of "-1"); call is_null() first for
// nullable columns. Any thread: a Row is a plain value.
class Row {
public:
    Row() = default;
    explicit Row(std::vector<std::optional<std::string>> values) : values_(std::move(values)) {}

    bool is_null(std::size_t i) const;
    int64_t i64(std::size_t i) const;
    uint64_t u64(std::size_t i) const;
    double f64(std::size_t i) const;
    // DECIMAL, DATETIME ("2024-05-01 12:00:00"), VARCHAR, TEXT, BLOB: the text as stored.
    const std::string& str(std::size_t i) const;
    std::size_t size() const noexcept { return values_.size(); }

private:
    const std::string& value(std::size_t i) const;

    std::vector<std::optional<std::string>> values_;
};

using Rows = std::vector<Row>;

class MariaDb;

namespace detail {

// Deleters so Connector/C handles only ever live in std::unique_ptr (defined in mariadb.cc).
struct MysqlCloser {
    void operator()(st_mysql* mysql) const noexcept;
};
struct MysqlStmtCloser {
    void operator()(st_mysql_stmt* stmt) const noexcept;
};
struct MysqlResultFreer {
    void operator()(st_mysql_res* result) const noexcept;
};

// Transparent hash so the statement cache is probed with a string_view.
struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
        return std::hash<std::string_view>{}(s);
    }
};

// One bound parameter: a tagged value that points into the caller's arguments, which outlive
// the call. The Statement templates only translate arguments into these; the MYSQL_BIND work
// happens in mariadb.cc.
struct Param {
    enum class Kind : uint8_t { kNull, kInt, kUint, kDouble, kBytes } kind = Kind::kNull;
    int64_t i = 0;
    uint64_t u = 0;
    double d = 0;
    std::string_view bytes;

    static Param null() { return Param{}; }
    static Param of_int(int64_t v) {
        Param p;
        p.kind = Kind::kInt;
        p.i = v;
        return p;
    }
    static Param of_uint(uint64_t v) {
        Param p;
        p.kind = Kind::kUint;
        p.u = v;
        return p;
    }
    static Param of_double(double v) {
        Param p;
        p.kind = Kind::kDouble;
        p.d = v;
        return p;
    }
    static Param of_bytes(std::string_view v) {
        Param p;
        p.kind = Kind::kBytes;
        p.bytes = v;
        return p;
    }
};

template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};

template <class T>
Param to_param(const T& value) {
    using U = std::remove_cvref_t<T>;
    if constexpr (IsOptional<U>::value) {
        return value ? to_param(*value) : Param::null();
    } else if constexpr (std::is_same_v<U, std::nullptr_t> || std::is_same_v<U, std::nullopt_t>) {
        return Param::null();
    } else if constexpr (std::is_same_v<U, bool>) {
        return Param::of_int(value ? 1 : 0);
    } else if constexpr (std::is_same_v<U, char> || std::is_same_v<U, char8_t> ||
                         std::is_same_v<U, char16_t> || std::is_same_v<U, char32_t> ||
                         std::is_same_v<U, wchar_t>) {
        // A lone char is ambiguous (a number or a one-letter string?): make the caller say.
        static_assert(!sizeof(U), "bind a char as std::string_view(&c, 1) or as an integer");
    } else if constexpr (std::is_integral_v<U> && std::is_signed_v<U>) {
        return Param::of_int(static_cast<int64_t>(value));
    } else if constexpr (std::is_integral_v<U>) {
        return Param::of_uint(static_cast<uint64_t>(value));
    } else if constexpr (std::is_floating_point_v<U>) {
        return Param::of_double(static_cast<double>(value));
    } else if constexpr (std::is_same_v<U, std::string> || std::is_same_v<U, std::string_view>) {
        return Param::of_bytes(std::string_view(value));
    } else if constexpr (std::is_same_v<U, const char*> || std::is_same_v<U, char*>) {
        // A null C string is NULL, the same as nullptr.
        return value ? Param::of_bytes(std::string_view(value)) : Param::null();
    } else if constexpr (std::is_array_v<U> &&
                         std::is_same_v<std::remove_cv_t<std::remove_extent_t<U>>, char>) {
        // String literals: the text up to the terminating NUL.
        return Param::of_bytes(std::string_view(value));
    } else {
        static_assert(!sizeof(U),
                      "unsupported parameter type: use an integer, double, bool, string, "
                      "string_view, const char*, std::optional of those, or nullptr");
    }
}

}  // namespace detail

// A prepared statement owned by its MariaDb and cached there by SQL text, so the server parses
// and plans it once per connection and each call only ships the parameters. Obtain one with
// MariaDb::prepare(); it cannot be copied or moved and lives as long as its MariaDb. All methods:
// the thread that owns the MariaDb.
class Statement {
public:
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    ~Statement();

    // Runs the statement with `args` bound to its ? placeholders in order and returns the
    // affected rows (rows changed, as MariaDB counts them; 0 for an UPDATE that matched rows
    // but left them unchanged). A result set, if the statement produces one, is discarded.
    // Arguments: integral types, double/float, bool, std::string, std::string_view,
    // const char*, std::optional<T> of those (nullopt is NULL), nullptr (NULL). Throws
    // DbException: kDuplicate/kRetry/kError from the server, kError if the argument count
    // does not match the placeholders, kConnection if not connected or the connection broke
    // (the MariaDb is then closed).
    template <class... Args>
    uint64_t exec(const Args&... args) {
        std::array<detail::Param, sizeof...(Args)> params{detail::to_param(args)...};
        return run(params, nullptr);
    }

    // As exec(), returning every row of the result set (stored client side, so the connection
    // is free again when this returns). Long values are fetched whole whatever their size.
    template <class... Args>
    Rows query(const Args&... args) {
        std::array<detail::Param, sizeof...(Args)> params{detail::to_param(args)...};
        Rows rows;
        run(params, &rows);
        return rows;
    }

    // As exec() and query(), with parameters made at run time: for statements whose number of
    // placeholders depends on the data (one row per seat of a round).
    uint64_t exec_params(std::vector<detail::Param>& params) { return run(params, nullptr); }
    Rows query_params(std::vector<detail::Param>& params) {
        Rows rows;
        run(params, &rows);
        return rows;
    }

    // The AUTO_INCREMENT id generated by the last exec() of this statement (0 if none).
    uint64_t last_insert_id() const noexcept { return last_insert_id_; }

    // The SQL text this statement was prepared from.
    const std::string& sql() const noexcept { return sql_; }

private:
    friend class MariaDb;
    using StmtPtr = std::unique_ptr<st_mysql_stmt, detail::MysqlStmtCloser>;

    Statement(MariaDb& owner, std::string sql);

    // Prepares on the owner's current connection if this statement has no live handle (first
    // use, or after a reconnect). Throws DbException.
    void ensure_prepared();
    // Binds, executes and, when rows is not null, fetches. Returns affected rows.
    uint64_t run(std::span<detail::Param> params, Rows* rows);
    void fetch_all(Rows& rows);
    // Throws the statement's current error; closes the connection first if it broke.
    [[noreturn]] void fail(std::string_view what);

    MariaDb* owner_;  // a pointer, not a reference, so MariaDb can be moved
    std::string sql_;
    StmtPtr stmt_;
    uint64_t last_insert_id_ = 0;
};

// One MariaDB connection. Create it on any thread, then use it from one thread at a time (the
// pool thread that owns it); movable so a pool can keep them in a vector, but not while any
// thread is using it.
class MariaDb {
public:
    explicit MariaDb(MariaDbConfig cfg);
    ~MariaDb();
    MariaDb(MariaDb&& other) noexcept;
    MariaDb& operator=(MariaDb&& other) noexcept;
    MariaDb(const MariaDb&) = delete;
    MariaDb& operator=(const MariaDb&) = delete;

    // Opens the connection (closing any previous one first): utf8mb4, autocommit on, connect,
    // read and write timeouts from the config, no auto-reconnect. Owner thread. Throws
    // DbException(kConnection) with the connector's code and message if the server cannot be
    // reached or refuses the login; the object then stays closed.
    void connect();

    // Whether a connection is open (it may still have died without us noticing: see ping()).
    // Owner thread.
    bool connected() const noexcept { return mysql_ != nullptr; }

    // Closes the connection and releases the server side of every prepared statement; the
    // Statement objects stay valid and re-prepare after the next connect(). Idempotent. Owner
    // thread.
    void close() noexcept;

    // Round trip to the server. Returns false, and closes the connection, when it fails (or when
    // not connected). Owner thread.
    bool ping() noexcept;

    // The prepared statement for `sql`, preparing it on first use of this text. The reference
    // stays valid for the life of this MariaDb (across reconnects). Cached by exact text, so
    // build SQL from constants, never from values: every distinct text holds a statement on the
    // server for as long as the connection lives. Owner thread. Throws DbException: kError for
    // invalid SQL, kConnection if not connected or the connection broke.
    Statement& prepare(std::string_view sql);

    // One SQL statement over the text protocol, without parameters; any result is discarded.
    // For DDL, migrations and SET. Owner thread. Throws DbException as prepare() does.
    void execute(std::string_view sql);

    // One SQL statement over the text protocol; returns all its rows. Owner thread. Throws
    // DbException as prepare() does.
    Rows query(std::string_view sql);

    // Several statements separated by ';' in one round trip over the text protocol, for a hot
    // path where round trips are the cost (on a VM each one is a send, a wake-up and a receive
    // on both sides). Returns one Rows per statement, in order (empty for a statement without a
    // result set). The server stops at the first statement that fails: the later ones do not
    // run, and this throws DbException as query() does. Values go into the text through
    // quote(), so the SQL holds values: messages name `label` instead of the SQL. Owner thread.
    std::vector<Rows> query_batch(std::string_view sql, std::string_view label);

    // `value` as a string literal for this connection ('...', escaped for its character set
    // and SQL mode): the only way a value may enter query_batch() text. Owner thread; throws
    // DbException(kConnection) when not connected.
    std::string quote(std::string_view value);

    // START TRANSACTION / COMMIT. Owner thread. Throw DbException; begin() throws kError
    // inside an open transaction, because START TRANSACTION would silently commit it.
    void begin();
    void commit();
    // ROLLBACK, ignoring failure: if it fails for any reason the connection is closed, which
    // makes the server roll back anyway. Owner thread; does nothing when not connected.
    void rollback() noexcept;

    // Whether the server reports an open transaction on this connection. Owner thread.
    bool in_transaction() const noexcept;

    const MariaDbConfig& config() const noexcept { return cfg_; }

private:
    friend class Statement;
    using MysqlPtr = std::unique_ptr<st_mysql, detail::MysqlCloser>;

    // The open connection or DbException(kConnection).
    st_mysql* handle();
    // Throws the connection's current error; closes the connection first if it broke.
    // `redact`: the SQL held values, so the server's quoted literals become '?' (as for
    // statements).
    [[noreturn]] void fail(std::string_view what, std::string_view sql = {}, bool redact = false);
    // Reads and frees the results after the first of the last text-protocol command (a CALL
    // returns several), so the connection accepts the next command. Throws through fail().
    void drain_results(std::string_view sql);
    // The rows of the current text-protocol result (none for a statement without one).
    Rows take_result(std::string_view sql);

    MariaDbConfig cfg_;
    MysqlPtr mysql_;
    // Keyed by SQL text, looked up by string_view without a copy (prepare() runs on every
    // call); unique_ptr keeps each Statement at a fixed address while the map rehashes.
    std::unordered_map<std::string, std::unique_ptr<Statement>, detail::StringHash, std::equal_to<>>
        statements_;
};

// A transaction scope: begin() on construction, rollback() on destruction unless commit()
// succeeded, so an exception anywhere in between undoes the work. Owner thread of the MariaDb.
class Transaction {
public:
    // Throws what MariaDb::begin() throws.
    explicit Transaction(MariaDb& db);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

    // Throws what MariaDb::commit() throws; the destructor then rolls back.
    void commit();

private:
    MariaDb& db_;
    bool done_ = false;
};

namespace detail {
// Sleeps a short, growing, jittered time before retry `attempt` (1-based), so two transactions
// that just deadlocked do not collide again in lockstep.
void retry_backoff(int attempt) noexcept;
}  // namespace detail

// Runs fn(db), running it again (up to `attempts` runs in total) when it fails with
// DbStatus::kRetry: the server has already rolled back a deadlock victim, and rolling back after
// a lock wait timeout releases our locks for the other side. Whatever transaction a failure left
// open is rolled back before the retry or the rethrow. For callers that begin and commit inside
// their own statements (a MariaDb::query_batch saves the round trips of begin() and commit());
// otherwise use with_transaction(). fn must be safe to run again. Returns what fn returns. Owner
// thread of the MariaDb; blocks (including short sleeps between attempts).
template <class Fn>
auto with_retries(MariaDb& db, Fn&& fn, int attempts = 5) {
    for (int attempt = 1;; ++attempt) {
        try {
            return fn(db);
        } catch (const DbException& e) {
            if (db.in_transaction()) db.rollback();
            if (e.status() != DbStatus::kRetry || attempt >= attempts) throw;
        } catch (...) {
            if (db.in_transaction()) db.rollback();
            throw;
        }
        detail::retry_backoff(attempt);
    }
}

// Runs fn(db) inside a Transaction and commits, retrying the whole transaction as
// with_retries() does. Any other exception propagates after the rollback. fn must be safe to
// run again: do side effects outside the database after this returns. Returns what fn returns.
// Owner thread of the MariaDb; blocks (including short sleeps between attempts).
template <class Fn>
auto with_transaction(MariaDb& db, Fn&& fn, int attempts = 5) {
    using Result = std::invoke_result_t<Fn&, MariaDb&>;
    return with_retries(
        db,
        [&fn](MariaDb& d) {
            Transaction tx(d);
            if constexpr (std::is_void_v<Result>) {
                fn(d);
                tx.commit();
            } else {
                Result result = fn(d);
                tx.commit();
                return result;
            }
        },
        attempts);
}

}  // namespace tb::common
