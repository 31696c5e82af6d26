// Benchmark datasets: the synth-768 generator, TEXMEX file I/O, exact k-NN.
//
// Generator design. Results must be bit-identical for a seed on any machine and
// for any thread count, so:
//  * Every random quantity comes from its own SplitMix64 stream whose seed is
//    derived from (seed, domain, index): one stream for the cluster weights, one
//    per cluster (its centre, then its basis row by row), one per base point and
//    one per query point. Base and query points use different domains, so a
//    query is never a copy of a base point.
//  * A point's stream is consumed in a fixed order: one uniform for its cluster,
//    local_dim normals for z, then dim normals for the noise e.
//  * Normals come from our own Marsaglia polar sampler and Gamma(2, 1) from our
//    own -log(U1 U2) (the sum of two Exp(1) draws; exact because the shape is an
//    integer), never from <random>'s distributions, whose algorithms differ
//    between standard libraries.
//  * Each coordinate is computed by the same element-wise float operations
//    whatever thread runs it; there are no cross-thread reductions.
// For speed, points are generated grouped by cluster (the cluster is the first
// draw of each point's stream, so it is known up front) so a cluster's 64 x d
// basis stays in cache while its points are built.
//
// Ground truth design: queries are processed in blocks against blocks of base
// rows that fit in L2, so each base block is read from memory once per query
// block rather than once per query; each query keeps a bounded max-heap.
#include "core/dataset.h"

#include "core/distance.h"
#include "core/errors.h"
#include "core/parallel.h"
#include "core/random.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <cstdlib>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "dataset.cpp reads and writes little-endian files in place: little-endian hosts only"
#endif

namespace vectordb {

namespace {

// ---- random streams -----------------------------------------------------------

// Stream domains: distinct so no two kinds of quantity share a stream.
constexpr uint64_t kWeightsDomain = 1;
constexpr uint64_t kClusterDomain = 2;
constexpr uint64_t kBaseDomain = 3;
constexpr uint64_t kQueryDomain = 4;

// Seed of the independent stream for item `index` of `domain` under `seed`.
uint64_t stream_seed(uint64_t seed, uint64_t domain, uint64_t index) {
    // Each SplitMix64 output is a bijective mix of its input, so distinct
    // (domain, index) pairs give distinct, well-scrambled seeds.
    uint64_t h = SplitMix64(seed).next();
    h = SplitMix64(h ^ domain).next();
    return SplitMix64(h ^ index).next();
}

// Uniform and standard-normal draws from one SplitMix64 stream.
class NormalStream {
public:
    explicit NormalStream(uint64_t seed) : rng_(seed) {}

    // Uniform double in [0, 1).
    double uniform() { return rng_.uniform(); }

    // Standard normal by the Marsaglia polar method (pairs; the second is cached).
    double normal() {
        if (has_spare_) {
            has_spare_ = false;
            return spare_;
        }
        double u, v, s;
        do {
            u = 2.0 * rng_.uniform() - 1.0;
            v = 2.0 * rng_.uniform() - 1.0;
            s = u * u + v * v;
        } while (s >= 1.0 || s == 0.0);
        const double f = std::sqrt(-2.0 * std::log(s) / s);
        spare_ = v * f;
        has_spare_ = true;
        return u * f;
    }

    // Gamma(shape 2, scale 1) as the sum of two Exp(1) draws, -log(U1 U2).
    double gamma2() {
        // 1 - uniform() lies in (0, 1], so the log is finite; the product of two
        // such values is >= 2^-106, far from underflow.
        const double u1 = 1.0 - rng_.uniform();
        const double u2 = 1.0 - rng_.uniform();
        return -std::log(u1 * u2);
    }

private:
    SplitMix64 rng_;
    bool has_spare_ = false;
    double spare_ = 0.0;
};

// a * b, or InvalidArgument if it does not fit in size_t.
std::size_t checked_mul(std::size_t a, std::size_t b, const char* what) {
    if (a != 0 && b > std::numeric_limits<std::size_t>::max() / a)
        throw InvalidArgument(std::string("generate_synth: ") + what + " is too large");
    return a * b;
}

// The drawn mixture: weights as a cumulative sum, centres, bases, scales.
struct Mixture {
    std::size_t dim, clusters, local_dim;
    uint64_t seed;
    std::vector<double> cumulative;  // cumulative[c] = w_0 + ... + w_c (unnormalised)
    // Left uninitialised until the parallel draw writes them, so their pages are
    // first touched by the worker threads rather than zeroed by one thread.
    std::unique_ptr<float[]> centres;  // clusters x dim
    std::unique_ptr<float[]> bases;    // clusters x local_dim x dim
    std::vector<double> scales;        // s_i = 0.4 / sqrt(i), i = 1..local_dim

