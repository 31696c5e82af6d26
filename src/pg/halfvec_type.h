// The `halfvec` type: pgvector's half-precision vector, byte for byte
// (varlena header, int16 dimensions, int16 reserved, IEEE binary16[]), so that
// dumps, binary COPY and client libraries move between the two.
#pragma once

#include "pg/pg.h"

#include <cstdint>

namespace vectordb {
namespace pg {

struct HalfVector {
    int32 vl_len_;                           // varlena header (do not touch directly)
    int16 dim;                               // number of dimensions
    int16 unused;                            // reserved, always 0
    std::uint16_t x[FLEXIBLE_ARRAY_MEMBER];  // binary16 bits
};

constexpr int kHalfvecMaxDim = 16000;

inline std::size_t halfvec_size(int dim) {
    return offsetof(HalfVector, x) + sizeof(std::uint16_t) * static_cast<std::size_t>(dim);
}

inline HalfVector* datum_get_halfvec(Datum d) { return reinterpret_cast<HalfVector*>(PG_DETOAST_DATUM(d)); }

// A zeroed halfvec of `dim` dimensions in the current memory context.
HalfVector* new_halfvec(int dim);
// ERROR 22000 unless a and b have the same number of dimensions.
void check_same_halfvec_dims(const HalfVector* a, const HalfVector* b);
// ERROR unless dim is within 1..kHalfvecMaxDim (22000 below, 54000 above).
void check_halfvec_dim(int dim);
// ERROR 22000 if typmod fixes another dimension count.
void check_halfvec_typmod(int dim, int32 typmod);
// ERROR 22000 if the element is NaN or infinite (pgvector's messages).
void check_half_element(std::uint16_t h);
// The half of a float that must be a finite element: ERROR 22003 if it is
// beyond the half range, 22000 if it is NaN or infinite.
std::uint16_t checked_half(float value);
// ERROR 22003 (overflow) if an arithmetic result is infinite.
void check_half_result(std::uint16_t h);

}  // namespace pg
}  // namespace vectordb

#define PG_GETARG_HALFVEC_P(n) vectordb::pg::datum_get_halfvec(PG_GETARG_DATUM(n))
