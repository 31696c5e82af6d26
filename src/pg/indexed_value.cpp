// The values a vtree index holds, whatever the column type: vector, or
// halfvec read as floats (half to float is exact, so the index's distances
// are the SQL operators'); and how to read them from a table row, where the
// index's key may be an expression of the row.
#include "core/half.h"

#include "pg/halfvec_type.h"
#include "pg/vector_type.h"
#include "pg/vtree.h"

extern "C" {
#include "catalog/index.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "nodes/execnodes.h"
#include "utils/syscache.h"
}

namespace vectordb {
namespace pg {

bool column_is_halfvec(Relation index) {
    const Oid type = TupleDescAttr(RelationGetDescr(index), 0)->atttypid;
    HeapTuple tuple = SearchSysCache1(TYPEOID, ObjectIdGetDatum(type));
    if (!HeapTupleIsValid(tuple)) elog(ERROR, "cache lookup failed for type %u", type);
    const bool half = std::strcmp(NameStr(reinterpret_cast<Form_pg_type>(GETSTRUCT(tuple))->typname), "halfvec") == 0;
    ReleaseSysCache(tuple);
    return half;
}

Vector* datum_get_indexed_vector(Datum d, bool half) {
    if (!half) return datum_get_vector(d);
    HalfVector* h = datum_get_halfvec(d);
    Vector* v = new_vector(h->dim);
    halves_to_floats(h->x, v->x, static_cast<std::size_t>(h->dim));
    if (reinterpret_cast<Pointer>(h) != DatumGetPointer(d)) pfree(h);
    return v;
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
