// vectordb_pg_bench (`make bench`): recall, speed and memory of the vtree
// index inside PostgreSQL, over libpq.
//
// It generates synth-768 (or reads .fvecs base/query files, with .ivecs ground
// truth or exact ground truth computed here), loads the table with COPY
// (FORMAT binary), builds the index for each storage mode (timed: the median
// of --builds builds, default 3), records vectordb_index_stats, and sweeps
// vtree.probes x vtree.rerank_factor: a warm-up pass over every query, then
// three timed passes (QPS: their median), on one connection with a
// prepared statement and the query vector in binary. With --clients N it also
// runs N connections at once at the default settings and reports aggregate
// QPS. With --grown, each storage mode is first measured on an index created
// on the empty table and grown by the COPY (its "build" time is the load's),
// then built afresh over the same rows as usual: what migrations and ORMs do,
// against a REINDEX. With --compare pgvector, when pgvector is available in the same server,
// the same sweep runs on pgvector's HNSW and IVFFlat in a separate database
// (the two extensions' `vector` types cannot share one).
//
// Results: bench/results/<name>.json and .md, and a recall-vs-QPS plot
// (<name>.png, gnuplot) when gnuplot is installed.
//
// Connection: the PG* environment variables.
//   vectordb_pg_bench [--rows N] [--dim N] [--queries N] [--probes 2,4,8|none] [--rerank 2,5]
//                     [--targets 0.9,0.95,0.99]   (then vtree.target_recall at each, probes from the calibration)
//                     [--storage mmap,pages] [--clients N] [--compare pgvector] [--skip-load] [--repeat N] [--builds N]
//                     [--pgvector-methods hnsw,ivfflat]   (which of pgvector's indexes --compare measures)
//                     [--skip-build]   (query the vtree index the table has, built by an earlier run)
//                     [--grown] [--load-only]   (load the table, write --save's files, and stop)
//                     [--base b.fvecs --query q.fvecs [--truth t.ivecs]] [--out bench/results] [--name NAME]
//                     (with --base, --rows N reads its first N rows and computes their ground truth)
//                     [--save DIR]   (writes the queries and their ground truth there: query.fvecs, groundtruth.ivecs)
//                     [--column-storage main|external|extended]   (ALTER COLUMN embedding SET STORAGE, for
//                     vectordb's and pgvector's tables alike; default: the type's, external)
#include "core/dataset.h"

#include "pg_client.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

using namespace vectordb;
using namespace vectordb::bench;

namespace {

struct Options {
    SynthParams synth;
    std::string base_path, query_path, truth_path;
    std::vector<int> probes{1, 2, 4, 8, 16, 32};
    std::vector<std::string> targets;  // vtree.target_recall values, measured after the probes sweep
    std::vector<int> rerank{2, 5, 10};
    std::vector<std::string> storage{"mmap", "pages"};
    std::string table = "bench_items";
    std::string out_dir = "bench/results";
    std::string save_dir;
    std::string name = "synth-768";
    std::string compare;
    std::vector<std::string> pgvector_methods{"hnsw", "ivfflat"};
    std::string column_storage;  // empty: the type's default
    bool skip_load = false;
    bool skip_build = false;
    bool load_only = false;
    bool rows_given = false;  // --rows also caps the rows read from --base
    bool grown = false;
    int clients = 0;
    int repeat = 3;  // timed passes per point; QPS is their median
    int builds = 3;  // timed vtree builds per storage mode; the median one is reported
    std::size_t k = 10;
};

[[noreturn]] void usage(const std::string& why) {
    std::fprintf(stderr, "vectordb_pg_bench: %s (options: see the top of bench/pg_bench.cpp)\n", why.c_str());
    std::exit(2);
}

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream in(s);
    std::string item;
    while (std::getline(in, item, ',')) out.push_back(item);
    return out;
}

std::vector<int> split_ints(const std::string& s) {
    std::vector<int> out;
    if (s == "none") return out;  // e.g. --probes none --targets 0.95: the targets alone
    for (const std::string& item : split(s)) out.push_back(std::stoi(item));
    return out;
}