    // Cluster picked by a uniform u in [0, 1) with probability w_c / sum(w).
    std::size_t pick_cluster(double u) const {
        const double target = u * cumulative.back();
        const std::size_t c = static_cast<std::size_t>(std::upper_bound(cumulative.begin(), cumulative.end(), target) -
                                                       cumulative.begin());
        return std::min(c, clusters - 1);  // rounding could land exactly on the total
    }
};

// Draws the weights, centres and bases of the mixture.
Mixture draw_mixture(const SynthParams& p) {
    Mixture m;
    m.dim = p.dim;
    m.clusters = p.clusters;
    m.local_dim = p.local_dim;
    m.seed = p.seed;

    m.cumulative.resize(p.clusters);
    NormalStream weights(stream_seed(p.seed, kWeightsDomain, 0));
    double total = 0.0;
    for (std::size_t c = 0; c < p.clusters; ++c) {
        total += weights.gamma2();
        m.cumulative[c] = total;
    }

    m.scales.resize(p.local_dim);
    for (std::size_t i = 0; i < p.local_dim; ++i) m.scales[i] = 0.4 / std::sqrt(double(i + 1));

    const std::size_t d = p.dim, basis_size = p.local_dim * d;
    m.centres.reset(new float[p.clusters * d]);
    m.bases.reset(new float[p.clusters * basis_size]);
    const double inv_sqrt_d = 1.0 / std::sqrt(double(d));
    const std::ptrdiff_t clusters = static_cast<std::ptrdiff_t>(p.clusters);
    parallel_for_dynamic(clusters, p.threads, 4, [&](std::ptrdiff_t c) {
        NormalStream rng(stream_seed(p.seed, kClusterDomain, uint64_t(c)));
        float* centre = m.centres.get() + std::size_t(c) * d;
        for (std::size_t j = 0; j < d; ++j) centre[j] = float(0.6 * inv_sqrt_d * rng.normal());
        float* basis = m.bases.get() + std::size_t(c) * basis_size;
        for (std::size_t j = 0; j < basis_size; ++j) basis[j] = float(inv_sqrt_d * rng.normal());
    });
    return m;
}

// Fills rows x dim points of the mixture, point i from stream (seed, domain, i).
void draw_points(const Mixture& m, uint64_t domain, float* out, std::size_t rows, int threads) {
    if (rows == 0) return;
    const std::size_t d = m.dim, L = m.local_dim;

    // Cluster of every point (the first draw of its stream), then a counting
    // sort so points of one cluster are built together.
    std::vector<uint32_t> cluster_of(rows);
    const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(rows);
    parallel_for(n, threads, [&](std::ptrdiff_t i) {
        NormalStream rng(stream_seed(m.seed, domain, uint64_t(i)));
        cluster_of[std::size_t(i)] = uint32_t(m.pick_cluster(rng.uniform()));
    });
    std::vector<std::size_t> start(m.clusters + 1, 0);
    for (uint32_t c : cluster_of) start[c + 1]++;
    for (std::size_t c = 0; c < m.clusters; ++c) start[c + 1] += start[c];
    std::vector<std::size_t> order(rows);
    for (std::size_t i = 0; i < rows; ++i) order[start[cluster_of[i]]++] = i;

    const float noise_scale = float(0.3 / std::sqrt(double(d)));
    // Static contiguous chunks of the sorted order: each thread walks its own
    // run of clusters, with its own coefficients.
    std::vector<float> coefficients(std::size_t(std::max(1, threads)) * L);
    parallel_for(n, threads, [&](std::ptrdiff_t pos) {
        float* coef = coefficients.data() + std::size_t(thread_number()) * L;
        const std::size_t i = order[std::size_t(pos)];
        NormalStream rng(stream_seed(m.seed, domain, uint64_t(i)));
        rng.uniform();  // the cluster draw, already used above
        const std::size_t c = cluster_of[i];
        for (std::size_t l = 0; l < L; ++l) coef[l] = float(rng.normal() * m.scales[l]);

        float* x = out + i * d;
        const float* centre = m.centres.get() + c * d;
        for (std::size_t j = 0; j < d; ++j) x[j] = centre[j];
        const float* basis = m.bases.get() + c * L * d;
        for (std::size_t l = 0; l < L; ++l) {
            const float a = coef[l];
            const float* b = basis + l * d;
            // Element-wise only, so vectorising cannot change any result.
#pragma omp simd
            for (std::size_t j = 0; j < d; ++j) x[j] += a * b[j];
        }
        for (std::size_t j = 0; j < d; ++j) x[j] += noise_scale * float(rng.normal());
    });
}

// ---- TEXMEX files ---------------------------------------------------------------

// Closes a FILE* when it goes out of scope (errors there are ignored: the
// write path closes explicitly to check them).
struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

// Throws IoError "<what> <path>: <strerror(err)>".
[[noreturn]] void throw_io(const char* what, const std::string& path, int err) {
    throw IoError(std::string(what) + " \"" + path + "\": " + std::strerror(err));
}

// Throws DataError "<path>: <message>".
[[noreturn]] void throw_data(const std::string& path, const std::string& message) {
    throw DataError("\"" + path + "\": " + message);
}

// Reads a TEXMEX file of 4-byte values T (float or int32); see read_fvecs.
template <typename T>
std::vector<T> read_vecs(const std::string& path, std::size_t* dim_out, std::size_t max_rows) {
    static_assert(sizeof(T) == 4, "TEXMEX values are 4 bytes");
    if (dim_out == nullptr) throw InvalidArgument("read_vecs: dim pointer is null");
    *dim_out = 0;
    FilePtr file(std::fopen(path.c_str(), "rb"));
    if (!file) throw_io("cannot open", path, errno);
    struct stat st;
    if (fstat(fileno(file.get()), &st) != 0) throw_io("cannot stat", path, errno);
    if (!S_ISREG(st.st_mode)) throw_io("cannot read", path, S_ISDIR(st.st_mode) ? EISDIR : EINVAL);
    const std::size_t size = static_cast<std::size_t>(st.st_size);
    if (size == 0) return {};
    if (size < 4) throw_data(path, "truncated: " + std::to_string(size) + " bytes, less than a row header");

    int32_t header = 0;
    if (std::fread(&header, 4, 1, file.get()) != 1) {
        if (std::ferror(file.get())) throw_io("cannot read", path, errno);
        throw_data(path, "truncated while reading row 0");
    }
    if (header < 1 || std::size_t(header) > kMaxFileDimensions)
        throw_data(path, "row 0 has dimension " + std::to_string(header) + ", outside 1.." +
                             std::to_string(kMaxFileDimensions));
    const std::size_t dim = std::size_t(header);
    const std::size_t row_bytes = 4 + 4 * dim;
    const std::size_t file_rows = size / row_bytes;
    const std::size_t rows = max_rows == 0 ? file_rows : std::min(max_rows, file_rows);
    if (std::fseek(file.get(), 0, SEEK_SET) != 0) throw_io("cannot seek in", path, errno);

    std::vector<T> out(rows * dim);
    // Read many rows per fread (about 4 MB), then strip the row headers.
    const std::size_t chunk_rows = std::max<std::size_t>(1, (std::size_t(4) << 20) / row_bytes);
    std::vector<unsigned char> buffer(std::min(chunk_rows, std::max<std::size_t>(rows, 1)) * row_bytes);
    for (std::size_t r0 = 0; r0 < rows; r0 += chunk_rows) {
        const std::size_t count = std::min(chunk_rows, rows - r0);
        const std::size_t got = std::fread(buffer.data(), row_bytes, count, file.get());
        if (got != count) {
            if (std::ferror(file.get())) throw_io("cannot read", path, errno);
            throw_data(path, "truncated while reading row " + std::to_string(r0 + got));
        }
        for (std::size_t r = 0; r < count; ++r) {
            const unsigned char* row = buffer.data() + r * row_bytes;
            int32_t row_dim;
            std::memcpy(&row_dim, row, 4);
            if (row_dim != header)
                throw_data(path, "row " + std::to_string(r0 + r) + " has dimension " + std::to_string(row_dim) +
                                     ", expected " + std::to_string(dim));
            std::memcpy(out.data() + (r0 + r) * dim, row + 4, 4 * dim);
        }
    }
    // Checked after the rows so that a row with another dimension is reported
    // as such rather than as a size mismatch.
    if (size % row_bytes != 0)
        throw_data(path, "size " + std::to_string(size) + " bytes is not a whole number of rows of " +
                             std::to_string(row_bytes) + " bytes (dimension " + std::to_string(dim) +
                             "): truncated, or rows of different dimensions");
    *dim_out = dim;
    return out;
}

// Writes a TEXMEX file of 4-byte values T; see write_fvecs.
template <typename T>
void write_vecs(const std::string& path, const T* data, std::size_t rows, std::size_t dim) {
    static_assert(sizeof(T) == 4, "TEXMEX values are 4 bytes");
    if (dim < 1 || dim > kMaxFileDimensions)
        throw InvalidArgument("write_vecs: dimension " + std::to_string(dim) + " is outside 1.." +
                              std::to_string(kMaxFileDimensions));
    if (rows > 0 && data == nullptr) throw InvalidArgument("write_vecs: data is null");
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) throw_io("cannot create", path, errno);

