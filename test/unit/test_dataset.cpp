// Unit tests of the benchmark dataset tools (src/core/dataset.h): the synth
// generator's determinism and statistics, .fvecs/.ivecs round trips and
// rejection of malformed files, exact k-NN against a naive double-precision
// brute force, and recall@k on hand-made inputs.
#include "core/dataset.h"

#include "core/errors.h"
#include "core/random.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

namespace vectordb {
namespace {

// ---- helpers --------------------------------------------------------------------

// A small synth configuration for fast tests.
SynthParams small_params(int threads = 1) {
    SynthParams p;
    p.base_rows = 2000;
    p.query_rows = 100;
    p.dim = 64;
    p.clusters = 16;
    p.local_dim = 16;
    p.seed = 7;
    p.threads = threads;
    return p;
}

// FNV-1a/64 over the bytes of a float array.
uint64_t fnv1a(const std::vector<float>& v) {
    uint64_t h = 0xcbf29ce484222325ull;
    const unsigned char* bytes = reinterpret_cast<const unsigned char*>(v.data());
    for (std::size_t i = 0; i < v.size() * sizeof(float); ++i) {
        h ^= bytes[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

// Squared L2 distance in double.
double l2_double(const float* a, const float* b, std::size_t d) {
    double s = 0;
    for (std::size_t j = 0; j < d; ++j) {
        const double t = double(a[j]) - double(b[j]);
        s += t * t;
    }
    return s;
}

// Harmonic number H_n.
double harmonic(std::size_t n) {
    double h = 0;
    for (std::size_t i = 1; i <= n; ++i) h += 1.0 / double(i);
    return h;
}

// ---- Dataset ----------------------------------------------------------------------

TEST(Dataset, ViewsDescribeTheVectors) {
    Dataset ds;
    EXPECT_EQ(ds.base_rows(), 0u);
    EXPECT_EQ(ds.query_rows(), 0u);
    ds.dim = 3;
    ds.base.assign(12, 1.0f);
    ds.queries.assign(6, 2.0f);
    EXPECT_EQ(ds.base_rows(), 4u);
    EXPECT_EQ(ds.query_rows(), 2u);
    const MatrixView b = ds.base_view(), q = ds.query_view();
    EXPECT_EQ(b.data, ds.base.data());
    EXPECT_EQ(b.rows, 4u);
    EXPECT_EQ(b.dim, 3u);
    EXPECT_EQ(q.data, ds.queries.data());
    EXPECT_EQ(q.rows, 2u);
    EXPECT_EQ(q.dim, 3u);
}

// ---- synth generator --------------------------------------------------------------

TEST(Synth, ShapeMatchesParams) {
    const Dataset ds = generate_synth(small_params());
    EXPECT_EQ(ds.dim, 64u);
    EXPECT_EQ(ds.base_rows(), 2000u);
    EXPECT_EQ(ds.query_rows(), 100u);
    for (float x : ds.base) ASSERT_TRUE(std::isfinite(x));
    for (float x : ds.queries) ASSERT_TRUE(std::isfinite(x));
}

TEST(Synth, SameSeedGivesIdenticalBytes) {
    const Dataset a = generate_synth(small_params());
    const Dataset b = generate_synth(small_params());
    ASSERT_EQ(a.base.size(), b.base.size());
    EXPECT_EQ(0, std::memcmp(a.base.data(), b.base.data(), a.base.size() * sizeof(float)));
    EXPECT_EQ(0, std::memcmp(a.queries.data(), b.queries.data(), a.queries.size() * sizeof(float)));
}

TEST(Synth, ThreadCountDoesNotChangeOutput) {
    const Dataset a = generate_synth(small_params(1));
    for (int threads : {2, 3}) {
        const Dataset b = generate_synth(small_params(threads));
        EXPECT_EQ(0, std::memcmp(a.base.data(), b.base.data(), a.base.size() * sizeof(float))) << threads << " threads";
        EXPECT_EQ(0, std::memcmp(a.queries.data(), b.queries.data(), a.queries.size() * sizeof(float)))
            << threads << " threads";
    }
}

TEST(Synth, DifferentSeedDiffers) {
    SynthParams p = small_params();
    const Dataset a = generate_synth(p);
    p.seed = 8;
    const Dataset b = generate_synth(p);
    std::size_t equal = 0;
    for (std::size_t i = 0; i < a.base.size(); ++i) equal += a.base[i] == b.base[i];
    EXPECT_LT(equal, a.base.size() / 1000);
}

TEST(Synth, PrefixIsStableWhenMoreRowsAreRequested) {
    // Every point has its own stream, so asking for more rows keeps the first ones.
    SynthParams p = small_params();
    const Dataset a = generate_synth(p);
    p.base_rows = 3000;
    const Dataset b = generate_synth(p);
    EXPECT_EQ(0, std::memcmp(a.base.data(), b.base.data(), a.base.size() * sizeof(float)));
}

TEST(Synth, OutputIsPinned) {
    // Benchmarks across the project rely on these exact bytes: a change in the
    // stream derivation, draw order or samplers must be deliberate.
    SynthParams p;
    p.base_rows = 50;
    p.query_rows = 5;
    p.dim = 16;
    p.clusters = 4;
    p.local_dim = 4;
    p.seed = 20241;
    const Dataset ds = generate_synth(p);
    EXPECT_EQ(fnv1a(ds.base), 0x1e37978c5306b810ull) << std::hex << fnv1a(ds.base);
    EXPECT_EQ(fnv1a(ds.queries), 0xc931e6b66d7c9b0full) << std::hex << fnv1a(ds.queries);
}

TEST(Synth, RejectsBadParams) {
    SynthParams p = small_params();
    p.threads = 0;
    EXPECT_THROW(generate_synth(p), InvalidArgument);
    p = small_params();
    p.dim = 0;
    EXPECT_THROW(generate_synth(p), InvalidArgument);
    p = small_params();
    p.clusters = 0;
    EXPECT_THROW(generate_synth(p), InvalidArgument);
    p = small_params();
    p.local_dim = 0;
    EXPECT_THROW(generate_synth(p), InvalidArgument);
    p = small_params();
    p.base_rows = std::size_t(1) << 62;
    EXPECT_THROW(generate_synth(p), InvalidArgument);
}

// The statistics config of the brief: 20,000 points, d = 128, 64 clusters.
class SynthStats : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        SynthParams p;
        p.base_rows = 20000;
        p.query_rows = 200;
        p.dim = 128;
        p.clusters = 64;
        p.local_dim = 64;
        p.seed = 12345;
        p.threads = 2;
        ds_ = new Dataset(generate_synth(p));
    }
    static void TearDownTestSuite() {
        delete ds_;
        ds_ = nullptr;
    }
    static Dataset* ds_;
};
Dataset* SynthStats::ds_ = nullptr;

TEST_F(SynthStats, CoordinatesHaveMeanNearZero) {
    const std::size_t n = ds_->base_rows(), d = ds_->dim;
    std::vector<double> mean(d, 0.0);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < d; ++j) mean[j] += ds_->base[i * d + j];
    double overall = 0;
    for (double& m : mean) {
        m /= double(n);
        overall += m / double(d);
        // A coordinate's mean is a weighted mean of 64 centre coordinates of std
        // 0.6/sqrt(128) ~ 0.053: its std is under 0.01.
        EXPECT_LT(std::fabs(m), 0.05);
    }
    EXPECT_LT(std::fabs(overall), 0.005);
}

TEST_F(SynthStats, AverageSquaredNormMatchesTheSpec) {
    // E||x||^2 = E||centre||^2 + sum_i s_i^2 E||B_i||^2 + E||e||^2
    //          = 0.36 + 0.16 * H_64 + 0.09   (each row of B has E||B_i||^2 = 1)
    const double expected = 0.36 + 0.16 * harmonic(64) + 0.09;
    EXPECT_NEAR(expected, 1.209, 0.001);
    for (const std::vector<float>* set : {&ds_->base, &ds_->queries}) {
        const std::size_t n = set->size() / ds_->dim;
        double sum = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const float* x = set->data() + i * ds_->dim;
            for (std::size_t j = 0; j < ds_->dim; ++j) sum += double(x[j]) * x[j];
        }
        EXPECT_NEAR(sum / double(n), expected, 0.04 * expected);
    }
}

TEST_F(SynthStats, NearestNeighbourIsMuchCloserThanARandomPair) {
    // Locally low-dimensional data: a point's nearest neighbour (inside its own
    // 64-dim, fast-decaying cluster) is far closer than a random other point.
    const std::size_t n = ds_->base_rows(), d = ds_->dim;
    const std::size_t probes = 200;
    MatrixView probe{ds_->base.data(), probes, d};
    const std::vector<int32_t> nn = exact_knn(ds_->base_view(), probe, 2, Metric::L2, 2);
    SplitMix64 rng(3);
    double nn_sum = 0, random_sum = 0;
    for (std::size_t i = 0; i < probes; ++i) {
        ASSERT_EQ(nn[i * 2], int32_t(i));  // a point is its own nearest neighbour
        nn_sum += l2_double(ds_->base.data() + i * d, ds_->base.data() + std::size_t(nn[i * 2 + 1]) * d, d);
        const std::size_t j = std::size_t(rng.next() % n);
        random_sum += l2_double(ds_->base.data() + i * d, ds_->base.data() + j * d, d);
    }
    EXPECT_LT(nn_sum, 0.4 * random_sum) << "nn " << nn_sum / probes << " random " << random_sum / probes;
}

TEST_F(SynthStats, QueriesAreNotCopiesOfBasePoints) {
    const std::vector<int32_t> nn = exact_knn(ds_->base_view(), ds_->query_view(), 1, Metric::L2, 2);
    for (std::size_t q = 0; q < ds_->query_rows(); ++q) {
        const double dist =
            l2_double(ds_->queries.data() + q * ds_->dim, ds_->base.data() + std::size_t(nn[q]) * ds_->dim, ds_->dim);
        // The noise alone puts two independent draws ~2 * 0.09 apart.
        EXPECT_GT(dist, 0.05) << "query " << q;
    }
}

TEST(Synth, SingleClusterHasTheSpecifiedCentreAndSpread) {
    // With one cluster the sample mean estimates the centre (E||c||^2 = 0.36)
    // and the spread around it is sum_i s_i^2 + 0.09 = 0.16 H_L + 0.09.
    SynthParams p;
    p.base_rows = 20000;
    p.query_rows = 0;
    p.dim = 512;
    p.clusters = 1;
    p.local_dim = 64;
    p.seed = 99;
    p.threads = 2;
    const Dataset ds = generate_synth(p);
    const std::size_t n = ds.base_rows(), d = ds.dim;
    std::vector<double> mean(d, 0.0);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < d; ++j) mean[j] += ds.base[i * d + j] / double(n);
    double centre_sq = 0;
    for (double m : mean) centre_sq += m * m;
    double spread = 0;
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < d; ++j) {
            const double t = ds.base[i * d + j] - mean[j];
            spread += t * t / double(n);
        }
    EXPECT_NEAR(centre_sq, 0.36, 0.36 * 0.15);
    const double expected_spread = 0.16 * harmonic(64) + 0.09;
    EXPECT_NEAR(spread, expected_spread, expected_spread * 0.08);
}

