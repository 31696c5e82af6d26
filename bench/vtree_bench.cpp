// vtree_bench: the search core alone (no PostgreSQL) on synth-768 or .fvecs
// files. Builds the index with each estimator, sweeps probes x rerank_factor
// on one thread and prints recall@k, queries per second, p50/p99 latency, the
// share of codes scanned, reranks per query, build time and bytes per vector
// in RAM (tree + codes) versus on disk (the sidecar's records).
//
//   vtree_bench                                 # synth-768: 100,000 x 768, 1,000 queries
//   vtree_bench --rows 20000 --dim 128          # a smaller synthetic set
//   vtree_bench --base b.fvecs --queries q.fvecs [--truth gt.ivecs]
//   vtree_bench --save DIR                      # also write base.fvecs, query.fvecs, groundtruth.ivecs (top-100)
//   vtree_bench --sidecar DIR                   # rerank from an mmap'd vectors.bin in DIR (leaf order)
//   options: --metric l2|ip|cosine --branching N --leaf N --iterations N --refine N --threads N
//            --probes 1,2,4 --rerank 1,2,5 --quantizers rabitq,hamming --k N --epsilon X
//   vtree_bench ... --targets 0.9,0.95,0.99     # calibrate on sampled base rows (calibration.h) and
//                                               # run each target's probes (rerank: the first --rerank)
#include "core/calibration.h"
#include "core/code_scan.h"
#include "core/dataset.h"
#include "core/distance.h"
#include "core/errors.h"
#include "core/index.h"
#include "core/search.h"
#include "core/vector_store.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

using namespace vectordb;

namespace {

struct Options {
    std::string base_path, query_path, truth_path, sidecar_dir, save_dir;
    SynthParams synth;
    Metric metric = Metric::L2;
    int branching = kDefaultBranchingFactor, leaf = kDefaultMaxLeafSize, iterations = kDefaultMaxIterations;
    int threads = 2, refine = 3;
    std::size_t k = 10;
    float epsilon = SearchParams{}.epsilon;
    std::vector<std::size_t> probes = {1, 2, 4, 8, 16};
    std::vector<std::size_t> rerank = {1, 2, 5, 10};
    std::vector<double> targets;  // recall targets to calibrate for (none: sweep --probes)
    std::vector<QuantizerKind> quantizers = {QuantizerKind::RaBitQ, QuantizerKind::Hamming};
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::vector<std::size_t> parse_list(const char* s) {
    std::vector<std::size_t> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ',')) out.push_back(std::stoul(item));
    return out;
}

[[noreturn]] void usage(const char* msg) {
    std::fprintf(stderr, "vtree_bench: %s (see the comment at the top of bench/vtree_bench.cpp)\n", msg);
    std::exit(2);
}

Options parse(int argc, char** argv) {
    Options o;
    o.synth.threads = 2;
    for (int i = 1; i < argc; i++) {
        const std::string a = argv[i];
        auto value = [&]() -> const char* {
            if (i + 1 >= argc) usage(("missing value for " + a).c_str());
            return argv[++i];
        };
        if (a == "--base")
            o.base_path = value();
        else if (a == "--queries")
            o.query_path = value();
        else if (a == "--truth")
            o.truth_path = value();
        else if (a == "--sidecar")
            o.sidecar_dir = value();
        else if (a == "--save")
            o.save_dir = value();
        else if (a == "--rows")
            o.synth.base_rows = std::stoul(value());
        else if (a == "--query-rows")
            o.synth.query_rows = std::stoul(value());
        else if (a == "--dim")
            o.synth.dim = std::stoul(value());
        else if (a == "--clusters")
            o.synth.clusters = std::stoul(value());
        else if (a == "--seed")
            o.synth.seed = std::stoull(value());
        else if (a == "--branching")
            o.branching = std::stoi(value());
        else if (a == "--leaf")
            o.leaf = std::stoi(value());
        else if (a == "--iterations")
            o.iterations = std::stoi(value());
        else if (a == "--refine")
            o.refine = std::stoi(value());
        else if (a == "--threads")
            o.threads = o.synth.threads = std::stoi(value());
        else if (a == "--k")
            o.k = std::stoul(value());
        else if (a == "--epsilon")
            o.epsilon = std::stof(value());
        else if (a == "--probes")
            o.probes = parse_list(value());
        else if (a == "--rerank")
            o.rerank = parse_list(value());
        else if (a == "--targets") {
            std::stringstream ss(value());
            std::string item;
            while (std::getline(ss, item, ',')) o.targets.push_back(std::stod(item));
        } else if (a == "--quantizers") {
            o.quantizers.clear();
            std::stringstream ss(value());
            std::string item;
            while (std::getline(ss, item, ',')) o.quantizers.push_back(parse_quantizer(item));
        } else if (a == "--metric") {
            const std::string m = value();
            o.metric = m == "l2"       ? Metric::L2
                       : m == "ip"     ? Metric::InnerProduct
                       : m == "cosine" ? Metric::Cosine
                                       : (usage("bad --metric"), Metric::L2);
        } else
            usage(("unknown option " + a).c_str());
    }
    return o;
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const std::size_t i = std::min(v.size() - 1, static_cast<std::size_t>(p * (v.size() - 1) + 0.5));
    return v[i];
}

