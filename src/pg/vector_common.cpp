// Helpers shared by the vector and halfvec types (see vector_common.h).
#include "pg/vector_common.h"

extern "C" {
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
