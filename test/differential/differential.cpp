// The differential harness: random histories of a table with a vtree index,
// every query checked against an exact scan of the same rows.
//
// A case is one table with one index, chosen from its seed: column type
// (vector or halfvec, or a vector indexed as halfvec or as its bits),
// metric (l2, ip, cosine; hamming for bits), dimensions (1 .. 16,000),
// quantizer, storage, tree shape, and when
// the index is created (on an empty table, on a few rows, on a full table).
// Then a random sequence of operations (INSERT, UPDATE that is HOT or not,
// DELETE, VACUUM, REINDEX, TRUNCATE, sidecar damage and repair), each followed
// by queries: plain k-NN with or without WHERE filters, LIMITs from 1 to
// 1,000, and k-NN inside a LATERAL join (one rescan per outer row), under the
// defaults, under exhaustive settings and under random probes, rerank factors
// and iterative modes. Writes go through one backend and queries through two
// others, so every backend's caches see other backends' changes.
//
// Every index result is compared with the same query run as an exact scan:
//   - rows in non-decreasing distance order (except iterative_scan =
//     relaxed_order, which may not be), no row twice, no more rows than exist;
//   - with every leaf probed, or under strict_order with no scan limit (any
//     probes), the same distances as the exact scan (ties may swap rows of
//     equal distance);
//   - at the defaults, unfiltered, recall (ties counted as hits) at or above
//     the case's floor.
// One TAP line per case; a failing case prints its seed and the command that
// replays it. Seeds are case numbers added to --seed, so a run is replayable.
#include "pg_client.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace vectordb {
namespace differential {
namespace {

using bench::Connection;

// Portable seeded randomness (std's distributions differ between libraries).
class Rng {
public:
    explicit Rng(uint64_t seed) : state_(seed * 0x9E3779B97F4A7C15ull + 1) {}
    uint64_t next() {
        uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
    double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
    double normal() {
        const double u = std::max(uniform(), 1e-300);
        return std::sqrt(-2.0 * std::log(u)) * std::cos(6.283185307179586 * uniform());
    }
    bool chance(double p) { return uniform() < p; }
    template <class T>
    const T& pick(const std::vector<T>& v) {
        return v[below(v.size())];
    }

private:
    uint64_t state_;
};

struct Metric {
    const char* name;
    const char* op;
    const char* opclass;
};
const std::vector<Metric> kMetrics = {
    {"l2", "<->", "vector_l2_ops"}, {"ip", "<#>", "vector_ip_ops"}, {"cosine", "<=>", "vector_cosine_ops"}};

// A failed check: the message names what differed.
struct CheckFailure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct Options {
    uint64_t seed = 1;
    int cases = 24;
    std::vector<std::size_t> dims = {1, 3, 8, 32, 128, 768, 2000, 16000};
    std::string dims_text = "1,3,8,32,128,768,2000,16000";
    double max_seconds = 0;  // stop starting cases after this long; 0 = no limit
    bool verbose = false;
};

// Rows of one case as a Gaussian mixture; `shift` moves to clusters never seen before.
class DataGenerator {
public:
    DataGenerator(Rng& rng, std::size_t dim) : rng_(rng), dim_(dim) { add_clusters(4 + rng.below(12)); }
    void add_clusters(std::size_t n) {
        for (std::size_t c = 0; c < n; c++) {
            std::vector<float> centre(dim_);
            for (float& x : centre) x = static_cast<float>(rng_.normal() * 2.0 + offset_);
            centres_.push_back(centre);
        }
        first_active_ = centres_.size() - n;
    }
    void shift() {
        offset_ += 3.0;
        add_clusters(3 + rng_.below(6));
    }
    std::vector<float> row() {
        const auto& c = centres_[first_active_ + rng_.below(centres_.size() - first_active_)];
        std::vector<float> v(dim_);
        bool zero = true;
        for (std::size_t j = 0; j < dim_; j++) {
            v[j] = static_cast<float>(c[j] + 0.5 * rng_.normal());
            zero = zero && v[j] == 0.0f;
        }
        if (zero) v[0] = 1.0f;  // cosine leaves zero vectors out of the index: not what is tested here
        return v;
    }

private:
    Rng& rng_;
    std::size_t dim_;
    std::vector<std::vector<float>> centres_;
    std::size_t first_active_ = 0;
    double offset_ = 0;
};

std::string vector_text(const std::vector<float>& v) {
    std::string out = "[";
    char buf[32];
    for (std::size_t j = 0; j < v.size(); j++) {
        std::snprintf(buf, sizeof buf, j ? ",%.9g" : "%.9g", static_cast<double>(v[j]));
        out += buf;
    }
    return out + "]";
}

struct Row {
    long id;
    double distance;
};

// Runs a query returning (id, distance) rows.
std::vector<Row> fetch_rows(Connection& c, const std::string& sql) {
    PGresult* r = PQexec(c.get(), sql.c_str());
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        std::string e = PQresultErrorMessage(r);
        PQclear(r);
        throw std::runtime_error("query failed: " + e + "\n  " + sql.substr(0, 300));
    }
    std::vector<Row> rows;
    for (int i = 0; i < PQntuples(r); i++)
        rows.push_back({std::atol(PQgetvalue(r, i, 0)), std::atof(PQgetvalue(r, i, 1))});
    PQclear(r);
    return rows;
}

// Distances from the server's float kernels and the index's may round apart.
bool close_enough(double a, double b) {
    return std::fabs(a - b) <= 2e-5 * (1.0 + std::max(std::fabs(a), std::fabs(b)));
}

// Scan settings of one query.
struct Settings {
    int probes = 8;
    int rerank = 5;
    std::string iterative = "off";
    bool exhaustive = false;
    bool unlimited = false;  // strict_order with no scan limit: exact whatever the probes
    bool defaults = true;
    bool exact() const { return exhaustive || unlimited; }
    std::string describe() const {
        if (defaults) return "defaults";
        return "probes " + std::to_string(probes) + ", rerank " + std::to_string(rerank) + ", " + iterative +
               (unlimited ? ", no scan limit" : "");
    }
    std::string sql() const {
        return "SET vtree.probes = " + std::to_string(probes) +
               "; SET vtree.rerank_factor = " + std::to_string(rerank) + "; SET vtree.iterative_scan = " + iterative +
               ";" + (unlimited ? " SET vtree.max_scan_tuples = 2147483647;" : "");
    }
};

class Case {
public:
    Case(uint64_t seed, const Options& options, Connection& writer, Connection& reader_a, Connection& reader_b)
        : seed_(seed), rng_(seed), options_(options), w_(writer), readers_{&reader_a, &reader_b} {}

