// Distance functions, arithmetic, comparisons and utility functions of the
// vector type. Distances run on the SIMD kernels in src/core/distance.h, the
// same code the index uses.
#include "core/distance.h"

#include "pg/guard.h"
#include "pg/vector_common.h"
#include "pg/vector_type.h"

extern "C" {
#include "utils/float.h"
#include "utils/varbit.h"
}

using vectordb::pg::Vector;

namespace {

// Both arguments, already checked to have equal dimensions.
struct VectorPair {
    Vector* a;
    Vector* b;
};

VectorPair get_pair(FunctionCallInfo fcinfo) {
    VectorPair p{PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1)};
    vectordb::pg::check_same_dims(p.a, p.b);
    return p;
}

// ERROR 22003 if an arithmetic result left the float range.
void check_result(float result, float lhs, float rhs, bool is_product) {
    if (std::isinf(result))
        ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE), errmsg("value out of range: overflow")));
    if (is_product && result == 0.0f && lhs != 0.0f && rhs != 0.0f)
        ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE), errmsg("value out of range: underflow")));
}

// Lexicographic order by elements, then by dimension count (btree support).
int compare_vectors(const Vector* a, const Vector* b) {
    const int n = std::min(a->dim, b->dim);
    for (int i = 0; i < n; i++) {
        if (a->x[i] < b->x[i]) return -1;
        if (a->x[i] > b->x[i]) return 1;
    }
    if (a->dim < b->dim) return -1;
    if (a->dim > b->dim) return 1;
    return 0;
}

}  // namespace

// ---- distances ------------------------------------------------------------

VECTORDB_FUNCTION(l2_distance) {
    VectorPair p = get_pair(fcinfo);
    PG_RETURN_FLOAT8(std::sqrt(static_cast<double>(vectordb::l2_squared_distance(p.a->x, p.b->x, p.a->dim))));
}

VECTORDB_FUNCTION(vector_l2_squared_distance) {
    VectorPair p = get_pair(fcinfo);
    PG_RETURN_FLOAT8(static_cast<double>(vectordb::l2_squared_distance(p.a->x, p.b->x, p.a->dim)));
}

VECTORDB_FUNCTION(inner_product) {
    VectorPair p = get_pair(fcinfo);
    PG_RETURN_FLOAT8(static_cast<double>(vectordb::inner_product(p.a->x, p.b->x, p.a->dim)));
}

VECTORDB_FUNCTION(vector_negative_inner_product) {
    VectorPair p = get_pair(fcinfo);
    PG_RETURN_FLOAT8(-static_cast<double>(vectordb::inner_product(p.a->x, p.b->x, p.a->dim)));
}

VECTORDB_FUNCTION(cosine_distance) {
    VectorPair p = get_pair(fcinfo);
    PG_RETURN_FLOAT8(vectordb::cosine_distance(p.a->x, p.b->x, p.a->dim));
}

VECTORDB_FUNCTION(l1_distance) {
    VectorPair p = get_pair(fcinfo);
    PG_RETURN_FLOAT8(static_cast<double>(vectordb::l1_distance(p.a->x, p.b->x, p.a->dim)));
}

// ---- properties and transforms --------------------------------------------

VECTORDB_FUNCTION(vector_dims) { PG_RETURN_INT32(PG_GETARG_VECTOR_P(0)->dim); }

VECTORDB_FUNCTION(vector_norm) {
    const Vector* v = PG_GETARG_VECTOR_P(0);
    // Summed in double: the norm is returned as float8 and users compare it exactly.
    double sum = 0.0;
    for (int i = 0; i < v->dim; i++) sum += static_cast<double>(v->x[i]) * v->x[i];
    PG_RETURN_FLOAT8(std::sqrt(sum));
}

VECTORDB_FUNCTION(l2_normalize) {
    const Vector* v = PG_GETARG_VECTOR_P(0);
    Vector* result = vectordb::pg::new_vector(v->dim);
    double sum = 0.0;
    for (int i = 0; i < v->dim; i++) sum += static_cast<double>(v->x[i]) * v->x[i];
    const double norm = std::sqrt(sum);
    // A zero vector stays zero rather than becoming NaN.
    if (norm > 0)
        for (int i = 0; i < v->dim; i++) result->x[i] = static_cast<float>(v->x[i] / norm);
    PG_RETURN_VECTOR_P(result);
}

