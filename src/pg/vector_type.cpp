// Shared helpers for the vector type: allocation and the checks every input
// path (text, binary, arrays, typmod casts) applies.
#include "pg/vector_type.h"

namespace vectordb {
namespace pg {

Vector* new_vector(int dim) {
    const std::size_t size = vector_size(dim);
    auto* v = static_cast<Vector*>(palloc0(size));
    SET_VARSIZE(v, size);
    v->dim = static_cast<int16>(dim);
    return v;
}

void check_same_dims(const Vector* a, const Vector* b) {
    if (a->dim != b->dim)
        ereport(ERROR,
                (errcode(ERRCODE_DATA_EXCEPTION), errmsg("different vector dimensions %d and %d", a->dim, b->dim)));
}

void check_dim_range(int dim) {
    if (dim < 1) ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("vector must have at least 1 dimension")));
    if (dim > kVectorMaxDim)
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                        errmsg("vector cannot have more than %d dimensions", kVectorMaxDim)));
}

void check_typmod_dims(int dim, int32 typmod) {
    if (typmod != -1 && typmod != dim)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("expected %d dimensions, not %d", typmod, dim)));
}

void check_element(float value) {
    if (std::isnan(value)) ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("NaN not allowed in vector")));
    if (std::isinf(value))
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("infinite value not allowed in vector")));
}

}  // namespace pg
}  // namespace vectordb
