// Input and output functions of the halfvec type: text, binary and typmod.
#include "core/half.h"
#include "core/vector_text.h"

#include "pg/guard.h"
#include "pg/vector_common.h"
#include "pg/halfvec_type.h"

extern "C" {
#include "libpq/pqformat.h"
#include "utils/array.h"
}

using vectordb::pg::HalfVector;

// halfvec_in(cstring, oid, typmod): parse '[1,2,3]'; elements round to the nearest half.
VECTORDB_FUNCTION(halfvec_in) {
    const char* text = PG_GETARG_CSTRING(0);
    const int32 typmod = PG_GETARG_INT32(2);
    // Allocated before the core runs, so no PostgreSQL call happens while the parser may be unwinding.
    const std::size_t capacity = vectordb::vector_text_capacity(text);
    auto* buffer = static_cast<float*>(palloc(sizeof(float) * capacity));
    const int dim = vectordb::parse_vector_text(text, buffer, capacity, vectordb::TextElement::Half);
    vectordb::pg::check_halfvec_typmod(dim, typmod);
    HalfVector* result = vectordb::pg::new_halfvec(dim);
    vectordb::floats_to_halves(buffer, result->x, static_cast<std::size_t>(dim));
    pfree(buffer);
    PG_RETURN_POINTER(result);
}

// halfvec_out(halfvec): each element as the shortest text of its float value.
VECTORDB_FUNCTION(halfvec_out) {
    const HalfVector* v = PG_GETARG_HALFVEC_P(0);
    PG_RETURN_CSTRING(vectordb::pg::elements_text(v->dim, [v](int i) { return vectordb::half_to_float(v->x[i]); }));
}

// halfvec_typmod_in(cstring[]): the n of halfvec(n).
VECTORDB_FUNCTION(halfvec_typmod_in) {
    PG_RETURN_INT32(vectordb::pg::dimensions_typmod(PG_GETARG_ARRAYTYPE_P(0), "halfvec", vectordb::pg::kHalfvecMaxDim));
}

// halfvec_recv(internal, oid, typmod): int16 dim, int16 unused, binary16[dim].
VECTORDB_FUNCTION(halfvec_recv) {
    StringInfo buf = reinterpret_cast<StringInfo>(PG_GETARG_POINTER(0));
    const int32 typmod = PG_GETARG_INT32(2);
    const int dim = static_cast<int16>(pq_getmsgint(buf, sizeof(int16)));
    const int unused = static_cast<int16>(pq_getmsgint(buf, sizeof(int16)));
    vectordb::pg::check_halfvec_dim(dim);
    vectordb::pg::check_halfvec_typmod(dim, typmod);
    if (unused != 0)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("expected unused to be 0, not %d", unused)));
    HalfVector* result = vectordb::pg::new_halfvec(dim);
    for (int i = 0; i < dim; i++) {
        result->x[i] = static_cast<std::uint16_t>(pq_getmsgint(buf, sizeof(int16)));
        vectordb::pg::check_half_element(result->x[i]);
    }
    PG_RETURN_POINTER(result);
}

// halfvec_send(halfvec): the binary form halfvec_recv reads.
VECTORDB_FUNCTION(halfvec_send) {
    const HalfVector* v = PG_GETARG_HALFVEC_P(0);
    StringInfoData buf;
    pq_begintypsend(&buf);
    pq_sendint(&buf, v->dim, sizeof(int16));
    pq_sendint(&buf, v->unused, sizeof(int16));
    for (int i = 0; i < v->dim; i++) pq_sendint(&buf, v->x[i], sizeof(int16));
    PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

// halfvec(halfvec, typmod, explicit): enforce halfvec(n) on assignment and cast.
VECTORDB_FUNCTION(halfvec) {
    HalfVector* v = PG_GETARG_HALFVEC_P(0);
    vectordb::pg::check_halfvec_typmod(v->dim, PG_GETARG_INT32(1));
    PG_RETURN_POINTER(v);
}
