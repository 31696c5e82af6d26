// Unit tests for the rotation and the binary quantizers: orthogonality,
// determinism, and the RaBitQ estimator staying within its stated bound.
#include "core/code_scan.h"
#include "core/distance.h"
#include "core/errors.h"
#include "core/quantizer.h"
#include "core/random.h"
#include "core/rotation.h"
#include "test_data.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace vectordb {
namespace {

using testing_data::gaussian;

TEST(Rotation, PreservesNormsAndInnerProducts) {
    for (std::size_t dim : {1u, 5u, 64u, 100u, 768u}) {
        SCOPED_TRACE(dim);
        RandomRotation rot(dim, 3);
        EXPECT_EQ(rot.output_dim() % 64, 0u);
        EXPECT_GE(rot.output_dim(), dim);
        const auto a = gaussian(dim, 1), b = gaussian(dim, 2);
        std::vector<float> ra(rot.output_dim()), rb(rot.output_dim());
        rot.apply(a.data(), ra.data());
        rot.apply(b.data(), rb.data());
        double ip = 0, rip = 0, na = 0, rna = 0;
        for (std::size_t i = 0; i < dim; i++) ip += double(a[i]) * b[i], na += double(a[i]) * a[i];
        for (std::size_t i = 0; i < rot.output_dim(); i++) rip += double(ra[i]) * rb[i], rna += double(ra[i]) * ra[i];
        EXPECT_NEAR(rna, na, 1e-4 * na);
        EXPECT_NEAR(rip, ip, 1e-4 * std::sqrt(na) * std::sqrt(na));
    }
}

TEST(Rotation, SpreadsASpikeOverAllCoordinates) {
    RandomRotation rot(768, 11);
    std::vector<float> spike(768, 0.0f), out(rot.output_dim());
    spike[5] = 1.0f;
    rot.apply(spike.data(), out.data());
    float max_abs = 0;
    for (float x : out) max_abs = std::max(max_abs, std::fabs(x));
    // An unrotated spike has one coordinate of 1; a good rotation leaves none large.
    EXPECT_LT(max_abs, 0.25f);
}

TEST(Rotation, DeterministicForSeed) {
    RandomRotation a(300, 5), b(300, 5), c(300, 6);
    const auto v = gaussian(300, 9);
    std::vector<float> ra(a.output_dim()), rb(b.output_dim()), rc(c.output_dim());
    a.apply(v.data(), ra.data());
    b.apply(v.data(), rb.data());
    c.apply(v.data(), rc.data());
    EXPECT_EQ(ra, rb);
    EXPECT_NE(ra, rc);
}

// Encodes `data` against `centroid`, returning codes and factors.
struct Encoded {
    std::vector<std::vector<uint64_t>> codes;
    std::vector<CodeFactors> factors;
};
Encoded encode_all(const Quantizer& q, const std::vector<float>& data, std::size_t dim, const float* centroid) {
    Encoded e;
    for (std::size_t i = 0; i < data.size() / dim; i++) {
        std::vector<uint64_t> code(q.words());
        CodeFactors f;
        q.encode(data.data() + i * dim, centroid, code.data(), &f);
        e.codes.push_back(code);
        e.factors.push_back(f);
    }
    return e;
}

// Estimate for one code without the block kernels.
Estimate estimate_one(const Quantizer& q, const PreparedQuery& pq, const std::vector<uint64_t>& code,
                      const CodeFactors& f, float eps) {
    uint32_t scanned = 0;
    for (std::size_t w = 0; w < q.words(); w++) {
        if (q.kind() == QuantizerKind::Hamming) {
            scanned += static_cast<uint32_t>(__builtin_popcountll(code[w] ^ pq.planes[w]));
        } else {
            for (int p = 0; p < kQueryBits; p++)
                scanned += static_cast<uint32_t>(__builtin_popcountll(code[w] & pq.planes[p * q.words() + w])) << p;
        }
    }
    return q.estimate(pq, scanned, f, eps);
}

// Fraction of (vector, query) pairs whose exact score lies within the bound.
double coverage(Metric metric, std::size_t dim, float eps, double* mean_rel_error) {
    const std::size_t n = 400, nq = 50;
    auto data = gaussian(n * dim, 21, 0.5f);
    auto queries = gaussian(nq * dim, 22, 0.5f);
    std::vector<float> centroid = gaussian(dim, 23, 0.3f);
    for (std::size_t i = 0; i < n * dim; i++) data[i] += centroid[i % dim];
    for (std::size_t i = 0; i < nq * dim; i++) queries[i] += centroid[i % dim];
    const Quantizer q = Quantizer::create(QuantizerKind::RaBitQ, metric, MatrixView{data.data(), n, dim}, 77);
    const Encoded e = encode_all(q, data, dim, centroid.data());
    std::vector<float> rc(q.rotated_dim()), rq(q.rotated_dim());
    q.rotate(centroid.data(), rc.data());
    std::size_t inside = 0, total = 0;
    double rel = 0;
    for (std::size_t j = 0; j < nq; j++) {
        const float* qv = queries.data() + j * dim;
        q.rotate(qv, rq.data());
        PreparedQuery pq;
        q.prepare_leaf(rq.data(), rc.data(), inner_product(centroid.data(), qv, dim), &pq);
        for (std::size_t i = 0; i < n; i++) {
            const float* v = data.data() + i * dim;
            const double exact = metric == Metric::InnerProduct ? -double(inner_product(v, qv, dim))
                                                                : double(l2_squared_distance(v, qv, dim));
            const Estimate est = estimate_one(q, pq, e.codes[i], e.factors[i], eps);
            const double half = est.score - est.lower_bound;
            inside += std::fabs(exact - est.score) <= half;
            rel += std::fabs(exact - est.score) / std::max(1e-6, std::fabs(exact));
            total++;
        }
    }
    *mean_rel_error = rel / total;
    return static_cast<double>(inside) / total;
}

TEST(RaBitQ, EstimatesWithinBoundForAtLeast99PercentOfPairsL2) {
    for (std::size_t dim : {64u, 128u, 768u}) {
        SCOPED_TRACE(dim);
        double rel = 0;
        EXPECT_GE(coverage(Metric::L2, dim, 3.0f, &rel), 0.99);
        EXPECT_LT(rel, 0.1);  // and the estimate is useful, not just bounded
    }
}

TEST(RaBitQ, EstimatesWithinBoundForAtLeast99PercentOfPairsInnerProduct) {
    double rel = 0;
    EXPECT_GE(coverage(Metric::InnerProduct, 256, 3.0f, &rel), 0.99);
}

TEST(RaBitQ, TighterEpsilonCoversLess) {
    double rel = 0;
    const double loose = coverage(Metric::L2, 128, 2.6f, &rel);
    const double tight = coverage(Metric::L2, 128, 0.2f, &rel);
    EXPECT_LT(tight, loose);
}

TEST(RaBitQ, VectorAtCentroidIsExact) {
    const std::size_t dim = 32;
    const auto c = gaussian(dim, 4);
    const Quantizer q = Quantizer::create(QuantizerKind::RaBitQ, Metric::L2, MatrixView{c.data(), 1, dim}, 1);
    std::vector<uint64_t> code(q.words());
    CodeFactors f;
    q.encode(c.data(), c.data(), code.data(), &f);
    EXPECT_EQ(f.norm, 0.0f);
    const auto query = gaussian(dim, 5);
    std::vector<float> rc(q.rotated_dim()), rq(q.rotated_dim());
    q.rotate(c.data(), rc.data());
    q.rotate(query.data(), rq.data());
    PreparedQuery pq;
    q.prepare_leaf(rq.data(), rc.data(), 0.0f, &pq);
    const Estimate est = estimate_one(q, pq, code, f, 1.9f);
    EXPECT_NEAR(est.score, l2_squared_distance(c.data(), query.data(), dim), 1e-3);
}

TEST(Quantizer, CodesIdenticalAcrossRunsWithSameSeed) {
    const std::size_t dim = 200, n = 50;
    const auto data = gaussian(n * dim, 8);
    const auto centroid = gaussian(dim, 9, 0.1f);
    for (QuantizerKind kind : {QuantizerKind::RaBitQ, QuantizerKind::Hamming}) {
        const Quantizer a = Quantizer::create(kind, Metric::L2, MatrixView{data.data(), n, dim}, 5);
        const Quantizer b = Quantizer::create(kind, Metric::L2, MatrixView{data.data(), n, dim}, 5);
        const Encoded ea = encode_all(a, data, dim, centroid.data());
        const Encoded eb = encode_all(b, data, dim, centroid.data());
        EXPECT_EQ(ea.codes, eb.codes);
        for (std::size_t i = 0; i < n; i++) EXPECT_EQ(ea.factors[i].norm, eb.factors[i].norm);
    }
    const Quantizer c = Quantizer::create(QuantizerKind::RaBitQ, Metric::L2, MatrixView{data.data(), n, dim}, 6);
    const Quantizer a = Quantizer::create(QuantizerKind::RaBitQ, Metric::L2, MatrixView{data.data(), n, dim}, 5);
    EXPECT_NE(encode_all(a, data, dim, centroid.data()).codes, encode_all(c, data, dim, centroid.data()).codes);
}

TEST(Hamming, CodesAreSignsAroundTheMean) {
    const std::vector<float> data = {1, 2, 3, 3, 2, 1};  // mean (2, 2, 2)
    const Quantizer q = Quantizer::create(QuantizerKind::Hamming, Metric::L2, MatrixView{data.data(), 2, 3}, 0);
    std::vector<uint64_t> code(1);
    CodeFactors f;
    q.encode(data.data(), nullptr, code.data(), &f);
    EXPECT_EQ(code[0], 0b100u);
    q.encode(data.data() + 3, nullptr, code.data(), &f);
    EXPECT_EQ(code[0], 0b001u);
    PreparedQuery pq;
    const std::vector<float> query = {3, 3, 3};
    q.prepare_hamming(query.data(), &pq);
    EXPECT_EQ(pq.planes[0], 0b111u);
    EXPECT_EQ(estimate_one(q, pq, code, f, 1.9f).score, 2.0f);
}

TEST(Quantizer, NamesAndErrors) {
    EXPECT_EQ(parse_quantizer("rabitq"), QuantizerKind::RaBitQ);
    EXPECT_EQ(parse_quantizer("hamming"), QuantizerKind::Hamming);
    EXPECT_STREQ(quantizer_name(QuantizerKind::Hamming), "hamming");
    EXPECT_THROW(parse_quantizer("pq"), InvalidArgument);
    EXPECT_THROW(RandomRotation(0, 1), InvalidArgument);
}

}  // namespace
}  // namespace vectordb