// subvector(v, start, count): count elements from 1-based start, clipped to v.
VECTORDB_FUNCTION(subvector) {
    const Vector* v = PG_GETARG_VECTOR_P(0);
    int taken = 0;
    const int first = vectordb::pg::subvector_range(v->dim, PG_GETARG_INT32(1), PG_GETARG_INT32(2), "vector", &taken);
    Vector* result = vectordb::pg::new_vector(taken);
    std::memcpy(result->x, v->x + first, sizeof(float) * static_cast<std::size_t>(taken));
    PG_RETURN_VECTOR_P(result);
}

// binary_quantize(v): one bit per dimension, set where the element is > 0.
VECTORDB_FUNCTION(binary_quantize) {
    const Vector* v = PG_GETARG_VECTOR_P(0);
    PG_RETURN_VARBIT_P(vectordb::pg::quantize_bits(v->dim, [v](int i) { return v->x[i] > 0; }));
}

// ---- element-wise arithmetic -----------------------------------------------

VECTORDB_FUNCTION(vector_add) {
    VectorPair p = get_pair(fcinfo);
    Vector* result = vectordb::pg::new_vector(p.a->dim);
    for (int i = 0; i < p.a->dim; i++) {
        result->x[i] = p.a->x[i] + p.b->x[i];
        check_result(result->x[i], p.a->x[i], p.b->x[i], false);
    }
    PG_RETURN_VECTOR_P(result);
}

VECTORDB_FUNCTION(vector_sub) {
    VectorPair p = get_pair(fcinfo);
    Vector* result = vectordb::pg::new_vector(p.a->dim);
    for (int i = 0; i < p.a->dim; i++) {
        result->x[i] = p.a->x[i] - p.b->x[i];
        check_result(result->x[i], p.a->x[i], p.b->x[i], false);
    }
    PG_RETURN_VECTOR_P(result);
}

VECTORDB_FUNCTION(vector_mul) {
    VectorPair p = get_pair(fcinfo);
    Vector* result = vectordb::pg::new_vector(p.a->dim);
    for (int i = 0; i < p.a->dim; i++) {
        result->x[i] = p.a->x[i] * p.b->x[i];
        check_result(result->x[i], p.a->x[i], p.b->x[i], true);
    }
    PG_RETURN_VECTOR_P(result);
}

VECTORDB_FUNCTION(vector_concat) {
    const Vector* a = PG_GETARG_VECTOR_P(0);
    const Vector* b = PG_GETARG_VECTOR_P(1);
    vectordb::pg::check_dim_range(a->dim + b->dim);
    Vector* result = vectordb::pg::new_vector(a->dim + b->dim);
    std::memcpy(result->x, a->x, sizeof(float) * a->dim);
    std::memcpy(result->x + a->dim, b->x, sizeof(float) * b->dim);
    PG_RETURN_VECTOR_P(result);
}

// ---- comparison (btree opclass) --------------------------------------------

VECTORDB_FUNCTION(vector_cmp) { PG_RETURN_INT32(compare_vectors(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1))); }
VECTORDB_FUNCTION(vector_lt) { PG_RETURN_BOOL(compare_vectors(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1)) < 0); }
VECTORDB_FUNCTION(vector_le) { PG_RETURN_BOOL(compare_vectors(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1)) <= 0); }
VECTORDB_FUNCTION(vector_eq) { PG_RETURN_BOOL(compare_vectors(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1)) == 0); }
VECTORDB_FUNCTION(vector_ne) { PG_RETURN_BOOL(compare_vectors(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1)) != 0); }
VECTORDB_FUNCTION(vector_ge) { PG_RETURN_BOOL(compare_vectors(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1)) >= 0); }
VECTORDB_FUNCTION(vector_gt) { PG_RETURN_BOOL(compare_vectors(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1)) > 0); }
