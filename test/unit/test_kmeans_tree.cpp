// Unit tests for k-means (kmeans.h) and the hierarchical tree (tree.h).
#include "core/distance.h"
#include "core/errors.h"
#include "core/kmeans.h"
#include "core/random.h"
#include "core/tree.h"
#include "test_data.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <set>
#include <stdexcept>
#include <vector>

// Bytes live and at their peak through the global operator new, for tests
// that bound a function's memory. Replaces the global allocation functions
// of this test binary; they only count and forward to malloc.
namespace allocation_counter {
std::atomic<std::size_t> live{0};
std::atomic<std::size_t> peak{0};
}  // namespace allocation_counter

namespace vectordb {
namespace {

// n points in `blobs` tight Gaussian blobs around well-separated centres; blob of row i is i % blobs.
std::vector<float> blobs(std::size_t n, std::size_t dim, std::size_t count, float spread, uint64_t seed) {
    SplitMix64 rng(seed);
    auto normal = [&rng]() { return testing_data::standard_normal(rng); };
    std::vector<float> centres(count * dim);
    for (auto& x : centres) x = 10.0f * normal();
    std::vector<float> data(n * dim);
    for (std::size_t i = 0; i < n; i++)
        for (std::size_t j = 0; j < dim; j++) data[i * dim + j] = centres[(i % count) * dim + j] + spread * normal();
    return data;
}

TEST(KMeans, RecoversSeparatedBlobs) {
    const std::size_t n = 4000, dim = 16;
    const auto data = blobs(n, dim, 8, 0.5f, 1);
    KMeansParams p;
    p.k = 8;
    p.threads = 2;
    const KMeansResult r = kmeans(MatrixView{data.data(), n, dim}, p);
    // Every blob maps to exactly one cluster and every cluster to one blob.
    std::vector<std::set<uint32_t>> clusters_of_blob(8);
    for (std::size_t i = 0; i < n; i++) clusters_of_blob[i % 8].insert(r.assignment[i]);
    std::set<uint32_t> used;
    for (const auto& s : clusters_of_blob) {
        EXPECT_EQ(s.size(), 1u);
        used.insert(*s.begin());
    }
    EXPECT_EQ(used.size(), 8u);
    EXPECT_EQ(std::accumulate(r.sizes.begin(), r.sizes.end(), 0u), n);
}

TEST(KMeans, MoreIterationsNeverWorsenTheObjective) {
    const std::size_t n = 3000, dim = 8;
    const auto data = blobs(n, dim, 30, 4.0f, 2);  // overlapping: iterations matter
    double previous = INFINITY;
    for (int iterations : {1, 2, 5, 20}) {
        KMeansParams p;
        p.k = 12;
        p.max_iterations = iterations;
        p.tolerance = 0;
        const double objective = kmeans(MatrixView{data.data(), n, dim}, p).objective;
        EXPECT_LE(objective, previous * (1 + 1e-6)) << iterations;
        previous = objective;
    }
}

TEST(KMeans, DeterministicAndThreadCountIndependent) {
    const std::size_t n = 5000, dim = 12;
    const auto data = blobs(n, dim, 20, 3.0f, 3);
    KMeansParams p;
    p.k = 10;
    p.seed = 77;
    p.threads = 1;
    const KMeansResult a = kmeans(MatrixView{data.data(), n, dim}, p);
    p.threads = 2;
    const KMeansResult b = kmeans(MatrixView{data.data(), n, dim}, p);
    EXPECT_EQ(a.centroids, b.centroids);
    EXPECT_EQ(a.assignment, b.assignment);
    p.seed = 78;
    EXPECT_NE(kmeans(MatrixView{data.data(), n, dim}, p).centroids, a.centroids);
}

// The update step's memory is K x dim sums, whatever the rows: at k = 16,
// 4,096 dimensions and 4,096 rows, partial sums per block of 256 rows would
// take 8 MiB, 0.5 MiB per block (and, allocated inside the parallel region, a
// failure there would terminate the server; at k = 256 and 1,536 dimensions
// they took 800 MB). Measured by the peak of bytes allocated through
// operator new (counted for this whole test binary, see below).
TEST(KMeans, UpdateMemoryDoesNotGrowWithTheRows) {
    const std::size_t n = 4096, dim = 4096;
    std::vector<float> data(n * dim);
    SplitMix64 rng(11);
    for (float& x : data) x = static_cast<float>(rng.next() % 1000) / 1000.0f;
    KMeansParams p;
    p.k = 16;
    p.max_iterations = 2;
    p.max_training_points = n;
    p.threads = 2;
    const std::size_t before = ::allocation_counter::live.load();
    allocation_counter::peak.store(before);
    const KMeansResult r = kmeans(MatrixView{data.data(), n, dim}, p);
    const std::size_t grown = allocation_counter::peak.load() - before;
    // Centroids, assignment, costs and the sums: well under 2 MiB here.
    EXPECT_LT(grown, std::size_t{2} << 20) << "k-means allocated " << grown << " bytes at its peak";
    EXPECT_EQ(r.sizes.size(), 16u);
}

TEST(KMeans, NoEmptyClusterWhileDistinctPointsRemain) {
    // 6 distinct points, heavily duplicated: k = 6 must use all of them.
    const std::size_t dim = 3;
    std::vector<float> data;
    for (int rep = 0; rep < 50; rep++)
        for (int p = 0; p < 6; p++)
            for (std::size_t j = 0; j < dim; j++) data.push_back(static_cast<float>(p * 10 + (rep % 2 ? 0 : 0)));
    KMeansParams kp;
    kp.k = 6;
    const KMeansResult r = kmeans(MatrixView{data.data(), data.size() / dim, dim}, kp);
    for (uint32_t s : r.sizes) EXPECT_EQ(s, 50u);
}

TEST(KMeans, TrainsOnASampleButAssignsEveryRow) {
    const std::size_t n = 20000, dim = 8;
    const auto data = blobs(n, dim, 5, 0.3f, 4);
    KMeansParams p;
    p.k = 5;
    p.max_training_points = 500;
    const KMeansResult r = kmeans(MatrixView{data.data(), n, dim}, p);
    ASSERT_EQ(r.assignment.size(), n);
    for (std::size_t i = 0; i < n; i++)
        EXPECT_EQ(r.assignment[i], nearest_centroid(r.centroids.data(), 5, dim, data.data() + i * dim, Metric::L2));
}

TEST(KMeans, SphericalCentroidsAreUnitVectors) {
    const std::size_t n = 2000, dim = 10;
    auto data = blobs(n, dim, 6, 1.0f, 5);
    for (std::size_t i = 0; i < n; i++) {
        const float norm = std::sqrt(squared_norm(data.data() + i * dim, dim));
        for (std::size_t j = 0; j < dim; j++) data[i * dim + j] /= norm;
    }
    for (Metric m : {Metric::Cosine, Metric::InnerProduct}) {
        KMeansParams p;
        p.k = 6;
        p.metric = m;
        const KMeansResult r = kmeans(MatrixView{data.data(), n, dim}, p);
        for (std::size_t c = 0; c < 6; c++) EXPECT_NEAR(squared_norm(r.centroids.data() + c * dim, dim), 1.0f, 1e-4);
    }
}

TEST(KMeans, NearestCentroidMatchesBruteForce) {
    const auto cents = blobs(7, 5, 7, 0.0f, 6);
    const auto points = blobs(100, 5, 3, 20.0f, 7);
    for (std::size_t i = 0; i < 100; i++) {
        const float* v = points.data() + i * 5;
        std::size_t best = 0;
        for (std::size_t c = 1; c < 7; c++)
            if (l2_squared_distance(cents.data() + c * 5, v, 5) < l2_squared_distance(cents.data() + best * 5, v, 5))
                best = c;
        EXPECT_EQ(nearest_centroid(cents.data(), 7, 5, v, Metric::L2), best);
    }
}

TEST(KMeans, InvalidParametersThrow) {
    const std::vector<float> data(10, 1.0f);
    KMeansParams p;
    p.k = 0;
    EXPECT_THROW(kmeans(MatrixView{data.data(), 5, 2}, p), InvalidArgument);
    p.k = 2;
    EXPECT_THROW(kmeans(MatrixView{data.data(), 0, 2}, p), InvalidArgument);
    p.max_iterations = 0;
    EXPECT_THROW(kmeans(MatrixView{data.data(), 5, 2}, p), InvalidArgument);
}

// ---- tree ------------------------------------------------------------------

struct TreeFixture {
    std::size_t n = 6000, dim = 16;
    std::vector<float> data = blobs(n, dim, 40, 3.0f, 11);
    MatrixView view() const { return {data.data(), n, dim}; }
};

TreeParams small_tree(int refine = 3) {
    TreeParams p;
    p.branching_factor = 4;
    p.max_leaf_size = 200;
    p.threads = 2;
    p.refine_iterations = refine;
    return p;
}

TEST(Tree, StructureIsConsistent) {
    TreeFixture f;
    const Tree t = build_tree(f.view(), small_tree());
    // The permutation holds every row once and the leaves tile it in order.
    std::vector<uint32_t> sorted = t.permutation;
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t i = 0; i < f.n; i++) ASSERT_EQ(sorted[i], i);
    uint32_t next = 0;
    for (const TreeLeaf& leaf : t.leaves) {
        EXPECT_EQ(leaf.begin, next);
        next += leaf.count;
        EXPECT_EQ(t.nodes[static_cast<std::size_t>(leaf.node)].size, leaf.count);
    }
    EXPECT_EQ(next, f.n);
    // Children are contiguous, point back to their parent, and sizes add up.
    EXPECT_EQ(t.nodes[0].size, f.n);
    for (std::size_t i = 0; i < t.nodes.size(); i++) {
        const TreeNode& node = t.nodes[i];
        if (node.leaf >= 0) {
            EXPECT_EQ(t.leaves[static_cast<std::size_t>(node.leaf)].node, static_cast<int32_t>(i));
            continue;
        }
        ASSERT_GE(node.child_count, 2);
        uint32_t sum = 0;
        for (int32_t c = node.first_child; c < node.first_child + node.child_count; c++) {
            EXPECT_EQ(t.nodes[static_cast<std::size_t>(c)].parent, static_cast<int32_t>(i));
            EXPECT_EQ(t.nodes[static_cast<std::size_t>(c)].depth, node.depth + 1);
            sum += t.nodes[static_cast<std::size_t>(c)].size;
        }
        EXPECT_EQ(sum, node.size);
    }
    const TreeStats s = t.stats();
    EXPECT_EQ(s.leaves, t.leaves.size());
    EXPECT_EQ(s.nodes, t.nodes.size());
    EXPECT_NEAR(s.avg_leaf_size, double(f.n) / s.leaves, 1e-9);
    EXPECT_LE(s.min_leaf_size, s.avg_leaf_size);
    EXPECT_GE(s.max_leaf_size, s.avg_leaf_size);
}

TEST(Tree, EveryRowLiesWithinTheRadiusOfEachAncestor) {
    TreeFixture f;
    const Tree t = build_tree(f.view(), small_tree());
    for (const TreeLeaf& leaf : t.leaves) {
        for (uint32_t i = leaf.begin; i < leaf.begin + leaf.count; i++) {
            const float* v = f.data.data() + t.permutation[i] * f.dim;
            for (int32_t node = leaf.node; node >= 0; node = t.nodes[static_cast<std::size_t>(node)].parent) {
                const float d = std::sqrt(l2_squared_distance(t.centroid(static_cast<std::size_t>(node)), v, f.dim));
                ASSERT_LE(d, t.radius[static_cast<std::size_t>(node)] * (1 + 1e-5f) + 1e-4f);
            }
        }
    }
}

TEST(Tree, LeavesRespectMaxLeafSizeBeforeRefinement) {
    TreeFixture f;
    const Tree t = build_tree(f.view(), small_tree(0));
    for (const TreeLeaf& leaf : t.leaves) EXPECT_LE(leaf.count, 200u);
    EXPECT_GE(t.leaves.size(), f.n / 200);
}

TEST(Tree, RefinementMovesRowsToTheirNearestLeaf) {
    TreeFixture f;
    TreeParams p = small_tree(10);
    const Tree t = build_tree(f.view(), p);
    // After enough passes (near convergence) most rows sit in the leaf whose centroid is nearest.
    std::vector<float> cents;
    for (const TreeLeaf& leaf : t.leaves) {
        const float* c = t.centroid(static_cast<std::size_t>(leaf.node));
        cents.insert(cents.end(), c, c + f.dim);
    }
    std::size_t agree = 0;
    for (std::size_t l = 0; l < t.leaves.size(); l++)
        for (uint32_t i = t.leaves[l].begin; i < t.leaves[l].begin + t.leaves[l].count; i++)
            agree += nearest_centroid(cents.data(), t.leaves.size(), f.dim, f.data.data() + t.permutation[i] * f.dim,
                                      Metric::L2) == l;
    EXPECT_GE(double(agree) / f.n, 0.97);
}

TEST(Tree, RouteUsuallyFindsARowsOwnLeaf) {
    TreeFixture f;
    const Tree t = build_tree(f.view(), small_tree(0));
    std::vector<int32_t> leaf_of(f.n);
    for (std::size_t l = 0; l < t.leaves.size(); l++)
        for (uint32_t i = t.leaves[l].begin; i < t.leaves[l].begin + t.leaves[l].count; i++)
            leaf_of[t.permutation[i]] = static_cast<int32_t>(l);
    std::size_t same = 0;
    for (std::size_t i = 0; i < f.n; i++) same += t.route(f.data.data() + i * f.dim) == leaf_of[i];
    EXPECT_GE(double(same) / f.n, 0.9);
}

TEST(Tree, IdenticalRowsTerminateInOneLeaf) {
    const std::vector<float> data(5000 * 4, 1.5f);
    const Tree t = build_tree(MatrixView{data.data(), 5000, 4}, small_tree());
    EXPECT_EQ(t.leaves.size(), 1u);
    EXPECT_EQ(t.leaves[0].count, 5000u);
}

TEST(Tree, DeterministicAndThreadCountIndependent) {
    TreeFixture f;
    TreeParams p = small_tree();
    p.threads = 1;
    const Tree a = build_tree(f.view(), p);
    p.threads = 2;
    const Tree b = build_tree(f.view(), p);
    EXPECT_EQ(a.permutation, b.permutation);
    EXPECT_EQ(a.centroids, b.centroids);
    p.seed = 999;
    EXPECT_NE(build_tree(f.view(), p).permutation, a.permutation);
}

TEST(Tree, CallbackCanCancelTheBuild) {
    TreeFixture f;
    int calls = 0;
    EXPECT_THROW(build_tree(f.view(), small_tree(),
                            [&calls]() {
                                if (++calls == 5) throw std::runtime_error("cancelled");
                            }),
                 std::runtime_error);
    EXPECT_EQ(calls, 5);
}

TEST(Tree, InvalidParametersThrow) {
    TreeFixture f;
    TreeParams p = small_tree();
    p.branching_factor = 1;
    EXPECT_THROW(build_tree(f.view(), p), InvalidArgument);
    p = small_tree();
    p.max_leaf_size = 0;
    EXPECT_THROW(build_tree(f.view(), p), InvalidArgument);
    p = small_tree();
    p.max_iterations = 0;
    EXPECT_THROW(build_tree(f.view(), p), InvalidArgument);
}

// A tree of many small leaves over `data` (20,000 x 16): big enough for the
// beam descent to be used.
Tree many_leaves(const std::vector<float>& data, Metric metric) {
    TreeParams p;
    p.branching_factor = 8;
    p.max_leaf_size = 40;
    p.threads = 2;
    p.metric = metric;
    return build_tree(MatrixView{data.data(), data.size() / 16, 16}, p);
}

// The beam descent finds the nearest leaf centroid almost always, and always
// when the beam is wide enough to see every leaf.
TEST(Tree, NearestLeafByBeamAgreesWithEveryLeaf) {
    for (Metric metric : {Metric::L2, Metric::InnerProduct}) {
        const std::size_t n = 20000, dim = 16;
        const std::vector<float> data = blobs(n, dim, 50, 4.0f, 12);
        const Tree tree = many_leaves(data, metric);
        ASSERT_GT(tree.leaves.size(), 8u * 8u * static_cast<std::size_t>(tree.stats().depth))
            << "the tree must be large enough for the beam to be used";
        auto exhaustive = [&](const float* v) {
            int32_t best = -1;
            float best_score = std::numeric_limits<float>::infinity();
            for (std::size_t l = 0; l < tree.leaves.size(); l++) {
                const float* c = tree.centroid(static_cast<std::size_t>(tree.leaves[l].node));
                const float s =
                    metric == Metric::InnerProduct ? -inner_product(c, v, dim) : l2_squared_distance(c, v, dim);
                if (s < best_score) {
                    best_score = s;
                    best = static_cast<int32_t>(l);
                }
            }
            return best;
        };
        std::size_t agree = 0, checked = 0;
        for (std::size_t i = 0; i < n; i += 20, checked++) {
            const float* v = data.data() + i * dim;
            agree += tree.nearest_leaf(v, 8) == exhaustive(v);
            ASSERT_EQ(tree.nearest_leaf(v, tree.leaves.size()), exhaustive(v)) << "row " << i;
        }
        EXPECT_GE(static_cast<double>(agree) / checked, 0.95)
            << agree << " of " << checked << " over " << tree.leaves.size() << " leaves, metric "
            << static_cast<int>(metric);
    }
}

// A search orders the leaves it reached only a block at a time: ordering
// them block by block must give the full ordering (score, then node), with
// ties, for the whole-tree and the cut beam alike.
TEST(Tree, ReachedLeavesOrderedByBlocksMatchTheFullOrder) {
    const std::size_t n = 20000, dim = 16;
    const std::vector<float> data = blobs(n, dim, 50, 4.0f, 12);
    const Tree tree = many_leaves(data, Metric::L2);
    for (std::size_t beam : {std::size_t{8}, tree.nodes.size()}) {
        for (std::size_t i = 0; i < n; i += 997) {
            const float* v = data.data() + i * dim;
            std::vector<ReachedLeaf> full, blocks;
            std::size_t scored = 0;
            tree.beam_leaves(v, beam, &full, &scored);
            for (std::size_t block : {std::size_t{1}, std::size_t{3}, std::size_t{8}}) {
                tree.beam_leaves(v, beam, &blocks, &scored, block);
                ASSERT_EQ(blocks.size(), full.size());
                for (std::size_t from = block; from < blocks.size(); from += block) order_reached(&blocks, from, block);
                for (std::size_t j = 0; j < full.size(); j++) {
                    ASSERT_EQ(blocks[j].node, full[j].node)
                        << "beam " << beam << ", block " << block << ", place " << j;
                    if (j > 0) {
                        ASSERT_LE(full[j - 1].score, full[j].score);
                    }
                }
            }
        }
    }
    // Equal scores go by node number.
    std::vector<ReachedLeaf> tied{{1.0f, 7}, {1.0f, 3}, {0.5f, 9}, {1.0f, 5}};
    order_reached(&tied, 0, 2);
    EXPECT_EQ(tied[0].node, 9);
    EXPECT_EQ(tied[1].node, 3);
    order_reached(&tied, 2, 2);
    EXPECT_EQ(tied[2].node, 5);
    EXPECT_EQ(tied[3].node, 7);
}

// Removed leaves (VACUUM retires an empty leaf: its node stays, internal and
// childless) are never routed to, even when they fill a beam's every path.
TEST(Tree, NearestLeafPassesOverRemovedLeaves) {
    const std::size_t n = 20000, dim = 16;
    const std::vector<float> data = blobs(n, dim, 50, 4.0f, 13);
    Tree tree = many_leaves(data, Metric::L2);
    ASSERT_GT(tree.leaves.size(), 8u * 8u * static_cast<std::size_t>(tree.stats().depth));
    // Keep only every other leaf below the root's last child: rows elsewhere
    // find every nearby path of the beam ending in removed leaves.
    std::vector<bool> removed(tree.leaves.size(), false);
    const int32_t last_child = tree.nodes[0].first_child + tree.nodes[0].child_count - 1;
    auto below_last_child = [&](int32_t node) {
        for (; node > 0; node = tree.nodes[static_cast<std::size_t>(node)].parent)
            if (node == last_child) return true;
        return false;
    };
    for (std::size_t l = 0; l < tree.leaves.size(); l++) {
        const int32_t node = tree.leaves[l].node;
        if (below_last_child(node) && l % 2 == 1) continue;
        TreeNode& tn = tree.nodes[static_cast<std::size_t>(node)];
        tn.leaf = -1;
        tn.child_count = 0;
        removed[l] = true;
    }
    auto exhaustive = [&](const float* v) {
        int32_t best = -1;
        float best_score = std::numeric_limits<float>::infinity();
        for (std::size_t l = 0; l < tree.leaves.size(); l++) {
            if (removed[l]) continue;
            const float s = l2_squared_distance(tree.centroid(static_cast<std::size_t>(tree.leaves[l].node)), v, dim);
            if (s < best_score) {
                best_score = s;
                best = static_cast<int32_t>(l);
            }
        }
        return best;
    };
    for (std::size_t i = 0; i < n; i += 50) {
        const float* v = data.data() + i * dim;
        const int32_t got = tree.nearest_leaf(v, 8);
        ASSERT_GE(got, 0) << "row " << i;
        ASSERT_FALSE(removed[static_cast<std::size_t>(got)]) << "row " << i << " routed to removed leaf " << got;
        ASSERT_EQ(tree.nearest_leaf(v, tree.leaves.size()), exhaustive(v)) << "row " << i;
    }
}

// The one rule by which the build cuts a node and growth splits a leaf.
TEST(Tree, SplitChildrenAreJustEnoughForLeavesOfMaxLeafSize) {
    EXPECT_EQ(split_children(501, 10, 500), 2);  // a leaf just past the limit is halved
    EXPECT_EQ(split_children(1000, 10, 500), 2);
    EXPECT_EQ(split_children(1001, 10, 500), 3);
    EXPECT_EQ(split_children(4999, 10, 500), 10);
    EXPECT_EQ(split_children(1000000, 10, 500), 10);  // high in the tree: branching_factor
    EXPECT_EQ(split_children(3, 10, 500), 2);         // never fewer than two
    EXPECT_EQ(split_children(1000000, 2, 500), 2);
}

// Leaves hold about half to all of max_leaf_size rows, so a tree that grew
// leaf by leaf and a rebuilt one have about as many leaves.
TEST(Tree, BuiltLeavesHoldHalfToAllOfMaxLeafSize) {
    TreeFixture f;
    TreeParams p = small_tree(0);
    p.branching_factor = 10;  // cutting every node into 10 would leave leaves of 60 rows
    const Tree t = build_tree(f.view(), p);
    const TreeStats s = t.stats();
    EXPECT_LE(s.max_leaf_size, 200u);
    EXPECT_GE(s.avg_leaf_size, 0.45 * 200) << s.leaves << " leaves";
}

// A tree grown by splits below splits is far deeper than a balanced one over
// its leaves; a per-level beam would decide at every level, so such a tree is
// looked at whole. A balanced tree of the same fan-out keeps its beam.
Tree shaped_tree(int spine, int bush, std::size_t dim = 1) {
    // A node is a spine of length d (children: the rest of the spine and a
    // complete binary bush) or a bush of height h; nodes are laid out
    // breadth first, so that each node's children are contiguous.
    struct Shape {
        bool spine;
        int size;
    };
    Tree t;
    t.dim = dim;
    std::vector<Shape> shapes{{spine > 0, spine > 0 ? spine : bush}};
    t.nodes.push_back({-1, -1, 0, -1, 0, 0});
    for (std::size_t i = 0; i < t.nodes.size(); i++) {
        const Shape sh = shapes[i];
        std::vector<Shape> kids;
        if (sh.size > 0) {
            kids.push_back({sh.spine, sh.size - 1});
            kids.push_back({false, sh.spine ? bush : sh.size - 1});
        }
        if (kids.empty()) {
            t.nodes[i].leaf = static_cast<int32_t>(t.leaves.size());
            t.leaves.push_back({static_cast<int32_t>(i), 0, 0});
            continue;
        }
        t.nodes[i].first_child = static_cast<int32_t>(t.nodes.size());
        t.nodes[i].child_count = static_cast<int32_t>(kids.size());
        for (const Shape& k : kids) {
            t.nodes.push_back({static_cast<int32_t>(i), -1, 0, -1, t.nodes[i].depth + 1, 0});
            shapes.push_back(k);
        }
    }
    // dim 1: all centroids at 0; more: leaf centroids uniform in the unit
    // cube, radii up to 0.1, each internal node at the mean of its leaves
    // with a radius holding their balls (as a build leaves them).
    t.centroids.assign(t.nodes.size() * dim, 0.0f);
    t.radius.assign(t.nodes.size(), 0.0f);
    SplitMix64 rng(7);
    for (std::size_t i = 0; dim > 1 && i < t.nodes.size(); i++) {
        if (t.nodes[i].leaf < 0) continue;
        for (std::size_t j = 0; j < dim; j++) t.centroids[i * dim + j] = static_cast<float>(rng.uniform());
        t.radius[i] = static_cast<float>(0.1 * rng.uniform());
        t.nodes[i].size = 100;
    }
    for (std::size_t i = t.nodes.size(); dim > 1 && i-- > 0;) {
        TreeNode& n = t.nodes[i];
        if (n.leaf >= 0) continue;
        for (int32_t c = n.first_child; c < n.first_child + n.child_count; c++) n.size += t.nodes[c].size;
        for (std::size_t j = 0; j < dim; j++) {
            double sum = 0;
            for (int32_t c = n.first_child; c < n.first_child + n.child_count; c++)
                sum += double(t.nodes[c].size) * t.centroids[c * dim + j];
            t.centroids[i * dim + j] = static_cast<float>(sum / n.size);
        }
        for (int32_t c = n.first_child; c < n.first_child + n.child_count; c++)
            t.radius[i] =
                std::max(t.radius[i], std::sqrt(l2_squared_distance(t.centroid(i), t.centroid(c), dim)) + t.radius[c]);
    }
    t.note_shape();
    return t;
}

// Centroids kept elsewhere (a tree image every backend maps): the tree reads
// them there, routes and searches as with its own, copies them back before a
// change, and a reshape leaves it with centroids of its own.
TEST(Tree, SharedCentroidsServeLikeOwnOnesUntilOwned) {
    const std::size_t n = 20000, dim = 16;
    const std::vector<float> data = blobs(n, dim, 50, 4.0f, 12);
    const Tree own = many_leaves(data, Metric::L2);
    Tree shared = own;
    const std::vector<float> elsewhere = own.centroids;
    shared.centroids.clear();
    shared.shared_centroids = elsewhere.data();
    for (std::size_t node = 0; node < own.nodes.size(); node += 7)
        ASSERT_EQ(shared.centroid(node), elsewhere.data() + node * dim);
    for (std::size_t i = 0; i < n; i += 499) {
        const float* v = data.data() + i * dim;
        ASSERT_EQ(shared.nearest_leaf(v, 8), own.nearest_leaf(v, 8)) << "row " << i;
    }
    shared.own_centroids();
    EXPECT_EQ(shared.shared_centroids, nullptr);
    EXPECT_EQ(shared.centroids, own.centroids);
    shared.own_centroids();  // nothing left to copy
    EXPECT_EQ(shared.centroids, own.centroids);

    Tree deep = shaped_tree(30, 5, 4);
    const std::vector<float> deep_elsewhere = deep.centroids;
    const std::vector<ShapedNode> plan = plan_upper_levels(deep, 10, 3);
    deep.centroids.clear();
    deep.shared_centroids = deep_elsewhere.data();
    apply_upper_levels(deep, plan);
    EXPECT_EQ(deep.shared_centroids, nullptr);
    EXPECT_EQ(deep.centroids.size(), deep.nodes.size() * 4);
}

// Rebuilding the internal levels of a far-too-deep tree: every live leaf
// reachable once, the depth a build's, every leaf's ball inside each new
// ancestor's, routing as exact as before; a plan that does not fit is refused
// and leaves the tree as it was.
TEST(Tree, UpperLevelsRebuiltOverTheLiveLeaves) {
    const std::size_t dim = 4;
    Tree tree = shaped_tree(30, 5, dim);
    ASSERT_TRUE(tree.far_too_deep());
    const std::size_t leaves = tree.live_leaves;
    const std::vector<ShapedNode> plan = plan_upper_levels(tree, 10, 3);
    Tree bad = tree;
    std::vector<ShapedNode> twice = plan;
    for (ShapedNode& n : twice)
        if (n.leaf >= 0) n.leaf = twice.back().leaf;
    EXPECT_THROW(apply_upper_levels(bad, twice), DataError);
    EXPECT_EQ(bad.nodes.size(), tree.nodes.size());
    EXPECT_EQ(bad.nodes[0].first_child, tree.nodes[0].first_child);

    apply_upper_levels(tree, plan);
    EXPECT_EQ(tree.nodes.size(), plan.size() + 2) << "the root, the plan, one node for removed leaves";
    EXPECT_EQ(tree.live_leaves, leaves);
    EXPECT_FALSE(tree.far_too_deep()) << "depth " << tree.depth;
    EXPECT_LE(tree.depth, 5);  // 960 leaves, 10 a node
    std::vector<int> reached(tree.leaves.size(), 0);
    std::vector<int32_t> stack{0};
    while (!stack.empty()) {
        const TreeNode n = tree.nodes[static_cast<std::size_t>(stack.back())];
        stack.pop_back();
        if (n.leaf >= 0) reached[static_cast<std::size_t>(n.leaf)]++;
        for (int32_t c = n.first_child; c < n.first_child + n.child_count; c++) stack.push_back(c);
    }
    for (std::size_t l = 0; l < tree.leaves.size(); l++) {
        ASSERT_EQ(reached[l], 1) << "leaf " << l;
        const auto node = static_cast<std::size_t>(tree.leaves[l].node);
        for (int32_t a = tree.nodes[node].parent; a >= 0; a = tree.nodes[static_cast<std::size_t>(a)].parent)
            ASSERT_LE(
                std::sqrt(l2_squared_distance(tree.centroid(static_cast<std::size_t>(a)), tree.centroid(node), dim)) +
                    tree.radius[node],
                tree.radius[static_cast<std::size_t>(a)] * (1 + 1e-5f) + 1e-5f)
                << "leaf " << l << " outside ancestor " << a;
    }
    // The beam now finds the nearest leaf about as well as on a built tree.
    SplitMix64 rng(9);
    std::size_t agree = 0;
    const std::size_t trials = 500;
    for (std::size_t i = 0; i < trials; i++) {
        float v[dim];
        for (float& x : v) x = static_cast<float>(rng.uniform());
        agree += tree.nearest_leaf(v, 8) == tree.nearest_leaf(v, tree.nodes.size());
    }
    EXPECT_GE(static_cast<double>(agree) / trials, 0.9);
}

// Leaves piled in nested specks (each scale holding a tenth of what is left
// and nine tenths inside the next, half its size): k-means on their centroids
// keeps most in one group at every level, which would nest the new levels as
// deep as there are scales; the plan cuts such a group evenly instead.
TEST(Tree, UpperLevelsStayShallowOverUnevenLeaves) {
    const std::size_t dim = 4;
    Tree tree = shaped_tree(30, 5, dim);
    SplitMix64 rng(5);
    for (std::size_t l = 0; l < tree.leaves.size(); l++) {
        float* c = tree.centroids.data() + static_cast<std::size_t>(tree.leaves[l].node) * dim;
        int scale = 0;
        while (scale < 30 && rng.uniform() < 0.9) scale++;
        const float spread = std::ldexp(1.0f, -scale);
        for (std::size_t j = 0; j < dim; j++) c[j] = spread * static_cast<float>(rng.uniform());
    }
    ASSERT_TRUE(tree.far_too_deep());
    apply_upper_levels(tree, plan_upper_levels(tree, 10, 3));
    EXPECT_FALSE(tree.far_too_deep()) << "depth " << tree.depth;
    EXPECT_LE(tree.depth, 6);
}

TEST(Tree, FarTooDeepATreeIsLookedAtWhole) {
    const Tree grown = shaped_tree(30, 5);  // 30 levels of spine, a 32-leaf bush at each
    ASSERT_GT(grown.leaves.size(), 8 * grown.widest * static_cast<std::size_t>(grown.depth))
        << "a beam of 8 must score fewer nodes than the tree has leaves";
    EXPECT_EQ(grown.live_leaves, grown.leaves.size());
    EXPECT_EQ(grown.effective_beam(8), grown.nodes.size());
    const Tree balanced = shaped_tree(0, 10);  // 1,024 leaves, 11 levels
    ASSERT_GT(balanced.nodes.size(), 8 * balanced.widest * static_cast<std::size_t>(balanced.depth));
    EXPECT_EQ(balanced.effective_beam(8), 8u);
}

}  // namespace
}  // namespace vectordb

// Each block carries its size in front, so that delete can count it back.
void* operator new(std::size_t bytes) {
    void* p = std::malloc(bytes + 16);
    if (p == nullptr) throw std::bad_alloc();
    *static_cast<std::size_t*>(p) = bytes;
    const std::size_t now = allocation_counter::live.fetch_add(bytes) + bytes;
    std::size_t seen = allocation_counter::peak.load();
    while (now > seen && !allocation_counter::peak.compare_exchange_weak(seen, now)) {
    }
    return static_cast<char*>(p) + 16;
}

void operator delete(void* p) noexcept {
    if (p == nullptr) return;
    char* block = static_cast<char*>(p) - 16;
    allocation_counter::live.fetch_sub(*reinterpret_cast<std::size_t*>(block));
    std::free(block);
}

void operator delete(void* p, std::size_t) noexcept { operator delete(p); }
