// What the vector-like types (vector, halfvec) share beyond their element
// type: the typmod, text output, array input, subvector's range and
// binary_quantize's bit string.
// PostgreSQL code: every function may ereport.
#pragma once

#include "pg/pg.h"

extern "C" {
#include "common/shortest_dec.h"
#include "utils/array.h"
#include "utils/varbit.h"
}

namespace vectordb {
namespace pg {

// The n of <type>(n) from typmod_in's cstring[] (ERROR 22023 unless one
// modifier within 1 .. max_dim).
int32 dimensions_typmod(ArrayType* modifiers, const char* type, int max_dim);

// The text form '[x1,x2,...]' of dim elements, element(i) a float each
// written as the shortest decimal that reads back to it, palloc'd.
template <class Element>
char* elements_text(int dim, Element element) {
    // Each element needs at most FLOAT_SHORTEST_DECIMAL_LEN - 1 chars plus a comma.
    char* out = static_cast<char*>(palloc(FLOAT_SHORTEST_DECIMAL_LEN * (dim + 1) + 2));
    char* p = out;
    *p++ = '[';
    for (int i = 0; i < dim; i++) {
        if (i > 0) *p++ = ',';
        p += float_to_shortest_decimal_bufn(element(i), p);
    }
    *p++ = ']';
    *p = '\0';
    return out;
}

// One element of an int4, float4, float8 or numeric array as a float (an
// infinite one past the float range, for the element check to reject);
// ERROR 22000 for another element type.
float array_element_to_float(Datum value, Oid elemtype);

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
