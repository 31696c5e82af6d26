// Shared helpers of the halfvec type: allocation and the checks every input
// path (text, binary, arrays, casts, typmods) applies, with pgvector's messages.
#include "core/half.h"

#include "pg/halfvec_type.h"

#include <cmath>

extern "C" {
#include "common/shortest_dec.h"
}

namespace vectordb {
namespace pg {

HalfVector* new_halfvec(int dim) {
    const std::size_t size = halfvec_size(dim);
    auto* v = static_cast<HalfVector*>(palloc0(size));
    SET_VARSIZE(v, size);
    v->dim = static_cast<int16>(dim);
    return v;
}

void check_same_halfvec_dims(const HalfVector* a, const HalfVector* b) {
    if (a->dim != b->dim)
        ereport(ERROR,
                (errcode(ERRCODE_DATA_EXCEPTION), errmsg("different halfvec dimensions %d and %d", a->dim, b->dim)));
}

void check_halfvec_dim(int dim) {
    if (dim < 1) ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("halfvec must have at least 1 dimension")));
    if (dim > kHalfvecMaxDim)
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                        errmsg("halfvec cannot have more than %d dimensions", kHalfvecMaxDim)));
}

void check_halfvec_typmod(int dim, int32 typmod) {
    if (typmod != -1 && typmod != dim)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("expected %d dimensions, not %d", typmod, dim)));
}

void check_half_element(std::uint16_t h) {
    if (half_is_nan(h)) ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("NaN not allowed in halfvec")));
    if (half_is_inf(h))
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("infinite value not allowed in halfvec")));
}

std::uint16_t checked_half(float value) {
    const std::uint16_t h = float_to_half(value);  // NaN stays NaN, infinity infinity
    if (half_is_inf(h) && !std::isinf(value)) {
        char text[FLOAT_SHORTEST_DECIMAL_LEN];
        float_to_shortest_decimal_buf(value, text);
        ereport(ERROR,
                (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE), errmsg("\"%s\" is out of range for type halfvec", text)));
    }
    check_half_element(h);
    return h;
}

void check_half_result(std::uint16_t h) {
    if (half_is_inf(h))
        ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE), errmsg("value out of range: overflow")));
}

}  // namespace pg
}  // namespace vectordb