    const std::size_t row_bytes = 4 + 4 * dim;
    const std::size_t chunk_rows = std::max<std::size_t>(1, (std::size_t(4) << 20) / row_bytes);
    std::vector<unsigned char> buffer(std::min(chunk_rows, std::max<std::size_t>(rows, 1)) * row_bytes);
    const int32_t header = int32_t(dim);
    int err = 0;
    for (std::size_t r0 = 0; r0 < rows && err == 0; r0 += chunk_rows) {
        const std::size_t count = std::min(chunk_rows, rows - r0);
        for (std::size_t r = 0; r < count; ++r) {
            unsigned char* row = buffer.data() + r * row_bytes;
            std::memcpy(row, &header, 4);
            std::memcpy(row + 4, data + (r0 + r) * dim, 4 * dim);
        }
        if (std::fwrite(buffer.data(), row_bytes, count, f) != count) err = errno ? errno : EIO;
    }
    // fclose flushes the stdio buffer: a full disk may only show up here.
    if (std::fclose(f) != 0 && err == 0) err = errno ? errno : EIO;
    if (err != 0) {
        std::remove(path.c_str());  // do not leave a partial file behind
        throw_io("cannot write", path, err);
    }
}

// ---- exact k-NN -------------------------------------------------------------------

// A base row and its distance key (smaller is nearer).
struct Candidate {
    double key;
    int32_t id;
};

// Whether a ranks before b: smaller key, NaN keys last, then lower id.
inline bool ranks_before(const Candidate& a, const Candidate& b) {
    const bool a_nan = std::isnan(a.key), b_nan = std::isnan(b.key);
    if (a_nan != b_nan) return b_nan;
    if (!a_nan && a.key != b.key) return a.key < b.key;
    return a.id < b.id;
}

// Offers a candidate to a bounded max-heap (worst at front) of capacity cap.
inline void offer(std::vector<Candidate>& heap, std::size_t cap, const Candidate& c) {
    if (heap.size() < cap) {
        heap.push_back(c);
        std::push_heap(heap.begin(), heap.end(), ranks_before);
    } else if (ranks_before(c, heap.front())) {
        std::pop_heap(heap.begin(), heap.end(), ranks_before);
        heap.back() = c;
        std::push_heap(heap.begin(), heap.end(), ranks_before);
    }
}

// Distance key of base row r for query q under each metric (smaller is nearer).
struct L2Key {
    double operator()(const float* q, std::size_t, const float* b, std::size_t, std::size_t d) const {
        return l2_squared_distance(q, b, d);
    }
};
struct InnerProductKey {
    double operator()(const float* q, std::size_t, const float* b, std::size_t, std::size_t d) const {
        return -static_cast<double>(inner_product(q, b, d));
    }
};
// Cosine distance from precomputed squared norms, by the same formula as
// cosine_distance() (which would recompute the base norm for every query).
struct CosineKey {
    const float* query_norms;
    const float* base_norms;
    double operator()(const float* q, std::size_t qi, const float* b, std::size_t bi, std::size_t d) const {
        const float nq = query_norms[qi], nb = base_norms[bi];
        if (nq == 0.0f || nb == 0.0f) return std::numeric_limits<double>::quiet_NaN();
        double sim = static_cast<double>(inner_product(q, b, d)) / std::sqrt(double(nq) * nb);
        if (sim > 1.0)
            sim = 1.0;
        else if (sim < -1.0)
            sim = -1.0;
        return 1.0 - sim;
    }
};

// Blocked brute-force scan writing k ids per query into out.
template <typename Key>
void knn_scan(const MatrixView& base, const MatrixView& queries, std::size_t k, int threads, const Key& key,
              int32_t* out) {
    const std::size_t d = base.dim, nq = queries.rows, nb = base.rows;
    const std::size_t cap = std::min(k, nb);
    // About 256 KB of base rows per block (stays in L2 while a query block scans it).
    const std::size_t base_block = std::max<std::size_t>(1, (std::size_t(256) << 10) / (4 * d));
    // Up to 16 queries per block, fewer so every thread gets work on small inputs.
    const std::size_t per_thread = (nq + std::size_t(threads) - 1) / std::size_t(threads);
    const std::size_t query_block = std::max<std::size_t>(1, std::min<std::size_t>(16, per_thread));
    const std::ptrdiff_t n_blocks = static_cast<std::ptrdiff_t>((nq + query_block - 1) / query_block);

    // One set of heaps per thread, reserved here: offer() never grows them.
    std::vector<std::vector<Candidate>> all_heaps(std::size_t(std::max(1, threads)) * query_block);
    for (auto& h : all_heaps) h.reserve(cap);
    parallel_for_dynamic(n_blocks, threads, 1, [&](std::ptrdiff_t blk) {
        std::vector<Candidate>* heaps = all_heaps.data() + std::size_t(thread_number()) * query_block;
        const std::size_t q0 = std::size_t(blk) * query_block;
        const std::size_t q1 = std::min(nq, q0 + query_block);
        for (std::size_t h = 0; h < query_block; h++) heaps[h].clear();
        for (std::size_t b0 = 0; b0 < nb; b0 += base_block) {
            const std::size_t b1 = std::min(nb, b0 + base_block);
            for (std::size_t q = q0; q < q1; ++q) {
                std::vector<Candidate>& heap = heaps[q - q0];
                const float* qv = queries.row(q);
                for (std::size_t r = b0; r < b1; ++r)
                    offer(heap, cap, Candidate{key(qv, q, base.row(r), r, d), int32_t(r)});
            }
        }
        for (std::size_t q = q0; q < q1; ++q) {
            std::vector<Candidate>& heap = heaps[q - q0];
            std::sort_heap(heap.begin(), heap.end(), ranks_before);  // nearest first
            int32_t* row = out + q * k;
            for (std::size_t j = 0; j < k; ++j) row[j] = j < heap.size() ? heap[j].id : -1;
        }
    });
}

}  // namespace

