// Recall calibration (see calibration.h).
#include "core/calibration.h"

#include "core/distance.h"
#include "core/errors.h"
#include "core/index.h"
#include "core/parallel.h"
#include "core/random.h"

#include <algorithm>
#include <cmath>

namespace vectordb {

std::vector<std::size_t> calibration_grid(std::size_t leaves) {
    // Every count up to 6, then steps of a quarter: the curve is steep at
    // first and flattens, and a target between two points is interpolated.
    std::vector<std::size_t> grid;
    for (std::size_t p = 1; p <= leaves;) {
        grid.push_back(p);
        p = p < 6 ? p + 1 : (p * 5 + 3) / 4;
    }
    if (!grid.empty() && grid.back() != leaves) grid.push_back(leaves);
    return grid;
}

double probes_for_recall(const RecallCurve& curve, double target, std::size_t live_leaves) {
    return probes_for_recall(curve.points.data(), curve.points.size(), curve.leaves, target, live_leaves);
}

double probes_for_recall(const RecallPoint* pts, std::size_t count, std::size_t leaves_then, double target,
                         std::size_t live_leaves) {
    if (count == 0 || live_leaves == 0) return 0;
    const float want = static_cast<float>(target);  // as the curve holds recalls (0.9 is 0.9f there)
    double probes = -1;
    for (std::size_t i = 0; i < count; i++) {
        if (pts[i].recall < want) continue;
        if (i == 0 || pts[i].recall <= pts[i - 1].recall) {
            probes = pts[i].probes;
        } else {
            const double share = (want - pts[i - 1].recall) / (pts[i].recall - pts[i - 1].recall);
            probes = pts[i - 1].probes + share * (pts[i].probes - pts[i - 1].probes);
        }
        break;
    }
    const double leaves = static_cast<double>(live_leaves);
    if (probes < 0) return leaves;  // above what the curve measured: everything
    const double scaled = probes * leaves / static_cast<double>(std::max<std::size_t>(leaves_then, 1));
    return std::clamp(scaled, 1.0, leaves);
}

std::size_t probes_for_query(double probes, const float* query, std::size_t dim) {
    const double whole = std::floor(probes);
    const double fraction = probes - whole;
    if (fraction <= 0) return static_cast<std::size_t>(whole);
    // FNV-1a over the query's bytes, then SplitMix64 to spread it evenly.
    uint64_t hash = 1469598103934665603ull;
    const auto* bytes = reinterpret_cast<const unsigned char*>(query);
    for (std::size_t i = 0; i < dim * sizeof(float); i++) hash = (hash ^ bytes[i]) * 1099511628211ull;
    SplitMix64 mix(hash);
    return static_cast<std::size_t>(whole) + (mix.uniform() < fraction ? 1 : 0);
}

namespace {

// Distances come from inner products computed a tile at a time
// (inner_products): kQueryTile queries against kRowTile rows.
constexpr std::size_t kQueryTile = 16, kRowTile = 256;

}  // namespace

NeighbourCollector::NeighbourCollector(Metric metric, const MatrixView& queries, std::vector<uint64_t> self_ids,
                                       std::size_t k, std::size_t max_batch, int threads)
    : metric_(metric),
      queries_(queries),
      self_ids_(std::move(self_ids)),
      k_(k),
      max_batch_(max_batch),
      threads_(std::max(1, threads)) {
    if (k == 0) throw InvalidArgument("k must be at least 1");
    if (self_ids_.size() != queries.rows) throw InvalidArgument("one self id per calibration query is needed");
    heaps_.resize(queries.rows * k);
    sizes_.assign(queries.rows, 0);
    query_norms_.resize(queries.rows);
    query_pointers_.resize(queries.rows);
    for (std::size_t q = 0; q < queries.rows; q++) {
        query_norms_[q] = squared_norm(queries.row(q), queries.dim);
        query_pointers_[q] = queries.row(q);
    }
    row_norms_.resize(max_batch);
    products_.resize(static_cast<std::size_t>(threads_) * kQueryTile * kRowTile);
}

float NeighbourCollector::score(std::size_t query, float dot, float row_norm) const {
    switch (metric_) {
        case Metric::L2:
            // |q - r|^2 from the inner product: a rounding error of about
            // 1e-7 x (|q|^2 + |r|^2), which can reorder near-ties only.
            return std::max(0.0f, query_norms_[query] + row_norm - 2.0f * dot);
        case Metric::InnerProduct:
            return -dot;
        case Metric::Cosine: {
            const float norms = std::sqrt(query_norms_[query] * row_norm);
            return norms > 0 ? 1.0f - dot / norms : 1.0f;
        }
    }
    return 0.0f;
}

void NeighbourCollector::add(const float* rows, std::size_t n, const uint64_t* ids, const int32_t* leaves) {
    if (n > max_batch_) throw InvalidArgument("more rows than the collector's batch");
    const std::size_t dim = queries_.dim;
    for (std::size_t r = 0; r < n; r++) row_norms_[r] = squared_norm(rows + r * dim, dim);
    const auto worse = [](const Entry& a, const Entry& b) { return a.score < b.score; };
    const std::size_t tiles = (queries_.rows + kQueryTile - 1) / kQueryTile;
    // Each query's heap is touched by one thread, in place, and each thread
    // has its own products tile: nothing allocates.
    parallel_for(static_cast<std::ptrdiff_t>(tiles), threads_, [&](std::ptrdiff_t tile) {
        const std::size_t first = static_cast<std::size_t>(tile) * kQueryTile;
        const std::size_t count = std::min(kQueryTile, queries_.rows - first);
        float* products = products_.data() + static_cast<std::size_t>(thread_number()) * kQueryTile * kRowTile;
        for (std::size_t r0 = 0; r0 < n; r0 += kRowTile) {
            const std::size_t rn = std::min(kRowTile, n - r0);
            inner_products(query_pointers_.data() + first, count, rows + r0 * dim, rn, dim, products);
            for (std::size_t qi = 0; qi < count; qi++) {
                const std::size_t q = first + qi;
                Entry* heap = heaps_.data() + q * k_;
                uint32_t& size = sizes_[q];
                for (std::size_t j = 0; j < rn; j++) {
                    const std::size_t r = r0 + j;
                    if (ids[r] == self_ids_[q]) continue;
                    const float s = score(q, products[qi * rn + j], row_norms_[r]);
                    if (size < k_) {
                        heap[size++] = {s, leaves[r]};
                        std::push_heap(heap, heap + size, worse);
                    } else if (s < heap[0].score) {
                        std::pop_heap(heap, heap + size, worse);
                        heap[size - 1] = {s, leaves[r]};
                        std::push_heap(heap, heap + size, worse);
                    }
                }
            }
        }
    });
}

std::vector<NeighbourCollector::Entry> NeighbourCollector::sorted(std::size_t i) const {
    std::vector<Entry> e(heaps_.begin() + static_cast<long>(i * k_),
                         heaps_.begin() + static_cast<long>(i * k_ + sizes_[i]));
    std::sort(e.begin(), e.end(), [](const Entry& a, const Entry& b) { return a.score < b.score; });
    return e;
}

std::vector<int32_t> NeighbourCollector::neighbour_leaves(std::size_t i) const {
    std::vector<int32_t> out;
    for (const Entry& e : sorted(i)) out.push_back(e.leaf);
    return out;
}

std::vector<float> NeighbourCollector::neighbour_scores(std::size_t i) const {
    std::vector<float> out;
    for (const Entry& e : sorted(i)) out.push_back(e.score);
    return out;
}

namespace {

// The first `probes` leaves (leaf numbers) a search with that many probes
// scans for query v: its beam descent's order, the beam doubling when the
// leaves it reached run out (Searcher::probe_next_leaf).
void probe_order(const Tree& tree, const float* v, std::size_t probes, std::vector<int32_t>* out) {
    out->clear();
    std::vector<ReachedLeaf> reached;
    std::vector<char> seen(tree.leaves.size(), 0);
    std::size_t scored = 0;
    std::size_t beam = tree.effective_beam(std::max(kRouteBeam, 2 * probes));
    for (;;) {
        const bool whole = tree.beam_leaves(v, beam, &reached, &scored, probes);
        std::size_t ordered = probes;
        for (std::size_t i = 0; i < reached.size() && out->size() < probes; i++) {
            // Past the ordered prefix the rest are unordered: order one more block.
            if (i == ordered) {
                order_reached(&reached, i, probes);
                ordered += probes;
            }
            const int32_t leaf = tree.nodes[static_cast<std::size_t>(reached[i].node)].leaf;
            if (seen[static_cast<std::size_t>(leaf)]) continue;  // an earlier, narrower beam's
            seen[static_cast<std::size_t>(leaf)] = 1;
            out->push_back(leaf);
        }
        if (out->size() >= probes || whole) return;
        beam *= 2;
    }
}

}  // namespace

RecallCurve measure_recall_curve(const Tree& tree, const MatrixView& queries,
                                 const std::vector<std::vector<int32_t>>& neighbour_leaves) {
    RecallCurve curve;
    curve.leaves = tree.live_leaves;
    std::vector<std::size_t> used;
    for (std::size_t q = 0; q < queries.rows && q < neighbour_leaves.size(); q++)
        if (!neighbour_leaves[q].empty()) used.push_back(q);
    curve.queries = used.size();
    if (used.empty() || tree.live_leaves == 0) return curve;
    std::vector<int32_t> order;
    float best = 0;
    for (const std::size_t probes : calibration_grid(tree.live_leaves)) {
        double sum = 0;
        for (const std::size_t q : used) {
            probe_order(tree, queries.row(q), probes, &order);
            std::size_t found = 0;
            for (const int32_t leaf : neighbour_leaves[q])
                if (std::find(order.begin(), order.end(), leaf) != order.end()) found++;
            sum += static_cast<double>(found) / static_cast<double>(neighbour_leaves[q].size());
        }
        best = std::max(best, static_cast<float>(sum / static_cast<double>(used.size())));
        curve.points.push_back({static_cast<uint32_t>(probes), best});
        if (best >= kCurveTopRecall || curve.points.size() == kMaxCurvePoints) break;
    }
    return curve;
}

std::vector<std::size_t> sample_positions(std::size_t n, std::size_t count, uint64_t seed) {
    std::vector<std::size_t> out;
    if (n <= count) {
        for (std::size_t i = 0; i < n; i++) out.push_back(i);
        return out;
    }
    // Selection sampling (Knuth's algorithm S): one pass, each subset equally likely.
    SplitMix64 random(seed);
    for (std::size_t i = 0; i < n && out.size() < count; i++)
        if (random.uniform() * static_cast<double>(n - i) < static_cast<double>(count - out.size())) out.push_back(i);
    return out;
}

RecallCurve calibrate_in_memory(const CoreIndex& index, const MatrixView& data, uint64_t seed, int threads) {
    const std::vector<std::size_t> picked = sample_positions(data.rows, kCalibrationQueries, seed);
    std::vector<float> queries(picked.size() * data.dim);
    std::vector<uint64_t> self(picked.size());
    for (std::size_t i = 0; i < picked.size(); i++) {
        std::copy(data.row(picked[i]), data.row(picked[i]) + data.dim,
                  queries.begin() + static_cast<long>(i * data.dim));
        self[i] = picked[i];
    }
    const MatrixView query_view{queries.data(), picked.size(), data.dim};
    std::vector<int32_t> leaf_of(data.rows, -1);
    for (std::size_t l = 0; l < index.leaves.size(); l++)
        for (const uint32_t id : index.leaves[l].ids) leaf_of[id] = static_cast<int32_t>(l);
    constexpr std::size_t kBatch = 4096;
    NeighbourCollector collector(index.metric, query_view, self, kCalibrationK, kBatch, threads);
    std::vector<uint64_t> ids(kBatch);
    for (std::size_t first = 0; first < data.rows; first += kBatch) {
        const std::size_t n = std::min(kBatch, data.rows - first);
        for (std::size_t i = 0; i < n; i++) ids[i] = first + i;
        collector.add(data.row(first), n, ids.data(), leaf_of.data() + first);
    }
    return curve_of_collected(index.tree, index.metric, std::move(queries), collector);
}

RecallCurve curve_of_collected(const Tree& tree, Metric metric, std::vector<float> queries,
                               const NeighbourCollector& collector) {
    const std::size_t rows = collector.queries(), dim = collector.dim();
    std::vector<std::vector<int32_t>> neighbour_leaves(rows);
    for (std::size_t i = 0; i < rows; i++) neighbour_leaves[i] = collector.neighbour_leaves(i);
    // The tree is in its own space: unit vectors for cosine.
    if (metric == Metric::Cosine)
        for (std::size_t i = 0; i < rows; i++) normalize(queries.data() + i * dim, dim);
    return measure_recall_curve(tree, MatrixView{queries.data(), rows, dim}, neighbour_leaves);
}

}  // namespace vectordb
