// Benchmark datasets: the deterministic synthetic generator synth-768, TEXMEX
// .fvecs/.ivecs file I/O, exact k-NN ground truth and recall@k.
//
// Everything here is used by benchmarks and tests, never by the index itself.
// See dataset.cpp for how the generator derives its random streams.
#pragma once

#include "core/common.h"

#include "core/types.h"

#include <string>
#include <vector>

namespace vectordb {

// A base set and a query set of the same dimension, both row-major.
struct Dataset {
    std::size_t dim = 0;
    std::vector<float> base;     // base_rows() x dim
    std::vector<float> queries;  // query_rows() x dim

    // Number of base vectors.
    std::size_t base_rows() const { return dim == 0 ? 0 : base.size() / dim; }
    // Number of query vectors.
    std::size_t query_rows() const { return dim == 0 ? 0 : queries.size() / dim; }
    // Read-only view of the base vectors.
    MatrixView base_view() const { return MatrixView{base.data(), base_rows(), dim}; }
    // Read-only view of the query vectors.
    MatrixView query_view() const { return MatrixView{queries.data(), query_rows(), dim}; }
};

// ---- synth-768 ------------------------------------------------------------------
//
// A mixture of `clusters` overlapping, locally low-dimensional clusters:
//   weights   w ~ Dirichlet(2, ..., 2)           (normalised Gamma(2, 1) draws)
//   centre_c  ~ 0.6 * N(0, I/d)
//   basis B_c: local_dim x d, iid N(0, 1/d) entries
//   point     = centre_c + (z . s) B_c + e,  c ~ Categorical(w),
//               z ~ N(0, I_local_dim), s_i = 0.4 / sqrt(i) (i = 1..local_dim),
//               e ~ 0.3 * N(0, I/d)
// Queries are fresh draws from the same mixture (never copies of base points).
// The output depends only on the parameters other than `threads`: it is
// bit-identical for any thread count. The defaults are the benchmark set.
struct SynthParams {
    std::size_t base_rows = 100000;
    std::size_t query_rows = 1000;
    std::size_t dim = 768;
    std::size_t clusters = 1024;
    std::size_t local_dim = 64;
    uint64_t seed = 20241;
    int threads = 1;  // OpenMP threads used to generate (>= 1)
};

// Generates a synth dataset; throws InvalidArgument for zero dim, clusters or
// local_dim, threads < 1, or sizes that overflow.
Dataset generate_synth(const SynthParams& p);

// ---- TEXMEX .fvecs / .ivecs files -----------------------------------------------
//
// Each row is a little-endian int32 dimension followed by that many float32
// (.fvecs) or int32 (.ivecs) values. Every row must have the same dimension in
// 1 .. kMaxFileDimensions and the file must hold a whole number of rows.
// Open/read/write failures throw IoError (with path and strerror); malformed
// files throw DataError (with path and, where it applies, the row number).
// An empty file is valid: it yields no rows and a dimension of 0.

constexpr std::size_t kMaxFileDimensions = 1000000;

// Reads an .fvecs file into rows x *dim floats; max_rows > 0 reads only the first
// max_rows rows (the file size is still checked, later rows are not read).
std::vector<float> read_fvecs(const std::string& path, std::size_t* dim, std::size_t max_rows = 0);
// Writes rows x dim floats as an .fvecs file, replacing any existing file.
void write_fvecs(const std::string& path, const float* data, std::size_t rows, std::size_t dim);
// Reads an .ivecs file into rows x *k int32 values; max_rows as in read_fvecs.
std::vector<int32_t> read_ivecs(const std::string& path, std::size_t* k, std::size_t max_rows = 0);
// Writes rows x k int32 values as an .ivecs file, replacing any existing file.
void write_ivecs(const std::string& path, const int32_t* data, std::size_t rows, std::size_t k);

// ---- ground truth -----------------------------------------------------------------

// Exact k nearest base rows of every query: queries.rows x k ids, row-major,
// nearest first, equal distances ordered by lower id. L2 ranks by squared L2,
// InnerProduct by largest inner product, Cosine by smallest cosine distance
// (a zero vector's cosine distance is NaN and ranks after every number).
// When base.rows < k the tail of each row is -1. Throws InvalidArgument for
// k == 0, threads < 1, mismatched dimensions or more than INT32_MAX base rows.
std::vector<int32_t> exact_knn(const MatrixView& base, const MatrixView& queries, std::size_t k, Metric metric,
                               int threads);

// Mean over queries of |result top-k ∩ truth top-k| / k. Row q of result starts
// at result + q * result_stride (likewise truth); -1 entries are ignored and a
// repeated id counts once. Throws InvalidArgument if k == 0, queries == 0 or a
// stride is smaller than k.
double recall_at_k(const int32_t* result, const int32_t* truth, std::size_t queries, std::size_t result_stride,
                   std::size_t truth_stride, std::size_t k);

}  // namespace vectordb
