// Sparse vectors (pgvector's sparsevec): the text parser, shared by the
// PostgreSQL input function and the fuzz targets, and the distances, which
// merge the two sorted index lists. The caller owns every buffer, so the glue
// can allocate with palloc before the core runs.
//
// Indices are 0-based here and in the stored form, 1-based in text. Distances
// add their terms in index order in float, as pgvector does, so both give the
// same bits.
#pragma once

#include "core/common.h"

namespace vectordb {

constexpr int kSparseMaxDimensions = 1000000000;
constexpr int kSparseMaxNonZero = 16000;

struct SparseElement {
    int32_t index;  // 0-based; out of range until sparse_sort_elements checks it
    float value;
};

// A sparse vector's stored form: dim, and nnz sorted distinct indices with
// their non-zero values.
struct SparseView {
    int32_t dim;
    int32_t nnz;
    const int32_t* indices;
    const float* values;
};

// Upper bound on the elements of `text` (commas + 1). Throws LimitExceeded
// past kSparseMaxNonZero (pgvector checks this before the syntax).
std::size_t sparse_text_capacity(const char* text);

// Parses '{i:v,...}/dim' into out[0 .. capacity), dropping zero values, and
// returns how many it kept; *dim gets the dimensions, checked to be within
// 1 .. kSparseMaxDimensions. Throws InvalidTextRepresentation on bad syntax
// (DETAIL for a missing "{", a missing "/dim" and trailing junk),
// NumericOutOfRange for a value beyond the float range (or below it, to zero),
// DataError for NaN, infinity or no dimension, LimitExceeded past the maximum.
// Indices are not checked yet: the typmod's check comes first.
int parse_sparse_text(const char* text, SparseElement* out, std::size_t capacity, int32_t* dim);

// Sorts elements by index and checks each is within 0 .. dim - 1 and none
// repeats (DataError, pgvector's messages).
void sparse_sort_elements(SparseElement* elements, std::size_t n, int32_t dim);

// Checks a stored form read from outside (binary input): every index within
// 0 .. dim - 1, ascending, distinct (DataError). sparse_check_index checks
// indices[i] alone against indices[i - 1], for a reader that checks as it goes.
void sparse_check_index(const int32_t* indices, std::size_t i, int32_t dim);
void sparse_check_indices(const int32_t* indices, std::size_t n, int32_t dim);

// Distances over vectors of the same dim (the caller checks that).
float sparse_l2_squared(const SparseView& a, const SparseView& b);
float sparse_inner_product(const SparseView& a, const SparseView& b);
float sparse_l1(const SparseView& a, const SparseView& b);
float sparse_squared_norm(const SparseView& a);  // in float, as cosine distance uses it

// Cosine distance 1 - <a,b> / (|a| |b|), the similarity clamped to [-1, 1];
// NaN when either vector is zero.
double sparse_cosine_distance(const SparseView& a, const SparseView& b);

// btree order, consistent with the dense vector's element-wise order: the
// first dimension where the two differ decides (a missing element is 0), then
// the number of dimensions. Returns -1, 0 or 1.
int sparse_compare(const SparseView& a, const SparseView& b);

}  // namespace vectordb
