// vectordb_pg_bench: measures a vtree index inside PostgreSQL over libpq.
//
// It generates synth-768 (or reads .fvecs files), computes exact ground truth
// in the core, loads the table with COPY (FORMAT binary), builds the index
// (timed) for each storage mode, records vectordb_index_stats, and sweeps
// vtree.probes x vtree.rerank_factor: every query once to warm up, then every
// query timed, on one connection with a prepared statement and the query
// vector sent in binary. Prints recall@10, QPS, p50 and p99 per point.
//
// Connection: the usual PG* environment variables.
//   vectordb_pg_bench [--rows N] [--dim N] [--queries N] [--probes 4,8] [--rerank 2,5]
//                     [--storage mmap,pages] [--table name] [--skip-load]
//                     [--base b.fvecs --query q.fvecs] [--build-threads N] [--json FILE]
#include "core/dataset.h"
#include "core/errors.h"

#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

using namespace vectordb;

namespace {

struct Options {
    SynthParams synth;
    std::string base_path, query_path;
    std::vector<int> probes{1, 2, 4, 8, 16, 32};
    std::vector<int> rerank{2, 5, 10};
    std::vector<std::string> storage{"mmap", "pages"};
    std::string table = "bench_items";
    bool skip_load = false;
    int build_threads = 0;
    std::size_t k = 10;
    std::string json_path;
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr, "vectordb_pg_bench: %s (see the header of bench/pg_bench.cpp)\n", why);
    std::exit(2);
}

template <class T>
std::vector<T> parse_list(const std::string& s) {
    std::vector<T> out;
    std::stringstream in(s);
    std::string item;
    while (std::getline(in, item, ',')) {
        if constexpr (std::is_same_v<T, int>)
            out.push_back(std::stoi(item));
        else
            out.push_back(item);
    }
    return out;
}

Options parse(int argc, char** argv) {
    Options o;
    o.synth.threads = 2;
    for (int i = 1; i < argc; i++) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage(("missing value for " + a).c_str());
            return argv[++i];
        };
        if (a == "--rows") o.synth.base_rows = std::stoul(value());
        else if (a == "--dim") o.synth.dim = std::stoul(value());
        else if (a == "--queries") o.synth.query_rows = std::stoul(value());
        else if (a == "--probes") o.probes = parse_list<int>(value());
        else if (a == "--rerank") o.rerank = parse_list<int>(value());
        else if (a == "--storage") o.storage = parse_list<std::string>(value());
        else if (a == "--table") o.table = value();
        else if (a == "--skip-load") o.skip_load = true;
        else if (a == "--base") o.base_path = value();
        else if (a == "--query") o.query_path = value();
        else if (a == "--build-threads") o.build_threads = std::stoi(value());
        else if (a == "--json") o.json_path = value();
        else usage(("unknown option " + a).c_str());
    }
    return o;
}

class Connection {
public:
    Connection() : conn_(PQconnectdb("")) {
        if (PQstatus(conn_) != CONNECTION_OK) throw std::runtime_error(PQerrorMessage(conn_));
    }
    ~Connection() { PQfinish(conn_); }
    PGconn* get() { return conn_; }

    // Runs a command; throws with the server's message on failure.
    void exec(const std::string& sql) {
        PGresult* r = PQexec(conn_, sql.c_str());
        const auto status = PQresultStatus(r);
        const std::string error = PQresultErrorMessage(r);
        PQclear(r);
        if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) throw std::runtime_error(sql + ": " + error);
    }

    // The first column of the first row, as text.
    std::string value(const std::string& sql) {
        PGresult* r = PQexec(conn_, sql.c_str());
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) == 0) {
            const std::string error = PQresultErrorMessage(r);
            PQclear(r);
            throw std::runtime_error(sql + ": " + error);
        }
        std::string v = PQgetisnull(r, 0, 0) ? "" : PQgetvalue(r, 0, 0);
        PQclear(r);
        return v;
    }

private:
    PGconn* conn_;
};

void put_be16(std::string& out, uint16_t v) {
    out.push_back(static_cast<char>(v >> 8));
    out.push_back(static_cast<char>(v & 0xFF));
}
void put_be32(std::string& out, uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xFF));
}
void put_be64(std::string& out, uint64_t v) {
    for (int s = 56; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xFF));
}

