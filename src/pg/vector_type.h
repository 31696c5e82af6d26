// The on-disk and in-memory layout of the `vector` type. It matches pgvector's
// byte for byte (varlena header, int16 dimensions, int16 reserved, float4[])
// so that dumps, binary COPY and client libraries move between the two.
#pragma once

#include "pg/pg.h"

namespace vectordb {
namespace pg {

struct Vector {
    int32 vl_len_;  // varlena header (do not touch directly)
    int16 dim;      // number of dimensions
    int16 unused;   // reserved, always 0
    float x[FLEXIBLE_ARRAY_MEMBER];
};

constexpr int kVectorMaxDim = 16000;

inline std::size_t vector_size(int dim) { return offsetof(Vector, x) + sizeof(float) * static_cast<std::size_t>(dim); }

inline Vector* datum_get_vector(Datum d) { return reinterpret_cast<Vector*>(PG_DETOAST_DATUM(d)); }

// Allocates a zeroed vector of `dim` dimensions in the current memory context.
Vector* new_vector(int dim);

// ERROR (22000) unless a and b have the same number of dimensions.
void check_same_dims(const Vector* a, const Vector* b);

// ERROR unless dim is within 1..kVectorMaxDim.
void check_dim_range(int dim);

// ERROR (22000) if typmod fixes a dimension count different from dim.
void check_typmod_dims(int dim, int32 typmod);

// ERROR (22000) if value is NaN or infinite.
void check_element(float value);

}  // namespace pg
}  // namespace vectordb

#define PG_GETARG_VECTOR_P(n) vectordb::pg::datum_get_vector(PG_GETARG_DATUM(n))
#define PG_RETURN_VECTOR_P(v) PG_RETURN_POINTER(v)
