// Unit tests for index building and search: a brute-force cross-check when
// every leaf is probed, resumption, recall, the bound-driven rerank, errors.
#include "core/distance.h"
#include "core/errors.h"
#include "core/index.h"
#include "core/random.h"
#include "core/search.h"
#include "test_data.h"

#include <gtest/gtest.h>

#include <cstring>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <stdexcept>
#include <vector>

namespace vectordb {
namespace {

// n points around `clusters` random centres in dim dimensions.
std::vector<float> clustered(std::size_t n, std::size_t dim, std::size_t clusters, uint64_t seed) {
    SplitMix64 rng(seed);
    auto normal = [&rng]() { return testing_data::standard_normal(rng); };
    std::vector<float> centres(clusters * dim);
    for (auto& x : centres) x = normal();
    std::vector<float> data(n * dim);
    for (std::size_t i = 0; i < n; i++) {
        const std::size_t c = rng.next() % clusters;
        for (std::size_t j = 0; j < dim; j++) data[i * dim + j] = centres[c * dim + j] + 0.4f * normal();
    }
    return data;
}

double exact_score(Metric m, const float* v, const float* q, std::size_t dim) {
    switch (m) {
        case Metric::L2:
            return std::sqrt(double(l2_squared_distance(v, q, dim)));
        case Metric::InnerProduct:
            return -double(inner_product(v, q, dim));
        case Metric::Cosine:
            return cosine_distance(v, q, dim);
    }
    return 0;
}

// Brute-force top-k ids (ties by id).
std::vector<uint32_t> brute_force(Metric m, const std::vector<float>& data, std::size_t dim, const float* q,
                                  std::size_t k) {
    const std::size_t n = data.size() / dim;
    std::vector<std::pair<double, uint32_t>> all;
    for (std::size_t i = 0; i < n; i++) all.push_back({exact_score(m, data.data() + i * dim, q, dim), uint32_t(i)});
    std::sort(all.begin(), all.end());
    std::vector<uint32_t> ids;
    for (std::size_t i = 0; i < k && i < n; i++) ids.push_back(all[i].second);
    return ids;
}

struct Fixture {
    std::size_t dim = 64, n = 3000;
    std::vector<float> data = clustered(n, dim, 20, 1);
    std::vector<float> queries = clustered(30, dim, 20, 1 /* same centres */);
    MatrixView view() const { return {data.data(), n, dim}; }
};

// An index over `data` (rows of dim floats): branching 4, leaves of at most `leaf`.
CoreIndex build(const MatrixView& data, Metric metric, QuantizerKind kind, int leaf = 100) {
    IndexParams p;
    p.tree.branching_factor = 4;
    p.tree.max_leaf_size = leaf;
    p.tree.metric = metric;
    p.tree.threads = 2;
    p.quantizer = kind;
    return CoreIndex::build(data, p);
}

CoreIndex build(const Fixture& f, Metric metric, QuantizerKind kind, int leaf = 100) {
    return build(f.view(), metric, kind, leaf);
}

class SearchAllMetrics : public ::testing::TestWithParam<std::tuple<Metric, QuantizerKind>> {};

TEST_P(SearchAllMetrics, ProbingEveryLeafEqualsBruteForce) {
    const auto [metric, kind] = GetParam();
    Fixture f;
    const CoreIndex index = build(f, metric, kind);
    ASSERT_EQ(index.size(), f.n);
    MatrixSource source(f.view());
    SearchParams sp;
    sp.k = 10;
    sp.probes = index.leaves.size();
    sp.rerank_factor = f.n;  // rerank everything: the result must be exact
    sp.epsilon = 1e9f;       // an unbounded epsilon disables bound-driven pruning
    for (std::size_t qi = 0; qi < 30; qi++) {
        const float* q = f.queries.data() + qi * f.dim;
        const auto found = search(index, q, sp, source);
        const auto want = brute_force(metric, f.data, f.dim, q, sp.k);
        ASSERT_EQ(found.size(), want.size());
        for (std::size_t i = 0; i < want.size(); i++) {
            EXPECT_NEAR(found[i].distance, exact_score(metric, f.data.data() + want[i] * f.dim, q, f.dim), 1e-4)
                << "query " << qi << " rank " << i;
        }
        std::vector<uint32_t> got;
        for (const auto& nb : found) got.push_back(nb.id);
        EXPECT_EQ(got, want) << "query " << qi;
    }
}

INSTANTIATE_TEST_SUITE_P(Metrics, SearchAllMetrics,
                         ::testing::Combine(::testing::Values(Metric::L2, Metric::InnerProduct, Metric::Cosine),
                                            ::testing::Values(QuantizerKind::RaBitQ, QuantizerKind::Hamming)));

// Routing a new vector: the beam's leaf, coded against that leaf's centroid
// exactly as the build coded the rows it put there.
TEST(Search, RouteAndEncodeGivesTheBeamLeafAndItsCode) {
    Fixture f;
    const CoreIndex index = build(f, Metric::L2, QuantizerKind::RaBitQ);
    const std::size_t words = index.quantizer.words();
    std::vector<uint64_t> code(words), expected(words);
    for (std::size_t i = 0; i < f.n; i += 97) {
        const float* v = f.data.data() + i * f.dim;
        CodeFactors factors, expected_factors;
        const int32_t leaf = route_and_encode(index.tree, index.quantizer, v, code.data(), &factors);
        ASSERT_EQ(leaf, index.tree.nearest_leaf(v, kRouteBeam));
        const float* centroid = index.tree.centroid(static_cast<std::size_t>(index.tree.leaves[leaf].node));
        index.quantizer.encode(v, centroid, expected.data(), &expected_factors);
        ASSERT_EQ(code, expected) << "row " << i;
        ASSERT_EQ(std::memcmp(&factors, &expected_factors, sizeof factors), 0) << "row " << i;
    }
}

// Routing in batches on several threads gives each row what routing it
// alone gives, and radii covering every routed row as tightly as the serial
// walk up each row's path does; a batch that does not fill the router, and
// more threads than a batch has rows, change nothing.
TEST(Search, BatchRoutingEqualsRoutingRowByRow) {
    Fixture f;
    for (Metric metric : {Metric::L2, Metric::InnerProduct, Metric::Cosine}) {
        const CoreIndex index = build(f, metric, QuantizerKind::RaBitQ);
        const std::size_t words = index.quantizer.words();
        std::vector<float> serial_radius(index.tree.nodes.size(), 0.0f);
        std::vector<PathDistance> path;
        std::vector<uint64_t> code(words);
        std::vector<float> x(f.dim);
        for (std::size_t i = 0; i < f.n; i++) {
            std::copy(f.data.begin() + static_cast<long>(i * f.dim),
                      f.data.begin() + static_cast<long>((i + 1) * f.dim), x.begin());
            if (metric == Metric::Cosine) normalize(x.data(), f.dim);
            CodeFactors factors;
            const int32_t leaf = route_and_encode(index.tree, index.quantizer, x.data(), code.data(), &factors);
            index.tree.path_distances(static_cast<std::size_t>(leaf), x.data(), &path);
            for (const PathDistance& p : path) serial_radius[p.node] = std::max(serial_radius[p.node], p.distance);
        }
        for (int threads : {1, 3}) {
            BatchRouter router(index.tree, index.quantizer, 37, threads);
            std::vector<float> radius(index.tree.nodes.size(), 0.0f);
            for (std::size_t start = 0; start < f.n; start += router.capacity()) {
                const std::size_t n = std::min(router.capacity(), f.n - start);
                router.route(f.data.data() + start * f.dim, n);
                for (std::size_t i = 0; i < n; i++) {
                    std::copy(f.data.begin() + static_cast<long>((start + i) * f.dim),
                              f.data.begin() + static_cast<long>((start + i + 1) * f.dim), x.begin());
                    if (metric == Metric::Cosine) normalize(x.data(), f.dim);
                    CodeFactors factors;
                    const int32_t leaf = route_and_encode(index.tree, index.quantizer, x.data(), code.data(), &factors);
                    ASSERT_EQ(router.leaf(i), static_cast<std::size_t>(leaf)) << "row " << start + i;
                    ASSERT_TRUE(std::equal(code.begin(), code.end(), router.code(i))) << "row " << start + i;
                    ASSERT_EQ(std::memcmp(&factors, &router.factors(i), sizeof factors), 0) << "row " << start + i;
                }
            }
            router.cover(&radius);
            for (std::size_t node = 0; node < radius.size(); node++)
                ASSERT_FLOAT_EQ(radius[node], serial_radius[node]) << "node " << node << ", " << threads << " threads";
        }
        BatchRouter router(index.tree, index.quantizer, 4, 1);
        EXPECT_THROW(router.route(f.data.data(), 5), InvalidArgument);
    }
}

TEST(Search, GoodRecallWithFewProbes) {
    Fixture f;
    for (QuantizerKind kind : {QuantizerKind::RaBitQ, QuantizerKind::Hamming}) {
        const CoreIndex index = build(f, Metric::L2, kind);
        MatrixSource source(f.view());
        SearchParams sp;
        sp.k = 10;
        sp.probes = 8;  // about a fifth of the leaves
        // hamming orders candidates more coarsely, so it needs a larger rerank budget.
        sp.rerank_factor = kind == QuantizerKind::RaBitQ ? 10 : 30;
        double hits = 0;
        for (std::size_t qi = 0; qi < 30; qi++) {
            const float* q = f.queries.data() + qi * f.dim;
            const auto want = brute_force(Metric::L2, f.data, f.dim, q, 10);
            for (const auto& nb : search(index, q, sp, source)) hits += std::count(want.begin(), want.end(), nb.id);
        }
        EXPECT_GE(hits / 300.0, 0.9) << quantizer_name(kind) << " over " << index.leaves.size() << " leaves";
    }
}

TEST(Search, RabitqBoundsSaveReranks) {
    // 256 dimensions: enough for the bounds to be tight (at 64 they certify
    // only after most probed candidates are reranked).
    const std::size_t n = 3000, dim = 256;
    const std::vector<float> data = clustered(n, dim, 20, 3);
    const std::vector<float> queries = clustered(30, dim, 20, 3);
    const CoreIndex index = build(MatrixView{data.data(), n, dim}, Metric::L2, QuantizerKind::RaBitQ);
    MatrixSource source(MatrixView{data.data(), n, dim});
    SearchParams sp;
    sp.k = 10;
    sp.probes = 8;
    double reranked = 0, scanned = 0;
    for (std::size_t qi = 0; qi < 30; qi++) {
        SearchStats st;
        search(index, queries.data() + qi * dim, sp, source, &st);
        reranked += st.reranked;
        scanned += st.codes_scanned;
    }
    // Certified by the bounds long before every probed candidate is reranked
    // (on synth-768 ~60 of ~5,900 scanned).
    EXPECT_LT(reranked, 0.5 * scanned) << reranked / 30 << " of " << scanned / 30 << " per query";
}

// Every row a search returns, however far past k and whatever the rerank
// budget, is no nearer than the row before it.
void expect_distance_order(Metric metric, QuantizerKind kind, std::size_t dim, std::size_t rerank_factor) {
    const std::size_t n = 3000;
    const std::vector<float> data = clustered(n, dim, 20, 5);
    const std::vector<float> queries = clustered(20, dim, 20, 5);
    const CoreIndex index = build(MatrixView{data.data(), n, dim}, metric, kind);
    MatrixSource source(MatrixView{data.data(), n, dim});
    SearchParams sp;
    sp.k = 10;
    sp.probes = 8;
    sp.rerank_factor = rerank_factor;
    sp.widen = false;
    for (std::size_t qi = 0; qi < 20; qi++) {
        Searcher s(index, queries.data() + qi * dim, sp, source);
        Neighbor nb;
        float last = -std::numeric_limits<float>::infinity();
        for (std::size_t rank = 0; rank < 1000 && s.next(&nb); rank++) {
            ASSERT_GE(nb.distance, last) << quantizer_name(kind) << " dim " << dim << " query " << qi << " rank "
                                         << rank;
            last = nb.distance;
        }
    }
}

TEST(Search, RowsComeInDistanceOrderPastTheRerankBudget) {
    for (QuantizerKind kind : {QuantizerKind::RaBitQ, QuantizerKind::Hamming})
        for (Metric metric : {Metric::L2, Metric::InnerProduct, Metric::Cosine})
            for (std::size_t dim : {8, 128}) expect_distance_order(metric, kind, dim, 1);
}

// Every leaf probed: the exact scan's distances, for any rerank factor, even
// where codes of a few dimensions say almost nothing.
TEST(Search, EveryLeafProbedIsExactAtAnyRerankFactor) {
    for (std::size_t dim : {1, 3, 8, 100})
        for (Metric metric : {Metric::L2, Metric::InnerProduct, Metric::Cosine}) {
            const std::size_t n = 2000;
            const std::vector<float> data = clustered(n, dim, 10, 9);
            const std::vector<float> queries = clustered(10, dim, 10, 9);
            const CoreIndex index = build(MatrixView{data.data(), n, dim}, metric, QuantizerKind::RaBitQ, 50);
            MatrixSource source(MatrixView{data.data(), n, dim});
            SearchParams sp;
            sp.k = 20;
            sp.probes = index.leaves.size();
            sp.rerank_factor = 1;
            for (std::size_t qi = 0; qi < 10; qi++) {
                const float* q = queries.data() + qi * dim;
                const auto found = search(index, q, sp, source);
                const auto want = brute_force(metric, data, dim, q, sp.k);
                ASSERT_EQ(found.size(), want.size());
                for (std::size_t i = 0; i < want.size(); i++)
                    EXPECT_NEAR(found[i].distance, exact_score(metric, data.data() + want[i] * dim, q, dim), 1e-4)
                        << "dim " << dim << " metric " << static_cast<int>(metric) << " query " << qi << " rank " << i;
            }
        }
}

// The first rerank batch comes from the front kept while scanning when the
// budget is small, from a selection over the whole pool when it is large:
// both give the exact scan's order.
TEST(Search, SmallAndLargeRerankBudgetsGiveTheExactOrder) {
    const std::size_t n = 6000, dim = 16;
    const std::vector<float> data = clustered(n, dim, 20, 13);
    const std::vector<float> queries = clustered(5, dim, 20, 13);
    const CoreIndex index = build(MatrixView{data.data(), n, dim}, Metric::L2, QuantizerKind::RaBitQ, 100);
    MatrixSource source(MatrixView{data.data(), n, dim});
    for (std::size_t rerank_factor : {1, 50}) {  // budgets 60 and 3,000
        SearchParams sp;
        sp.k = 60;
        sp.probes = index.leaves.size();
        sp.rerank_factor = rerank_factor;
        for (std::size_t qi = 0; qi < 5; qi++) {
            const float* q = queries.data() + qi * dim;
            const auto found = search(index, q, sp, source);
            const auto want = brute_force(Metric::L2, data, dim, q, sp.k);
            ASSERT_EQ(found.size(), want.size());
            for (std::size_t i = 0; i < want.size(); i++)
                EXPECT_NEAR(found[i].distance, exact_score(Metric::L2, data.data() + want[i] * dim, q, dim), 1e-4)
                    << "rerank_factor " << rerank_factor << " query " << qi << " rank " << i;
        }
    }
}

// Reading every row of a pool of 20,000 candidates passes through many rerank
// selections, each choosing among the best candidates a pass over the pool
// set aside; with strict order from one probe, leaves are probed (and their
// candidates join the pool) while such a set is in use. Both give the exact
// scan's order, row for row.
TEST(Search, EveryRowOfALargePoolComesInExactOrder) {
    const std::size_t n = 20000, dim = 8;
    const std::vector<float> data = clustered(n, dim, 30, 21);
    const std::vector<float> queries = clustered(2, dim, 30, 21);
    const CoreIndex index = build(MatrixView{data.data(), n, dim}, Metric::L2, QuantizerKind::RaBitQ, 200);
    MatrixSource source(MatrixView{data.data(), n, dim});
    for (bool strict : {false, true})
        for (std::size_t qi = 0; qi < 2; qi++) {
            const float* q = queries.data() + qi * dim;
            std::vector<double> want;
            for (std::size_t i = 0; i < n; i++) want.push_back(exact_score(Metric::L2, data.data() + i * dim, q, dim));
            std::sort(want.begin(), want.end());
            SearchParams sp;
            sp.k = 10;
            sp.rerank_factor = 1;
            sp.probes = strict ? 1 : index.leaves.size();
            sp.strict_order = strict;
            Searcher s(index, q, sp, source);
            Neighbor nb;
            std::set<uint32_t> seen;
            std::size_t rank = 0;
            while (s.next(&nb)) {
                ASSERT_LT(rank, n);
                ASSERT_TRUE(seen.insert(nb.id).second) << "id returned twice: " << nb.id;
                ASSERT_NEAR(nb.distance, want[rank], 1e-4)
                    << (strict ? "strict, " : "") << "query " << qi << " rank " << rank;
                rank++;
            }
            EXPECT_EQ(rank, n);
        }
}

// Leaves whose entries are all deleted (skipped) do not use up probes: after
// mass deletes, a search without widening still reaches live rows.
TEST(Search, EmptyLeavesDoNotUseUpProbes) {
    const std::size_t n = 3000, dim = 16;
    const std::vector<float> data = clustered(n, dim, 20, 17);
    const CoreIndex index = build(MatrixView{data.data(), n, dim}, Metric::L2, QuantizerKind::RaBitQ, 50);
    ASSERT_GT(index.leaves.size(), 20u);
    MemoryLeafCodes all(index);
    // Every leaf but the last holds only deleted entries.
    struct OneLiveLeaf : LeafCodeSource {
        LeafCodeSource* inner;
        std::size_t live;
        std::vector<uint32_t> skipped;
        void scan_leaf(std::size_t leaf, const ChunkVisitor& visit) override {
            inner->scan_leaf(leaf, [&](const CodeChunk& c) {
                if (leaf == live) return visit(c);
                skipped.assign(c.count, kSkipId);
                CodeChunk dead = c;
                dead.ids = skipped.data();
                visit(dead);
            });
        }
    } codes;
    codes.inner = &all;
    const float* q = data.data();
    // The live leaf: the one whose centroid is farthest from the query, the last a search would probe.
    float farthest = -1;
    for (std::size_t l = 0; l < index.leaves.size(); l++) {
        const float d =
            l2_squared_distance(index.tree.centroid(static_cast<std::size_t>(index.tree.leaves[l].node)), q, dim);
        if (d > farthest) farthest = d, codes.live = l;
    }
    IndexView view;
    view.metric = index.metric;
    view.dim = index.dim;
    view.tree = &index.tree;
    view.quantizer = &index.quantizer;
    view.rotated_centroids = index.rotated_centroids.data();
    view.codes = &codes;
    MatrixSource source(MatrixView{data.data(), n, dim});
    SearchParams sp;
    sp.k = 5;
    sp.probes = 2;
    sp.widen = false;
    Searcher s(view, q, sp, source);
    std::size_t found = 0;
    Neighbor nb;
    while (found < sp.k && s.next(&nb)) found++;
    EXPECT_EQ(found, sp.k) << "rows of the one live leaf (" << index.leaves[codes.live].ids.size() << " rows)";
}

// Leaves of a row or two (what deletes leave): probing goes past `probes`
// leaves until there are k candidates, widening or not.
TEST(Search, TinyLeavesStillGiveKCandidates) {
    const std::size_t n = 400, dim = 8;
    const std::vector<float> data = clustered(n, dim, 20, 19);
    const CoreIndex index = build(MatrixView{data.data(), n, dim}, Metric::L2, QuantizerKind::RaBitQ, 2);
    ASSERT_GT(index.leaves.size(), 100u);
    MatrixSource source(MatrixView{data.data(), n, dim});
    SearchParams sp;
    sp.k = 10;
    sp.probes = 1;
    sp.widen = false;
    for (std::size_t qi = 0; qi < 5; qi++) {
        Searcher s(index, data.data() + qi * 50 * dim, sp, source);
        std::size_t found = 0;
        Neighbor nb;
        while (found < sp.k && s.next(&nb)) found++;
        EXPECT_EQ(found, sp.k) << "query " << qi;
    }
}

TEST(Search, ResumesUntilEveryVectorIsReturnedOnce) {
    Fixture f;
    for (QuantizerKind kind : {QuantizerKind::RaBitQ, QuantizerKind::Hamming}) {
        const CoreIndex index = build(f, Metric::L2, kind);
        MatrixSource source(f.view());
        SearchParams sp;
        sp.k = 5;
        sp.probes = 2;
        sp.rerank_factor = 3;
        const float* q = f.queries.data();
        Searcher s(index, q, sp, source);
        std::set<uint32_t> seen;
        Neighbor nb;
        std::size_t count = 0;
        while (s.next(&nb)) {
            EXPECT_TRUE(seen.insert(nb.id).second) << "id returned twice: " << nb.id;
            count++;
        }
        EXPECT_EQ(count, f.n);
        EXPECT_EQ(s.stats().leaves_probed, index.leaves.size());
        // The first k of a resumed search are the plain search's results.
        const auto first = search(index, q, sp, source);
        Searcher again(index, q, sp, source);
        for (const auto& want : first) {
            ASSERT_TRUE(again.next(&nb));
            EXPECT_EQ(nb.id, want.id);
        }
    }
}

TEST(Search, ResultsComeInDistanceOrderWithinARound) {
    Fixture f;
    const CoreIndex index = build(f, Metric::L2, QuantizerKind::RaBitQ);
    MatrixSource source(f.view());
    SearchParams sp;
    sp.k = 20;
    sp.probes = 3;
    sp.rerank_factor = 4;
    const auto found = search(index, f.queries.data() + f.dim, sp, source);
    ASSERT_EQ(found.size(), 20u);
    for (std::size_t i = 1; i < found.size(); i++) EXPECT_LE(found[i - 1].distance, found[i].distance);
}

// strict order: with no scan limit every row is certified against the
// subtrees not probed yet too, so even one probe gives an exact scan's order,
// however many rows are read (a WHERE clause reading far past LIMIT).
TEST(Search, StrictOrderWithoutLimitIsExactFromOneProbe) {
    for (QuantizerKind kind : {QuantizerKind::RaBitQ, QuantizerKind::Hamming})
        for (std::size_t dim : {1, 3, 8, 100})
            for (Metric metric : {Metric::L2, Metric::InnerProduct, Metric::Cosine}) {
                const std::size_t n = 2000;
                const std::vector<float> data = clustered(n, dim, 10, 21);
                const std::vector<float> queries = clustered(5, dim, 12, 22);
                const CoreIndex index = build(MatrixView{data.data(), n, dim}, metric, kind, 50);
                MatrixSource source(MatrixView{data.data(), n, dim});
                SearchParams sp;
                sp.k = 10;
                sp.probes = 1;
                sp.rerank_factor = 2;
                sp.strict_order = true;
                for (std::size_t qi = 0; qi < 5; qi++) {
                    const float* q = queries.data() + qi * dim;
                    const auto want = brute_force(metric, data, dim, q, 300);
                    Searcher s(index, q, sp, source);
                    Neighbor nb;
                    for (std::size_t i = 0; i < want.size(); i++) {
                        ASSERT_TRUE(s.next(&nb));
                        ASSERT_NEAR(nb.distance, exact_score(metric, data.data() + want[i] * dim, q, dim), 1e-4)
                            << "dim " << dim << " metric " << static_cast<int>(metric) << " kind "
                            << static_cast<int>(kind) << " query " << qi << " rank " << i;
                    }
                }
            }
}

// The descent's cost does not grow with the tree: a beam descent scores at
// most beam x branching x depth centroids, here a small part of a tree of
// ~1,000 leaves. And what it finds is what an inverted file over every leaf
// would probe first: the leaf of nearest centroid is among those probed. The
// rows a search returns when it may not widen are those of the leaves it probed.
TEST(Search, BeamDescentScoresFewNodesAndFindsTheNearestLeaf) {
    for (Metric metric : {Metric::L2, Metric::InnerProduct, Metric::Cosine}) {
        const std::size_t n = 20000, dim = 16;
        const std::vector<float> data = clustered(n, dim, 60, 31);
        const std::vector<float> queries = clustered(20, dim, 60, 31);
        const CoreIndex index = build(MatrixView{data.data(), n, dim}, metric, QuantizerKind::RaBitQ, 20);
        const TreeStats ts = index.tree.stats();
        ASSERT_GT(ts.leaves, 500u);
        MatrixSource source(MatrixView{data.data(), n, dim});
        SearchParams sp;
        sp.k = 10;  // fewer than 4 leaves hold: probing stops at 4
        sp.probes = 4;
        sp.widen = false;
        const std::size_t beam = std::max(kRouteBeam, 2 * sp.probes);
        const std::size_t most = 1 + beam * 4 /* branching */ * static_cast<std::size_t>(ts.depth);
        ASSERT_LT(most, ts.nodes / 2);
        std::size_t found_nearest = 0;
        for (std::size_t qi = 0; qi < 20; qi++) {
            const float* q = queries.data() + qi * dim;
            std::vector<float> nav(q, q + dim);
            if (metric == Metric::Cosine) normalize(nav.data(), dim);
            std::size_t nearest = 0;
            float best = std::numeric_limits<float>::infinity();
            for (std::size_t l = 0; l < index.tree.leaves.size(); l++) {
                const float* c = index.tree.centroid(static_cast<std::size_t>(index.tree.leaves[l].node));
                const float score = metric == Metric::InnerProduct ? -inner_product(c, nav.data(), dim)
                                                                   : l2_squared_distance(c, nav.data(), dim);
                if (score < best) best = score, nearest = l;
            }
            SearchStats st;
            const auto got = search(index, q, sp, source, &st);
            EXPECT_EQ(st.leaves_probed, sp.probes);
            EXPECT_LE(st.nodes_scored, most) << "metric " << static_cast<int>(metric) << " query " << qi;
            const std::vector<uint32_t>& ids = index.leaves[nearest].ids;
            found_nearest += std::any_of(got.begin(), got.end(), [&](const Neighbor& nb) {
                return std::find(ids.begin(), ids.end(), nb.id) != ids.end();
            });
        }
        EXPECT_GE(found_nearest, 18u) << "metric " << static_cast<int>(metric);
    }
}

// strict order under a scan limit: rows stay in order and none repeats, and
// nothing is dropped: every row comes out once the limit stops the widening.
TEST(Search, StrictOrderUnderAScanLimitStaysInOrder) {
    Fixture f;
    for (Metric metric : {Metric::L2, Metric::InnerProduct, Metric::Cosine}) {
        const CoreIndex index = build(f, metric, QuantizerKind::RaBitQ);
        MatrixSource source(f.view());
        SearchParams sp;
        sp.k = 10;
        sp.probes = 1;
        sp.strict_order = true;
        sp.max_scan_codes = 400;
        for (std::size_t qi = 0; qi < 10; qi++) {
            Searcher s(index, f.queries.data() + qi * f.dim, sp, source);
            std::set<uint32_t> seen;
            Neighbor nb;
            float last = -std::numeric_limits<float>::infinity();
            while (s.next(&nb)) {
                EXPECT_GE(nb.distance, last) << "metric " << static_cast<int>(metric) << " query " << qi;
                last = nb.distance;
                EXPECT_TRUE(seen.insert(nb.id).second);
            }
            EXPECT_EQ(seen.size(), s.stats().codes_scanned);
            EXPECT_LT(s.stats().codes_scanned, f.n);
        }
    }
}

TEST(Search, InvalidParametersThrow) {
    Fixture f;
    const CoreIndex index = build(f, Metric::L2, QuantizerKind::RaBitQ);
    MatrixSource source(f.view());
    SearchParams sp;
    sp.k = 0;
    EXPECT_THROW(search(index, f.queries.data(), sp, source), InvalidArgument);
    sp.k = 1;
    sp.probes = 0;
    EXPECT_THROW(search(index, f.queries.data(), sp, source), InvalidArgument);
}

TEST(Index, BuildCanBeCancelledFromTheCallback) {
    Fixture f;
    IndexParams p;
    p.tree.max_leaf_size = 100;
    int calls = 0;
    EXPECT_THROW(CoreIndex::build(f.view(), p,
                                  [&calls]() {
                                      if (++calls == 3) throw std::runtime_error("cancelled");
                                  }),
                 std::runtime_error);
    EXPECT_EQ(calls, 3);
}

TEST(Index, MemoryIsMostlyCodes) {
    Fixture f;
    const CoreIndex index = build(f, Metric::L2, QuantizerKind::RaBitQ);
    // 64 dims -> one 64-bit word of code + 16 bytes of scalars + a 4-byte id per vector.
    EXPECT_GE(index.memory_bytes(), f.n * (8 + 16 + 4));
    EXPECT_LT(index.memory_bytes(), f.n * f.dim * sizeof(float));
}

}  // namespace
}  // namespace vectordb