// ---- .fvecs / .ivecs ----------------------------------------------------------------

// Gives each test a fresh temporary directory, removed afterwards.
class Fvecs : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/vectordb_fvecs_XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override {
        for (const std::string& f : files_) std::remove(f.c_str());
        rmdir(dir_.c_str());
    }
    std::string path(const std::string& name) {
        files_.push_back(dir_ + "/" + name);
        return files_.back();
    }
    // Writes raw int32 words to a file.
    std::string raw_file(const std::string& name, const std::vector<int32_t>& words, std::size_t drop_bytes = 0) {
        const std::string p = path(name);
        std::ofstream out(p, std::ios::binary);
        out.write(reinterpret_cast<const char*>(words.data()), std::streamsize(words.size() * 4 - drop_bytes));
        return p;
    }
    std::string dir_;
    std::vector<std::string> files_;
};

TEST_F(Fvecs, FloatRoundTrip) {
    const std::size_t rows = 7, dim = 5;
    std::vector<float> data(rows * dim);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = float(i) * 0.25f - 3.0f;
    const std::string p = path("a.fvecs");
    write_fvecs(p, data.data(), rows, dim);
    std::size_t got_dim = 0;
    EXPECT_EQ(read_fvecs(p, &got_dim), data);
    EXPECT_EQ(got_dim, dim);

    const std::vector<float> head = read_fvecs(p, &got_dim, 3);
    EXPECT_EQ(head, std::vector<float>(data.begin(), data.begin() + 3 * dim));
    EXPECT_EQ(read_fvecs(p, &got_dim, 100), data);  // max_rows beyond the file
}

