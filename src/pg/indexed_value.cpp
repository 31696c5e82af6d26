// The values a vtree index holds, whatever the column type: vector, or
// halfvec read as floats (half to float is exact, so the index's distances
// are the SQL operators').
#include "core/half.h"

#include "pg/halfvec_type.h"
#include "pg/vector_type.h"
#include "pg/vtree.h"

extern "C" {
#include "catalog/pg_type.h"
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

}  // namespace pg
}  // namespace vectordb
