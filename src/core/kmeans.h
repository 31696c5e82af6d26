// k-means clustering for the tree builder: k-means++ seeding, Lloyd
// iterations with OpenMP in the assignment step, early stop, empty clusters
// re-seeded, training on a sample when the input is large. Deterministic for a
// seed and independent of the thread count: rows are processed in fixed blocks
// whose partial sums are merged in block order.
#pragma once

#include "core/common.h"
#include "core/types.h"

#include <vector>

namespace vectordb {

struct KMeansParams {
    int k = 0;
    int max_iterations = 20;
    double tolerance = 1e-4;              // stop when the objective improves by less than this fraction
    std::size_t max_training_points = 0;  // 0 = min(rows, k * 256)
    uint64_t seed = 42;
    int threads = 1;
    Metric metric = Metric::L2;  // InnerProduct and Cosine: spherical k-means (unit centroids)
};

struct KMeansResult {
    std::vector<float> centroids;      // k x dim
    std::vector<uint32_t> assignment;  // rows
    std::vector<uint32_t> sizes;       // k
    int iterations = 0;
    double objective = 0;  // L2: sum of squared distances; spherical: sum of (1 - ip)
};

KMeansResult kmeans(const MatrixView& data, const KMeansParams& params, const StepCallback& between_steps = {});

// Nearest centroid of v: smallest L2 distance, or largest inner product for the spherical metrics.
uint32_t nearest_centroid(const float* centroids, std::size_t k, std::size_t dim, const float* v, Metric metric);

// nearest_centroid for `count` rows of data (the row ids in `rows`, or 0..count-1
// when rows is null), in parallel; cost_out (optional) receives each row's cost
// (squared L2, or 1 - inner product).
void assign_nearest(const MatrixView& data, const uint32_t* rows, std::size_t count, const float* centroids,
                    std::size_t k, Metric metric, int threads, uint32_t* out, float* cost_out = nullptr);

}  // namespace vectordb