    // Runs the case; throws CheckFailure on a wrong answer.
    void run();
    std::string description() const { return description_; }
    std::size_t queries() const { return queries_; }
    double mean_recall() const { return recall_count_ ? recall_sum_ / recall_count_ : 1.0; }
    double floor() const { return floor_; }
    std::size_t recall_queries() const { return recall_count_; }
    std::size_t leaves() const { return leaves_; }

private:
    void create_table();
    void insert_rows(std::size_t n);
    void operation();
    void queries_after(const std::string& op);
    void plain_query(Connection& c, const std::string& op);
    void join_query(Connection& c, const std::string& op);
    Settings random_settings();
    std::string random_filter();
    std::vector<float> query_vector() { return data_->row(); }
    // A new query as SQL of the key's type: a vector literal, or its bits.
    std::string query_literal() {
        const std::string text = "'" + vector_text(query_vector()) + "'";
        return bits_ ? "binary_quantize(" + text + "::vector)" : text;
    }
    void check_result(const std::vector<Row>& got, const std::vector<Row>& want, const Settings& s, std::size_t limit,
                      bool filtered, const std::string& what);
    void check_plan();
    void recall_probe();
    std::string sidecar_path();

    uint64_t seed_;
    Rng rng_;
    const Options& options_;
    Connection& w_;
    Connection* readers_[2];
    std::string table_, index_, description_;
    Metric metric_{};
    std::size_t dim_ = 0;
    std::size_t target_rows_ = 0;
    bool mmap_ = true;
    bool half_ = false;      // the index is over halves (a halfvec column, or a vector one cast)
    bool bits_ = false;      // the index is over binary_quantize(v)::bit(n), ordered by <~>
    std::string key_ = "v";  // what the index indexes and queries order by
    std::unique_ptr<DataGenerator> data_;
    long next_id_ = 1;
    std::size_t queries_ = 0;
    double recall_sum_ = 0;
    std::size_t recall_count_ = 0;
    double floor_ = 0;
    std::size_t leaves_ = 0;
};

std::size_t rows_for(std::size_t dim, Rng& rng) {
    // Enough rows for many leaves, few enough that 16,000 dimensions stay quick.
    const std::size_t base = dim <= 32 ? 3000 : dim <= 128 ? 2000 : dim <= 768 ? 800 : dim <= 2000 ? 300 : 90;
    return base / 2 + rng.below(base / 2 + 1);
}

void Case::create_table() {
    table_ = "diff_" + std::to_string(seed_);
    index_ = table_ + "_idx";
    metric_ = rng_.pick(kMetrics);
    dim_ = rng_.pick(options_.dims);
    target_rows_ = rows_for(dim_, rng_);
    data_ = std::make_unique<DataGenerator>(rng_, dim_);
    const bool hamming = rng_.chance(0.2);
    mmap_ = dim_ > 2036 || rng_.chance(0.8);
    const int leaf = static_cast<int>(std::max<std::size_t>(10, target_rows_ / (4 + rng_.below(40))));
    const int branching = 2 + static_cast<int>(rng_.below(15));
    const char* order = rng_.pick(std::vector<const char*>{"empty", "tiny", "full"});
    // A third of the cases index a halfvec column, chosen from the seed apart
    // from rng_ so that every other choice of a seed stays what it was.
    half_ = ((seed_ * 0x9E3779B97F4A7C15ull) >> 61) < 3;
    // Half of those keep a vector column and index it as halfvec through an
    // expression (pgvector's pattern for wide embeddings); queries order by it.
    const bool expression = half_ && (((seed_ * 0x9E3779B97F4A7C15ull) >> 58) & 1);
    const std::string type = half_ && !expression ? "halfvec" : "vector";
    std::string opclass = half_ ? std::string("halfvec_") + (metric_.opclass + 7) : metric_.opclass;
    key_ = expression ? "v::halfvec(" + std::to_string(dim_) + ")" : "v";
    // An eighth of the others index the vectors' bits (pgvector's binary
    // quantization), ordered by Hamming distance; also chosen apart from rng_.
    const uint64_t bits_hash = (seed_ * 0xD1B54A32D192ED03ull) >> 60;
    bits_ = !half_ && (bits_hash == 2 || bits_hash == 3);
    if (bits_) {
        metric_ = {"hamming", "<~>", "bit_hamming_ops"};
        opclass = metric_.opclass;
        key_ = "binary_quantize(v)::bit(" + std::to_string(dim_) + ")";
    }
    std::ostringstream d;
    d << "seed " << seed_ << ": "
      << (expression ? "vector indexed as halfvec"
          : bits_    ? "vector indexed as bits"
                     : type)
      << ", " << metric_.name << ", " << dim_ << " dims, " << target_rows_ << " rows, "
      << (hamming ? "hamming" : "rabitq") << ", " << (mmap_ ? "mmap" : "pages") << ", leaf " << leaf << ", branching "
      << branching << ", index on " << order << " table";
    description_ = d.str();

    w_.exec("SET client_min_messages = error; DROP TABLE IF EXISTS " + table_);
    // fillfactor leaves room on heap pages, so updates of other columns are HOT.
    w_.exec("CREATE TABLE " + table_ + " (id int8 PRIMARY KEY, cat int NOT NULL, note text, v " + type + "(" +
            std::to_string(dim_) + ")) WITH (fillfactor = 60)");
    const std::string create =
        "CREATE INDEX " + index_ + " ON " + table_ + " USING vtree ((" + key_ + ") " + opclass +
        ") WITH (max_leaf_size = " + std::to_string(leaf) + ", branching_factor = " + std::to_string(branching) +
        ", quantizer = " + (hamming ? "hamming" : "rabitq") + ", storage = " + (mmap_ ? "mmap" : "pages") + ")";
    const std::string o = order;
    if (o == "full") insert_rows(target_rows_);
    if (o == "tiny") insert_rows(1 + rng_.below(5));
    w_.exec(create);
    if (o != "full") insert_rows(target_rows_);
    w_.exec("ANALYZE " + table_);
}

void Case::insert_rows(std::size_t n) {
    // Batches small enough for a statement of a few MB at 16,000 dimensions.
    const std::size_t batch = std::max<std::size_t>(1, 400000 / (dim_ * 10 + 20));
    for (std::size_t done = 0; done < n;) {
        std::string sql = "INSERT INTO " + table_ + " (id, cat, note, v) VALUES ";
        const std::size_t take = std::min(batch, n - done);
        for (std::size_t i = 0; i < take; i++) {
            const long id = next_id_++;
            sql += (i ? ",(" : "(") + std::to_string(id) + "," + std::to_string(rng_.below(10)) + ",'n" +
                   std::to_string(id) + "','" + vector_text(data_->row()) + "')";
        }
        w_.exec(sql);
        done += take;
    }
}

std::string Case::sidecar_path() {
    return w_.value("SELECT coalesce(sidecar_path, '') FROM vectordb_index_stats('" + index_ + "')");
}

void Case::operation() {
    enum { Insert, UpdateHot, UpdateVector, Delete, Vacuum, Reindex, Truncate, Damage, Repair, Shift };
    static const std::vector<int> weights = {5, 3, 2, 2, 3, 1, 1, 1, 1, 1};
    int total = 0;
    for (int x : weights) total += x;
    int roll = static_cast<int>(rng_.below(static_cast<std::size_t>(total)));
    int op = 0;
    while (roll >= weights[static_cast<std::size_t>(op)]) roll -= weights[static_cast<std::size_t>(op++)];
    const std::string m = std::to_string(2 + rng_.below(6)), r = std::to_string(rng_.below(2));
    std::string name;
    switch (op) {
        case Insert:
            name = "insert";
            insert_rows(1 + rng_.below(target_rows_ / 3 + 1));
            break;
        case UpdateHot:
            // cat and note are not indexed: HOT updates where the page has room.
            name = "HOT update";
            w_.exec("UPDATE " + table_ + " SET cat = (cat + 1) % 10, note = note || 'u' WHERE id % " + m + " = " + r);
            break;
        case UpdateVector: {
            name = "vector update";
            const std::size_t n = 1 + rng_.below(20);
            for (std::size_t i = 0; i < n && next_id_ > 1; i++)
                w_.exec("UPDATE " + table_ + " SET v = '" + vector_text(data_->row()) + "' WHERE id = " +
                        std::to_string(1 + static_cast<long>(rng_.below(static_cast<std::size_t>(next_id_ - 1)))));
            break;
        }
        case Delete:
            name = "delete";
            w_.exec("DELETE FROM " + table_ + " WHERE id % " + m + " = " + r);
            break;
        case Vacuum:
            name = "vacuum";
            w_.exec("VACUUM " + table_);
            break;
        case Reindex:
            name = "reindex";
            w_.exec("REINDEX INDEX " + index_);
            break;
        case Truncate:
            name = "truncate and refill";
            w_.exec("TRUNCATE " + table_);
            insert_rows(1 + rng_.below(target_rows_));
            break;
        case Damage: {
            if (!mmap_) return;
            // Server-side COPY writes as the server's user: cut the file to
            // nothing or overwrite it with junk. The heap still has every vector.
            const std::string path = sidecar_path();
            if (path.empty()) return;
            const bool junk = rng_.chance(0.5);
            name = junk ? "sidecar overwritten" : "sidecar emptied";
            const std::string data =
                junk ? "SELECT repeat('x', " + std::to_string(1 + rng_.below(20000)) + ")" : "SELECT 1 WHERE false";
            w_.exec("COPY (" + data + ") TO '" + path + "'");
            break;
        }
        case Repair:
            if (!mmap_) return;
            name = "sidecar rebuilt";
            w_.value("SELECT vectordb_rebuild_sidecar('" + index_ + "')");
            break;
        case Shift:
            name = "shift to new clusters";
            data_->shift();
            insert_rows(1 + rng_.below(target_rows_ / 2 + 1));
            break;
    }
    if (rng_.chance(0.3)) w_.exec("ANALYZE " + table_);
    queries_after(name);
}

Settings Case::random_settings() {
    Settings s;
    const double roll = rng_.uniform();
    if (roll < 0.35) return s;  // the defaults
    s.defaults = false;
    if (roll < 0.65) {
        s.exhaustive = true;
        s.probes = 100000;
        s.rerank = rng_.pick(std::vector<int>{1, 2, 5, 50});
        s.iterative = rng_.pick(std::vector<std::string>{"off", "off", "relaxed_order", "strict_order"});
        return s;
    }
    s.probes = rng_.pick(std::vector<int>{1, 2, 4, 8, 16, 64});
    s.rerank = rng_.pick(std::vector<int>{1, 2, 5, 20});
    s.iterative = rng_.pick(std::vector<std::string>{"off", "relaxed_order", "strict_order"});
    s.unlimited = s.iterative == "strict_order" && rng_.chance(0.5);
    return s;
}

std::string Case::random_filter() {
    switch (rng_.below(5)) {
        case 0:
            return "cat = " + std::to_string(rng_.below(10));
        case 1:
            return "cat < " + std::to_string(1 + rng_.below(8));
        case 2:
            return "id % 7 = " + std::to_string(rng_.below(7));
        default:
            return "";
    }
}

void Case::check_result(const std::vector<Row>& got, const std::vector<Row>& want, const Settings& s, std::size_t limit,
                        bool filtered, const std::string& what) {
    auto fail = [&](const std::string& why) { throw CheckFailure(what + " (" + s.describe() + "): " + why); };
    if (got.size() > want.size())
        fail("index returned " + std::to_string(got.size()) + " rows, only " + std::to_string(want.size()) + " exist");
    std::set<long> ids;
    for (const Row& r : got)
        if (!ids.insert(r.id).second) fail("row " + std::to_string(r.id) + " returned twice");
    if (s.iterative != "relaxed_order")
        for (std::size_t i = 1; i < got.size(); i++)
            if (got[i].distance < got[i - 1].distance && !close_enough(got[i].distance, got[i - 1].distance)) {
                char buf[160];
                std::snprintf(buf, sizeof buf, "out of order at rank %zu: %.9g after %.9g", i, got[i].distance,
                              got[i - 1].distance);
                fail(buf);
            }
    if (s.exact()) {
        if (got.size() != want.size())
            fail(std::string(s.exhaustive ? "every leaf probed" : "strict order with no scan limit") + " gave " +
                 std::to_string(got.size()) + " rows, the exact scan " + std::to_string(want.size()));
        std::vector<double> a, b;
        for (const Row& r : got) a.push_back(r.distance);
        for (const Row& r : want) b.push_back(r.distance);
        std::sort(a.begin(), a.end());
        for (std::size_t i = 0; i < a.size(); i++)
            if (!close_enough(a[i], b[i])) {
                char buf[200];
                std::snprintf(buf, sizeof buf, "%s differs from the exact scan at rank %zu: %.9g vs %.9g",
                              s.exhaustive ? "every leaf probed" : "strict order with no scan limit", i, a[i], b[i]);
                fail(buf);
            }
    }
    if (s.defaults && !filtered && !want.empty() && limit <= 100) {
        const double kth = want.back().distance;
        std::size_t hits = 0;
        for (const Row& r : got) hits += r.distance <= kth || close_enough(r.distance, kth);
        recall_sum_ += static_cast<double>(std::min(hits, want.size())) / static_cast<double>(want.size());
        recall_count_++;
    }
}

void Case::plain_query(Connection& c, const std::string& op) {
    const Settings s = random_settings();
    const std::string filter = random_filter();
    const std::size_t limit = rng_.pick(std::vector<std::size_t>{1, 2, 5, 10, 10, 20, 50, 100, 200, 500, 1000});
    const std::string q = query_literal();
    const std::string sql = "SELECT id, " + key_ + " " + std::string(metric_.op) + " " + q + " FROM " + table_ +
                            (filter.empty() ? "" : " WHERE " + filter) + " ORDER BY " + key_ + " " + metric_.op + " " +
                            q + " LIMIT " + std::to_string(limit);
    c.exec("RESET ALL; SET enable_seqscan = off; SET client_min_messages = error; " + s.sql());
    const std::vector<Row> got = fetch_rows(c, sql);
    c.exec("RESET ALL; SET enable_indexscan = off; SET enable_bitmapscan = off;");
    const std::vector<Row> want = fetch_rows(c, sql);
    queries_++;
    check_result(got, want, s, limit, !filter.empty(),
                 "after " + op + ": LIMIT " + std::to_string(limit) + (filter.empty() ? "" : " WHERE " + filter));
}

void Case::join_query(Connection& c, const std::string& op) {
    // k-NN per outer row through LATERAL: one index rescan per query vector.
    const Settings s = random_settings();
    const std::size_t limit = rng_.pick(std::vector<std::size_t>{1, 3, 10, 30});
    const std::size_t nq = 3;
    std::string values;
    std::vector<std::string> qs;
    for (std::size_t i = 0; i < nq; i++) {
        qs.push_back("'" + vector_text(query_vector()) + "'::vector");
        values += (i ? ",(" : "(") + std::to_string(i) + "," + qs.back() + ")";
    }
    const std::string qv = bits_ ? "binary_quantize(q.qv)" : "q.qv";
    const std::string sql = "SELECT q.qid * 1000000000 + x.rn, x.d FROM (VALUES " + values +
                            ") q(qid, qv) CROSS JOIN LATERAL (SELECT row_number() OVER () AS rn, d FROM (SELECT " +
                            key_ + " " + metric_.op + " " + qv + " AS d FROM " + table_ + " ORDER BY " + key_ + " " +
                            metric_.op + " " + qv + " LIMIT " + std::to_string(limit) + ") s) x ORDER BY 1";
    c.exec("RESET ALL; SET enable_seqscan = off; SET client_min_messages = error; " + s.sql());
    const std::vector<Row> rows = fetch_rows(c, sql);
    c.exec("RESET ALL; SET enable_indexscan = off; SET enable_bitmapscan = off;");
    for (std::size_t i = 0; i < nq; i++) {
        std::vector<Row> got;
        for (const Row& r : rows)
            if (r.id / 1000000000 == static_cast<long>(i)) got.push_back({r.id, r.distance});
        // ids here are positions; give them distinct values for the duplicate check
        for (std::size_t j = 0; j < got.size(); j++) got[j].id = static_cast<long>(j);
        const std::string qi = bits_ ? "binary_quantize(" + qs[i] + ")" : qs[i];
        const std::vector<Row> want =
            fetch_rows(c, "SELECT id, " + key_ + " " + std::string(metric_.op) + " " + qi + " FROM " + table_ +
                              " ORDER BY " + key_ + " " + metric_.op + " " + qi + " LIMIT " + std::to_string(limit));
        queries_++;
        check_result(got, want, s, limit, false, "after " + op + ": LATERAL join, LIMIT " + std::to_string(limit));
    }
}

void Case::queries_after(const std::string& op) {
    const std::size_t n = dim_ >= 2000 ? 2 : 4;
    for (std::size_t i = 0; i < n; i++) plain_query(*readers_[rng_.below(2)], op);
    if (rng_.chance(0.3)) join_query(*readers_[rng_.below(2)], op);
}

// Recall@10 at the defaults over queries from the data's own clusters.
void Case::recall_probe() {
    const std::size_t n = dim_ >= 2000 ? 5 : 20;
    Connection& c = *readers_[rng_.below(2)];
    for (std::size_t i = 0; i < n; i++) {
        const std::string q = query_literal();
        const std::string sql = "SELECT id, " + key_ + " " + std::string(metric_.op) + " " + q + " FROM " + table_ +
                                " ORDER BY " + key_ + " " + metric_.op + " " + q + " LIMIT 10";
        c.exec("RESET ALL; SET enable_seqscan = off; SET client_min_messages = error;");
        const std::vector<Row> got = fetch_rows(c, sql);
        c.exec("RESET ALL; SET enable_indexscan = off; SET enable_bitmapscan = off;");
        const std::vector<Row> want = fetch_rows(c, sql);
        queries_++;
        check_result(got, want, Settings{}, 10, false, "recall probe");
    }
}

void Case::check_plan() {
    Connection& c = *readers_[0];
    c.exec("RESET ALL; SET enable_seqscan = off;");
    const std::string q = query_literal();
    PGresult* r = PQexec(c.get(), ("EXPLAIN (COSTS OFF) SELECT id FROM " + table_ + " ORDER BY " + key_ + " " +
                                   metric_.op + " " + q + " LIMIT 5")
                                      .c_str());
    std::string plan;
    for (int i = 0; PQresultStatus(r) == PGRES_TUPLES_OK && i < PQntuples(r); i++) plan += PQgetvalue(r, i, 0);
    PQclear(r);
    if (plan.find("Index Scan using " + index_) == std::string::npos)
        throw CheckFailure("the planner does not use the index: " + plan);
}

void Case::run() {
    create_table();
    check_plan();
    queries_after("build");
    const std::size_t ops = 4 + rng_.below(6);
    for (std::size_t i = 0; i < ops; i++) operation();
    // The floor applies to the tree as the history left it: measure it afresh.
    recall_sum_ = 0;
    recall_count_ = 0;
    recall_probe();
    // The floor at the defaults (vtree.target_recall 0.95): clustered data,
    // queries from the same clusters. A tree of at most 8 leaves is probed
    // whole: exact, ties aside. A larger one is probed in part, as far as its
    // calibration (which the history may have left behind) says; inner product ranks leaves by
    // centroid direction, which misses large-norm rows in nearby directions
    // (MIPS is hard for any partitioned index), so its floor is lower.
    leaves_ = std::stoul(w_.value("SELECT leaves FROM vectordb_index_stats('" + index_ + "')"));
    floor_ = leaves_ <= 8 ? 1.0 : std::string(metric_.name) == "ip" ? 0.15 : 0.45;
    if (recall_count_ > 0 && mean_recall() < floor_ - 1e-9) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "recall at the defaults %.3f over %zu queries, below the floor %.2f",
                      mean_recall(), recall_count_, floor_);
        throw CheckFailure(buf);
    }
    w_.exec("DROP TABLE " + table_);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; i++) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw std::runtime_error("missing value after " + a);
            return argv[++i];
        };
        if (a == "--seed")
            o.seed = std::stoull(value());
        else if (a == "--cases")
            o.cases = std::stoi(value());
        else if (a == "--max-seconds")
            o.max_seconds = std::stod(value());
        else if (a == "--verbose")
            o.verbose = true;
        else if (a == "--dims") {
            o.dims.clear();
            o.dims_text = value();
            std::stringstream ss(o.dims_text);
            std::string item;
            while (std::getline(ss, item, ',')) o.dims.push_back(std::stoul(item));
        } else {
            throw std::runtime_error("unknown option " + a +
                                     " (use --seed N --cases N --dims 1,3,... --max-seconds S --verbose)");
        }
    }
    return o;
}

