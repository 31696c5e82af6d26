// Calibrating an index for a target recall: how many leaves a search must
// probe for recall@k to reach a given value on this index's own data.
//
// Calibration queries are rows of the index itself, each with its exact k
// nearest other rows (NeighbourCollector, which is shown every indexed row with
// the leaf it is in). A search with `probes` p finds a neighbour when its leaf
// is among the first p leaves of the search's probe order: the rerank is
// certified by the codes' bounds, so the top k among the probed leaves' rows
// come out exactly (search.h). measure_recall_curve replays that order (the
// beam descent the Searcher makes at p, Tree::beam_leaves) for a grid of p,
// and probes_for_recall reads the curve back for a target.
//
// Why a number of probes per index and not a per-query rule: on 100,000 SIFT
// descriptors, probing every leaf whose centroid's squared distance is within
// (1 + t) of the nearest one's needed ~7,600 codes a query for recall@10 0.95,
// and stopping once the next centroid is farther than b times the k-th
// distance found so far ~7,100, against ~6,000 for a fixed number of leaves
// (the beam's leaf order, exact distances, t and b interpolated to 0.95).
//
// The curve is measured on the tree as it was; as the table grows, leaves
// split and each holds a smaller share of the rows, so probes_for_recall
// scales its answer by how many more live leaves the tree has now.
#pragma once

#include "core/common.h"
#include "core/tree.h"
#include "core/types.h"

#include <vector>

namespace vectordb {

// recall@k is calibrated for k = 10 (an index scan does not know its LIMIT).
constexpr std::size_t kCalibrationK = 10;
// Calibration queries: the standard error of a mean recall@10 near 0.95 over
// 400 rows is about 0.005, well inside the 0.02 a target promises.
constexpr std::size_t kCalibrationQueries = 400;
// The curve stops at this recall (or when every leaf is probed): a target
// above the last point probes every leaf.
constexpr float kCurveTopRecall = 0.999f;
// Points a curve may hold (the metapage keeps them).
constexpr std::size_t kMaxCurvePoints = 48;

struct RecallPoint {
    uint32_t probes;
    float recall;  // mean recall@k of the calibration queries at this many probes
};

struct RecallCurve {
    std::vector<RecallPoint> points;  // probes ascending, recall non-decreasing
    std::size_t leaves = 0;           // live leaves of the tree it was measured on
    std::size_t queries = 0;          // calibration queries it was measured with
    bool empty() const { return points.empty(); }
};

// The probes that reach `target` recall@k according to the curve, on a tree
// that now has `live_leaves` live leaves: the curve's probes for it,
// interpolated between points (so a fraction), scaled by live_leaves /
// curve.leaves, within [1, live_leaves]. live_leaves when the target is above
// the curve's last point; 0 when the curve is empty (the caller falls back
// to its default).
double probes_for_recall(const RecallCurve& curve, double target, std::size_t live_leaves);
// The same over `count` points measured on `leaves_then` live leaves (a curve
// kept elsewhere, read without copying).
double probes_for_recall(const RecallPoint* points, std::size_t count, std::size_t leaves_then, double target,
                         std::size_t live_leaves);

// A whole number of probes for one query, from a fractional one: the number
// below or above it, the query's hash choosing the one above for the
// fraction's share of queries, so that the mean recall over queries is the
// curve's interpolation (on an easy data set one probe may give 0.85 and two
// 0.98: a target of 0.9 is then met on average, not overshot for every
// query). The same query always gets the same probes.
std::size_t probes_for_query(double probes, const float* query, std::size_t dim);

// The exact k nearest rows of a few query rows, over rows shown in batches
// (a table scan, an index's leaves), with the leaf each neighbour is in.
// Each query's own row (by id) is not its neighbour. Memory is fixed at
// construction: queries x k entries and a batch's norms.
class NeighbourCollector {
public:
    static constexpr uint64_t kNoSelf = ~uint64_t{0};
    // queries: rows of dim floats in the metric's own space (not normalised
    // for cosine); self_ids: each query's own row id (kNoSelf if none);
    // max_batch: the most rows add() will be given at once.
    NeighbourCollector(Metric metric, const MatrixView& queries, std::vector<uint64_t> self_ids, std::size_t k,
                       std::size_t max_batch, int threads);
    // Offers n rows (row-major, dim floats each) with their ids and leaves.
    // Throws InvalidArgument if n exceeds max_batch.
    void add(const float* rows, std::size_t n, const uint64_t* ids, const int32_t* leaves);
    // Leaves of query i's neighbours so far, nearest first (fewer than k when
    // fewer other rows were shown).
    std::vector<int32_t> neighbour_leaves(std::size_t i) const;
    // Their scores (squared L2, negative inner product, cosine distance), nearest first.
    std::vector<float> neighbour_scores(std::size_t i) const;
    std::size_t queries() const { return queries_.rows; }
    std::size_t dim() const { return queries_.dim; }
    std::size_t k() const { return k_; }

private:
    struct Entry {
        float score;
        int32_t leaf;
    };
    float score(std::size_t query, float dot, float row_norm) const;
    std::vector<Entry> sorted(std::size_t i) const;

    Metric metric_;
    MatrixView queries_;
    std::vector<uint64_t> self_ids_;
    std::size_t k_;
    std::size_t max_batch_;
    int threads_;
    std::vector<float> query_norms_;  // squared
    std::vector<const float*> query_pointers_;
    std::vector<float> row_norms_;  // squared, the batch's: max_batch of them
    std::vector<float> products_;   // per thread a tile of inner products
    std::vector<Entry> heaps_;      // per query a max-heap of up to k entries, worst on top
    std::vector<uint32_t> sizes_;   // entries in each heap
};

// Measures recall@k against probes for the calibration queries (`queries`
// in the tree's space: unit length for cosine; row i's neighbours' leaves in
// neighbour_leaves[i]) on a grid of probes from 1 up to the tree's live
// leaves, stopping once recall reaches kCurveTopRecall. Queries without
// neighbours are left out; the curve is empty if none has any.
RecallCurve measure_recall_curve(const Tree& tree, const MatrixView& queries,
                                 const std::vector<std::vector<int32_t>>& neighbour_leaves);

// Every probes value the grid measures below `leaves` live leaves, ascending.
std::vector<std::size_t> calibration_grid(std::size_t leaves);

// `count` distinct numbers below n (all of them if n <= count), ascending,
// drawn by `seed`: which rows become calibration queries.
std::vector<std::size_t> sample_positions(std::size_t n, std::size_t count, uint64_t seed);

// The curve of the queries `collector` was shown every row with (`queries`:
// its query rows as given to it, in the metric's own space; normalised here
// for cosine, the tree's space).
RecallCurve curve_of_collected(const Tree& tree, Metric metric, std::vector<float> queries,
                               const NeighbourCollector& collector);

class CoreIndex;

// Calibrates an in-memory index over its own rows (data row i is id i):
// kCalibrationQueries sampled rows, their exact neighbours among the rest.
RecallCurve calibrate_in_memory(const CoreIndex& index, const MatrixView& data, uint64_t seed, int threads);

}  // namespace vectordb