// ---- public API -------------------------------------------------------------------

Dataset generate_synth(const SynthParams& p) {
    if (p.dim == 0 || p.clusters == 0 || p.local_dim == 0)
        throw InvalidArgument("generate_synth: dim, clusters and local_dim must be at least 1");
    if (p.threads < 1) throw InvalidArgument("generate_synth: threads must be at least 1");
    if (p.clusters > std::numeric_limits<uint32_t>::max()) throw InvalidArgument("generate_synth: too many clusters");
    checked_mul(checked_mul(checked_mul(p.clusters, p.local_dim, "clusters x local_dim x dim"), p.dim,
                            "clusters x local_dim x dim"),
                sizeof(float), "clusters x local_dim x dim");
    checked_mul(checked_mul(p.base_rows, p.dim, "base_rows x dim"), sizeof(float), "base_rows x dim");
    checked_mul(checked_mul(p.query_rows, p.dim, "query_rows x dim"), sizeof(float), "query_rows x dim");

    const Mixture m = draw_mixture(p);
    Dataset ds;
    ds.dim = p.dim;
    ds.base.resize(p.base_rows * p.dim);
    ds.queries.resize(p.query_rows * p.dim);
    draw_points(m, kBaseDomain, ds.base.data(), p.base_rows, p.threads);
    draw_points(m, kQueryDomain, ds.queries.data(), p.query_rows, p.threads);
    return ds;
}

