// vectordb_demo (`make demo`): shows what storage = mmap buys against
// storage = pages on the user's own machine.
//
//  1. generates synth-768 (or reads DEMO_FVECS) into a table, in the database,
//     and computes exact ground truth for the queries;
//  2. builds the index with storage = pages and measures latency and recall@10;
//  3. builds it with storage = mmap, drops the sidecar from the page cache
//     (vectordb_evict) and measures cold, warm (second pass) and hot (one
//     query repeated) latency;
//  4. with DEMO_MEMORY_LIMIT_MB, queries the mmap index again (cold, warm,
//     hot) with the server in a memory cgroup of that size (cgroup v1, nested
//     under the server's own; needs root), so that the kernel must evict
//     sidecar pages when the sidecar is larger than the limit;
//  5. prints memory for each mode and the mmap/pages latency ratios.
// Queries of each mode run on a fresh connection, so the backend's peak RSS
// counts only what querying touched (shared buffers, mapped sidecar pages).
// Each build's private memory is sampled while it runs (its peak is reported
// beside maintenance_work_mem).
//
// Environment: DEMO_ROWS (100000), DEMO_DIMS (768), DEMO_QUERIES (1000),
// DEMO_FVECS (an .fvecs file of your own: its last DEMO_QUERIES rows become
// the queries), DEMO_MEMORY_LIMIT_MB (unset: no cgroup step), DEMO_REUSE=1
// (no load or builds: the mmap index of an earlier run with the same
// settings, measured without and with the cgroup), and the PG* variables.
#include "core/dataset.h"

#include "pg_client.h"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include <sys/stat.h>
#include <unistd.h>

using namespace vectordb;
using namespace vectordb::bench;

