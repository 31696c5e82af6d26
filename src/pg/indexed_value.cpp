// The values a vtree index holds, whatever the key's type: vector, halfvec
// read as floats (half to float is exact, so the index's distances are the
// SQL operators'), or bit read as 0s and 1s (whose squared L2 distance is the
// Hamming distance); and how to read them from a table row, where the
// index's key may be an expression of the row.
#include "core/half.h"
#include "core/vector_text.h"

#include "pg/halfvec_type.h"
#include "pg/vector_type.h"
#include "pg/vtree.h"

extern "C" {
#include "catalog/index.h"
#include "catalog/pg_type.h"
#include "utils/varbit.h"
#include "executor/executor.h"
#include "nodes/execnodes.h"
#include "utils/syscache.h"
}

namespace vectordb {
namespace pg {

IndexedElements indexed_elements(Relation index) {
    const Oid type = TupleDescAttr(RelationGetDescr(index), 0)->atttypid;
    if (type == BITOID || type == VARBITOID) return IndexedElements::Bit;  // bit_hamming_ops takes both
    HeapTuple tuple = SearchSysCache1(TYPEOID, ObjectIdGetDatum(type));
    if (!HeapTupleIsValid(tuple)) elog(ERROR, "cache lookup failed for type %u", type);
    const bool half = std::strcmp(NameStr(reinterpret_cast<Form_pg_type>(GETSTRUCT(tuple))->typname), "halfvec") == 0;
    ReleaseSysCache(tuple);
    return half ? IndexedElements::Half : IndexedElements::Float;
}

Vector* datum_get_indexed_vector(Datum d, IndexedElements elements) {
    switch (elements) {
        case IndexedElements::Float:
            return datum_get_vector(d);
        case IndexedElements::Half: {
            HalfVector* h = datum_get_halfvec(d);
            Vector* v = new_vector(h->dim);
            halves_to_floats(h->x, v->x, static_cast<std::size_t>(h->dim));
            if (reinterpret_cast<Pointer>(h) != DatumGetPointer(d)) pfree(h);
            return v;
        }
        case IndexedElements::Bit: {
            VarBit* b = DatumGetVarBitP(d);
            const int bits = VARBITLEN(b);
            if (bits > kMaxDimensions)
                ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                                errmsg("vtree indexes bit strings of at most %d bits, not %d", kMaxDimensions, bits)));
            if (bits < 1)
                ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("vtree cannot index an empty bit string")));
            Vector* v = new_vector(bits);
            const bits8* bytes = VARBITS(b);
            for (int i = 0; i < bits; i++) v->x[i] = (bytes[i / 8] >> (7 - i % 8)) & 1 ? 1.0f : 0.0f;
            if (reinterpret_cast<Pointer>(b) != DatumGetPointer(d)) pfree(b);
            return v;
        }
    }
    pg_unreachable();
}

IndexedColumn open_indexed_column(Relation index) {
    IndexedColumn column;
    column.attno = index->rd_index->indkey.values[0];
    if (column.attno == 0) {
        column.info = BuildIndexInfo(index);
        column.estate = CreateExecutorState();
    }
    return column;
}

Datum indexed_column_value(IndexedColumn& column, TupleTableSlot* slot, bool* isnull) {
    if (column.attno != 0) return slot_getattr(slot, column.attno, isnull);
    ExprContext* econtext = GetPerTupleExprContext(column.estate);
    ResetExprContext(econtext);
    econtext->ecxt_scantuple = slot;
    Datum values[INDEX_MAX_KEYS];
    bool nulls[INDEX_MAX_KEYS];
    FormIndexDatum(column.info, slot, column.estate, values, nulls);
    *isnull = nulls[0];
    return values[0];
}

void close_indexed_column(IndexedColumn& column) {
    if (column.estate != nullptr) FreeExecutorState(column.estate);
    column.estate = nullptr;
}

}  // namespace pg
}  // namespace vectordb
