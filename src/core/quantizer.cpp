// Binary quantizers (see quantizer.h for the estimators and their bounds).
#include "core/quantizer.h"

#include "core/code_scan.h"
#include "core/distance.h"
#include "core/errors.h"

#include <algorithm>
#include <cmath>

namespace vectordb {

const char* quantizer_name(QuantizerKind kind) { return kind == QuantizerKind::Hamming ? "hamming" : "rabitq"; }

QuantizerKind parse_quantizer(const std::string& name) {
    if (name == "rabitq") return QuantizerKind::RaBitQ;
    if (name == "hamming") return QuantizerKind::Hamming;
    throw InvalidArgument("unknown quantizer \"" + name + "\": expected rabitq or hamming");
}

Quantizer Quantizer::restore(QuantizerKind kind, Metric metric, std::size_t dim, uint64_t seed,
                             std::vector<float> mean) {
    if (dim == 0) throw InvalidArgument("quantizer dimension must be at least 1");
    if (kind == QuantizerKind::Hamming && mean.size() != dim)
        throw InvalidArgument("hamming quantizer needs a mean of the vectors' dimension");
    Quantizer q;
    q.kind_ = kind;
    q.metric_ = metric;
    q.dim_ = dim;
    q.seed_ = seed;
    q.words_ = (dim + 63) / 64;
    const float d = static_cast<float>(q.words_ * 64);
    q.inv_sqrt_d_ = 1.0f / std::sqrt(d);
    q.inv_sqrt_d1_ = 1.0f / std::sqrt(d - 1.0f);
    if (kind == QuantizerKind::RaBitQ) q.rotation_ = RandomRotation(dim, seed);
    q.mean_ = std::move(mean);
    return q;
}

Quantizer Quantizer::create(QuantizerKind kind, Metric metric, const MatrixView& data, uint64_t seed) {
    std::vector<float> mean;
    if (kind == QuantizerKind::Hamming) {
        if (data.rows == 0) throw InvalidArgument("hamming quantizer needs at least one vector");
        std::vector<double> sum(data.dim, 0.0);
        for (std::size_t i = 0; i < data.rows; i++) {
            const float* v = data.row(i);
            for (std::size_t j = 0; j < data.dim; j++) sum[j] += v[j];
        }
        mean.resize(data.dim);
        for (std::size_t j = 0; j < data.dim; j++) mean[j] = static_cast<float>(sum[j] / data.rows);
    }
    return restore(kind, metric, data.dim, seed, std::move(mean));
}

void Quantizer::rotate(const float* v, float* out) const { rotation_.apply(v, out); }

void Quantizer::encode(const float* v, const float* centroid, uint64_t* code, CodeFactors* factors) const {
    std::vector<float> scratch(encode_scratch_floats());
    encode(v, centroid, code, factors, scratch.data());
}

void Quantizer::encode(const float* v, const float* centroid, uint64_t* code, CodeFactors* factors,
                       float* scratch) const {
    std::fill(code, code + words_, 0ull);
    *factors = CodeFactors{};
    if (kind_ == QuantizerKind::Hamming) {
        for (std::size_t i = 0; i < dim_; i++)
            if (v[i] - mean_[i] > 0.0f) code[i / 64] |= 1ull << (i % 64);
        return;
    }
    const std::size_t d = rotated_dim();
    float* residual = scratch;
    float* rotated = scratch + dim_;
    for (std::size_t i = 0; i < dim_; i++) residual[i] = v[i] - centroid[i];
    const float norm = std::sqrt(squared_norm(residual, dim_));
    if (!(norm > 0.0f)) return;  // v == c: the estimate is exactly |x|^2 (or <c, q>)
    rotation_.apply(residual, rotated, rotated + d);

    double abs_sum = 0.0;
    uint32_t popcount = 0;
    for (std::size_t i = 0; i < d; i++) {
        abs_sum += std::fabs(rotated[i]);
        if (rotated[i] > 0.0f) {
            code[i / 64] |= 1ull << (i % 64);
            popcount++;
        }
    }
    // <o_bar, o> = sum |o'_i| / sqrt(D) with o' = P r / |r|.
    const double ip = abs_sum / norm / std::sqrt(static_cast<double>(d));
    factors->norm = norm;
    factors->inv_ip = static_cast<float>(1.0 / ip);
    factors->error = static_cast<float>(std::sqrt(std::max(0.0, 1.0 - ip * ip)) / ip);
    factors->popcount = popcount;
}

void Quantizer::prepare_leaf(const float* rotated_query, const float* rotated_centroid, float centroid_ip,
                             PreparedQuery* out) const {
    const std::size_t d = rotated_dim();
    out->planes.assign(kQueryBits * words_, 0ull);
    // x' = P (q - c) for L2 and cosine, P q for inner product.
    thread_local std::vector<float> x;
    x.resize(d);
    float low = INFINITY, high = -INFINITY;
    float sq = 0.0f;  // float is ample for D <= a few thousand terms
    for (std::size_t i = 0; i < d; i++) {
        x[i] = metric_ == Metric::InnerProduct ? rotated_query[i] : rotated_query[i] - rotated_centroid[i];
        low = std::min(low, x[i]);
        high = std::max(high, x[i]);
        sq += x[i] * x[i];
    }
    const float levels = static_cast<float>((1 << kQueryBits) - 1);
    const float delta = high > low ? (high - low) / levels : 1.0f;
    const float inv_delta = 1.0f / delta;
    quantize_query(x.data(), words_, low, inv_delta, out->planes.data());
    // The quantized values low + delta * level, as the kernels see them
    // (query_level is their rounding): their sum, and the rounding's spread.
    uint64_t level_sum = 0;
    double rounding_sq = 0.0;
    for (std::size_t i = 0; i < d; i++) {
        const uint32_t level = query_level(x[i], low, inv_delta);
        level_sum += level;
        const float error = low + delta * static_cast<float>(level) - x[i];
        rounding_sq += static_cast<double>(error) * error;
    }
    const double quantized_sum =
        static_cast<double>(d) * low + static_cast<double>(delta) * static_cast<double>(level_sum);
    out->low = low;
    out->delta = delta;
    out->sum = static_cast<float>(quantized_sum);
    out->rounding = static_cast<float>(std::sqrt(rounding_sq));
    out->norm = std::sqrt(sq);
    out->offset = metric_ == Metric::InnerProduct ? centroid_ip : sq;
}

void Quantizer::prepare_hamming(const float* q, PreparedQuery* out) const {
    out->planes.assign(words_, 0ull);
    for (std::size_t i = 0; i < dim_; i++)
        if (q[i] - mean_[i] > 0.0f) out->planes[i / 64] |= 1ull << (i % 64);
}

}  // namespace vectordb