TEST_F(Fvecs, IntRoundTripAndLayout) {
    const std::vector<int32_t> data = {1, -2, 3, 400000, -5, 6};
    const std::string p = path("a.ivecs");
    write_ivecs(p, data.data(), 2, 3);
    std::size_t k = 0;
    EXPECT_EQ(read_ivecs(p, &k), data);
    EXPECT_EQ(k, 3u);
    // On disk: each row is its dimension then its values.
    std::ifstream in(p, std::ios::binary);
    std::vector<int32_t> words(8);
    in.read(reinterpret_cast<char*>(words.data()), 32);
    EXPECT_EQ(in.gcount(), 32);
    EXPECT_EQ(words, (std::vector<int32_t>{3, 1, -2, 3, 3, 400000, -5, 6}));
    in.get();
    EXPECT_TRUE(in.eof());
}

TEST_F(Fvecs, LargeFileSpansSeveralReadChunks) {
    const std::size_t rows = 3000, dim = 768;  // ~9 MB, more than one 4 MB chunk
    std::vector<float> data(rows * dim);
    SplitMix64 rng(1);
    for (float& x : data) x = float(rng.uniform());
    const std::string p = path("big.fvecs");
    write_fvecs(p, data.data(), rows, dim);
    std::size_t got_dim = 0;
    EXPECT_EQ(read_fvecs(p, &got_dim), data);
}

