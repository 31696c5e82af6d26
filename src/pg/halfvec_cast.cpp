// Casts of halfvec: to and from vector, from integer[], real[], double
// precision[] and numeric[], to real[].
#include "core/half.h"

#include "pg/guard.h"
#include "pg/halfvec_type.h"
#include "pg/vector_common.h"
#include "pg/vector_type.h"

extern "C" {
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
}

using vectordb::pg::HalfVector;
using vectordb::pg::Vector;

// array_to_halfvec(int4[]/float4[]/float8[]/numeric[], typmod, explicit).
VECTORDB_FUNCTION(array_to_halfvec) {
    ArrayType* array = PG_GETARG_ARRAYTYPE_P(0);
    const int32 typmod = PG_GETARG_INT32(1);
    Oid elemtype;
    int nelems;
    Datum* elems = vectordb::pg::array_elements(array, &nelems, &elemtype);
    vectordb::pg::check_halfvec_dim(nelems);
    vectordb::pg::check_halfvec_typmod(nelems, typmod);
    HalfVector* result = vectordb::pg::new_halfvec(nelems);
    for (int i = 0; i < nelems; i++) {
        result->x[i] = vectordb::pg::checked_half(vectordb::pg::array_element_to_float(elems[i], elemtype));
    }
    pfree(elems);
    PG_RETURN_POINTER(result);
}

// halfvec_to_float4(halfvec, typmod, explicit): halfvec to real[].
VECTORDB_FUNCTION(halfvec_to_float4) {
    const HalfVector* v = PG_GETARG_HALFVEC_P(0);
    auto* datums = static_cast<Datum*>(palloc(sizeof(Datum) * v->dim));
    for (int i = 0; i < v->dim; i++) datums[i] = Float4GetDatum(vectordb::half_to_float(v->x[i]));
    ArrayType* result = construct_array(datums, v->dim, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT);
    pfree(datums);
    PG_RETURN_POINTER(result);
}

// vector_to_halfvec(vector, typmod, explicit): each element rounded to the nearest half.
VECTORDB_FUNCTION(vector_to_halfvec) {
    const Vector* v = PG_GETARG_VECTOR_P(0);
    vectordb::pg::check_halfvec_dim(v->dim);
    vectordb::pg::check_halfvec_typmod(v->dim, PG_GETARG_INT32(1));
    HalfVector* result = vectordb::pg::new_halfvec(v->dim);
    for (int i = 0; i < v->dim; i++) result->x[i] = vectordb::pg::checked_half(v->x[i]);
    PG_RETURN_POINTER(result);
}

// halfvec_to_vector(halfvec, typmod, explicit): exact.
VECTORDB_FUNCTION(halfvec_to_vector) {
    const HalfVector* v = PG_GETARG_HALFVEC_P(0);
    vectordb::pg::check_dim_range(v->dim);
    vectordb::pg::check_typmod_dims(v->dim, PG_GETARG_INT32(1));
    Vector* result = vectordb::pg::new_vector(v->dim);
    vectordb::halves_to_floats(v->x, result->x, static_cast<std::size_t>(v->dim));
    PG_RETURN_POINTER(result);
}