namespace {

// maintenance_work_mem of the builds.
constexpr const char* kBuildMemory = "2GB";

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

// The highest private memory (RssAnon) of a server process while it lives,
// sampled every 20 ms by a thread until stop().
class PeakPrivateMemory {
public:
    explicit PeakPrivateMemory(int pid) : pid_(pid), thread_([this] { run(); }) {}
    ~PeakPrivateMemory() { stop(); }
    double stop() {
        done_ = true;
        if (thread_.joinable()) thread_.join();
        return peak_mb_;
    }

private:
    void run() {
        while (!done_) {
            const double anon = rss_of(pid_).anon;
            if (anon > peak_mb_) peak_mb_ = anon;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
    int pid_;
    std::atomic<bool> done_{false};
    double peak_mb_ = 0;
    std::thread thread_;
};

int parent_pid(int pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // pid (comm) state ppid ...: comm may hold spaces, so read after its ')'.
    std::istringstream rest(stat.substr(stat.rfind(')') + 1));
    std::string state;
    int ppid = -1;
    rest >> state >> ppid;
    return ppid;
}

bool write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
    out.flush();
    return static_cast<bool>(out);
}

std::uint64_t read_number(const std::string& path) {
    std::ifstream in(path);
    std::uint64_t v = 0;
    in >> v;
    return v;
}

// A cgroup v1 memory group nested under the postmaster's own, holding the
// postmaster (and so every backend it forks from then on) while it lives.
class ServerMemoryCgroup {
public:
    ServerMemoryCgroup(int postmaster, std::size_t limit_mb) : postmaster_(postmaster) {
        std::ifstream in("/proc/" + std::to_string(postmaster) + "/cgroup");
        for (std::string line; std::getline(in, line);) {
            const std::size_t a = line.find(':'), b = line.find(':', a + 1);
            if (a != std::string::npos && b != std::string::npos && line.substr(a + 1, b - a - 1) == "memory")
                parent_ = "/sys/fs/cgroup/memory" + line.substr(b + 1);
        }
        if (parent_.empty()) {
            problem_ =
                "the server is in no cgroup v1 memory controller (/proc/" + std::to_string(postmaster) + "/cgroup)";
            return;
        }
        child_ = parent_ + "/vectordb-demo-" + std::to_string(postmaster);
        if (::mkdir(child_.c_str(), 0755) != 0 && errno != EEXIST) {
            problem_ = "cannot create " + child_ + ": " + std::strerror(errno);
            child_.clear();
            return;
        }
        if (!write_file(child_ + "/memory.limit_in_bytes", std::to_string(limit_mb * 1048576)) ||
            !write_file(child_ + "/cgroup.procs", std::to_string(postmaster)))
            problem_ = "cannot set the limit of " + child_ + " or move the server into it";
    }
    ~ServerMemoryCgroup() {
        if (child_.empty()) return;
        write_file(parent_ + "/cgroup.procs", std::to_string(postmaster_));
        // Backends that are still ending keep the group busy a moment.
        for (int i = 0; i < 50 && ::rmdir(child_.c_str()) != 0; i++)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    const std::string& problem() const { return problem_; }
    const std::string& path() const { return child_; }
    double max_usage_mb() const { return read_number(child_ + "/memory.max_usage_in_bytes") / 1048576.0; }
    std::uint64_t limit_hits() const { return read_number(child_ + "/memory.failcnt"); }

private:
    int postmaster_;
    std::string parent_, child_, problem_;
};

struct Latency {
    double p50 = 0, p99 = 0;
};

Latency latency_of(const PassResult& r) { return {percentile(r.latency_ms, 0.5), percentile(r.latency_ms, 0.99)}; }

struct ModeReport {
    std::string storage;
    double build_s = 0, build_private_mb = 0, relation_mb = 0, sidecar_mb = 0, ram_mb = 0, recall = 0;
    Rss rss;
    Latency first, warm, hot;
};

// Cold (or first), warm and hot passes on a fresh connection; the mmap index's
// sidecar is dropped from the page cache first.
void measure(ModeReport& m, const std::string& index, const std::string& table, const std::vector<std::string>& params,
             const std::vector<int32_t>& truth, std::size_t k, const std::string& label) {
    Connection c;
    c.exec("SET client_min_messages = warning");
    c.exec("SELECT vectordb_prewarm('" + index + "')");
    if (m.storage == "mmap") c.exec("SELECT vectordb_evict('" + index + "')");
    c.exec("SET enable_seqscan = off");
    prepare_knn(c, "knn", table, "<->", k);
    const PassResult first = run_pass(c, "knn", params, k, m.storage == "mmap" ? label + "cold pass" : "first pass");
    const PassResult warm = run_pass(c, "knn", params, k, label + "warm pass");
    const std::vector<std::string> same(params.size(), params.front());
    const PassResult hot = run_pass(c, "knn", same, k, label + "hot (one query repeated)");
    m.first = latency_of(first);
    m.warm = latency_of(warm);
    m.hot = latency_of(hot);
    m.recall = recall_at_k(warm.ids.data(), truth.data(), params.size(), k, k, k);
    m.rss = rss_of(c.backend_pid());
}

ModeReport run_mode(const std::string& storage, const std::string& table, const std::vector<std::string>& params,
                    const std::vector<int32_t>& truth, std::size_t k, bool build = true) {
    ModeReport m;
    m.storage = storage;
    const std::string index = table + "_idx";
    if (build) {
        // The build has its own session: its memory must not count as the queries' RSS.
        Connection b;
        b.exec("SET client_min_messages = warning");
        b.exec(std::string("SET maintenance_work_mem = '") + kBuildMemory + "'");
        b.exec("DROP INDEX IF EXISTS " + index);
        b.exec("CHECKPOINT");
        PeakPrivateMemory peak(b.backend_pid());
        m.build_s = create_index_with_progress(
            b, "CREATE INDEX " + index + " ON " + table + " USING vtree (embedding) WITH (storage = " + storage + ")",
            "building (storage = " + storage + ")");
        m.build_private_mb = peak.stop();
    }
    {
        Connection c;
        const std::string stats = " FROM vectordb_index_stats('" + index + "')";
        m.relation_mb = std::stod(c.value("SELECT relation_bytes / 1048576.0" + stats));
        m.sidecar_mb = std::stod(c.value("SELECT sidecar_bytes / 1048576.0" + stats));
        m.ram_mb = std::stod(c.value("SELECT memory_usage_bytes / 1048576.0" + stats));
    }
    // Cold for mmap: index pages in shared buffers, the sidecar out of the page cache.
    measure(m, index, table, params, truth, k, "");
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
    // DEMO_REUSE=1: the table and mmap index an earlier run left (same DEMO_*
    // settings, so the same rows), for the cgroup step alone.
    const bool reuse = env_size("DEMO_REUSE", 0) != 0;
    if (!reuse) {
        Connection c;
        c.exec("SET client_min_messages = warning");
        c.exec("CREATE EXTENSION IF NOT EXISTS vectordb");
        load_table(c, table, d.base.data(), d.base_rows(), d.dim);
    }
    std::vector<std::string> params;
    for (std::size_t q = 0; q < d.query_rows(); q++)
        params.push_back(vector_binary(d.queries.data() + q * d.dim, d.dim));

    ModeReport pages;
    if (!reuse) {
        std::printf("\n== 2. storage = pages: full vectors in index pages (the in-memory comparison)\n");
        std::fflush(stdout);
        pages = run_mode("pages", table, params, truth, k);
    }
    std::printf("\n== 3. storage = mmap: full vectors in the sidecar, evicted from the page cache first%s\n",
                reuse ? " (the index an earlier run built)" : "");
    std::fflush(stdout);
    const ModeReport mmap = run_mode("mmap", table, params, truth, k, !reuse);

    // 4. The same index with the server in a memory cgroup smaller than it needs.
    const std::size_t limit_mb = env_size("DEMO_MEMORY_LIMIT_MB", 0);
    ModeReport limited = mmap;
    bool have_limited = false;
    double group_peak_mb = 0;
    std::uint64_t group_hits = 0;
    if (limit_mb > 0) {
        std::printf("\n== 4. storage = mmap with the server in a memory cgroup of %zu MB (sidecar %.1f MB)\n", limit_mb,
                    mmap.sidecar_mb);
        std::fflush(stdout);
        int postmaster = -1;
        {
            Connection c;
            postmaster = parent_pid(c.backend_pid());
        }
        ServerMemoryCgroup group(postmaster, limit_mb);
        if (!group.problem().empty()) {
            std::printf("   skipped: %s\n", group.problem().c_str());
        } else {
            std::printf("   cgroup %s\n", group.path().c_str());
            measure(limited, table + "_idx", table, params, truth, k, "in the cgroup: ");
            group_peak_mb = group.max_usage_mb();
            group_hits = group.limit_hits();
            have_limited = true;
        }
    }

    if (reuse) {
        std::printf("\n== report (%zu x %zu, %zu queries, the index an earlier run built; sidecar %.1f MB)\n\n",
                    d.base_rows(), d.dim, nq, mmap.sidecar_mb);
        const auto line = [](const char* label, const ModeReport& m) {
            std::printf("%-24s recall@10 %.4f, p50/p99 ms: cold %.3f/%.3f, warm %.3f/%.3f, hot %.3f/%.3f\n", label,
                        m.recall, m.first.p50, m.first.p99, m.warm.p50, m.warm.p99, m.hot.p50, m.hot.p99);
        };
        line("storage=mmap", mmap);
        if (have_limited) {
            line("  in the cgroup", limited);
            std::printf("cgroup: limit %zu MB, peak usage %.1f MB, %llu times at the limit (pages reclaimed)\n",
                        limit_mb, group_peak_mb, static_cast<unsigned long long>(group_hits));
            std::printf("latency in the cgroup/without (p50): cold %.2fx, warm %.2fx, hot %.2fx\n",
                        limited.first.p50 / mmap.first.p50, limited.warm.p50 / mmap.warm.p50,
                        limited.hot.p50 / mmap.hot.p50);
        }
        return 0;
    }
    const double raw_mb = static_cast<double>(d.base_rows() * d.dim * sizeof(float)) / 1048576.0;
    std::printf(
        "\n== %d. report (%zu x %zu, %zu queries, default settings: vtree.target_recall 0.95, rerank_factor 5)\n\n",
        limit_mb > 0 ? 5 : 4, d.base_rows(), d.dim, nq);
    std::vector<const ModeReport*> modes{&pages, &mmap};
    if (have_limited) modes.push_back(&limited);
    std::printf("%-26s %14s %14s", "", "storage=pages", "storage=mmap");
    if (have_limited) std::printf(" %8zu MB cgroup", limit_mb);
    std::printf("\n");
    const auto row = [&](const char* label, const char* unit, auto value, const char* note = "") {
        std::printf("%-26s", label);
        for (const ModeReport* m : modes) std::printf(" %11.1f %s", value(*m), unit);
        std::printf("%s\n", note);
    };
    row("index relation", "MB", [](const ModeReport& m) { return m.relation_mb; });
    row("sidecar file", "MB", [](const ModeReport& m) { return m.sidecar_mb; });
    row("RAM the index needs", "MB", [](const ModeReport& m) { return m.ram_mb; });
    row("build", "s ", [](const ModeReport& m) { return m.build_s; });
    row("build: peak private mem", "MB", [](const ModeReport& m) { return m.build_private_mb; });
    row("backend peak RSS", "MB", [](const ModeReport& m) { return m.rss.peak; });
    row("  of it shared buffers", "MB", [](const ModeReport& m) { return m.rss.shmem; });
    row(
        "  of it mapped files", "MB", [](const ModeReport& m) { return m.rss.file; },
        "   (clean page cache the kernel can drop)");
    row("  of it private memory", "MB", [](const ModeReport& m) { return m.rss.anon; });
    const auto latency = [&](const char* label, Latency ModeReport::*which, const char* note) {
        std::printf("%-26s", label);
        for (const ModeReport* m : modes) std::printf(" %7.3f/%-6.3f", (m->*which).p50, (m->*which).p99);
        std::printf("%s\n", note);
    };
    std::printf("%-26s", "recall@10");
    for (const ModeReport* m : modes) std::printf(" %14.4f", m->recall);
    std::printf("\n");
    latency("first pass p50/p99 ms", &ModeReport::first, "   (mmap: cold, sidecar evicted)");
    latency("warm pass p50/p99 ms", &ModeReport::warm, "");
    latency("hot query p50/p99 ms", &ModeReport::hot, "");
    std::printf("(builds ran with maintenance_work_mem %s; peak private memory sampled every 20 ms)\n", kBuildMemory);
    if (have_limited)
        std::printf("cgroup: limit %zu MB, peak usage %.1f MB, %llu times at the limit (pages reclaimed)\n", limit_mb,
                    group_peak_mb, static_cast<unsigned long long>(group_hits));
    const double saved = pages.ram_mb - mmap.ram_mb;
    std::printf(
        "\nmemory the index needs resident: %.1f MB instead of %.1f MB, %.1f MB saved (%.1f%%); raw vectors %.1f MB\n",
        mmap.ram_mb, pages.ram_mb, saved, pages.ram_mb > 0 ? 100.0 * saved / pages.ram_mb : 0.0, raw_mb);
    std::printf("latency mmap/pages (p50): cold %.2fx, warm %.2fx, hot %.2fx\n", mmap.first.p50 / pages.first.p50,
                mmap.warm.p50 / pages.warm.p50, mmap.hot.p50 / pages.hot.p50);
    if (have_limited)
        std::printf("latency mmap in the cgroup/pages (p50): cold %.2fx, warm %.2fx, hot %.2fx\n",
                    limited.first.p50 / pages.first.p50, limited.warm.p50 / pages.warm.p50,
                    limited.hot.p50 / pages.hot.p50);
    std::printf("recall@10: pages %.4f, mmap %.4f", pages.recall, mmap.recall);
    if (have_limited) std::printf(", mmap in the cgroup %.4f", limited.recall);
    std::printf("\n");
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "vectordb_demo: %s\n", e.what());
    return 1;
}