Options parse(int argc, char** argv) {
    Options o;
    o.synth.threads = 2;
    for (int i = 1; i < argc; i++) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage("missing value for " + a);
            return argv[++i];
        };
        if (a == "--rows") {
            o.synth.base_rows = std::stoul(value());
            o.rows_given = true;
        } else if (a == "--dim")
            o.synth.dim = std::stoul(value());
        else if (a == "--queries")
            o.synth.query_rows = std::stoul(value());
        else if (a == "--probes")
            o.probes = split_ints(value());
        else if (a == "--targets")
            o.targets = split(value());
        else if (a == "--rerank")
            o.rerank = split_ints(value());
        else if (a == "--storage")
            o.storage = split(value());
        else if (a == "--clients")
            o.clients = std::stoi(value());
        else if (a == "--repeat")
            o.repeat = std::max(1, std::stoi(value()));
        else if (a == "--builds")
            o.builds = std::max(1, std::stoi(value()));
        else if (a == "--compare")
            o.compare = value();
        else if (a == "--pgvector-methods")
            o.pgvector_methods = split(value());
        else if (a == "--column-storage")
            o.column_storage = value();
        else if (a == "--table")
            o.table = value();
        else if (a == "--skip-load")
            o.skip_load = true;
        else if (a == "--skip-build")
            o.skip_build = true;
        else if (a == "--load-only")
            o.load_only = true;
        else if (a == "--grown")
            o.grown = true;
        else if (a == "--base")
            o.base_path = value();
        else if (a == "--query")
            o.query_path = value();
        else if (a == "--truth")
            o.truth_path = value();
        else if (a == "--out")
            o.out_dir = value();
        else if (a == "--save")
            o.save_dir = value();
        else if (a == "--name")
            o.name = value();
        else
            usage("unknown option " + a);
    }
    if (!o.compare.empty() && o.compare != "pgvector") usage("--compare takes pgvector");
    if (!o.column_storage.empty() && o.column_storage != "main" && o.column_storage != "external" &&
        o.column_storage != "extended")
        usage("--column-storage takes main, external or extended");
    return o;
}

// One measured configuration.
struct Point {
    std::string method;  // vtree-mmap, vtree-pages, pgvector-hnsw, pgvector-ivfflat
    std::string knob;    // e.g. "probes=8 rerank=5" or "ef_search=40"
    double recall = 0, qps = 0, p50_ms = 0, p99_ms = 0;
};

struct IndexRecord {
    std::string method;
    double build_s = 0;
    double relation_mb = 0, sidecar_mb = 0, ram_mb = 0;
    std::string phases;         // the build's phase timings
    int leaves = 0, depth = 0;  // vtree's tree (0 for pgvector's indexes)
};

struct Results {
    std::vector<Point> points;
    std::vector<IndexRecord> indexes;
    std::vector<std::string> notes;
};

// A warm-up pass, then `repeat` timed passes: QPS is the median pass's, the
// latency percentiles are over every timed query, recall is from the last pass.
Point measure(Connection& c, const std::vector<std::string>& params, const std::vector<int32_t>& truth, std::size_t k,
              int repeat, const std::string& method, const std::string& knob) {
    run_pass(c, "knn", params, k, method + " " + knob + " (warm-up)");
    std::vector<double> qps, latencies;
    PassResult last;
    for (int i = 0; i < repeat; i++) {
        last = run_pass(c, "knn", params, k, method + " " + knob);
        qps.push_back(static_cast<double>(params.size()) / last.seconds);
        latencies.insert(latencies.end(), last.latency_ms.begin(), last.latency_ms.end());
    }
    Point p{method,
            knob,
            recall_at_k(last.ids.data(), truth.data(), params.size(), k, k, k),
            median(qps),
            percentile(latencies, 0.5),
            percentile(latencies, 0.99)};
    std::printf("%-18s %-22s %9.4f %9.0f %8.3f %8.3f\n", method.c_str(), knob.c_str(), p.recall, p.qps, p.p50_ms,
                p.p99_ms);
    std::fflush(stdout);
    return p;
}