// Single-thread throughput of the scan kernel alone: every leaf's codes
// against one prepared query (no per-leaf preparation).
double kernel_rate(const CoreIndex& index, const MatrixView& queries) {
    PreparedQuery pq;
    if (index.quantizer.kind() == QuantizerKind::Hamming) {
        index.quantizer.prepare_hamming(queries.row(0), &pq);
    } else {
        std::vector<float> rq(index.quantizer.rotated_dim());
        index.quantizer.rotate(queries.row(0), rq.data());
        index.quantizer.prepare_leaf(rq.data(), index.rotated_centroid(0), 0.0f, &pq);
    }
    std::vector<uint32_t> out;
    std::size_t codes = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (int rep = 0; rep < 20; rep++) {
        for (std::size_t l = 0; l < index.leaves.size(); l++) {
            const LeafCodes& leaf = index.leaves[l];
            const std::size_t blocks = code_blocks(leaf.count());
            out.resize(blocks * kCodeBlock);
            if (index.quantizer.kind() == QuantizerKind::Hamming)
                scan_hamming(leaf.blocks.data(), blocks, index.quantizer.words(), pq.planes.data(), out.data());
            else
                scan_weighted_popcount(leaf.blocks.data(), blocks, index.quantizer.words(), pq.planes.data(),
                                       out.data());
            codes += leaf.count();
        }
    }
    return static_cast<double>(codes) / seconds_since(t0);
}

// Single-thread code-scan throughput over every leaf of the index, including
// each leaf's query preparation (what a search pays).
double scan_rate(const CoreIndex& index, const MatrixView& queries) {
    std::vector<uint32_t> out;
    PreparedQuery pq;
    std::vector<float> rq(index.quantizer.rotated_dim());
    std::size_t codes = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (std::size_t qi = 0; qi < std::min<std::size_t>(queries.rows, 50); qi++) {
        if (index.quantizer.kind() == QuantizerKind::Hamming)
            index.quantizer.prepare_hamming(queries.row(qi), &pq);
        else
            index.quantizer.rotate(queries.row(qi), rq.data());
        for (std::size_t l = 0; l < index.leaves.size(); l++) {
            const LeafCodes& leaf = index.leaves[l];
            const std::size_t blocks = code_blocks(leaf.count());
            out.resize(blocks * kCodeBlock);
            if (index.quantizer.kind() == QuantizerKind::Hamming) {
                scan_hamming(leaf.blocks.data(), blocks, index.quantizer.words(), pq.planes.data(), out.data());
            } else {
                // The per-leaf query preparation is part of the cost of scanning a leaf.
                index.quantizer.prepare_leaf(rq.data(), index.rotated_centroid(l), 0.0f, &pq);
                scan_weighted_popcount(leaf.blocks.data(), blocks, index.quantizer.words(), pq.planes.data(),
                                       out.data());
            }
            codes += leaf.count();
        }
    }
    return static_cast<double>(codes) / seconds_since(t0);
}

// Serves vectors from a sidecar file written in leaf order, as the index does.
class StoreSource : public VectorSource {
public:
    StoreSource(const VectorStore& store, std::vector<uint64_t> slot_of)
        : store_(store), slot_of_(std::move(slot_of)) {}
    const float* vector(uint32_t id, float*) override {
        // Verified as the extension verifies every record it reranks with.
        const uint64_t slot = slot_of_[id];
        return store_.verify(slot) ? store_.vector(slot) : nullptr;
    }
    void prefetch(const uint32_t* ids, std::size_t n) override {
        slots_.resize(n);
        for (std::size_t i = 0; i < n; i++) slots_[i] = slot_of_[ids[i]];
        store_.prefetch(slots_.data(), n);
    }

private:
    const VectorStore& store_;
    std::vector<uint64_t> slot_of_;
    std::vector<uint64_t> slots_;
};

