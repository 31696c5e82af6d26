// Helpers shared by the vector and halfvec types (see vector_common.h).
#include "pg/vector_common.h"

extern "C" {
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/numeric.h"
#include "utils/lsyscache.h"
}

namespace vectordb {
namespace pg {

Datum* array_elements(ArrayType* array, int* count, Oid* elemtype) {
    if (ARR_NDIM(array) > 1) ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("array must be 1-D")));
    if (ARR_HASNULL(array) && array_contains_nulls(array))
        ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("array must not contain nulls")));
    *elemtype = ARR_ELEMTYPE(array);
    int16 typlen;
    bool typbyval;
    char typalign;
    get_typlenbyvalalign(*elemtype, &typlen, &typbyval, &typalign);
    Datum* elems;
    deconstruct_array(array, *elemtype, typlen, typbyval, typalign, &elems, nullptr, count);
    return elems;
}

// Converts one array element to float4, whatever the array's element type.
float array_element_to_float(Datum value, Oid elemtype) {
    switch (elemtype) {
        case INT4OID:
            return static_cast<float>(DatumGetInt32(value));
        case FLOAT4OID:
            return DatumGetFloat4(value);
        case FLOAT8OID:
            // Beyond the float range the element becomes infinite, which the
            // element check then rejects (pgvector's order and message).
            return static_cast<float>(DatumGetFloat8(value));
        case NUMERICOID:
            return DatumGetFloat4(DirectFunctionCall1(numeric_float4, value));
        default:
            ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                            errmsg("unsupported array element type %s", format_type_be(elemtype))));
    }
    pg_unreachable();
}

int32 dimensions_typmod(ArrayType* modifiers, const char* type, int max_dim) {
    int n = 0;
    int32* mods = ArrayGetIntegerTypmods(modifiers, &n);
    if (n != 1) ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid type modifier")));
    if (mods[0] < 1)
        ereport(ERROR,
                (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("dimensions for type %s must be at least 1", type)));
    if (mods[0] > max_dim)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("dimensions for type %s cannot exceed %d", type, max_dim)));
    return mods[0];
}

int subvector_range(int dim, int32 start, int32 count, const char* type, int* taken) {
    if (count < 1) ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("%s must have at least 1 dimension", type)));
    int64 first = start;
    int64 end = int64{start} + count;  // exclusive; no overflow in int64
    if (first < 1) first = 1;
    if (end > int64{dim} + 1) end = int64{dim} + 1;
    if (end - first < 1)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("%s must have at least 1 dimension", type)));
    *taken = static_cast<int>(end - first);
    return static_cast<int>(first - 1);
}

}  // namespace pg
}  // namespace vectordb