std::vector<float> read_fvecs(const std::string& path, std::size_t* dim, std::size_t max_rows) {
    return read_vecs<float>(path, dim, max_rows);
}

void write_fvecs(const std::string& path, const float* data, std::size_t rows, std::size_t dim) {
    write_vecs<float>(path, data, rows, dim);
}

std::vector<int32_t> read_ivecs(const std::string& path, std::size_t* k, std::size_t max_rows) {
    return read_vecs<int32_t>(path, k, max_rows);
}

void write_ivecs(const std::string& path, const int32_t* data, std::size_t rows, std::size_t k) {
    write_vecs<int32_t>(path, data, rows, k);
}

std::vector<int32_t> exact_knn(const MatrixView& base, const MatrixView& queries, std::size_t k, Metric metric,
                               int threads) {
    if (k == 0) throw InvalidArgument("exact_knn: k must be at least 1");
    if (threads < 1) throw InvalidArgument("exact_knn: threads must be at least 1");
    if (base.dim != queries.dim)
        throw InvalidArgument("exact_knn: base dimension " + std::to_string(base.dim) +
                              " differs from query dimension " + std::to_string(queries.dim));
    if (base.rows > std::size_t(std::numeric_limits<int32_t>::max()))
        throw InvalidArgument("exact_knn: more base rows than int32 ids can name");
    if ((base.rows > 0 && base.data == nullptr) || (queries.rows > 0 && queries.data == nullptr))
        throw InvalidArgument("exact_knn: null matrix data");

    std::vector<int32_t> out(queries.rows * k, -1);
    if (queries.rows == 0 || base.rows == 0) return out;
    switch (metric) {
        case Metric::L2:
            knn_scan(base, queries, k, threads, L2Key{}, out.data());
            break;
        case Metric::InnerProduct:
            knn_scan(base, queries, k, threads, InnerProductKey{}, out.data());
            break;
        case Metric::Cosine: {
            std::vector<float> qn(queries.rows), bn(base.rows);
            for (std::size_t i = 0; i < queries.rows; ++i) qn[i] = squared_norm(queries.row(i), queries.dim);
            for (std::size_t i = 0; i < base.rows; ++i) bn[i] = squared_norm(base.row(i), base.dim);
            knn_scan(base, queries, k, threads, CosineKey{qn.data(), bn.data()}, out.data());
            break;
        }
        default:
            throw InvalidArgument("exact_knn: unknown metric");
    }
    return out;
}

