// k-means (see kmeans.h).
#include "core/kmeans.h"

#include "core/distance.h"
#include "core/errors.h"
#include "core/parallel.h"
#include "core/random.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace vectordb {
namespace {

constexpr std::size_t kAssignRows = 64;  // rows per assignment block: 192 KiB at 768 dimensions, L2-resident

bool spherical(Metric m) { return m != Metric::L2; }

// Cost of v against centroid c: squared L2, or 1 - <v, c> for unit centroids.
float cost(const float* v, const float* c, std::size_t dim, Metric m) {
    return spherical(m) ? 1.0f - inner_product(v, c, dim) : l2_squared_distance(v, c, dim);
}

// The centroid side of the cost, so that a block of rows needs only inner
// products: |v - c|^2 = |v|^2 - 2<v, c> + |c|^2 for L2 (this keeps |c|^2),
// 1 - <v, c> for unit centroids (nothing to keep).
std::vector<float> centroid_norms(const float* centroids, std::size_t k, std::size_t dim, Metric metric) {
    std::vector<float> norms(spherical(metric) ? 0 : k);
    for (std::size_t c = 0; c < norms.size(); c++) norms[c] = squared_norm(centroids + c * dim, dim);
    return norms;
}

// Nearest centroid (the lowest index among equals) and its cost for each of
// `count` rows; `dots` is scratch for count x k products.
void nearest_of_rows(const float* const* rows, std::size_t count, const float* centroids, std::size_t k,
                     std::size_t dim, Metric metric, const std::vector<float>& norms, float* dots, uint32_t* out,
                     float* cost_out) {
    inner_products(rows, count, centroids, k, dim, dots);
    for (std::size_t i = 0; i < count; i++) {
        const float* row_dots = dots + i * k;
        const float row_norm = spherical(metric) ? 0.0f : squared_norm(rows[i], dim);
        uint32_t best = 0;
        float cheapest = std::numeric_limits<float>::max();
        for (std::size_t c = 0; c < k; c++) {
            const float d = spherical(metric) ? 1.0f - row_dots[c] : row_norm - 2.0f * row_dots[c] + norms[c];
            if (d < cheapest) cheapest = d, best = static_cast<uint32_t>(c);
        }
        out[i] = best;
        // The expanded form can dip just below zero for a row on its centroid.
        if (cost_out) cost_out[i] = spherical(metric) ? cheapest : std::max(0.0f, cheapest);
    }
}

void normalize(float* v, std::size_t dim) {
    const float n = std::sqrt(squared_norm(v, dim));
    if (n > 0.0f)
        for (std::size_t j = 0; j < dim; j++) v[j] /= n;
}

// Greedy k-means++: each next centre is the best of a few candidates drawn
// with probability proportional to their cost against the nearest centre so
// far, "best" meaning the one that lowers the total cost most. Plain k-means++
// keeps drawing outliers on high-dimensional overlapping data, which then form
// slivers while one cluster swallows the rest; the local trials avoid that.
std::vector<float> seed_plus_plus(const MatrixView& data, int k, Metric metric, SplitMix64& rng, int threads) {
    const std::size_t n = data.rows, dim = data.dim;
    const int trials = 2 + static_cast<int>(std::log(static_cast<double>(k)));
    std::vector<float> centroids(static_cast<std::size_t>(k) * dim);
    std::vector<float> best(n, std::numeric_limits<float>::max());
    std::vector<float> trial_cost(n), kept_cost(n);
    std::vector<float> candidate(dim);

    // Draws one row with probability proportional to best[i].
    const auto draw = [&](double total) {
        double target = rng.uniform() * total;
        for (std::size_t i = 0; i < n; i++) {
            target -= best[i];
            if (target <= 0) return i;
        }
        return n - 1;
    };
    std::size_t pick = rng.next() % n;
    for (int c = 0; c < k; c++) {
        float* centre = centroids.data() + static_cast<std::size_t>(c) * dim;
        if (c == 0) {
            std::copy(data.row(pick), data.row(pick) + dim, centre);
            if (spherical(metric)) normalize(centre, dim);
        } else {
            double total = 0;
            for (std::size_t i = 0; i < n; i++) total += best[i];
            double kept_total = std::numeric_limits<double>::max();
            for (int t = 0; t < trials; t++) {
                // All points coinciding with centres: any point will do.
                const std::size_t row = total > 0 ? draw(total) : rng.next() % n;
                std::copy(data.row(row), data.row(row) + dim, candidate.begin());
                if (spherical(metric)) normalize(candidate.data(), dim);
                parallel_for(static_cast<std::ptrdiff_t>(n), threads, [&](std::ptrdiff_t i) {
                    trial_cost[i] = std::min(best[i], std::max(0.0f, cost(data.row(i), candidate.data(), dim, metric)));
                });
                double sum = 0;
                for (std::size_t i = 0; i < n; i++) sum += trial_cost[i];
                if (sum < kept_total) {
                    kept_total = sum;
                    std::copy(candidate.begin(), candidate.end(), centre);
                    kept_cost.swap(trial_cost);
                }
            }
            best.swap(kept_cost);
            continue;
        }
        parallel_for(static_cast<std::ptrdiff_t>(n), threads,
                     [&](std::ptrdiff_t i) { best[i] = std::max(0.0f, cost(data.row(i), centre, dim, metric)); });
    }
    return centroids;
}

// New centroids as means of their rows. Threads split the columns, not the
// rows: each sums its slice of every row in row order, so the result does not
// depend on the thread count, and the only memory is K x dim sums allocated
// here, outside the parallel region (per-thread or per-block partial sums
// would cost K x dim for each, and an allocation failure inside the region
// would terminate the server).
void update(const MatrixView& data, int k, Metric metric, const std::vector<uint32_t>& assignment,
            const std::vector<float>& costs, std::vector<float>& centroids, std::vector<uint32_t>& sizes, int threads) {
    const std::size_t n = data.rows, dim = data.dim, K = static_cast<std::size_t>(k);
    std::vector<double> sums(K * dim, 0.0);
    sizes.assign(K, 0);
    for (std::size_t i = 0; i < n; i++) sizes[assignment[i]]++;
    constexpr std::size_t kSliceFloats = 16;  // one cache line of a row per slice at least
    const std::size_t slices = std::max<std::size_t>(
        1,
        std::min<std::size_t>(static_cast<std::size_t>(std::max(1, threads)), (dim + kSliceFloats - 1) / kSliceFloats));
    parallel_for(static_cast<std::ptrdiff_t>(slices), static_cast<int>(slices), [&](std::ptrdiff_t slice) {
        const std::size_t first = dim * static_cast<std::size_t>(slice) / slices;
        const std::size_t last = dim * (static_cast<std::size_t>(slice) + 1) / slices;
        for (std::size_t i = 0; i < n; i++) {
            const float* v = data.row(i);
            double* s = sums.data() + assignment[i] * dim;
            for (std::size_t j = first; j < last; j++) s[j] += v[j];
        }
    });
    // Empty clusters take the row that is currently worst served, so none stays empty
    // while the data has more distinct rows than clusters.
    std::vector<char> taken(n, 0);
    for (std::size_t c = 0; c < K; c++) {
        float* centre = centroids.data() + c * dim;
        if (sizes[c] > 0) {
            for (std::size_t j = 0; j < dim; j++) centre[j] = static_cast<float>(sums[c * dim + j] / sizes[c]);
        } else {
            std::size_t worst = 0;
            float worst_cost = -1.0f;
            for (std::size_t i = 0; i < n; i++)
                if (!taken[i] && costs[i] > worst_cost) worst_cost = costs[i], worst = i;
            taken[worst] = 1;
            std::copy(data.row(worst), data.row(worst) + dim, centre);
        }
        if (spherical(metric)) normalize(centre, dim);
    }
}

}  // namespace

