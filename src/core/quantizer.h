// Binary quantizers: one bit per dimension, packed in 64-bit words.
//
// hamming: bit i = (v - mean)[i] > 0, where mean is the data's mean; the
//   estimated distance is the Hamming distance between the codes. Cheap, no
//   error bound.
// rabitq: after Gao & Long (SIGMOD 2024). A vector v in a leaf with centroid c
//   is coded by the signs of P (v - c) / |v - c| for a seeded random rotation P.
//   With the per-vector scalars kept beside the code (|v - c|, the inner product
//   of the unit residual with its quantised self, the popcount) the inner
//   product <v - c, x> for any x can be estimated without bias from the code
//   and a 4-bit quantisation of P x, with a per-vector error bound: the true
//   value lies within  eps |v - c| |x| err / sqrt(D - 1)  of the estimate, the
//   error being close to normal with that scale at eps = 1 (plus a small term
//   for the query's rounding). eps = 1.9 covers ~94% of pairs, 3 over 99%. The
//   estimate needs only 4 popcounts per code word (see code_scan.h).
#pragma once

#include "core/common.h"
#include "core/rotation.h"
#include "core/types.h"

#include <cmath>
#include <string>
#include <vector>

namespace vectordb {

enum class QuantizerKind { RaBitQ, Hamming };

const char* quantizer_name(QuantizerKind kind);
// "rabitq" or "hamming"; throws InvalidArgument otherwise.
QuantizerKind parse_quantizer(const std::string& name);

// Scalars stored beside each code. Unused by the hamming quantizer.
struct CodeFactors {
    float norm = 0;         // |v - c|
    float inv_ip = 0;       // 1 / <o_bar, o>, 0 when v == c
    float error = 0;        // sqrt(1 - <o_bar,o>^2) / <o_bar,o>
    uint32_t popcount = 0;  // set bits in the code
};

// A query made ready to be compared with the codes of one leaf (rabitq) or of
// every leaf (hamming).
struct PreparedQuery {
    std::vector<uint64_t> planes;  // rabitq: kQueryBits planes of words; hamming: the query code
    float low = 0;                 // rabitq: x'_i ~ low + delta * q_i, q_i in 0..15
    float delta = 0;
    float sum = 0;       // sum of the quantized x'_i (low + delta * q_i), so rounding adds no bias
    float rounding = 0;  // sqrt(sum of (quantized - x'_i)^2): the rounding's size, exactly
    float norm = 0;      // |x|
    float offset = 0;    // L2: |x|^2; inner product: <c, q>
};

// One estimate per code: the estimated score (squared L2, or negative inner
// product) and a lower bound on the true score.
struct Estimate {
    float score;
    float lower_bound;
};

class Quantizer {
public:
    Quantizer() = default;

    // rabitq needs no training beyond the seed; hamming takes the mean of `data`.
    static Quantizer create(QuantizerKind kind, Metric metric, const MatrixView& data, uint64_t seed);
    // Rebuilds a quantizer from stored state (e.g. an index metapage).
    static Quantizer restore(QuantizerKind kind, Metric metric, std::size_t dim, uint64_t seed,
                             std::vector<float> mean);

    QuantizerKind kind() const { return kind_; }
    Metric metric() const { return metric_; }
    std::size_t dim() const { return dim_; }
    uint64_t seed() const { return seed_; }
    const std::vector<float>& mean() const { return mean_; }
    std::size_t words() const { return words_; }             // uint64s per code
    std::size_t rotated_dim() const { return words_ * 64; }  // D
    bool has_bounds() const { return kind_ == QuantizerKind::RaBitQ; }

    // rabitq: out[0 .. rotated_dim) = P v. Thread-safe.
    void rotate(const float* v, float* out) const;

    // Codes v (dim floats) against its leaf centroid (ignored by hamming). Thread-safe.
    void encode(const float* v, const float* centroid, uint64_t* code, CodeFactors* factors) const;
    // The same with the caller's working space (encode_scratch_floats()
    // floats), which allocates nothing: for encoding inside a parallel region.
    void encode(const float* v, const float* centroid, uint64_t* code, CodeFactors* factors, float* scratch) const;
    std::size_t encode_scratch_floats() const { return dim_ + 2 * rotated_dim(); }

    // rabitq: prepares query q for a leaf whose rotated centroid is rotated_centroid,
    // given the rotated query rotated_query = P q and <c, q> (inner product only).
    void prepare_leaf(const float* rotated_query, const float* rotated_centroid, float centroid_ip,
                      PreparedQuery* out) const;
    // hamming: prepares q once for all leaves.
    void prepare_hamming(const float* q, PreparedQuery* out) const;

    // Turns a scanned weighted popcount (rabitq) or Hamming distance into an
    // estimate. epsilon sets the bound's confidence.
    Estimate estimate(const PreparedQuery& q, uint32_t scanned, const CodeFactors& f, float epsilon) const {
        if (kind_ == QuantizerKind::Hamming) {
            const float s = static_cast<float>(scanned);
            return {s, s};
        }
        // <o_bar, x'> sqrt(D) = 2 sum_{bit set} x'_i - sum_i x'_i
        const float masked_sum = q.delta * static_cast<float>(scanned) + q.low * static_cast<float>(f.popcount);
        const float ip_est = (2.0f * masked_sum - q.sum) * inv_sqrt_d_ * f.inv_ip;  // ~ <o, x>
        // Two independent error sources, combined as standard deviations: the
        // code's (RaBitQ's bound) and the query's 4-bit rounding. With the sum
        // taken over the quantized values, the rounding enters as
        // sum_i s_i e_i (s_i the code's signs, e_i each coordinate's rounding):
        // no bias, and a spread of sqrt(sum e_i^2), known exactly. (Taking the
        // sum over the exact values left sum_i e_i in every estimate of the
        // query: a shift shared by all its candidates, which put rows out of
        // order under inner product at 768 dimensions.)
        const float code_sd = q.norm * f.error * inv_sqrt_d1_;
        const float rounding_sd = q.rounding * inv_sqrt_d_ * f.inv_ip;
        const float half_width = epsilon * f.norm * std::sqrt(code_sd * code_sd + rounding_sd * rounding_sd);
        // The bound certifies order, so it must also cover float rounding in
        // these sums (relative 1e-7 per term): with few dimensions the code's
        // error can vanish and leave only that (seen at 1 dimension, cosine).
        const float slack = 1e-5f * (f.norm * f.norm + std::fabs(q.offset) + 2.0f * f.norm * q.norm);
        if (metric_ == Metric::InnerProduct) {
            const float score = -(q.offset + f.norm * ip_est);
            return {score, score - half_width - slack};
        }
        const float score = f.norm * f.norm + q.offset - 2.0f * f.norm * ip_est;
        return {score, score - 2.0f * half_width - slack};
    }

private:
    QuantizerKind kind_ = QuantizerKind::RaBitQ;
    Metric metric_ = Metric::L2;
    std::size_t dim_ = 0;
    std::size_t words_ = 0;
    uint64_t seed_ = 0;
    float inv_sqrt_d_ = 0;   // 1 / sqrt(D)
    float inv_sqrt_d1_ = 0;  // 1 / sqrt(D - 1)
    RandomRotation rotation_;
    std::vector<float> mean_;  // hamming only
};

}  // namespace vectordb
