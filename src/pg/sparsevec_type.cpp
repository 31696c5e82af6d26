// Shared helpers of the sparsevec type: allocation and the checks every input
// path (text, binary, arrays, casts, typmods) applies, with pgvector's messages.
#include "pg/sparsevec_type.h"

#include <cmath>

namespace vectordb {
namespace pg {

SparseVector* new_sparsevec(int dim, int nnz) {
    const std::size_t size = sparsevec_size(nnz);
    auto* v = static_cast<SparseVector*>(palloc0(size));
    SET_VARSIZE(v, size);
    v->dim = dim;
    v->nnz = nnz;
    return v;
}

void check_same_sparsevec_dims(const SparseVector* a, const SparseVector* b) {
    if (a->dim != b->dim)
        ereport(ERROR,
                (errcode(ERRCODE_DATA_EXCEPTION), errmsg("different sparsevec dimensions %d and %d", a->dim, b->dim)));
}

void check_sparsevec_dim(int64 dim) {
    if (dim < 1) ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("sparsevec must have at least 1 dimension")));
    if (dim > kSparseMaxDimensions)
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                        errmsg("sparsevec cannot have more than %d dimensions", kSparseMaxDimensions)));
}

void check_sparsevec_nnz(int64 nnz, int64 dim) {
    if (nnz < 0)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("sparsevec cannot have negative number of elements")));
    if (nnz > kSparseMaxNonZero)
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                        errmsg("sparsevec cannot have more than %d non-zero elements", kSparseMaxNonZero)));
    if (nnz > dim)
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                        errmsg("sparsevec cannot have more elements than dimensions")));
}

void check_sparsevec_typmod(int dim, int32 typmod) {
    if (typmod != -1 && typmod != dim)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("expected %d dimensions, not %d", typmod, dim)));
}

void check_sparse_element(float value) {
    if (std::isnan(value)) ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("NaN not allowed in sparsevec")));
    if (std::isinf(value))
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("infinite value not allowed in sparsevec")));
}

}  // namespace pg
}  // namespace vectordb
