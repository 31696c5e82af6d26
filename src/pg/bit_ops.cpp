// Distances between values of PostgreSQL's `bit` type, as pgvector defines
// them: hamming_distance (<~>) and jaccard_distance (<%>).
#include "core/bits.h"

#include "pg/guard.h"

extern "C" {
#include "utils/varbit.h"
}

namespace {

// Both arguments; ERROR 22000 unless they have the same length.
void get_bit_pair(FunctionCallInfo fcinfo, VarBit** a, VarBit** b) {
    *a = PG_GETARG_VARBIT_P(0);
    *b = PG_GETARG_VARBIT_P(1);
    if (VARBITLEN(*a) != VARBITLEN(*b))
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                        errmsg("different bit lengths %u and %u", VARBITLEN(*a), VARBITLEN(*b))));
}

// Bits past the length in the last byte are zero in a VarBit, so whole bytes can be compared.
const std::uint8_t* bytes_of(VarBit* v) { return reinterpret_cast<const std::uint8_t*>(VARBITS(v)); }

}  // namespace

VECTORDB_FUNCTION(hamming_distance) {
    VarBit *a, *b;
    get_bit_pair(fcinfo, &a, &b);
    PG_RETURN_FLOAT8(static_cast<double>(vectordb::hamming_bits(bytes_of(a), bytes_of(b), VARBITBYTES(a))));
}

VECTORDB_FUNCTION(jaccard_distance) {
    VarBit *a, *b;
    get_bit_pair(fcinfo, &a, &b);
    PG_RETURN_FLOAT8(vectordb::jaccard_bits(bytes_of(a), bytes_of(b), VARBITBYTES(a)));
}