TEST_F(Fvecs, EmptyFileHasNoRows) {
    const std::string p = raw_file("empty.fvecs", {});
    std::size_t dim = 99;
    EXPECT_TRUE(read_fvecs(p, &dim).empty());
    EXPECT_EQ(dim, 0u);
}

// Expects `fn` to throw E with every string of `parts` in its message.
template <typename E, typename Fn>
void expect_error(Fn fn, std::initializer_list<const char*> parts) {
    try {
        fn();
        ADD_FAILURE() << "no exception";
    } catch (const E& e) {
        for (const char* part : parts)
            EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what() << " lacks " << part;
    } catch (const std::exception& e) {
        ADD_FAILURE() << "wrong exception: " << e.what();
    }
}

TEST_F(Fvecs, MissingFileIsIoError) {
    const std::string p = dir_ + "/missing.fvecs";
    std::size_t dim;
    expect_error<IoError>([&] { read_fvecs(p, &dim); }, {p.c_str(), std::strerror(ENOENT)});
    expect_error<IoError>([&] { read_ivecs(p, &dim); }, {p.c_str()});
    expect_error<IoError>([&] { read_fvecs(dir_, &dim); }, {dir_.c_str()});  // a directory
}

TEST_F(Fvecs, UnwritablePathIsIoError) {
    const float x[2] = {1, 2};
    const std::string p = dir_ + "/no/such/dir/a.fvecs";
    expect_error<IoError>([&] { write_fvecs(p, x, 1, 2); }, {p.c_str()});
}