// The vector type's binary form: int16 dim, int16 unused, float4 values (network order).
std::string vector_binary(const float* v, std::size_t dim) {
    std::string out;
    out.reserve(4 + 4 * dim);
    put_be16(out, static_cast<uint16_t>(dim));
    put_be16(out, 0);
    for (std::size_t j = 0; j < dim; j++) {
        uint32_t bits;
        std::memcpy(&bits, v + j, 4);
        put_be32(out, bits);
    }
    return out;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void load(Connection& c, const Options& o, const Dataset& d) {
    c.exec("DROP TABLE IF EXISTS " + o.table);
    c.exec("CREATE TABLE " + o.table + " (id int8 PRIMARY KEY, embedding vector(" + std::to_string(d.dim) + "))");
    const auto t0 = std::chrono::steady_clock::now();
    PGresult* r = PQexec(c.get(), ("COPY " + o.table + " (id, embedding) FROM STDIN (FORMAT binary)").c_str());
    if (PQresultStatus(r) != PGRES_COPY_IN) throw std::runtime_error(PQresultErrorMessage(r));
    PQclear(r);
    std::string buf("PGCOPY\n\377\r\n\0", 11);
    put_be32(buf, 0);
    put_be32(buf, 0);
    for (std::size_t i = 0; i < d.base_rows(); i++) {
        put_be16(buf, 2);
        put_be32(buf, 8);
        put_be64(buf, i);
        const std::string v = vector_binary(d.base.data() + i * d.dim, d.dim);
        put_be32(buf, static_cast<uint32_t>(v.size()));
        buf += v;
        if (buf.size() > (1u << 20)) {
            if (PQputCopyData(c.get(), buf.data(), static_cast<int>(buf.size())) != 1)
                throw std::runtime_error(PQerrorMessage(c.get()));
            buf.clear();
        }
    }
    put_be16(buf, 0xFFFF);
    if (PQputCopyData(c.get(), buf.data(), static_cast<int>(buf.size())) != 1 || PQputCopyEnd(c.get(), nullptr) != 1)
        throw std::runtime_error(PQerrorMessage(c.get()));
    r = PQgetResult(c.get());
    if (PQresultStatus(r) != PGRES_COMMAND_OK) throw std::runtime_error(PQresultErrorMessage(r));
    PQclear(r);
    c.exec("VACUUM ANALYZE " + o.table);
    std::printf("loaded %zu rows x %zu dims in %.1f s\n", d.base_rows(), d.dim, seconds_since(t0));
}

struct Point {
    std::string storage;
    int probes, rerank;
    double recall, qps, p50_ms, p99_ms;
};

double percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * (v.size() - 1) + 0.5))];
}

}  // namespace

