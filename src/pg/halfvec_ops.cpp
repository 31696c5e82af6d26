// Distance functions, arithmetic, comparisons, utility functions and the
// aggregates of the halfvec type. Distances run on core/half.h's kernels
// (F16C conversion, then the float SIMD kernels); results are float8 as
// pgvector's are.
#include "core/half.h"

#include "pg/guard.h"
#include "pg/halfvec_type.h"
#include "pg/vector_common.h"

#include <cmath>
#include <vector>

extern "C" {
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/varbit.h"
}

using vectordb::pg::HalfVector;

namespace {

struct HalfPair {
    HalfVector* a;
    HalfVector* b;
};

HalfPair get_pair(FunctionCallInfo fcinfo) {
    HalfPair p{PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1)};
    vectordb::pg::check_same_halfvec_dims(p.a, p.b);
    return p;
}

std::size_t dims(const HalfVector* v) { return static_cast<std::size_t>(v->dim); }

// Lexicographic order by element value, then by dimension count (btree support).
int compare_halfvecs(const HalfVector* a, const HalfVector* b) {
    const int n = std::min(a->dim, b->dim);
    for (int i = 0; i < n; i++) {
        const float x = vectordb::half_to_float(a->x[i]), y = vectordb::half_to_float(b->x[i]);
        if (x < y) return -1;
        if (x > y) return 1;
    }
    if (a->dim < b->dim) return -1;
    if (a->dim > b->dim) return 1;
    return 0;
}

double squared_norm(const HalfVector* v) {
    double sum = 0.0;
    for (int i = 0; i < v->dim; i++) {
        const double x = vectordb::half_to_float(v->x[i]);
        sum += x * x;
    }
    return sum;
}

// Element-wise op over two halfvecs of equal dimensions, in float, rounded to half.
template <class Op>
HalfVector* elementwise(const HalfPair& p, Op op, bool is_product) {
    HalfVector* result = vectordb::pg::new_halfvec(p.a->dim);
    for (int i = 0; i < p.a->dim; i++) {
        const float x = vectordb::half_to_float(p.a->x[i]), y = vectordb::half_to_float(p.b->x[i]);
        result->x[i] = vectordb::float_to_half(op(x, y));
        vectordb::pg::check_half_result(result->x[i]);
        if (is_product && (result->x[i] & 0x7fffu) == 0 && x != 0 && y != 0)
            ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE), errmsg("value out of range: underflow")));
    }
    return result;
}

// The avg state, float8[] {count, sum_1 .. sum_d}; ERROR unless it is one.
float8* state_values(ArrayType* state, const char* caller, int* n) {
    if (ARR_NDIM(state) != 1 || ARR_DIMS(state)[0] < 1 || ARR_HASNULL(state) || ARR_ELEMTYPE(state) != FLOAT8OID)
        elog(ERROR, "%s: expected state array", caller);
    *n = ARR_DIMS(state)[0];
    return reinterpret_cast<float8*>(ARR_DATA_PTR(state));
}

ArrayType* make_state(const float8* values, int n) {
    std::vector<Datum> datums(static_cast<std::size_t>(n));
    for (int i = 0; i < n; i++) datums[i] = Float8GetDatum(values[i]);
    return construct_array(datums.data(), n, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
}

}  // namespace

// ---- distances ------------------------------------------------------------

VECTORDB_FUNCTION(halfvec_l2_distance) {
    HalfPair p = get_pair(fcinfo);
    PG_RETURN_FLOAT8(std::sqrt(static_cast<double>(vectordb::half_l2_squared_distance(p.a->x, p.b->x, dims(p.a)))));
}

VECTORDB_FUNCTION(halfvec_l2_squared_distance) {
    HalfPair p = get_pair(fcinfo);
    PG_RETURN_FLOAT8(static_cast<double>(vectordb::half_l2_squared_distance(p.a->x, p.b->x, dims(p.a))));
}

VECTORDB_FUNCTION(halfvec_inner_product) {
    HalfPair p = get_pair(fcinfo);
    PG_RETURN_FLOAT8(static_cast<double>(vectordb::half_inner_product(p.a->x, p.b->x, dims(p.a))));
}

VECTORDB_FUNCTION(halfvec_negative_inner_product) {
    HalfPair p = get_pair(fcinfo);
    PG_RETURN_FLOAT8(-static_cast<double>(vectordb::half_inner_product(p.a->x, p.b->x, dims(p.a))));
}

VECTORDB_FUNCTION(halfvec_cosine_distance) {
    HalfPair p = get_pair(fcinfo);
    PG_RETURN_FLOAT8(vectordb::half_cosine_distance(p.a->x, p.b->x, dims(p.a)));
}

VECTORDB_FUNCTION(halfvec_l1_distance) {
    HalfPair p = get_pair(fcinfo);
    PG_RETURN_FLOAT8(static_cast<double>(vectordb::half_l1_distance(p.a->x, p.b->x, dims(p.a))));
}

// ---- properties and transforms --------------------------------------------

VECTORDB_FUNCTION(halfvec_vector_dims) { PG_RETURN_INT32(PG_GETARG_HALFVEC_P(0)->dim); }

VECTORDB_FUNCTION(halfvec_l2_norm) { PG_RETURN_FLOAT8(std::sqrt(squared_norm(PG_GETARG_HALFVEC_P(0)))); }

