// Distance functions, norms and comparisons of the sparsevec type, on the
// core's merge of the two index lists (core/sparse_vector.h); results are
// float8 as pgvector's are.
#include "core/sparse_vector.h"

#include "pg/guard.h"
#include "pg/sparsevec_type.h"

#include <cmath>

using vectordb::pg::SparseVector;

namespace {

struct SparsePair {
    vectordb::SparseView a;
    vectordb::SparseView b;
};

// The two arguments, of the same dimensions.
SparsePair get_pair(FunctionCallInfo fcinfo) {
    const SparseVector* a = PG_GETARG_SPARSEVEC_P(0);
    const SparseVector* b = PG_GETARG_SPARSEVEC_P(1);
    vectordb::pg::check_same_sparsevec_dims(a, b);
    return {vectordb::pg::sparse_view(a), vectordb::pg::sparse_view(b)};
}

// |v| in double, as pgvector's l2_norm and l2_normalize take it.
double norm_of(const SparseVector* v) {
    const float* values = vectordb::pg::sparsevec_values(v);
    double sum = 0.0;
    for (int i = 0; i < v->nnz; i++) sum += static_cast<double>(values[i]) * values[i];
    return std::sqrt(sum);
}

int compare_args(FunctionCallInfo fcinfo) {
    return vectordb::sparse_compare(vectordb::pg::sparse_view(PG_GETARG_SPARSEVEC_P(0)),
                                    vectordb::pg::sparse_view(PG_GETARG_SPARSEVEC_P(1)));
}

}  // namespace

VECTORDB_FUNCTION(sparsevec_l2_distance) {
    const SparsePair p = get_pair(fcinfo);
    PG_RETURN_FLOAT8(std::sqrt(static_cast<double>(vectordb::sparse_l2_squared(p.a, p.b))));
}

VECTORDB_FUNCTION(sparsevec_l2_squared_distance) {
    const SparsePair p = get_pair(fcinfo);
    PG_RETURN_FLOAT8(static_cast<double>(vectordb::sparse_l2_squared(p.a, p.b)));
}

VECTORDB_FUNCTION(sparsevec_inner_product) {
    const SparsePair p = get_pair(fcinfo);
    PG_RETURN_FLOAT8(static_cast<double>(vectordb::sparse_inner_product(p.a, p.b)));
}

VECTORDB_FUNCTION(sparsevec_negative_inner_product) {
    const SparsePair p = get_pair(fcinfo);
    PG_RETURN_FLOAT8(-static_cast<double>(vectordb::sparse_inner_product(p.a, p.b)));
}

VECTORDB_FUNCTION(sparsevec_cosine_distance) {
    const SparsePair p = get_pair(fcinfo);
    PG_RETURN_FLOAT8(vectordb::sparse_cosine_distance(p.a, p.b));
}

VECTORDB_FUNCTION(sparsevec_l1_distance) {
    const SparsePair p = get_pair(fcinfo);
    PG_RETURN_FLOAT8(static_cast<double>(vectordb::sparse_l1(p.a, p.b)));
}

VECTORDB_FUNCTION(sparsevec_l2_norm) { PG_RETURN_FLOAT8(norm_of(PG_GETARG_SPARSEVEC_P(0))); }

// l2_normalize(sparsevec): the zero vector stays zero; an element that
// underflows to zero is dropped, one that overflows is an error.
VECTORDB_FUNCTION(sparsevec_l2_normalize) {
    const SparseVector* v = PG_GETARG_SPARSEVEC_P(0);
    const float* values = vectordb::pg::sparsevec_values(v);
    const double norm = norm_of(v);
    if (norm == 0.0) PG_RETURN_POINTER(vectordb::pg::new_sparsevec(v->dim, 0));
    int kept = 0;
    for (int i = 0; i < v->nnz; i++) {
        const auto x = static_cast<float>(values[i] / norm);
        if (std::isinf(x))
            ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE), errmsg("value out of range: overflow")));
        if (x != 0.0f) kept++;
    }
    SparseVector* result = vectordb::pg::new_sparsevec(v->dim, kept);
    float* out = vectordb::pg::sparsevec_values(result);
    int j = 0;
    for (int i = 0; i < v->nnz; i++) {
        const auto x = static_cast<float>(values[i] / norm);
        if (x == 0.0f) continue;
        result->indices[j] = v->indices[i];
        out[j++] = x;
    }
    PG_RETURN_POINTER(result);
}

VECTORDB_FUNCTION(sparsevec_lt) { PG_RETURN_BOOL(compare_args(fcinfo) < 0); }
VECTORDB_FUNCTION(sparsevec_le) { PG_RETURN_BOOL(compare_args(fcinfo) <= 0); }
VECTORDB_FUNCTION(sparsevec_eq) { PG_RETURN_BOOL(compare_args(fcinfo) == 0); }
VECTORDB_FUNCTION(sparsevec_ne) { PG_RETURN_BOOL(compare_args(fcinfo) != 0); }
VECTORDB_FUNCTION(sparsevec_ge) { PG_RETURN_BOOL(compare_args(fcinfo) >= 0); }
VECTORDB_FUNCTION(sparsevec_gt) { PG_RETURN_BOOL(compare_args(fcinfo) > 0); }
VECTORDB_FUNCTION(sparsevec_cmp) { PG_RETURN_INT32(compare_args(fcinfo)); }