// N connections, each running every query once (after a warm-up) at the current defaults.
double concurrent_qps(const std::string& conninfo, const std::vector<std::string>& session_sql,
                      const std::vector<std::string>& params, const std::string& prepare_table, std::size_t k,
                      int clients) {
    std::vector<std::thread> threads;
    std::vector<double> seconds(static_cast<std::size_t>(clients), 0);
    std::vector<std::string> errors(static_cast<std::size_t>(clients));
    for (int t = 0; t < clients; t++) {
        threads.emplace_back([&, t] {
            try {
                Connection c(conninfo);
                for (const std::string& s : session_sql) c.exec(s);
                prepare_knn(c, "knn", prepare_table, "<->", k);
                run_pass(c, "knn", params, k, "");
                seconds[static_cast<std::size_t>(t)] = run_pass(c, "knn", params, k, "").seconds;
            } catch (const std::exception& e) {
                errors[static_cast<std::size_t>(t)] = e.what();
            }
        });
    }
    for (auto& th : threads) th.join();
    for (const std::string& e : errors)
        if (!e.empty()) throw std::runtime_error("client: " + e);
    double slowest = 0;
    for (double s : seconds) slowest = std::max(slowest, s);
    return static_cast<double>(params.size()) * clients / slowest;
}

void write_results(const Options& o, const Results& res, const std::string& machine) {
    std::system(("mkdir -p '" + o.out_dir + "'").c_str());
    const std::string base = o.out_dir + "/" + o.name;
    {
        std::ofstream json(base + ".json");
        json << "{\n  \"dataset\": \"" << o.name << "\",\n  \"machine\": \"" << machine << "\",\n  \"indexes\": [\n";
        for (std::size_t i = 0; i < res.indexes.size(); i++) {
            const IndexRecord& r = res.indexes[i];
            json << "    {\"method\": \"" << r.method << "\", \"build_s\": " << r.build_s
                 << ", \"relation_mb\": " << r.relation_mb << ", \"sidecar_mb\": " << r.sidecar_mb
                 << ", \"ram_mb\": " << r.ram_mb << ", \"leaves\": " << r.leaves << ", \"depth\": " << r.depth
                 << ", \"phases\": \"" << r.phases << "\"}" << (i + 1 < res.indexes.size() ? "," : "") << "\n";
        }
        json << "  ],\n  \"points\": [\n";
        for (std::size_t i = 0; i < res.points.size(); i++) {
            const Point& p = res.points[i];
            json << "    {\"method\": \"" << p.method << "\", \"knob\": \"" << p.knob << "\", \"recall\": " << p.recall
                 << ", \"qps\": " << p.qps << ", \"p50_ms\": " << p.p50_ms << ", \"p99_ms\": " << p.p99_ms << "}"
                 << (i + 1 < res.points.size() ? "," : "") << "\n";
        }
        json << "  ],\n  \"notes\": [";
        for (std::size_t i = 0; i < res.notes.size(); i++) json << (i ? ", " : "") << "\"" << res.notes[i] << "\"";
        json << "]\n}\n";
    }
    {
        std::ofstream md(base + ".md");
        md << "# " << o.name << "\n\nMachine: " << machine << "\n\n";
        md << "| index | build s | relation MB | sidecar MB | RAM needed MB | build phases |\n"
           << "|---|---:|---:|---:|---:|---|\n";
        for (const IndexRecord& r : res.indexes) {
            char line[512];
            std::snprintf(line, sizeof(line), "| %s | %.2f | %.1f | %.1f | %.1f | %s |\n", r.method.c_str(), r.build_s,
                          r.relation_mb, r.sidecar_mb, r.ram_mb, r.phases.c_str());
            md << line;
        }
        md << "\n| index | settings | recall@10 | QPS | p50 ms | p99 ms |\n|---|---|---:|---:|---:|---:|\n";
        for (const Point& p : res.points) {
            char line[256];
            std::snprintf(line, sizeof(line), "| %s | %s | %.4f | %.0f | %.3f | %.3f |\n", p.method.c_str(),
                          p.knob.c_str(), p.recall, p.qps, p.p50_ms, p.p99_ms);
            md << line;
        }
        for (const std::string& n : res.notes) md << "\n" << n << "\n";
    }
    // The plot: one line per method, recall@10 against QPS.
    std::vector<std::string> methods;
    for (const Point& p : res.points)
        if (std::find(methods.begin(), methods.end(), p.method) == methods.end()) methods.push_back(p.method);
    for (const std::string& m : methods) {
        std::ofstream dat(base + "." + m + ".dat");
        std::vector<Point> ps;
        for (const Point& p : res.points)
            if (p.method == m) ps.push_back(p);
        // The Pareto frontier: settings that no other setting beats on both recall and QPS.
        std::sort(ps.begin(), ps.end(), [](const Point& a, const Point& b) {
            return a.recall > b.recall || (a.recall == b.recall && a.qps > b.qps);
        });
        std::vector<Point> frontier;
        for (const Point& p : ps)
            if (frontier.empty() || p.qps > frontier.back().qps) frontier.push_back(p);
        for (auto it = frontier.rbegin(); it != frontier.rend(); ++it) dat << it->recall << " " << it->qps << "\n";
    }
    if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
        std::printf("gnuplot not found: no plot (apt-get install gnuplot-nox)\n");
        return;
    }
    std::ofstream gp(base + ".gp");
    gp << "set terminal pngcairo size 900,600 noenhanced\nset output '" << base << ".png'\n"
       << "set title '" << o.name << ": recall@10 against queries per second (one client; best settings per recall)'\n"
       << "set xlabel 'recall@10'\nset ylabel 'QPS'\nset logscale y\nset grid\nset key bottom left\n"
       << "set label 1 '" << machine << "' at graph 0.02, graph 0.97 font ',9'\nplot ";
    for (std::size_t i = 0; i < methods.size(); i++)
        gp << (i ? ", " : "") << "'" << base << "." << methods[i] << ".dat' using 1:2 with linespoints lw 2 title '"
           << methods[i] << "'";
    gp << "\n";
    gp.close();
    if (std::system(("gnuplot '" + base + ".gp'").c_str()) == 0) std::printf("plot: %s.png\n", base.c_str());
}