VECTORDB_FUNCTION(halfvec_l2_normalize) {
    const HalfVector* v = PG_GETARG_HALFVEC_P(0);
    HalfVector* result = vectordb::pg::new_halfvec(v->dim);
    const double norm = std::sqrt(squared_norm(v));
    // A zero vector stays zero rather than becoming NaN.
    if (norm > 0)
        for (int i = 0; i < v->dim; i++) {
            result->x[i] = vectordb::float_to_half(static_cast<float>(vectordb::half_to_float(v->x[i]) / norm));
            vectordb::pg::check_half_result(result->x[i]);
        }
    PG_RETURN_POINTER(result);
}

// subvector(v, start, count): count elements from 1-based start, clipped to v.
VECTORDB_FUNCTION(halfvec_subvector) {
    const HalfVector* v = PG_GETARG_HALFVEC_P(0);
    int taken = 0;
    const int first = vectordb::pg::subvector_range(v->dim, PG_GETARG_INT32(1), PG_GETARG_INT32(2), "halfvec", &taken);
    HalfVector* result = vectordb::pg::new_halfvec(taken);
    std::memcpy(result->x, v->x + first, sizeof(std::uint16_t) * static_cast<std::size_t>(taken));
    PG_RETURN_POINTER(result);
}

// binary_quantize(v): one bit per dimension, set where the element is > 0.
VECTORDB_FUNCTION(halfvec_binary_quantize) {
    const HalfVector* v = PG_GETARG_HALFVEC_P(0);
    PG_RETURN_VARBIT_P(
        vectordb::pg::quantize_bits(v->dim, [v](int i) { return vectordb::half_to_float(v->x[i]) > 0; }));
}

// ---- element-wise arithmetic and concatenation -------------------------------

VECTORDB_FUNCTION(halfvec_add) {
    PG_RETURN_POINTER(elementwise(
        get_pair(fcinfo), [](float x, float y) { return x + y; }, false));
}

VECTORDB_FUNCTION(halfvec_sub) {
    PG_RETURN_POINTER(elementwise(
        get_pair(fcinfo), [](float x, float y) { return x - y; }, false));
}

VECTORDB_FUNCTION(halfvec_mul) {
    PG_RETURN_POINTER(elementwise(
        get_pair(fcinfo), [](float x, float y) { return x * y; }, true));
}

VECTORDB_FUNCTION(halfvec_concat) {
    const HalfVector* a = PG_GETARG_HALFVEC_P(0);
    const HalfVector* b = PG_GETARG_HALFVEC_P(1);
    vectordb::pg::check_halfvec_dim(a->dim + b->dim);
    HalfVector* result = vectordb::pg::new_halfvec(a->dim + b->dim);
    std::memcpy(result->x, a->x, sizeof(std::uint16_t) * dims(a));
    std::memcpy(result->x + a->dim, b->x, sizeof(std::uint16_t) * dims(b));
    PG_RETURN_POINTER(result);
}

// ---- comparison (btree opclass) --------------------------------------------

VECTORDB_FUNCTION(halfvec_cmp) { PG_RETURN_INT32(compare_halfvecs(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1))); }
VECTORDB_FUNCTION(halfvec_lt) { PG_RETURN_BOOL(compare_halfvecs(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1)) < 0); }
VECTORDB_FUNCTION(halfvec_le) { PG_RETURN_BOOL(compare_halfvecs(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1)) <= 0); }
VECTORDB_FUNCTION(halfvec_eq) { PG_RETURN_BOOL(compare_halfvecs(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1)) == 0); }
VECTORDB_FUNCTION(halfvec_ne) { PG_RETURN_BOOL(compare_halfvecs(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1)) != 0); }
VECTORDB_FUNCTION(halfvec_ge) { PG_RETURN_BOOL(compare_halfvecs(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1)) >= 0); }
VECTORDB_FUNCTION(halfvec_gt) { PG_RETURN_BOOL(compare_halfvecs(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1)) > 0); }

// ---- aggregates: avg keeps float8[] {count, sums...} (vector_combine merges
// two); sum is halfvec_add ---------------------------------------------------

// halfvec_accum(state, v): v added to the running sums. A state of one
// element ({0}, the initial one) takes v's dimensions; any other must match.
VECTORDB_FUNCTION(halfvec_accum) {
    ArrayType* state = PG_GETARG_ARRAYTYPE_P(0);
    const HalfVector* v = PG_GETARG_HALFVEC_P(1);
    int n;
    const float8* values = state_values(state, "halfvec_accum", &n);
    const bool fresh = n == 1;
    if (!fresh) vectordb::pg::check_halfvec_typmod(v->dim, n - 1);
    std::vector<float8> next(dims(v) + 1);
    next[0] = values[0] + 1;
    for (int i = 0; i < v->dim; i++) {
        const double x = vectordb::half_to_float(v->x[i]);
        next[i + 1] = fresh ? x : values[i + 1] + x;
        if (std::isinf(next[i + 1]))
            ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE), errmsg("value out of range: overflow")));
    }
    PG_RETURN_ARRAYTYPE_P(make_state(next.data(), v->dim + 1));
}

// halfvec_avg(state): the mean, NULL when no rows were seen.
VECTORDB_FUNCTION(halfvec_avg) {
    ArrayType* state = PG_GETARG_ARRAYTYPE_P(0);
    int n;
    const float8* values = state_values(state, "halfvec_avg", &n);
    if (values[0] == 0) PG_RETURN_NULL();
    vectordb::pg::check_halfvec_dim(n - 1);
    HalfVector* result = vectordb::pg::new_halfvec(n - 1);
    for (int i = 1; i < n; i++)
        result->x[i - 1] = vectordb::pg::checked_half(static_cast<float>(values[i] / values[0]));
    PG_RETURN_POINTER(result);
}
