// Casts between vector and SQL arrays (integer[], real[], double precision[],
// numeric[] to vector; vector to real[] and double precision[]).
#include "pg/guard.h"
#include "pg/vector_common.h"
#include "pg/vector_type.h"

extern "C" {
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
}

using vectordb::pg::Vector;

// array_to_vector(anyarray of int4/float4/float8/numeric, typmod, explicit).
VECTORDB_FUNCTION(array_to_vector) {
    ArrayType* array = PG_GETARG_ARRAYTYPE_P(0);
    const int32 typmod = PG_GETARG_INT32(1);

    Oid elemtype;
    int nelems;
    Datum* elems = vectordb::pg::array_elements(array, &nelems, &elemtype);

    vectordb::pg::check_dim_range(nelems);
    vectordb::pg::check_typmod_dims(nelems, typmod);

    Vector* result = vectordb::pg::new_vector(nelems);
    for (int i = 0; i < nelems; i++) {
        result->x[i] = vectordb::pg::array_element_to_float(elems[i], elemtype);
        vectordb::pg::check_element(result->x[i]);
    }
    pfree(elems);
    PG_RETURN_VECTOR_P(result);
}

// vector_to_float4(vector, typmod, explicit): vector to real[].
VECTORDB_FUNCTION(vector_to_float4) {
    const Vector* v = PG_GETARG_VECTOR_P(0);
    auto* datums = static_cast<Datum*>(palloc(sizeof(Datum) * v->dim));
    for (int i = 0; i < v->dim; i++) datums[i] = Float4GetDatum(v->x[i]);
    ArrayType* result = construct_array(datums, v->dim, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT);
    pfree(datums);
    PG_RETURN_POINTER(result);
}

// vector_to_float8(vector, typmod, explicit): vector to double precision[].
VECTORDB_FUNCTION(vector_to_float8) {
    const Vector* v = PG_GETARG_VECTOR_P(0);
    auto* datums = static_cast<Datum*>(palloc(sizeof(Datum) * v->dim));
    for (int i = 0; i < v->dim; i++) datums[i] = Float8GetDatum(v->x[i]);
    ArrayType* result = construct_array(datums, v->dim, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
    pfree(datums);
    PG_RETURN_POINTER(result);
}
