// Reading an indexed row's vector back from the table: the truth that every
// sidecar or vector-page record is checked against, and the fallback when one
// cannot vouch for itself.
//
// An index entry holds the TID of a HOT chain's root. Once VACUUM has pruned
// the chain that line pointer is a redirect, which fetching by row version
// cannot follow; the index-fetch API does. Every member of a HOT chain holds
// the same vector (an UPDATE that changes it is not HOT), so any member the
// snapshot accepts will do. The snapshot must never accept a version VACUUM
// may already have removed (SnapshotAny would): its TOASTed vector can be gone.
#include "pg/vtree.h"
#include "pg/vector_type.h"

#include <cstring>

extern "C" {
#include "access/tableam.h"
#include "executor/tuptable.h"
#include "utils/snapmgr.h"
}

namespace vectordb {
namespace pg {

bool fetch_heap_vector(IndexFetchTableData* fetch, Snapshot snapshot, TupleTableSlot* slot, AttrNumber attno,
                       ItemPointerData tid, uint32 dim, float* out) {
    bool call_again = false;
    bool all_dead = false;
    if (!table_index_fetch_tuple(fetch, &tid, snapshot, slot, &call_again, &all_dead)) return false;
    bool isnull = false;
    const Datum d = slot_getattr(slot, attno, &isnull);
    bool ok = false;
    if (!isnull) {
        Vector* v = datum_get_vector(d);
        if (static_cast<uint32>(v->dim) == dim) {
            std::memcpy(out, v->x, std::size_t{dim} * sizeof(float));
            ok = true;
        }
        if (reinterpret_cast<Pointer>(v) != DatumGetPointer(d)) pfree(v);
    }
    ExecClearTuple(slot);
    return ok;
}

}  // namespace pg
}  // namespace vectordb