TEST_F(Fvecs, TruncatedFileIsDataError) {
    // Two rows of dimension 2 with the last value cut short.
    const std::string p = raw_file("trunc.fvecs", {2, 0, 0, 2, 0, 0}, 2);
    std::size_t dim;
    expect_error<DataError>([&] { read_fvecs(p, &dim); }, {p.c_str(), "whole number of rows"});
    // Even when only the complete first row is asked for.
    expect_error<DataError>([&] { read_fvecs(p, &dim, 1); }, {p.c_str()});
    // Shorter than one row header.
    const std::string tiny = raw_file("tiny.fvecs", {5}, 1);
    expect_error<DataError>([&] { read_fvecs(tiny, &dim); }, {tiny.c_str(), "truncated"});
}

TEST_F(Fvecs, InconsistentDimensionsAreDataError) {
    // Row 0 has dimension 2, row 1 claims 3 (total size fits neither).
    const std::string p = raw_file("mixed.ivecs", {2, 1, 2, 3, 1, 2, 3});
    std::size_t k;
    expect_error<DataError>([&] { read_ivecs(p, &k); }, {p.c_str(), "row 1", "dimension 3"});
    // Sizes that fit a whole number of rows: rows 0..2 of dimension 1 (8 bytes
    // each) where row 2's header says 2.
    const std::string q = raw_file("mixed2.ivecs", {1, 10, 1, 11, 2, 12});
    expect_error<DataError>([&] { read_ivecs(q, &k); }, {q.c_str(), "row 2"});
}

TEST_F(Fvecs, BadDimensionIsDataError) {
    std::size_t dim;
    const std::string zero = raw_file("zero.fvecs", {0, 0, 0, 0});
    expect_error<DataError>([&] { read_fvecs(zero, &dim); }, {zero.c_str(), "row 0", "dimension 0"});
    const std::string negative = raw_file("neg.fvecs", {-4, 1, 2, 3});
    expect_error<DataError>([&] { read_fvecs(negative, &dim); }, {"dimension -4"});
    const std::string huge = raw_file("huge.fvecs", {1000001, 1});
    expect_error<DataError>([&] { read_fvecs(huge, &dim); }, {"dimension 1000001"});
}

TEST_F(Fvecs, WriteRejectsBadDimension) {
    const float x[1] = {1};
    EXPECT_THROW(write_fvecs(path("d0.fvecs"), x, 1, 0), InvalidArgument);
    EXPECT_THROW(write_ivecs(path("d0.ivecs"), nullptr, 1, 1), InvalidArgument);
}

// ---- exact k-NN and recall ------------------------------------------------------------

