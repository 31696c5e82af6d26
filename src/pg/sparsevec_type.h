// The `sparsevec` type: pgvector's sparse vector, byte for byte (varlena
// header, int32 dimensions, int32 non-zero count, int32 reserved, then the
// 0-based indices ascending and their float values), so that dumps, binary
// COPY and client libraries move between the two.
// PostgreSQL code: every function may ereport.
#pragma once

#include "core/sparse_vector.h"

#include "pg/pg.h"

namespace vectordb {
namespace pg {

struct SparseVector {
    int32 vl_len_;  // varlena header (do not touch directly)
    int32 dim;      // number of dimensions
    int32 nnz;      // number of non-zero elements
    int32 unused;   // reserved, always 0
    int32 indices[FLEXIBLE_ARRAY_MEMBER];
    // followed by float values[nnz]
};

inline std::size_t sparsevec_size(int nnz) {
    return offsetof(SparseVector, indices) + (sizeof(int32) + sizeof(float)) * static_cast<std::size_t>(nnz);
}

inline float* sparsevec_values(SparseVector* v) {
    return reinterpret_cast<float*>(reinterpret_cast<char*>(v->indices) +
                                    sizeof(int32) * static_cast<std::size_t>(v->nnz));
}
inline const float* sparsevec_values(const SparseVector* v) { return sparsevec_values(const_cast<SparseVector*>(v)); }

inline SparseView sparse_view(const SparseVector* v) { return {v->dim, v->nnz, v->indices, sparsevec_values(v)}; }

inline SparseVector* datum_get_sparsevec(Datum d) { return reinterpret_cast<SparseVector*>(PG_DETOAST_DATUM(d)); }

// A sparsevec of `dim` dimensions with room for nnz elements, zeroed, in the current memory context.
SparseVector* new_sparsevec(int dim, int nnz);
// ERROR 22000 unless a and b have the same number of dimensions.
void check_same_sparsevec_dims(const SparseVector* a, const SparseVector* b);
// ERROR unless dim is within 1 .. kSparseMaxDimensions (22000 below, 54000 above).
void check_sparsevec_dim(int64 dim);
// ERROR unless nnz is within 0 .. kSparseMaxNonZero and at most dim.
void check_sparsevec_nnz(int64 nnz, int64 dim);
// ERROR 22000 if typmod fixes another dimension count.
void check_sparsevec_typmod(int dim, int32 typmod);
// ERROR 22000 if the value is NaN or infinite (pgvector's messages).
void check_sparse_element(float value);

}  // namespace pg
}  // namespace vectordb

#define PG_GETARG_SPARSEVEC_P(n) vectordb::pg::datum_get_sparsevec(PG_GETARG_DATUM(n))