int main_impl(int argc, char** argv) {
    const Options o = parse(argc, argv);
    Connection writer, reader_a, reader_b;
    writer.exec("SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS vectordb");
    const auto started = std::chrono::steady_clock::now();
    int run = 0, failed = 0;
    std::size_t queries = 0;
    for (int i = 0; i < o.cases; i++) {
        if (o.max_seconds > 0 && bench::seconds_since(started) > o.max_seconds) break;
        const uint64_t seed = o.seed + static_cast<uint64_t>(i);
        Case c(seed, o, writer, reader_a, reader_b);
        run++;
        try {
            c.run();
            queries += c.queries();
            std::printf(
                "ok %d - %s; %zu queries, %zu leaves at the end, recall at the defaults %.3f over %zu (floor %.2f)\n",
                run, c.description().c_str(), c.queries(), c.leaves(), c.mean_recall(), c.recall_queries(), c.floor());
        } catch (const std::exception& e) {
            failed++;
            // Statements carry vectors of thousands of numbers: keep the start and the server's message.
            std::string what = e.what();
            if (what.size() > 600) what = what.substr(0, 200) + " ... " + what.substr(what.size() - 300);
            queries += c.queries();
            std::printf("not ok %d - %s\n#   %s\n#   replay: vectordb_differential --seed %llu --cases 1 --dims %s\n",
                        run, c.description().c_str(), what.c_str(), static_cast<unsigned long long>(seed),
                        o.dims_text.c_str());
        }
        std::fflush(stdout);
    }
    std::printf("1..%d\n", run);
    std::printf(
        "# differential summary: %d cases (seeds %llu..%llu), %zu queries checked against exact scans, %d failed, %.0f "
        "s\n",
        run, static_cast<unsigned long long>(o.seed), static_cast<unsigned long long>(o.seed + run - 1), queries,
        failed, bench::seconds_since(started));
    return failed == 0 ? 0 : 1;
}

}  // namespace
}  // namespace differential
}  // namespace vectordb

int main(int argc, char** argv) {
    try {
        return vectordb::differential::main_impl(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "vectordb_differential: %s\n", e.what());
        return 2;
    }
}