// Naive reference: all distances in double, stable-sorted by (distance, id),
// NaN last; the first k ids (padded with -1).
std::vector<int32_t> naive_knn(const std::vector<float>& base, const std::vector<float>& queries, std::size_t d,
                               std::size_t k, Metric metric, std::vector<std::vector<double>>* dists = nullptr) {
    const std::size_t nb = base.size() / d, nq = queries.size() / d;
    std::vector<int32_t> out(nq * k, -1);
    if (dists) dists->assign(nq, {});
    for (std::size_t q = 0; q < nq; ++q) {
        const float* qv = queries.data() + q * d;
        std::vector<double> dist(nb);
        for (std::size_t r = 0; r < nb; ++r) {
            const float* b = base.data() + r * d;
            double dot = 0, nq2 = 0, nb2 = 0;
            for (std::size_t j = 0; j < d; ++j) {
                dot += double(qv[j]) * b[j];
                nq2 += double(qv[j]) * qv[j];
                nb2 += double(b[j]) * b[j];
            }
            if (metric == Metric::L2) {
                dist[r] = l2_double(qv, b, d);
            } else if (metric == Metric::InnerProduct) {
                dist[r] = -dot;
            } else if (nq2 == 0 || nb2 == 0) {
                dist[r] = NAN;
            } else {
                const double sim = std::max(-1.0, std::min(1.0, dot / std::sqrt(nq2 * nb2)));
                dist[r] = 1.0 - sim;
            }
        }
        std::vector<int32_t> ids(nb);
        std::iota(ids.begin(), ids.end(), 0);
        std::stable_sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) {
            const bool an = std::isnan(dist[a]), bn = std::isnan(dist[b]);
            if (an != bn) return bn;
            return !an && dist[a] < dist[b];
        });
        for (std::size_t j = 0; j < std::min(k, nb); ++j) out[q * k + j] = ids[j];
        if (dists) {
            for (int32_t id : ids) (*dists)[q].push_back(dist[id]);
        }
    }
    return out;
}

const Metric kAllMetrics[] = {Metric::L2, Metric::InnerProduct, Metric::Cosine};

TEST(GroundTruth, MatchesNaiveBruteForceExactlyOnIntegerData) {
    // Small integer coordinates: every float sum is exact, so the kernels and
    // the double reference compute identical distances, with many exact ties
    // that must be ordered by id. Base row 5 is zero (NaN cosine: ranks last).
    const std::size_t d = 12, nb = 300, nq = 25;
    SplitMix64 rng(42);
    std::vector<float> base(nb * d), queries(nq * d);
    for (float& x : base) x = float(int(rng.next() % 5) - 2);
    for (float& x : queries) x = float(int(rng.next() % 5) - 2);
    std::fill(base.begin() + 5 * d, base.begin() + 6 * d, 0.0f);
    const MatrixView bv{base.data(), nb, d}, qv{queries.data(), nq, d};
    for (Metric metric : kAllMetrics) {
        for (std::size_t k : {std::size_t(1), std::size_t(10), nb}) {
            const std::vector<int32_t> expected = naive_knn(base, queries, d, k, metric);
            EXPECT_EQ(exact_knn(bv, qv, k, metric, 1), expected) << int(metric) << " k=" << k;
            EXPECT_EQ(exact_knn(bv, qv, k, metric, 2), expected) << int(metric) << " k=" << k;
        }
    }
    const std::vector<int32_t> all = exact_knn(bv, qv, nb, Metric::Cosine, 2);
    for (std::size_t q = 0; q < nq; ++q) EXPECT_EQ(all[q * nb + nb - 1], 5);
}

TEST(GroundTruth, MatchesNaiveBruteForceOnRandomFloats) {
    // Float kernels vs double reference: the distance at each rank must agree
    // closely (ids may swap only between near-equal distances).
    const std::size_t d = 100, nb = 2000, nq = 30, k = 20;
    SplitMix64 rng(5);
    std::vector<float> base(nb * d), queries(nq * d);
    for (float& x : base) x = float(rng.uniform() * 2 - 1);
    for (float& x : queries) x = float(rng.uniform() * 2 - 1);
    const MatrixView bv{base.data(), nb, d}, qv{queries.data(), nq, d};
    for (Metric metric : kAllMetrics) {
        std::vector<std::vector<double>> ref;
        const std::vector<int32_t> expected = naive_knn(base, queries, d, nb, metric, &ref);
        const std::vector<int32_t> got = exact_knn(bv, qv, k, metric, 2);
        std::size_t same = 0;
        for (std::size_t q = 0; q < nq; ++q) {
            for (std::size_t j = 0; j < k; ++j) {
                const int32_t id = got[q * k + j];
                ASSERT_GE(id, 0);
                const double expect_dist = ref[q][j];
                // The reference distance of the id returned at rank j.
                const auto pos = std::find(expected.begin() + q * nb, expected.begin() + (q + 1) * nb, id) -
                                 (expected.begin() + q * nb);
                const double got_dist = ref[q][std::size_t(pos)];
                EXPECT_NEAR(got_dist, expect_dist, 1e-4 * (1 + std::fabs(expect_dist)))
                    << int(metric) << " q=" << q << " rank " << j;
                same += id == expected[q * nb + j];
            }
        }
        EXPECT_GT(same, nq * k * 95 / 100) << int(metric);
        EXPECT_EQ(exact_knn(bv, qv, k, metric, 1), got) << int(metric);
        EXPECT_EQ(exact_knn(bv, qv, k, metric, 3), got) << int(metric);
    }
}