void assign_nearest(const MatrixView& data, const uint32_t* rows, std::size_t count, const float* centroids,
                    std::size_t k, Metric metric, int threads, uint32_t* out, float* cost_out) {
    if (count == 0 || k == 0) return;
    const std::vector<float> norms = centroid_norms(centroids, k, data.dim, metric);
    // Blocks of rows against all centroids; each worker takes every workers-th
    // block with its own scratch (allocated here: nothing allocates in the
    // parallel region). A row's result does not depend on its block.
    const std::size_t blocks = (count + kAssignRows - 1) / kAssignRows;
    const std::size_t workers = std::min<std::size_t>(static_cast<std::size_t>(std::max(1, threads)), blocks);
    std::vector<float> scratch(workers * kAssignRows * k);
    std::vector<const float*> pointers(workers * kAssignRows);
    parallel_for(static_cast<std::ptrdiff_t>(workers), static_cast<int>(workers), [&](std::ptrdiff_t w) {
        const float** block_rows = pointers.data() + static_cast<std::size_t>(w) * kAssignRows;
        float* dots = scratch.data() + static_cast<std::size_t>(w) * kAssignRows * k;
        for (std::size_t b = static_cast<std::size_t>(w); b < blocks; b += workers) {
            const std::size_t first = b * kAssignRows, n = std::min(kAssignRows, count - first);
            for (std::size_t i = 0; i < n; i++) block_rows[i] = data.row(rows ? rows[first + i] : first + i);
            nearest_of_rows(block_rows, n, centroids, k, data.dim, metric, norms, dots, out + first,
                            cost_out ? cost_out + first : nullptr);
        }
    });
}