double recall_at_k(const int32_t* result, const int32_t* truth, std::size_t queries, std::size_t result_stride,
                   std::size_t truth_stride, std::size_t k) {
    if (k == 0 || queries == 0) throw InvalidArgument("recall_at_k: k and queries must be at least 1");
    if (result_stride < k || truth_stride < k) throw InvalidArgument("recall_at_k: a stride is smaller than k");
    if (result == nullptr || truth == nullptr) throw InvalidArgument("recall_at_k: null input");

    std::vector<int32_t> r, t;
    double sum = 0.0;
    for (std::size_t q = 0; q < queries; ++q) {
        // Sorted, de-duplicated ids of both top-k lists, -1 (missing) dropped.
        r.assign(result + q * result_stride, result + q * result_stride + k);
        t.assign(truth + q * truth_stride, truth + q * truth_stride + k);
        for (auto* v : {&r, &t}) {
            v->erase(std::remove(v->begin(), v->end(), -1), v->end());
            std::sort(v->begin(), v->end());
            v->erase(std::unique(v->begin(), v->end()), v->end());
        }
        std::size_t hits = 0;
        for (std::size_t i = 0, j = 0; i < r.size() && j < t.size();) {
            if (r[i] < t[j])
                ++i;
            else if (t[j] < r[i])
                ++j;
            else
                ++hits, ++i, ++j;
        }
        sum += double(hits) / double(k);
    }
    return sum / double(queries);
}

}  // namespace vectordb