TEST(GroundTruth, PadsWithMinusOneWhenBaseIsSmallerThanK) {
    const std::vector<float> base = {0, 0, 1, 1, 3, 3};  // 3 rows, d = 2
    const std::vector<float> query = {0.9f, 0.9f};
    const std::vector<int32_t> got =
        exact_knn(MatrixView{base.data(), 3, 2}, MatrixView{query.data(), 1, 2}, 5, Metric::L2, 2);
    EXPECT_EQ(got, (std::vector<int32_t>{1, 0, 2, -1, -1}));
    const std::vector<int32_t> ip =
        exact_knn(MatrixView{base.data(), 3, 2}, MatrixView{query.data(), 1, 2}, 3, Metric::InnerProduct, 1);
    EXPECT_EQ(ip, (std::vector<int32_t>{2, 1, 0}));
}

TEST(GroundTruth, RejectsBadArguments) {
    const std::vector<float> a(8, 1.0f);
    const MatrixView v4{a.data(), 2, 4}, v2{a.data(), 4, 2};
    EXPECT_THROW(exact_knn(v4, v4, 0, Metric::L2, 1), InvalidArgument);
    EXPECT_THROW(exact_knn(v4, v4, 1, Metric::L2, 0), InvalidArgument);
    EXPECT_THROW(exact_knn(v4, v2, 1, Metric::L2, 1), InvalidArgument);
}

TEST(GroundTruth, RecallOnHandMadeInputs) {
    const int32_t truth[] = {1, 2, 3, 4, /**/ 5, 6, 7, 8};
    const int32_t same[] = {4, 3, 2, 1, /**/ 8, 7, 6, 5};
    EXPECT_DOUBLE_EQ(recall_at_k(same, truth, 2, 4, 4, 4), 1.0);
    const int32_t half[] = {1, 2, 9, 10, /**/ 5, 11, 6, 12};
    EXPECT_DOUBLE_EQ(recall_at_k(half, truth, 2, 4, 4, 4), 0.5);
    const int32_t none[] = {9, 10, 11, 12, /**/ 1, 2, 3, 4};
    EXPECT_DOUBLE_EQ(recall_at_k(none, truth, 2, 4, 4, 4), 0.0);
    // Missing results (-1) and a repeated id count for nothing.
    const int32_t missing[] = {1, -1, -1, -1, /**/ 5, 5, 6, -1};
    EXPECT_DOUBLE_EQ(recall_at_k(missing, truth, 2, 4, 4, 4), (0.25 + 0.5) / 2);
    // Strides: results hold 3 per query, truth 4, compared at k = 2.
    const int32_t wide[] = {2, 1, 99, /**/ 6, 42, 5};
    EXPECT_DOUBLE_EQ(recall_at_k(wide, truth, 2, 3, 4, 2), (1.0 + 0.5) / 2);
    EXPECT_THROW(recall_at_k(wide, truth, 2, 3, 4, 4), InvalidArgument);
    EXPECT_THROW(recall_at_k(wide, truth, 2, 3, 4, 0), InvalidArgument);
}

}  // namespace
}  // namespace vectordb