namespace {

// Assigns every row to its nearest centroid; returns the objective.
double assign(const MatrixView& data, const std::vector<float>& centroids, int k, Metric metric,
              std::vector<uint32_t>& assignment, std::vector<float>& costs, int threads) {
    assign_nearest(data, nullptr, data.rows, centroids.data(), static_cast<std::size_t>(k), metric, threads,
                   assignment.data(), costs.data());
    double total = 0;
    for (std::size_t i = 0; i < data.rows; i++) total += costs[i];
    return total;
}

}  // namespace

uint32_t nearest_centroid(const float* centroids, std::size_t k, std::size_t dim, const float* v, Metric metric) {
    // The same arithmetic as assign_nearest, so routing agrees with the build.
    std::vector<float> dots(k);
    uint32_t best = 0;
    nearest_of_rows(&v, 1, centroids, k, dim, metric, centroid_norms(centroids, k, dim, metric), dots.data(), &best,
                    nullptr);
    return best;
}

KMeansResult kmeans(const MatrixView& data, const KMeansParams& params, const StepCallback& between_steps) {
    if (params.k < 1) throw InvalidArgument("k-means needs k >= 1");
    if (data.rows == 0 || data.dim == 0)
        throw InvalidArgument("k-means needs at least one row of at least one dimension");
    if (params.max_iterations < 1) throw InvalidArgument("max_iterations must be at least 1");
    const int threads = std::max(1, params.threads);
    const int k = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(params.k), data.rows));
    const std::size_t dim = data.dim;
    SplitMix64 rng(params.seed);

    // Train on a seeded sample when the input is large.
    const std::size_t limit = params.max_training_points ? params.max_training_points
                                                         : std::max<std::size_t>(static_cast<std::size_t>(k) * 256, 1);
    std::vector<float> sample;
    MatrixView train = data;
    if (data.rows > limit) {
        std::vector<uint32_t> ids(data.rows);
        for (std::size_t i = 0; i < ids.size(); i++) ids[i] = static_cast<uint32_t>(i);
        for (std::size_t i = 0; i < limit; i++) std::swap(ids[i], ids[i + rng.next() % (data.rows - i)]);
        std::sort(ids.begin(), ids.begin() + static_cast<long>(limit));
        sample.resize(limit * dim);
        for (std::size_t i = 0; i < limit; i++)
            std::copy(data.row(ids[i]), data.row(ids[i]) + dim, sample.begin() + static_cast<long>(i * dim));
        train = MatrixView{sample.data(), limit, dim};
    }

    KMeansResult result;
    result.centroids = seed_plus_plus(train, k, params.metric, rng, threads);
    if (between_steps) between_steps();
    std::vector<uint32_t> assignment(train.rows);
    std::vector<float> costs(train.rows);
    double previous = std::numeric_limits<double>::max();
    for (int it = 0; it < params.max_iterations; it++) {
        const double objective = assign(train, result.centroids, k, params.metric, assignment, costs, threads);
        result.iterations = it + 1;
        update(train, k, params.metric, assignment, costs, result.centroids, result.sizes, threads);
        if (between_steps) between_steps();
        if (previous - objective <= params.tolerance * std::max(previous, 1e-30) && it > 0) break;
        previous = objective;
    }
    result.assignment.resize(data.rows);
    costs.resize(data.rows);
    result.objective = assign(data, result.centroids, k, params.metric, result.assignment, costs, threads);
    result.sizes.assign(static_cast<std::size_t>(k), 0);
    for (uint32_t a : result.assignment) result.sizes[a]++;
    return result;
}

}  // namespace vectordb
