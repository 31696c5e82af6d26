// Client-side helpers shared by the benchmark driver and the demo: a libpq
// connection, loading vectors with COPY (FORMAT binary), timed passes of
// nearest-neighbour queries through a prepared statement with the query
// vector in binary, and a progress line for long steps.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace vectordb {
namespace bench {

// A libpq connection configured from the PG* environment variables (or conninfo).
class Connection {
public:
    explicit Connection(const std::string& conninfo = "");
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    PGconn* get() { return conn_; }
    // Runs a command; throws std::runtime_error with the server's message.
    void exec(const std::string& sql);
    // The first column of the first row as text ("" for NULL); throws on error or no row.
    std::string value(const std::string& sql);
    // Server process id of this connection.
    int backend_pid();
    // Notices and messages the server sent since the last call (e.g. DEBUG lines).
    std::vector<std::string> take_notices();

private:
    static void on_notice(void* self, const char* message);
    PGconn* conn_;
    std::vector<std::string> notices_;
};

// The vector type's binary form: int16 dim, int16 unused, float4s in network order.
std::string vector_binary(const float* v, std::size_t dim);

// Creates `table` (id int8 primary key, embedding vector(dim)) and fills it
// with rows x dim floats by COPY (FORMAT binary), then VACUUM ANALYZE. Shows progress.
// Creates `table` (id, embedding) and copies the rows in; `before_copy`
// (e.g. a CREATE INDEX) runs on the empty table first.
void load_table(Connection& c, const std::string& table, const float* rows, std::size_t n, std::size_t dim,
                const std::string& before_copy = "");

// Runs CREATE INDEX (sql) and shows pg_stat_progress_create_index meanwhile
// (polled on a second connection). Returns the wall time in seconds; the
// build's phase timings (its DEBUG1 lines) go to *phases when given.
double create_index_with_progress(Connection& c, const std::string& sql, const std::string& label,
                                  std::string* phases = nullptr);

// One pass of k-NN queries through a prepared statement.
struct PassResult {
    std::vector<int32_t> ids;        // queries x k, -1 where fewer rows came back
    std::vector<double> latency_ms;  // per query
    double seconds = 0;
};

// Prepares `name` as SELECT id FROM table ORDER BY embedding <op> $1 LIMIT k.
void prepare_knn(Connection& c, const std::string& name, const std::string& table, const std::string& op,
                 std::size_t k);
// Runs the prepared statement once per query vector (binary parameters).
PassResult run_pass(Connection& c, const std::string& name, const std::vector<std::string>& params, std::size_t k,
                    const std::string& label);

double percentile(std::vector<double> v, double p);
double median(std::vector<double> v);

// A one-line progress indicator on stderr, drawn only for steps that last.
class Progress {
public:
    Progress(std::string label, std::size_t total);
    void update(std::size_t done, const std::string& detail = "");
    void finish(const std::string& summary);

private:
    std::string label_;
    std::size_t total_;
    std::chrono::steady_clock::time_point start_, last_draw_;
    bool drawn_ = false;
};

double seconds_since(std::chrono::steady_clock::time_point t0);

}  // namespace bench
}  // namespace vectordb
