// Input and output functions of the vector type: text, binary and typmod.
#include "core/vector_text.h"

#include "pg/guard.h"
#include "pg/vector_common.h"
#include "pg/vector_type.h"

extern "C" {
#include "catalog/pg_type.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
}

using vectordb::pg::Vector;

// vector_in(cstring, oid, typmod): parse '[1,2,3]'.
VECTORDB_FUNCTION(vector_in) {
    const char* text = PG_GETARG_CSTRING(0);
    const int32 typmod = PG_GETARG_INT32(2);

    // Allocate before the core runs so no PostgreSQL call happens while the
    // parser might be unwinding (see guard.h).
    const std::size_t capacity = vectordb::vector_text_capacity(text);
    auto* buffer = static_cast<float*>(palloc(sizeof(float) * capacity));
    const int dim = vectordb::parse_vector_text(text, buffer, capacity);

    vectordb::pg::check_typmod_dims(dim, typmod);
    Vector* result = vectordb::pg::new_vector(dim);
    std::memcpy(result->x, buffer, sizeof(float) * static_cast<std::size_t>(dim));
    pfree(buffer);
    PG_RETURN_VECTOR_P(result);
}

// vector_out(vector): shortest text that reads back to the same floats.
VECTORDB_FUNCTION(vector_out) {
    const Vector* v = PG_GETARG_VECTOR_P(0);
    PG_RETURN_CSTRING(vectordb::pg::elements_text(v->dim, [v](int i) { return v->x[i]; }));
}

// vector_typmod_in(cstring[]): the n of vector(n).
VECTORDB_FUNCTION(vector_typmod_in) {
    PG_RETURN_INT32(vectordb::pg::dimensions_typmod(PG_GETARG_ARRAYTYPE_P(0), "vector", vectordb::pg::kVectorMaxDim));
}

// vector_recv(internal, oid, typmod): int16 dim, int16 unused, float4[dim].
VECTORDB_FUNCTION(vector_recv) {
    StringInfo buf = reinterpret_cast<StringInfo>(PG_GETARG_POINTER(0));
    const int32 typmod = PG_GETARG_INT32(2);
    const int dim = static_cast<int16>(pq_getmsgint(buf, sizeof(int16)));
    const int unused = static_cast<int16>(pq_getmsgint(buf, sizeof(int16)));

    vectordb::pg::check_dim_range(dim);
    vectordb::pg::check_typmod_dims(dim, typmod);
    if (unused != 0)
        ereport(ERROR, (errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
                        errmsg("malformed binary vector: reserved field is %d, expected 0", unused)));
    if (buf->len - buf->cursor != static_cast<int>(sizeof(float)) * dim)
        ereport(ERROR,
                (errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
                 errmsg("malformed binary vector: %d bytes of data for %d dimensions", buf->len - buf->cursor, dim)));

    Vector* result = vectordb::pg::new_vector(dim);
    for (int i = 0; i < dim; i++) {
        result->x[i] = pq_getmsgfloat4(buf);
        vectordb::pg::check_element(result->x[i]);
    }
    PG_RETURN_VECTOR_P(result);
}

// vector_send(vector): the binary form read by vector_recv.
VECTORDB_FUNCTION(vector_send) {
    const Vector* v = PG_GETARG_VECTOR_P(0);
    StringInfoData buf;
    pq_begintypsend(&buf);
    pq_sendint(&buf, v->dim, sizeof(int16));
    pq_sendint(&buf, v->unused, sizeof(int16));
    for (int i = 0; i < v->dim; i++) pq_sendfloat4(&buf, v->x[i]);
    PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

// vector(vector, typmod, explicit): enforce vector(n) on assignment and cast.
VECTORDB_FUNCTION(vector) {
    Vector* v = PG_GETARG_VECTOR_P(0);
    vectordb::pg::check_typmod_dims(v->dim, PG_GETARG_INT32(1));
    PG_RETURN_VECTOR_P(v);
}
