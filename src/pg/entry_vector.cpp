// Where an index entry's full vector comes from: its record (a sidecar slot or
// a place in the vector pages), which must carry the entry's TID as its tag,
// or else the table, the truth every record is checked against.
//
// An index entry holds the TID of a HOT chain's root. Once VACUUM has pruned
// the chain that line pointer is a redirect, which fetching by row version
// cannot follow; the index-fetch API does. Every member of a HOT chain holds
// the same vector (an UPDATE that changes it is not HOT), so any member the
// snapshot accepts will do. The snapshot must never accept a version VACUUM
// may already have removed (SnapshotAny would): its TOASTed vector can be gone.
#include "core/vector_store.h"

#include "pg/bus_guard.h"
#include "pg/pg_call.h"
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

RecordRead read_entry_record(Relation index, const VtreeMeta& meta, VectorStore* store, uint64 locator,
                             const ItemPointerData& tid, float* out, BlockNumber* nblocks, std::string* error) {
    if (locator == kNoLocator) return RecordRead::NoRecord;
    const uint32 dim = meta.dim;
    if (meta.storage == static_cast<uint8>(Storage::Pages)) {
        uint64 tag = 0;
        bool ok = false;
        pg_call([&] { ok = read_vector_record(index, locator, dim, &tag, out, nblocks); });
        return ok && tag == tid_tag(tid) ? RecordRead::Ok : RecordRead::Mismatch;
    }
    if (store == nullptr) return RecordRead::NoStore;
    try {
        if (locator >= store->size()) store->refresh();  // appended by another backend since it was mapped
        if (locator >= store->size()) return RecordRead::Mismatch;
        // Copy under a SIGBUS guard (the file may have been cut short since it
        // was mapped), then check the copy: what the checksum vouches for is
        // what gets used. Float16 values are copied to out's upper half,
        // checked there and widened in place.
        const char* record = reinterpret_cast<const char*>(store->record(locator));
        const StoreElement element = store->element();
        const std::size_t value_bytes = std::size_t{store_element_size(element)} * dim;
        char* values = reinterpret_cast<char*>(out) + (std::size_t{dim} * sizeof(float) - value_bytes);
        uint64 tag = 0;
        uint32 checksum = 0;
        const GuardedCopy parts[] = {{&tag, record, sizeof(uint64)},
                                     {values, record + kRecordVectorOffset, value_bytes},
                                     {&checksum, record + record_checksum_offset(dim, element), sizeof(uint32)}};
        if (!copy_guarded(parts, 3)) return RecordRead::Truncated;
        if (checksum != record_checksum(locator, tag, values, value_bytes)) return RecordRead::Corrupt;
        if (element == StoreElement::Float16) widen_halves_in_place(out, dim);
        return tag == tid_tag(tid) ? RecordRead::Ok : RecordRead::Mismatch;
    } catch (const std::bad_alloc&) {
        throw;
    } catch (const std::exception& e) {
        *error = e.what();
        return RecordRead::Unreadable;
    }
}

bool fetch_heap_vector(IndexFetchTableData* fetch, Snapshot snapshot, TupleTableSlot* slot, IndexedColumn& column,
                       ItemPointerData tid, uint32 dim, IndexedElements elements, float* out) {
    bool call_again = false;
    bool all_dead = false;
    if (!table_index_fetch_tuple(fetch, &tid, snapshot, slot, &call_again, &all_dead)) return false;
    bool isnull = false;
    const Datum d = indexed_column_value(column, slot, &isnull);
    bool ok = false;
    if (!isnull) {
        Vector* v = datum_get_indexed_vector(d, elements);
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
