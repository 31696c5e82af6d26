// vectordb_demo (`make demo`): shows what storage = mmap buys against
// storage = pages on the user's own machine.
//
//  1. generates synth-768 (or reads DEMO_FVECS) into a table, in the database,
//     and computes exact ground truth for the queries;
//  2. builds the index with storage = pages and measures latency and recall@10;
//  3. builds it with storage = mmap, drops the sidecar from the page cache
//     (vectordb_evict) and measures cold, warm (second pass) and hot (one
//     query repeated) latency;
//  4. prints memory for each mode and the mmap/pages latency ratios.
// Queries of each mode run on a fresh connection, so the backend's peak RSS
// counts only what querying touched (shared buffers, mapped sidecar pages).
//
// Environment: DEMO_ROWS (100000), DEMO_DIMS (768), DEMO_QUERIES (1000),
// DEMO_FVECS (an .fvecs file of your own: its last DEMO_QUERIES rows become
// the queries), and the PG* connection variables.
#include "core/dataset.h"

#include "pg_client.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

using namespace vectordb;
using namespace vectordb::bench;

namespace {

std::size_t env_size(const char* name, std::size_t fallback) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? std::stoul(v) : fallback;
}

// Resident memory of a local server process from /proc, in MB (-1 if unknown):
// the peak, and now: private, shared memory (shared buffers) and file-backed
// (mapped files: the sidecar pages a query touched, which the kernel may drop).
struct Rss {
    double peak = -1, anon = -1, shmem = -1, file = -1;
};

Rss rss_of(int pid) {
    Rss r;
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);) {
        const auto kb = [&](std::size_t skip) { return std::stod(line.substr(skip)) / 1024.0; };
        if (line.rfind("VmHWM:", 0) == 0) r.peak = kb(6);
        if (line.rfind("RssAnon:", 0) == 0) r.anon = kb(8);
        if (line.rfind("RssShmem:", 0) == 0) r.shmem = kb(9);
        if (line.rfind("RssFile:", 0) == 0) r.file = kb(8);
    }
    return r;
}

struct Latency {
    double p50 = 0, p99 = 0;
};

Latency latency_of(const PassResult& r) { return {percentile(r.latency_ms, 0.5), percentile(r.latency_ms, 0.99)}; }

struct ModeReport {
    std::string storage;
    double build_s = 0, relation_mb = 0, sidecar_mb = 0, ram_mb = 0, recall = 0;
    Rss rss;
    Latency first, warm, hot;
};

ModeReport run_mode(const std::string& storage, const std::string& table, const std::vector<std::string>& params,
                    const std::vector<int32_t>& truth, std::size_t k) {
    ModeReport m;
    m.storage = storage;
    const std::string index = table + "_idx";
    {
        // The build has its own session: its memory must not count as the queries' RSS.
        Connection b;
        b.exec("SET client_min_messages = warning");
        b.exec("SET maintenance_work_mem = '2GB'");
        b.exec("DROP INDEX IF EXISTS " + index);
        b.exec("CHECKPOINT");
        m.build_s = create_index_with_progress(
            b, "CREATE INDEX " + index + " ON " + table + " USING vtree (embedding) WITH (storage = " + storage + ")",
            "building (storage = " + storage + ")");
    }
    Connection c;
    c.exec("SET client_min_messages = warning");
    const std::string stats = " FROM vectordb_index_stats('" + index + "')";
    m.relation_mb = std::stod(c.value("SELECT relation_bytes / 1048576.0" + stats));
    m.sidecar_mb = std::stod(c.value("SELECT sidecar_bytes / 1048576.0" + stats));
    m.ram_mb = std::stod(c.value("SELECT memory_usage_bytes / 1048576.0" + stats));
    c.exec("SELECT vectordb_prewarm('" + index + "')");
    // Cold for mmap: index pages in shared buffers, the sidecar out of the page cache.
    if (storage == "mmap") c.exec("SELECT vectordb_evict('" + index + "')");
    c.exec("SET enable_seqscan = off");
    prepare_knn(c, "knn", table, "<->", k);
    const PassResult first = run_pass(c, "knn", params, k, storage == "mmap" ? "cold pass" : "first pass");
    const PassResult warm = run_pass(c, "knn", params, k, "warm pass");
    const std::vector<std::string> same(params.size(), params.front());
    const PassResult hot = run_pass(c, "knn", same, k, "hot (one query repeated)");
    m.first = latency_of(first);
    m.warm = latency_of(warm);
    m.hot = latency_of(hot);
    m.recall = recall_at_k(warm.ids.data(), truth.data(), params.size(), k, k, k);
    m.rss = rss_of(c.backend_pid());
    return m;
}

}  // namespace

