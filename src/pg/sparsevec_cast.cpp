// Casts of sparsevec: to and from vector and halfvec, from integer[], real[],
// double precision[] and numeric[]. A dense element of zero (either sign) is
// not stored.
#include "core/half.h"

#include "pg/guard.h"
#include "pg/halfvec_type.h"
#include "pg/sparsevec_type.h"
#include "pg/vector_common.h"
#include "pg/vector_type.h"

extern "C" {
#include "utils/array.h"
}

using vectordb::pg::HalfVector;
using vectordb::pg::SparseVector;
using vectordb::pg::Vector;

namespace {

// The sparsevec of dim dense elements element(i), the dimensions checked
// against the sparsevec's limits and the typmod first, then the element count.
template <class Element>
SparseVector* sparse_from_dense(int dim, int32 typmod, Element element) {
    vectordb::pg::check_sparsevec_dim(dim);
    vectordb::pg::check_sparsevec_typmod(dim, typmod);
    int nnz = 0;
    for (int i = 0; i < dim; i++)
        if (element(i) != 0.0f) nnz++;  // NaN counts: the element check rejects it below
    vectordb::pg::check_sparsevec_nnz(nnz, dim);
    SparseVector* result = vectordb::pg::new_sparsevec(dim, nnz);
    float* values = vectordb::pg::sparsevec_values(result);
    int j = 0;
    for (int i = 0; i < dim && j < nnz; i++) {
        const float x = element(i);
        if (x == 0.0f) continue;
        result->indices[j] = i;
        values[j++] = x;
    }
    for (int i = 0; i < nnz; i++) vectordb::pg::check_sparse_element(values[i]);
    return result;
}

}  // namespace

// vector_to_sparsevec(vector, typmod, explicit).
VECTORDB_FUNCTION(vector_to_sparsevec) {
    const Vector* v = PG_GETARG_VECTOR_P(0);
    PG_RETURN_POINTER(sparse_from_dense(v->dim, PG_GETARG_INT32(1), [v](int i) { return v->x[i]; }));
}

// halfvec_to_sparsevec(halfvec, typmod, explicit).
VECTORDB_FUNCTION(halfvec_to_sparsevec) {
    const HalfVector* v = PG_GETARG_HALFVEC_P(0);
    PG_RETURN_POINTER(
        sparse_from_dense(v->dim, PG_GETARG_INT32(1), [v](int i) { return vectordb::half_to_float(v->x[i]); }));
}

// array_to_sparsevec(int4[]/float4[]/float8[]/numeric[], typmod, explicit).
VECTORDB_FUNCTION(array_to_sparsevec) {
    ArrayType* array = PG_GETARG_ARRAYTYPE_P(0);
    const int32 typmod = PG_GETARG_INT32(1);
    Oid elemtype;
    int nelems;
    Datum* elems = vectordb::pg::array_elements(array, &nelems, &elemtype);
    // Converted once: numeric's conversion is a function call each.
    auto* dense = static_cast<float*>(palloc(sizeof(float) * static_cast<std::size_t>(nelems > 0 ? nelems : 1)));
    for (int i = 0; i < nelems; i++) dense[i] = vectordb::pg::array_element_to_float(elems[i], elemtype);
    SparseVector* result = sparse_from_dense(nelems, typmod, [dense](int i) { return dense[i]; });
    pfree(dense);
    pfree(elems);
    PG_RETURN_POINTER(result);
}

// sparsevec_to_vector(sparsevec, typmod, explicit): within vector's 16,000 dimensions.
VECTORDB_FUNCTION(sparsevec_to_vector) {
    const SparseVector* v = PG_GETARG_SPARSEVEC_P(0);
    vectordb::pg::check_dim_range(v->dim);
    vectordb::pg::check_typmod_dims(v->dim, PG_GETARG_INT32(1));
    Vector* result = vectordb::pg::new_vector(v->dim);
    const float* values = vectordb::pg::sparsevec_values(v);
    for (int i = 0; i < v->nnz; i++) result->x[v->indices[i]] = values[i];
    PG_RETURN_POINTER(result);
}

// sparsevec_to_halfvec(sparsevec, typmod, explicit): each value rounded to the nearest half.
VECTORDB_FUNCTION(sparsevec_to_halfvec) {
    const SparseVector* v = PG_GETARG_SPARSEVEC_P(0);
    vectordb::pg::check_halfvec_dim(v->dim);
    vectordb::pg::check_halfvec_typmod(v->dim, PG_GETARG_INT32(1));
    HalfVector* result = vectordb::pg::new_halfvec(v->dim);
    const float* values = vectordb::pg::sparsevec_values(v);
    for (int i = 0; i < v->nnz; i++) result->x[v->indices[i]] = vectordb::pg::checked_half(values[i]);
    PG_RETURN_POINTER(result);
}