int main(int argc, char** argv) try {
    const Options o = parse(argc, argv);
    Dataset d;
    if (!o.base_path.empty()) {
        if (o.query_path.empty()) usage("--base needs --query");
        std::size_t qdim = 0;
        d.base = read_fvecs(o.base_path, &d.dim);
        d.queries = read_fvecs(o.query_path, &qdim);
        if (qdim != d.dim) usage("base and query dimensions differ");
    } else {
        std::printf("generating synth: %zu x %zu, %zu queries\n", o.synth.base_rows, o.synth.dim, o.synth.query_rows);
        d = generate_synth(o.synth);
    }
    const auto t_truth = std::chrono::steady_clock::now();
    const std::vector<int32_t> truth = exact_knn(d.base_view(), d.query_view(), o.k, Metric::L2, 2);
    std::printf("exact ground truth in %.1f s\n", seconds_since(t_truth));

    Connection c;
    c.exec("SET client_min_messages = warning");
    c.exec("CREATE EXTENSION IF NOT EXISTS vectordb");
    if (!o.skip_load) load(c, o, d);
    c.exec("SET maintenance_work_mem = '2GB'");
    if (o.build_threads > 0) c.exec("SET vtree.build_threads = " + std::to_string(o.build_threads));

    std::vector<Point> points;
    const std::string index = o.table + "_vtree";
    for (const std::string& storage : o.storage) {
        c.exec("DROP INDEX IF EXISTS " + index);
        c.exec("CHECKPOINT");
        const auto t0 = std::chrono::steady_clock::now();
        c.exec("CREATE INDEX " + index + " ON " + o.table + " USING vtree (embedding) WITH (storage = " + storage + ")");
        const double build_s = seconds_since(t0);
        std::printf("\nstorage = %s: build %.2f s; index relation %s MB, sidecar %s MB, RAM needed %s MB, leaves %s\n",
                    storage.c_str(), build_s,
                    c.value("SELECT round(relation_bytes / 1048576.0, 1) FROM vectordb_index_stats('" + index + "')").c_str(),
                    c.value("SELECT round(sidecar_bytes / 1048576.0, 1) FROM vectordb_index_stats('" + index + "')").c_str(),
                    c.value("SELECT round(memory_usage_bytes / 1048576.0, 1) FROM vectordb_index_stats('" + index + "')").c_str(),
                    c.value("SELECT leaves FROM vectordb_index_stats('" + index + "')").c_str());
        c.exec("SELECT vectordb_prewarm('" + index + "')");
        c.exec("DEALLOCATE ALL");
        c.exec("SET enable_seqscan = off");
        PGresult* prep = PQprepare(c.get(), "knn",
                                   ("SELECT id FROM " + o.table + " ORDER BY embedding <-> $1 LIMIT " +
                                    std::to_string(o.k)).c_str(),
                                   1, nullptr);
        if (PQresultStatus(prep) != PGRES_COMMAND_OK) throw std::runtime_error(PQresultErrorMessage(prep));
        PQclear(prep);
        std::vector<std::string> params;
        for (std::size_t q = 0; q < d.query_rows(); q++) params.push_back(vector_binary(d.queries.data() + q * d.dim, d.dim));
        std::printf("%-8s %6s %6s %9s %9s %8s %8s\n", "storage", "probes", "rerank", "recall@10", "QPS", "p50 ms", "p99 ms");
        for (int p : o.probes) {
            for (int rf : o.rerank) {
                c.exec("SET vtree.probes = " + std::to_string(p));
                c.exec("SET vtree.rerank_factor = " + std::to_string(rf));
                std::vector<int32_t> found(d.query_rows() * o.k, -1);
                std::vector<double> latency;
                const auto t_sweep = std::chrono::steady_clock::now();
                for (int pass = 0; pass < 2; pass++) {
                    if (pass == 1) latency.clear();
                    const auto t_pass = std::chrono::steady_clock::now();
                    for (std::size_t q = 0; q < d.query_rows(); q++) {
                        const char* values[1] = {params[q].data()};
                        const int lengths[1] = {static_cast<int>(params[q].size())};
                        const int formats[1] = {1};
                        const auto tq = std::chrono::steady_clock::now();
                        PGresult* r = PQexecPrepared(c.get(), "knn", 1, values, lengths, formats, 0);
                        latency.push_back(seconds_since(tq) * 1000.0);
                        if (PQresultStatus(r) != PGRES_TUPLES_OK) throw std::runtime_error(PQresultErrorMessage(r));
                        for (int row = 0; row < PQntuples(r) && row < static_cast<int>(o.k); row++)
                            found[q * o.k + static_cast<std::size_t>(row)] = std::atoi(PQgetvalue(r, row, 0));
                        PQclear(r);
                    }
                    if (pass == 1) {
                        const double elapsed = seconds_since(t_pass);
                        Point pt{storage, p, rf,
                                 recall_at_k(found.data(), truth.data(), d.query_rows(), o.k, o.k, o.k),
                                 d.query_rows() / elapsed, percentile(latency, 0.5), percentile(latency, 0.99)};
                        points.push_back(pt);
                        std::printf("%-8s %6d %6d %9.4f %9.0f %8.3f %8.3f\n", storage.c_str(), p, rf, pt.recall, pt.qps,
                                    pt.p50_ms, pt.p99_ms);
                    }
                }
                (void)t_sweep;
            }
        }
        c.exec("RESET enable_seqscan");
    }
    if (!o.json_path.empty()) {
        std::ofstream out(o.json_path);
        out << "[\n";
        for (std::size_t i = 0; i < points.size(); i++) {
            const Point& p = points[i];
            out << "  {\"storage\": \"" << p.storage << "\", \"probes\": " << p.probes << ", \"rerank\": " << p.rerank
                << ", \"recall\": " << p.recall << ", \"qps\": " << p.qps << ", \"p50_ms\": " << p.p50_ms
                << ", \"p99_ms\": " << p.p99_ms << "}" << (i + 1 < points.size() ? "," : "") << "\n";
        }
        out << "]\n";
    }
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "vectordb_pg_bench: %s\n", e.what());
    return 1;
}