int main() try {
    const std::size_t k = 10;
    const std::string table = "demo_items";
    Dataset d;
    const char* fvecs = std::getenv("DEMO_FVECS");
    const std::size_t nq = env_size("DEMO_QUERIES", 1000);
    if (fvecs != nullptr && *fvecs != '\0') {
        std::vector<float> all = read_fvecs(fvecs, &d.dim);
        const std::size_t rows = all.size() / d.dim;
        if (rows <= nq) throw std::runtime_error(std::string(fvecs) + " has too few rows for the queries");
        d.queries.assign(all.end() - static_cast<long>(nq * d.dim), all.end());
        all.resize((rows - nq) * d.dim);
        d.base = std::move(all);
        std::printf("== 1. %s: %zu vectors of %zu dimensions, %zu held out as queries\n", fvecs, d.base_rows(), d.dim,
                    nq);
    } else {
        SynthParams p;
        p.base_rows = env_size("DEMO_ROWS", 100000);
        p.dim = env_size("DEMO_DIMS", 768);
        p.query_rows = nq;
        p.threads = 2;
        std::printf("== 1. synth-%zu: %zu vectors of %zu dimensions, %zu queries\n", p.dim, p.base_rows, p.dim, nq);
        d = generate_synth(p);
    }
    std::fflush(stdout);
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<int32_t> truth = exact_knn(d.base_view(), d.query_view(), k, Metric::L2, 2);
    std::printf("   exact ground truth for %zu queries in %.1f s\n", nq, seconds_since(t0));
    {
        Connection c;
        c.exec("SET client_min_messages = warning");
        c.exec("CREATE EXTENSION IF NOT EXISTS vectordb");
        load_table(c, table, d.base.data(), d.base_rows(), d.dim);
    }
    std::vector<std::string> params;
    for (std::size_t q = 0; q < d.query_rows(); q++)
        params.push_back(vector_binary(d.queries.data() + q * d.dim, d.dim));

    std::printf("\n== 2. storage = pages: full vectors in index pages (the in-memory comparison)\n");
    std::fflush(stdout);
    const ModeReport pages = run_mode("pages", table, params, truth, k);
    std::printf("\n== 3. storage = mmap: full vectors in the sidecar, evicted from the page cache first\n");
    std::fflush(stdout);
    const ModeReport mmap = run_mode("mmap", table, params, truth, k);

    const double raw_mb = static_cast<double>(d.base_rows() * d.dim * sizeof(float)) / 1048576.0;
    std::printf("\n== 4. report (%zu x %zu, %zu queries, default settings: probes 8, rerank_factor 5)\n\n",
                d.base_rows(), d.dim, nq);
    std::printf("%-26s %14s %14s\n", "", "storage=pages", "storage=mmap");
    std::printf("%-26s %11.1f MB %11.1f MB\n", "index relation", pages.relation_mb, mmap.relation_mb);
    std::printf("%-26s %11.1f MB %11.1f MB\n", "sidecar file", pages.sidecar_mb, mmap.sidecar_mb);
    std::printf("%-26s %11.1f MB %11.1f MB\n", "RAM the index needs", pages.ram_mb, mmap.ram_mb);
    std::printf("%-26s %11.1f MB %11.1f MB\n", "backend peak RSS", pages.rss.peak, mmap.rss.peak);
    std::printf("%-26s %11.1f MB %11.1f MB\n", "  of it shared buffers", pages.rss.shmem, mmap.rss.shmem);
    std::printf("%-26s %11.1f MB %11.1f MB   (clean page cache the kernel can drop)\n", "  of it mapped files",
                pages.rss.file, mmap.rss.file);
    std::printf("%-26s %11.1f MB %11.1f MB\n", "  of it private memory", pages.rss.anon, mmap.rss.anon);
    std::printf("%-26s %11.2f s  %11.2f s\n", "build", pages.build_s, mmap.build_s);
    std::printf("%-26s %14.4f %14.4f\n", "recall@10", pages.recall, mmap.recall);
    std::printf("%-26s %8.3f/%.3f %8.3f/%.3f   (mmap: cold, sidecar evicted)\n", "first pass p50/p99 ms",
                pages.first.p50, pages.first.p99, mmap.first.p50, mmap.first.p99);
    std::printf("%-26s %8.3f/%.3f %8.3f/%.3f\n", "warm pass p50/p99 ms", pages.warm.p50, pages.warm.p99, mmap.warm.p50,
                mmap.warm.p99);
    std::printf("%-26s %8.3f/%.3f %8.3f/%.3f\n", "hot query p50/p99 ms", pages.hot.p50, pages.hot.p99, mmap.hot.p50,
                mmap.hot.p99);
    const double saved = pages.ram_mb - mmap.ram_mb;
    std::printf(
        "\nmemory the index needs resident: %.1f MB instead of %.1f MB, %.1f MB saved (%.1f%%); raw vectors %.1f MB\n",
        mmap.ram_mb, pages.ram_mb, saved, pages.ram_mb > 0 ? 100.0 * saved / pages.ram_mb : 0.0, raw_mb);
    std::printf("latency mmap/pages (p50): cold %.2fx, warm %.2fx, hot %.2fx\n", mmap.first.p50 / pages.first.p50,
                mmap.warm.p50 / pages.warm.p50, mmap.hot.p50 / pages.hot.p50);
    std::printf("recall@10: pages %.4f, mmap %.4f\n", pages.recall, mmap.recall);
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "vectordb_demo: %s\n", e.what());
    return 1;
}