// Writes the base vectors into DIR/vectors.bin in the index's leaf order and
// returns each row's slot.
std::vector<uint64_t> write_sidecar(const std::string& path, const CoreIndex& index, const MatrixView& base) {
    VectorStore::remove(path);
    VectorStore store = VectorStore::create(path, static_cast<uint32_t>(base.dim), StoreIdentity{0, 0, 0, 1});
    std::vector<uint64_t> slot_of(base.rows);
    uint64_t slot = 0;
    for (const LeafCodes& leaf : index.leaves) {
        for (uint32_t id : leaf.ids) {
            store.append(id, base.row(id));
            slot_of[id] = slot++;
        }
    }
    store.sync();
    return slot_of;
}

}  // namespace

int main(int argc, char** argv) try {
    const Options o = parse(argc, argv);
    Dataset data;
    std::string name;
    auto t0 = std::chrono::steady_clock::now();
    if (!o.base_path.empty()) {
        if (o.query_path.empty()) usage("--base needs --queries");
        std::size_t dim = 0, qdim = 0;
        data.base = read_fvecs(o.base_path, &dim);
        data.queries = read_fvecs(o.query_path, &qdim);
        if (dim != qdim) usage("base and query dimensions differ");
        data.dim = dim;
        name = o.base_path;
    } else {
        data = generate_synth(o.synth);
        name =
            o.synth.base_rows == 100000 && o.synth.dim == 768 && o.synth.query_rows == 1000 && o.synth.clusters == 1024
                ? "synth-768"
                : "synth";
    }
    const MatrixView base = data.base_view(), queries = data.query_view();
    std::printf("dataset %s: %zu base x %zu dims, %zu queries (%.1f s to load)\n", name.c_str(), base.rows, base.dim,
                queries.rows, seconds_since(t0));

    t0 = std::chrono::steady_clock::now();
    std::vector<int32_t> truth;
    std::size_t truth_k = o.k;
    if (!o.truth_path.empty()) {
        truth = read_ivecs(o.truth_path, &truth_k);
        if (truth_k < o.k) usage("ground truth has fewer than k neighbours");
    } else {
        // Top-100 (the data set's published form), of which recall uses the first k.
        truth_k = std::max<std::size_t>(o.k, 100);
        truth = exact_knn(base, queries, truth_k, o.metric, o.threads);
    }
    std::printf("ground truth top-%zu: %.1f s\n", truth_k, seconds_since(t0));
    if (!o.save_dir.empty()) {
        write_fvecs(o.save_dir + "/base.fvecs", base.data, base.rows, base.dim);
        write_fvecs(o.save_dir + "/query.fvecs", queries.data, queries.rows, queries.dim);
        write_ivecs(o.save_dir + "/groundtruth.ivecs", truth.data(), queries.rows, truth_k);
        std::printf("saved base.fvecs, query.fvecs, groundtruth.ivecs in %s\n", o.save_dir.c_str());
    }
    std::printf("kernels: distance %s, code scan %s; build threads %d, queries on 1 thread\n", isa_name(active_isa()),
                code_scan_isa(), o.threads);

    const double disk_per_vector =
        store_record_size(static_cast<uint32_t>(base.dim));  // sidecar record: tag, floats, checksum
    for (QuantizerKind kind : o.quantizers) {
        IndexParams params;
        params.tree.branching_factor = o.branching;
        params.tree.max_leaf_size = o.leaf;
        params.tree.max_iterations = o.iterations;
        params.tree.refine_iterations = o.refine;
        params.tree.threads = o.threads;
        params.tree.metric = o.metric;
        params.quantizer = kind;
        t0 = std::chrono::steady_clock::now();
        const CoreIndex index = CoreIndex::build(base, params);
        const double build_s = seconds_since(t0);
        const TreeStats ts = index.tree.stats();
        std::printf(
            "\n== %s: build %.2f s; tree depth %d, %zu nodes, %zu leaves, leaf size %zu/%.0f/%zu "
            "(min/avg/max); RAM %.1f B/vector (%.1f MB), disk %.0f B/vector (%.1f MB)\n",
            quantizer_name(kind), build_s, ts.depth, ts.nodes, ts.leaves, ts.min_leaf_size, ts.avg_leaf_size,
            ts.max_leaf_size, double(index.memory_bytes()) / base.rows, index.memory_bytes() / 1e6, disk_per_vector,
            disk_per_vector * base.rows / 1e6);
        std::printf("code scan: %.1f million %zu-bit codes/s on one core (kernel alone: %.1f million)\n",
                    scan_rate(index, queries) / 1e6, index.quantizer.words() * 64, kernel_rate(index, queries) / 1e6);
        std::printf("%-8s %6s %6s %9s %9s %8s %8s %9s %10s %8s\n", "quant", "probes", "rerank", "recall@k", "QPS",
                    "p50 ms", "p99 ms", "scanned%", "reranked/q", "nodes/q");
        MatrixSource matrix_source(base);
        VectorSource* source = &matrix_source;
        std::optional<VectorStore> store;
        std::unique_ptr<StoreSource> store_source;
        if (!o.sidecar_dir.empty()) {
            const std::string path = o.sidecar_dir + "/vectors.bin";
            t0 = std::chrono::steady_clock::now();
            std::vector<uint64_t> slot_of = write_sidecar(path, index, base);
            store.emplace(VectorStore::open(path, OpenMode::ReadOnly));
            store->advise_random();
            store_source = std::make_unique<StoreSource>(*store, std::move(slot_of));
            source = store_source.get();
            std::printf("sidecar %s: written and synced in %.2f s; reranking from the mmap\n", path.c_str(),
                        seconds_since(t0));
        }
        // One line of the table: a timed pass over the queries after a warm-up
        // pass; with a target, each query's probes from its fractional value.
        const auto run = [&](double probes, std::size_t rerank, const char* label) {
            SearchParams sp;
            sp.k = o.k;
            sp.rerank_factor = rerank;
            sp.epsilon = o.epsilon;
            std::vector<int32_t> result(queries.rows * o.k, -1);
            std::vector<double> latency;
            double scanned = 0, reranked = 0, nodes = 0;
            for (int pass = 0; pass < 2; pass++) {
                latency.clear();
                scanned = reranked = nodes = 0;
                const auto start = std::chrono::steady_clock::now();
                for (std::size_t qi = 0; qi < queries.rows; qi++) {
                    const auto q0 = std::chrono::steady_clock::now();
                    SearchStats st;
                    sp.probes = probes_for_query(probes, queries.row(qi), queries.dim);
                    const auto found = search(index, queries.row(qi), sp, *source, &st);
                    latency.push_back(seconds_since(q0) * 1e3);
                    for (std::size_t j = 0; j < found.size(); j++)
                        result[qi * o.k + j] = static_cast<int32_t>(found[j].id);
                    scanned += st.codes_scanned;
                    reranked += st.reranked;
                    nodes += st.nodes_scored;
                }
                if (pass == 1) {
                    const double total = seconds_since(start);
                    const double recall = recall_at_k(result.data(), truth.data(), queries.rows, o.k, truth_k, o.k);
                    std::printf("%-8s %6.1f %6zu %9.4f %9.0f %8.3f %8.3f %8.2f%% %10.1f %8.0f%s\n",
                                quantizer_name(kind), probes, rerank, recall, queries.rows / total,
                                percentile(latency, 0.5), percentile(latency, 0.99),
                                100.0 * scanned / queries.rows / base.rows, reranked / queries.rows,
                                nodes / queries.rows, label);
                }
            }
        };
        if (o.targets.empty()) {
            for (std::size_t probes : o.probes)
                for (std::size_t rerank : o.rerank) run(static_cast<double>(probes), rerank, "");
        } else {
            t0 = std::chrono::steady_clock::now();
            const RecallCurve curve = calibrate_in_memory(index, base, params.tree.seed, o.threads);
            std::printf("calibration: %zu queries, %zu points, %.2f s\n", curve.queries, curve.points.size(),
                        seconds_since(t0));
            for (const double target : o.targets) {
                const double probes = probes_for_recall(curve, target, index.tree.live_leaves);
                const std::string label = "  target " + std::to_string(target).substr(0, 5);
                run(probes, o.rerank.front(), label.c_str());
            }
        }
    }
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "vtree_bench: %s\n", e.what());
    return 1;
}