// The statement --column-storage runs between CREATE TABLE and COPY (empty: none).
std::string column_storage_statement(const Options& o) {
    if (o.column_storage.empty()) return "";
    return "ALTER TABLE " + o.table + " ALTER COLUMN embedding SET STORAGE " + o.column_storage;
}

// Statements separated by "; " run as one simple query.
std::string then(const std::string& first, const std::string& second) {
    if (first.empty()) return second;
    if (second.empty()) return first;
    return first + "; " + second;
}

std::string machine_description() {
    std::string cpu = "unknown CPU";
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("model name", 0) == 0) {
            cpu = line.substr(line.find(':') + 2);
            break;
        }
    return std::to_string(std::thread::hardware_concurrency()) + " vCPU, " + cpu;
}

}  // namespace

int main(int argc, char** argv) try {
    const Options o = parse(argc, argv);
    Dataset d;
    std::vector<int32_t> truth;
    if (!o.base_path.empty()) {
        if (o.query_path.empty()) usage("--base needs --query");
        std::size_t qdim = 0;
        d.base = read_fvecs(o.base_path, &d.dim, o.rows_given ? o.synth.base_rows : 0);
        d.queries = read_fvecs(o.query_path, &qdim);
        if (qdim != d.dim) usage("base and query dimensions differ");
        if (!o.truth_path.empty()) {
            std::size_t tk = 0;
            const std::vector<int32_t> t = read_ivecs(o.truth_path, &tk);
            if (tk < o.k) usage("ground truth has fewer than 10 neighbours per query");
            if (o.rows_given) usage("--truth is for the whole --base file: leave it out with --rows (it is computed)");
            for (std::size_t q = 0; q < d.query_rows(); q++)
                truth.insert(truth.end(), t.begin() + q * tk, t.begin() + q * tk + o.k);
        }
    } else {
        std::printf("generating %s: %zu x %zu, %zu queries\n", o.name.c_str(), o.synth.base_rows, o.synth.dim,
                    o.synth.query_rows);
        d = generate_synth(o.synth);
    }
    if (truth.empty()) {
        const auto t0 = std::chrono::steady_clock::now();
        truth = exact_knn(d.base_view(), d.query_view(), o.k, Metric::L2, 2);
        std::printf("exact ground truth in %.1f s\n", seconds_since(t0));
    }
    if (!o.save_dir.empty()) {
        write_fvecs(o.save_dir + "/query.fvecs", d.queries.data(), d.query_rows(), d.dim);
        write_ivecs(o.save_dir + "/groundtruth.ivecs", truth.data(), d.query_rows(), o.k);
    }
    std::vector<std::string> params;
    for (std::size_t q = 0; q < d.query_rows(); q++)
        params.push_back(vector_binary(d.queries.data() + q * d.dim, d.dim));

    Results res;
    const std::string machine = machine_description();
    Connection c;
    c.exec("SET client_min_messages = warning");
    c.exec("CREATE EXTENSION IF NOT EXISTS vectordb");
    if (!o.skip_load) load_table(c, o.table, d.base.data(), d.base_rows(), d.dim, column_storage_statement(o));
    if (!o.column_storage.empty())
        res.notes.push_back("embedding column: SET STORAGE " + o.column_storage + " (both extensions' tables)");
    if (o.load_only) return 0;
    c.exec("SET maintenance_work_mem = '2GB'");
    std::printf("%-18s %-22s %9s %9s %8s %8s\n", "index", "settings", "recall@10", "QPS", "p50 ms", "p99 ms");

    const std::string index = o.table + "_vtree";
    for (const std::string& storage : o.storage)
        for (const bool grown : o.grown ? std::vector<bool>{true, false} : std::vector<bool>{false}) {
            const std::string method = "vtree-" + storage + (grown ? "-grown" : "");
            // Builds take seconds and this machine kind is noisy: time several and
            // report the median one (with its phases); the last one is queried.
            std::vector<std::pair<double, std::string>> builds;
            if (grown) {
                const auto t0 = std::chrono::steady_clock::now();
                load_table(
                    c, o.table, d.base.data(), d.base_rows(), d.dim,
                    then(column_storage_statement(o), "CREATE INDEX " + index + " ON " + o.table +
                                                          " USING vtree (embedding) WITH (storage = " + storage + ")"));
                builds.emplace_back(seconds_since(t0), "created on the empty table, grown by COPY");
            }
            if (o.skip_build && !grown) builds.emplace_back(0.0, "not built: an earlier run's index");
            for (int b = 0; b < (grown || o.skip_build ? 0 : o.builds); b++) {
                c.exec("DROP INDEX IF EXISTS " + index);
                c.exec("CHECKPOINT");
                std::string build_phases;
                const std::string label =
                    "building " + method +
                    (o.builds > 1 ? " (" + std::to_string(b + 1) + "/" + std::to_string(o.builds) + ")" : "");
                const double seconds =
                    create_index_with_progress(c,
                                               "CREATE INDEX " + index + " ON " + o.table +
                                                   " USING vtree (embedding) WITH (storage = " + storage + ")",
                                               label, &build_phases);
                builds.emplace_back(seconds, build_phases);
            }
            std::vector<std::pair<double, std::string>> sorted = builds;
            std::sort(sorted.begin(), sorted.end());
            const double build_s = sorted[sorted.size() / 2].first;
            std::string phases = sorted[sorted.size() / 2].second;
            if (builds.size() > 1) {
                phases += "; median of " + std::to_string(o.builds) + " builds:";
                char each[32];
                for (const auto& b : builds) std::snprintf(each, sizeof(each), " %.2f", b.first), phases += each;
                phases += " s";
            }
            const std::string stats = "FROM vectordb_index_stats('" + index + "')";
            IndexRecord rec{method,
                            build_s,
                            std::stod(c.value("SELECT relation_bytes / 1048576.0 " + stats)),
                            std::stod(c.value("SELECT sidecar_bytes / 1048576.0 " + stats)),
                            std::stod(c.value("SELECT memory_usage_bytes / 1048576.0 " + stats)),
                            phases,
                            std::stoi(c.value("SELECT leaves " + stats)),
                            std::stoi(c.value("SELECT depth " + stats))};
            res.indexes.push_back(rec);
            std::printf(
                "%s: build %.2f s (%s), relation %.1f MB, sidecar %.1f MB, RAM needed %.1f MB, %d leaves, depth %d\n",
                method.c_str(), build_s, phases.c_str(), rec.relation_mb, rec.sidecar_mb, rec.ram_mb, rec.leaves,
                rec.depth);
            c.exec("SELECT vectordb_prewarm('" + index + "')");
            c.exec("SET enable_seqscan = off");
            prepare_knn(c, "knn", o.table, "<->", o.k);
            for (int p : o.probes)
                for (int rf : o.rerank) {
                    c.exec("SET vtree.probes = " + std::to_string(p));
                    c.exec("SET vtree.rerank_factor = " + std::to_string(rf));
                    res.points.push_back(measure(c, params, truth, o.k, o.repeat, method,
                                                 "probes=" + std::to_string(p) + " rerank=" + std::to_string(rf)));
                }
            c.exec("RESET vtree.probes");
            // vtree.probes 0: each target's probes from the index's calibration.
            for (const std::string& target : o.targets) {
                c.exec("SET vtree.target_recall = " + target);
                c.exec("SET vtree.rerank_factor = " + std::to_string(o.rerank.front()));
                res.points.push_back(measure(c, params, truth, o.k, o.repeat, method, "target_recall=" + target));
            }
            c.exec("RESET vtree.target_recall");
            c.exec("RESET vtree.rerank_factor");
            if (o.clients > 0) {
                const double qps = concurrent_qps("", {"SET enable_seqscan = off"}, params, o.table, o.k, o.clients);
                char note[256];
                std::snprintf(note, sizeof(note), "%s with %d clients at the default settings: %.0f queries/s in all",
                              method.c_str(), o.clients, qps);
                std::printf("%s\n", note);
                res.notes.push_back(note);
            }
            c.exec("RESET enable_seqscan");
        }

    if (o.compare == "pgvector") {
        const std::string available = c.value("SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'");
        if (available == "0") {
            const std::string note = "pgvector is not installed in this server: no comparison";
            std::printf("%s\n", note.c_str());
            res.notes.push_back(note);
        } else {
            c.exec("DROP DATABASE IF EXISTS vectordb_bench_pgvector");
            c.exec("CREATE DATABASE vectordb_bench_pgvector");
            Connection pv("dbname=vectordb_bench_pgvector");
            pv.exec("SET client_min_messages = warning");
            pv.exec("CREATE EXTENSION vector");
            load_table(pv, o.table, d.base.data(), d.base_rows(), d.dim, column_storage_statement(o));
            pv.exec("SET maintenance_work_mem = '2GB'");
            struct Spec {
                std::string method, create, knob_name;
                std::vector<int> knobs;
            };
            const std::vector<Spec> specs = {
                {"pgvector-hnsw",
                 "USING hnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64)",
                 "hnsw.ef_search",
                 {40, 80, 160, 320}},
                {"pgvector-ivfflat",
                 "USING ivfflat (embedding vector_l2_ops) WITH (lists = 316)",
                 "ivfflat.probes",
                 {1, 2, 4, 8}},
            };
            for (const Spec& s : specs) {
                if (std::find(o.pgvector_methods.begin(), o.pgvector_methods.end(),
                              s.method.substr(std::string("pgvector-").size())) == o.pgvector_methods.end())
                    continue;
                pv.exec("DROP INDEX IF EXISTS pv_idx");
                pv.exec("CHECKPOINT");
                const double build_s = create_index_with_progress(
                    pv, "CREATE INDEX pv_idx ON " + o.table + " " + s.create, "building " + s.method);
                res.indexes.push_back({s.method, build_s,
                                       std::stod(pv.value("SELECT pg_relation_size('pv_idx') / 1048576.0")), 0, 0, ""});
                res.indexes.back().ram_mb = res.indexes.back().relation_mb;
                pv.exec("SET enable_seqscan = off");
                prepare_knn(pv, "knn", o.table, "<->", o.k);
                for (int knob : s.knobs) {
                    pv.exec("SET " + s.knob_name + " = " + std::to_string(knob));
                    res.points.push_back(
                        measure(pv, params, truth, o.k, o.repeat, s.method, s.knob_name + "=" + std::to_string(knob)));
                }
            }
            pv.exec("DROP TABLE " + o.table);
        }
    }
    write_results(o, res, machine);
    std::printf("results: %s/%s.json and .md\n", o.out_dir.c_str(), o.name.c_str());
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "vectordb_pg_bench: %s\n", e.what());
    return 1;
}
