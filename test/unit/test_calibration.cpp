// Unit tests for recall calibration: the collector's neighbours against brute
// force, the curve against what the Searcher really finds, reading a target
// back, and a calibration on an index's rows predicting held-out queries.
#include "core/calibration.h"
#include "core/dataset.h"
#include "core/distance.h"
#include "core/errors.h"
#include "core/index.h"
#include "core/random.h"
#include "core/search.h"
#include "test_data.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

namespace vectordb {
namespace {

// n points around `clusters` random centres (spread 0.4) in dim dimensions.
std::vector<float> clustered(std::size_t n, std::size_t dim, std::size_t clusters, uint64_t seed,
                             uint64_t centre_seed) {
    SplitMix64 centre_rng(centre_seed), rng(seed);
    std::vector<float> centres(clusters * dim);
    for (auto& x : centres) x = testing_data::standard_normal(centre_rng);
    std::vector<float> data(n * dim);
    for (std::size_t i = 0; i < n; i++) {
        const std::size_t c = rng.next() % clusters;
        for (std::size_t j = 0; j < dim; j++)
            data[i * dim + j] = centres[c * dim + j] + 0.4f * testing_data::standard_normal(rng);
    }
    return data;
}

CoreIndex build(const MatrixView& data, Metric metric, int max_leaf_size) {
    IndexParams p;
    p.tree.metric = metric;
    p.tree.max_leaf_size = max_leaf_size;
    p.tree.threads = 2;
    return CoreIndex::build(data, p);
}

const Metric kMetrics[] = {Metric::L2, Metric::InnerProduct, Metric::Cosine};

TEST(Calibration, CollectorFindsTheExactNeighboursOfEachQueryButItself) {
    const std::size_t n = 1500, dim = 12;
    const std::vector<float> data = clustered(n, dim, 20, 1, 2);
    const MatrixView view{data.data(), n, dim};
    for (const Metric metric : kMetrics) {
        const std::vector<std::size_t> rows = {0, 17, 700, 1499};
        std::vector<float> queries;
        std::vector<uint64_t> self;
        for (const std::size_t r : rows) {
            queries.insert(queries.end(), view.row(r), view.row(r) + dim);
            self.push_back(r);
        }
        const MatrixView qv{queries.data(), rows.size(), dim};
        NeighbourCollector collector(metric, qv, self, 10, 333, 2);
        // Uneven batches, each row's "leaf" its own id, so leaves name rows.
        std::vector<uint64_t> ids(n);
        std::vector<int32_t> leaves(n);
        for (std::size_t i = 0; i < n; i++) ids[i] = i, leaves[i] = static_cast<int32_t>(i);
        for (std::size_t first = 0; first < n; first += 333) {
            const std::size_t count = std::min<std::size_t>(333, n - first);
            collector.add(view.row(first), count, ids.data() + first, leaves.data() + first);
        }
        const std::vector<int32_t> truth = exact_knn(view, qv, 11, metric, 1);
        for (std::size_t q = 0; q < rows.size(); q++) {
            std::vector<int32_t> expected;
            for (std::size_t j = 0; j < 11 && expected.size() < 10; j++)
                if (truth[q * 11 + j] != static_cast<int32_t>(rows[q])) expected.push_back(truth[q * 11 + j]);
            EXPECT_EQ(collector.neighbour_leaves(q), expected)
                << "metric " << static_cast<int>(metric) << " query " << q;
            const std::vector<float> scores = collector.neighbour_scores(q);
            EXPECT_TRUE(std::is_sorted(scores.begin(), scores.end()));
        }
    }
}

TEST(Calibration, CollectorWithFewerRowsThanKKeepsWhatItWasShown) {
    const std::vector<float> rows = {0, 0, 1, 0, 0, 2};
    const std::vector<float> query = {0, 0};
    NeighbourCollector collector(Metric::L2, MatrixView{query.data(), 1, 2}, {NeighbourCollector::kNoSelf}, 10, 3, 1);
    const uint64_t ids[] = {5, 6, 7};
    const int32_t leaves[] = {0, 1, 2};
    collector.add(rows.data(), 3, ids, leaves);
    EXPECT_EQ(collector.neighbour_leaves(0), (std::vector<int32_t>{0, 1, 2}));
    EXPECT_EQ(collector.neighbour_scores(0), (std::vector<float>{0, 1, 4}));
    EXPECT_THROW(collector.add(rows.data(), 4, ids, leaves), InvalidArgument);
    EXPECT_THROW(NeighbourCollector(Metric::L2, MatrixView{query.data(), 1, 2}, {}, 10, 3, 1), InvalidArgument);
}

TEST(Calibration, CurvePredictsWhatTheSearcherFindsAtEachProbes) {
    // The curve replays the search's probe order; the search reranks its
    // probed leaves' rows exactly, so the two recalls agree (but for ties and
    // a bound failure now and then).
    const std::size_t n = 12000, dim = 24;
    const std::vector<float> data = clustered(n, dim, 60, 3, 4);
    const MatrixView view{data.data(), n, dim};
    for (const Metric metric : kMetrics) {
        const CoreIndex index = build(view, metric, 100);
        const std::vector<std::size_t> rows = sample_positions(n, 200, 9);
        std::vector<float> queries;
        std::vector<uint64_t> self(rows.begin(), rows.end());
        for (const std::size_t r : rows) queries.insert(queries.end(), view.row(r), view.row(r) + dim);
        const MatrixView qv{queries.data(), rows.size(), dim};
        NeighbourCollector collector(metric, qv, self, kCalibrationK, n, 2);
        std::vector<uint64_t> ids(n);
        std::vector<int32_t> leaf_of(n);
        for (std::size_t l = 0; l < index.leaves.size(); l++)
            for (const uint32_t id : index.leaves[l].ids) leaf_of[id] = static_cast<int32_t>(l);
        for (std::size_t i = 0; i < n; i++) ids[i] = i;
        collector.add(view.row(0), n, ids.data(), leaf_of.data());
        std::vector<std::vector<int32_t>> neighbour_leaves(rows.size());
        for (std::size_t q = 0; q < rows.size(); q++) neighbour_leaves[q] = collector.neighbour_leaves(q);
        std::vector<float> nav = queries;
        if (metric == Metric::Cosine)
            for (std::size_t q = 0; q < rows.size(); q++) normalize(nav.data() + q * dim, dim);
        const RecallCurve curve =
            measure_recall_curve(index.tree, MatrixView{nav.data(), rows.size(), dim}, neighbour_leaves);
        ASSERT_GE(curve.points.size(), 4u);
        EXPECT_EQ(curve.leaves, index.tree.live_leaves);
        EXPECT_EQ(curve.queries, rows.size());
        const std::vector<int32_t> truth = exact_knn(view, qv, kCalibrationK + 1, metric, 2);
        MatrixSource source(view);
        for (const RecallPoint& point : curve.points) {
            SearchParams sp;
            sp.k = kCalibrationK + 1;  // the query's own row comes back too
            sp.probes = point.probes;
            double sum = 0;
            for (std::size_t q = 0; q < rows.size(); q++) {
                std::set<int32_t> expected;
                for (std::size_t j = 0; j <= kCalibrationK && expected.size() < kCalibrationK; j++)
                    if (truth[q * (kCalibrationK + 1) + j] != static_cast<int32_t>(rows[q]))
                        expected.insert(truth[q * (kCalibrationK + 1) + j]);
                std::size_t found = 0;
                for (const Neighbor& nb : search(index, qv.row(q), sp, source))
                    found += expected.count(static_cast<int32_t>(nb.id));
                sum += static_cast<double>(found) / static_cast<double>(expected.size());
            }
            EXPECT_NEAR(point.recall, sum / static_cast<double>(rows.size()), 0.01)
                << "metric " << static_cast<int>(metric) << " probes " << point.probes;
        }
        for (std::size_t i = 1; i < curve.points.size(); i++) {
            EXPECT_GT(curve.points[i].probes, curve.points[i - 1].probes);
            EXPECT_GE(curve.points[i].recall, curve.points[i - 1].recall);
        }
    }
}

TEST(Calibration, ProbesForRecallInterpolatesAndScalesWithGrowth) {
    RecallCurve curve;
    curve.leaves = 100;
    curve.points = {{1, 0.5f}, {2, 0.7f}, {4, 0.9f}, {8, 0.99f}};
    EXPECT_DOUBLE_EQ(probes_for_recall(curve, 0.4, 100), 1.0);
    EXPECT_DOUBLE_EQ(probes_for_recall(curve, 0.5, 100), 1.0);
    EXPECT_NEAR(probes_for_recall(curve, 0.8, 100), 3.0, 1e-5);  // halfway between 2 and 4
    EXPECT_NEAR(probes_for_recall(curve, 0.95, 100), 4 + 4 * 0.05 / 0.09, 1e-5);
    EXPECT_NEAR(probes_for_recall(curve, 0.99, 100), 8.0, 1e-5);
    EXPECT_DOUBLE_EQ(probes_for_recall(curve, 0.995, 100), 100.0);  // above the curve: every leaf
    // Twice the leaves since the calibration: twice the probes, within the tree.
    EXPECT_NEAR(probes_for_recall(curve, 0.9, 200), 8.0, 1e-5);
    EXPECT_DOUBLE_EQ(probes_for_recall(curve, 0.99, 12), 1.0);
    EXPECT_DOUBLE_EQ(probes_for_recall(curve, 0.995, 12), 12.0);
    EXPECT_DOUBLE_EQ(probes_for_recall(RecallCurve{}, 0.9, 100), 0.0);
    EXPECT_DOUBLE_EQ(probes_for_recall(curve, 0.9, 0), 0.0);
}

TEST(Calibration, ProbesForQueryMixesTheTwoWholeNumbersInTheFractionsShare) {
    const std::size_t dim = 8;
    const std::vector<float> queries = testing_data::gaussian(4000 * dim, 5);
    std::size_t above = 0;
    for (std::size_t q = 0; q < 4000; q++) {
        const std::size_t p = probes_for_query(6.3, queries.data() + q * dim, dim);
        ASSERT_TRUE(p == 6 || p == 7);
        above += p == 7;
        EXPECT_EQ(probes_for_query(6.3, queries.data() + q * dim, dim), p);  // the same query, the same probes
        EXPECT_EQ(probes_for_query(6.0, queries.data() + q * dim, dim), 6u);
    }
    EXPECT_NEAR(static_cast<double>(above) / 4000, 0.3, 0.03);
}

TEST(Calibration, GridAndSamples) {
    EXPECT_EQ(calibration_grid(0), std::vector<std::size_t>{});
    EXPECT_EQ(calibration_grid(1), std::vector<std::size_t>{1});
    EXPECT_EQ(calibration_grid(9), (std::vector<std::size_t>{1, 2, 3, 4, 5, 6, 8, 9}));
    const std::vector<std::size_t> big = calibration_grid(20000);
    EXPECT_EQ(big.front(), 1u);
    EXPECT_EQ(big.back(), 20000u);
    EXPECT_TRUE(std::adjacent_find(big.begin(), big.end(), std::greater_equal<std::size_t>()) == big.end());
    EXPECT_LE(big.size(), 50u);

    const std::vector<std::size_t> s = sample_positions(100000, 400, 7);
    EXPECT_EQ(s.size(), 400u);
    EXPECT_TRUE(std::adjacent_find(s.begin(), s.end(), std::greater_equal<std::size_t>()) == s.end());
    EXPECT_LT(s.back(), 100000u);
    EXPECT_GT(s.back(), 90000u);  // spread over the whole range
    EXPECT_LT(s.front(), 10000u);
    EXPECT_EQ(sample_positions(100000, 400, 7), s);
    EXPECT_NE(sample_positions(100000, 400, 8), s);
    EXPECT_EQ(sample_positions(3, 400, 7), (std::vector<std::size_t>{0, 1, 2}));
}

TEST(Calibration, TargetsHoldOnQueriesTheCalibrationNeverSaw) {
    // Calibrated on the index's own rows; measured on other points of the
    // same distribution, against their exact neighbours.
    const std::size_t n = 30000, dim = 32, held_out = 500;
    const std::vector<float> data = clustered(n, dim, 150, 11, 12);
    const std::vector<float> queries = clustered(held_out, dim, 150, 13, 12);
    const MatrixView view{data.data(), n, dim}, qv{queries.data(), held_out, dim};
    for (const Metric metric : {Metric::L2, Metric::Cosine}) {
        const CoreIndex index = build(view, metric, 150);
        const RecallCurve curve = calibrate_in_memory(index, view, 42, 2);
        const std::vector<int32_t> truth = exact_knn(view, qv, kCalibrationK, metric, 2);
        MatrixSource source(view);
        for (const double target : {0.9, 0.95, 0.99}) {
            SearchParams sp;
            sp.k = kCalibrationK;
            const double probes = probes_for_recall(curve, target, index.tree.live_leaves);
            ASSERT_GE(probes, 1.0);
            std::vector<int32_t> result(held_out * kCalibrationK, -1);
            for (std::size_t q = 0; q < held_out; q++) {
                sp.probes = probes_for_query(probes, qv.row(q), dim);
                const std::vector<Neighbor> found = search(index, qv.row(q), sp, source);
                for (std::size_t j = 0; j < found.size(); j++)
                    result[q * kCalibrationK + j] = static_cast<int32_t>(found[j].id);
            }
            const double recall =
                recall_at_k(result.data(), truth.data(), held_out, kCalibrationK, kCalibrationK, kCalibrationK);
            EXPECT_NEAR(recall, target, 0.02) << "metric " << static_cast<int>(metric) << " probes " << probes;
        }
    }
}

}  // namespace
}  // namespace vectordb
