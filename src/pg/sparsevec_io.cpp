// Input and output functions of the sparsevec type: text '{1:1.5,3:2}/5'
// (indices from 1), binary (indices from 0) and typmod.
#include "core/sparse_vector.h"

#include "pg/guard.h"
#include "pg/sparsevec_type.h"
#include "pg/vector_common.h"

extern "C" {
#include "common/shortest_dec.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/builtins.h"
}

using vectordb::pg::SparseVector;

// sparsevec_in(cstring, oid, typmod): zero values are not stored.
VECTORDB_FUNCTION(sparsevec_in) {
    const char* text = PG_GETARG_CSTRING(0);
    const int32 typmod = PG_GETARG_INT32(2);
    // Allocated before the core parses, so no PostgreSQL call happens while it may be unwinding.
    const std::size_t capacity = vectordb::sparse_text_capacity(text);
    auto* elements = static_cast<vectordb::SparseElement*>(palloc(sizeof(vectordb::SparseElement) * capacity));
    int32 dim = 0;
    const int nnz = vectordb::parse_sparse_text(text, elements, capacity, &dim);
    vectordb::pg::check_sparsevec_typmod(dim, typmod);
    vectordb::sparse_sort_elements(elements, static_cast<std::size_t>(nnz), dim);
    SparseVector* result = vectordb::pg::new_sparsevec(dim, nnz);
    float* values = vectordb::pg::sparsevec_values(result);
    for (int i = 0; i < nnz; i++) {
        result->indices[i] = elements[i].index;
        values[i] = elements[i].value;
    }
    pfree(elements);
    PG_RETURN_POINTER(result);
}

// sparsevec_out(sparsevec): '{index:value,...}/dim', each value the shortest text of its float.
VECTORDB_FUNCTION(sparsevec_out) {
    const SparseVector* v = PG_GETARG_SPARSEVEC_P(0);
    const float* values = vectordb::pg::sparsevec_values(v);
    // Per element: an index of up to 11 characters, ':', a float and ','; then '}/', the dimensions and '\0'.
    char* out = static_cast<char*>(palloc((12 + FLOAT_SHORTEST_DECIMAL_LEN) * static_cast<std::size_t>(v->nnz) + 16));
    char* p = out;
    *p++ = '{';
    for (int i = 0; i < v->nnz; i++) {
        if (i > 0) *p++ = ',';
        p += pg_ltoa(v->indices[i] + 1, p);
        *p++ = ':';
        p += float_to_shortest_decimal_bufn(values[i], p);
    }
    *p++ = '}';
    *p++ = '/';
    p += pg_ltoa(v->dim, p);
    *p = '\0';
    PG_RETURN_CSTRING(out);
}

// sparsevec_typmod_in(cstring[]): the n of sparsevec(n).
VECTORDB_FUNCTION(sparsevec_typmod_in) {
    PG_RETURN_INT32(
        vectordb::pg::dimensions_typmod(PG_GETARG_ARRAYTYPE_P(0), "sparsevec", vectordb::kSparseMaxDimensions));
}

// sparsevec_recv(internal, oid, typmod): int32 dim, nnz, unused, then int32
// indices[nnz] (from 0, ascending) and float4 values[nnz] (none zero).
VECTORDB_FUNCTION(sparsevec_recv) {
    StringInfo buf = reinterpret_cast<StringInfo>(PG_GETARG_POINTER(0));
    const int32 typmod = PG_GETARG_INT32(2);
    const auto dim = static_cast<int32>(pq_getmsgint(buf, sizeof(int32)));
    const auto nnz = static_cast<int32>(pq_getmsgint(buf, sizeof(int32)));
    const auto unused = static_cast<int32>(pq_getmsgint(buf, sizeof(int32)));
    vectordb::pg::check_sparsevec_dim(dim);
    vectordb::pg::check_sparsevec_nnz(nnz, dim);
    vectordb::pg::check_sparsevec_typmod(dim, typmod);
    if (unused != 0)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("expected unused to be 0, not %d", unused)));
    SparseVector* result = vectordb::pg::new_sparsevec(dim, nnz);
    for (int i = 0; i < nnz; i++) {
        result->indices[i] = static_cast<int32>(pq_getmsgint(buf, sizeof(int32)));
        vectordb::sparse_check_index(result->indices, static_cast<std::size_t>(i), dim);
    }
    float* values = vectordb::pg::sparsevec_values(result);
    for (int i = 0; i < nnz; i++) {
        values[i] = pq_getmsgfloat4(buf);
        vectordb::pg::check_sparse_element(values[i]);
        if (values[i] == 0.0f)
            ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                            errmsg("binary representation of sparsevec cannot contain zero values")));
    }
    PG_RETURN_POINTER(result);
}

// sparsevec_send(sparsevec): the binary form sparsevec_recv reads.
VECTORDB_FUNCTION(sparsevec_send) {
    const SparseVector* v = PG_GETARG_SPARSEVEC_P(0);
    const float* values = vectordb::pg::sparsevec_values(v);
    StringInfoData buf;
    pq_begintypsend(&buf);
    pq_sendint32(&buf, static_cast<uint32>(v->dim));
    pq_sendint32(&buf, static_cast<uint32>(v->nnz));
    pq_sendint32(&buf, static_cast<uint32>(v->unused));
    for (int i = 0; i < v->nnz; i++) pq_sendint32(&buf, static_cast<uint32>(v->indices[i]));
    for (int i = 0; i < v->nnz; i++) pq_sendfloat4(&buf, values[i]);
    PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

// sparsevec(sparsevec, typmod, explicit): enforce sparsevec(n) on assignment and cast.
VECTORDB_FUNCTION(sparsevec) {
    SparseVector* v = PG_GETARG_SPARSEVEC_P(0);
    vectordb::pg::check_sparsevec_typmod(v->dim, PG_GETARG_INT32(1));
    PG_RETURN_POINTER(v);
}
