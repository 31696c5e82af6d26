// What the vector-like types (vector, halfvec) share beyond their element
// type: array input, subvector's range and binary_quantize's bit string.
// PostgreSQL code: every function may ereport.
#pragma once

#include "pg/pg.h"

extern "C" {
#include "utils/array.h"
#include "utils/varbit.h"
}

namespace vectordb {
namespace pg {

// The elements of a 1-D array without NULLs (ERROR 22000 / 22004 otherwise),
// palloc'd, and their type.
Datum* array_elements(ArrayType* array, int* count, Oid* elemtype);

// The 0-based first element subvector(v, start, count) takes from `dim`
// elements (start is 1-based; the range is clipped to the vector), and in
// *taken how many; ERROR 22000 "<type> must have at least 1 dimension" if none.
int subvector_range(int dim, int32 start, int32 count, const char* type, int* taken);

// A bit string of dim bits, bit i set where positive(i) (binary_quantize).
template <class Positive>
VarBit* quantize_bits(int dim, Positive positive) {
    const int len = VARBITTOTALLEN(dim);
    auto* result = static_cast<VarBit*>(palloc0(len));
    SET_VARSIZE(result, len);
    VARBITLEN(result) = dim;
    bits8* bits = VARBITS(result);
    for (int i = 0; i < dim; i++)
        if (positive(i)) bits[i / 8] |= static_cast<bits8>(1 << (7 - (i % 8)));
    return result;
}

}  // namespace pg
}  // namespace vectordb
