// Aggregates avg(vector) and sum(vector). avg keeps a float8[] state
// {count, sum_1, ..., sum_d} so partial states from parallel workers combine
// by addition and large counts do not lose precision.
#include "pg/guard.h"
#include "pg/vector_type.h"

extern "C" {
#include "catalog/pg_type.h"
#include "utils/array.h"
}

using vectordb::pg::Vector;

namespace {

// The state's elements; ERROR unless it is a 1-D float8[] of at least one
// element without NULLs (pgvector's check and message).
float8* state_values(ArrayType* state, const char* caller, int* n) {
    if (ARR_NDIM(state) != 1 || ARR_DIMS(state)[0] < 1 || ARR_HASNULL(state) || ARR_ELEMTYPE(state) != FLOAT8OID)
        elog(ERROR, "%s: expected state array", caller);
    *n = ARR_DIMS(state)[0];
    return reinterpret_cast<float8*>(ARR_DATA_PTR(state));
}

ArrayType* make_state(const float8* values, int n) {
    auto* datums = static_cast<Datum*>(palloc(sizeof(Datum) * n));
    for (int i = 0; i < n; i++) datums[i] = Float8GetDatum(values[i]);
    ArrayType* state = construct_array(datums, n, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
    pfree(datums);
    return state;
}

void check_sum(double v) {
    if (std::isinf(v))
        ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE), errmsg("value out of range: overflow")));
}

}  // namespace

// vector_accum(state float8[], v vector): add v to the running sums. A state
// of one element ({0}, the initial one) takes v's dimensions; any other must
// match them.
VECTORDB_FUNCTION(vector_accum) {
    ArrayType* state = PG_GETARG_ARRAYTYPE_P(0);
    const Vector* v = PG_GETARG_VECTOR_P(1);
    int n;
    float8* values = state_values(state, "vector_accum", &n);
    if (n == 1) {
        auto* fresh = static_cast<float8*>(palloc(sizeof(float8) * (v->dim + 1)));
        fresh[0] = values[0] + 1;
        for (int i = 0; i < v->dim; i++) fresh[i + 1] = v->x[i];
        PG_RETURN_ARRAYTYPE_P(make_state(fresh, v->dim + 1));
    }
    vectordb::pg::check_typmod_dims(v->dim, n - 1);
    // Inside an aggregate the state array is ours: update it in place rather
    // than copying d + 1 doubles per row.
    if (!AggCheckCallContext(fcinfo, nullptr)) {
        state = make_state(values, n);
        values = reinterpret_cast<float8*>(ARR_DATA_PTR(state));
    }
    values[0] += 1;
    for (int i = 0; i < v->dim; i++) {
        values[i + 1] += v->x[i];
        check_sum(values[i + 1]);
    }
    PG_RETURN_ARRAYTYPE_P(state);
}

// vector_combine(a float8[], b float8[]): merge two partial avg states (of
// vector or halfvec). An empty one gives the other, whose dimensions must be
// a vector's.
VECTORDB_FUNCTION(vector_combine) {
    ArrayType* a = PG_GETARG_ARRAYTYPE_P(0);
    ArrayType* b = PG_GETARG_ARRAYTYPE_P(1);
    int na, nb;
    const float8* va = state_values(a, "vector_combine", &na);
    const float8* vb = state_values(b, "vector_combine", &nb);
    if (va[0] == 0 || vb[0] == 0) {
        const float8* only = va[0] == 0 ? vb : va;
        const int n = va[0] == 0 ? nb : na;
        vectordb::pg::check_dim_range(n - 1);
        PG_RETURN_ARRAYTYPE_P(make_state(only, n));
    }
    vectordb::pg::check_dim_range(na - 1);
    vectordb::pg::check_typmod_dims(nb - 1, na - 1);
    auto* sum = static_cast<float8*>(palloc(sizeof(float8) * na));
    for (int i = 0; i < na; i++) {
        sum[i] = va[i] + vb[i];
        check_sum(sum[i]);
    }
    PG_RETURN_ARRAYTYPE_P(make_state(sum, na));
}

// vector_avg(state float8[]): the mean vector, NULL when no rows were seen.
VECTORDB_FUNCTION(vector_avg) {
    ArrayType* state = PG_GETARG_ARRAYTYPE_P(0);
    int n;
    const float8* values = state_values(state, "vector_avg", &n);
    if (values[0] == 0) PG_RETURN_NULL();
    vectordb::pg::check_dim_range(n - 1);
    Vector* result = vectordb::pg::new_vector(n - 1);
    for (int i = 1; i < n; i++) {
        result->x[i - 1] = static_cast<float>(values[i] / values[0]);
        if (std::isinf(result->x[i - 1]))
            ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE), errmsg("value out of range: overflow")));
    }
    PG_RETURN_VECTOR_P(result);
}
