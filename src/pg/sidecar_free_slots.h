// Sidecar slots of deleted rows, for new rows to reuse (storage = mmap).
//
// VACUUM pushes the slots of the entries it removes onto a stack kept in
// index pages (chained SlotList pages, WAL-logged, headed from the
// metapage); an INSERT pops one and writes its record there instead of
// appending, so a sidecar under steady updates stays the size its live rows
// need. Both run under the metapage page lock that serialises sidecar
// appends. The stack belongs to one sidecar generation (the metapage records
// which): a rebuilt or healed sidecar starts without one, and VACUUM frees
// the pages of a stack left from an older generation.
//
// Reuse is safe because a record vouches for itself: a scan, a retired chain
// or a standby that still holds the old entry finds another row's TID in the
// record (or a torn one failing its checksum while it is rewritten) and
// reranks from the table.
#pragma once

#include <vector>

#include "pg/vtree.h"

namespace vectordb {
namespace pg {

// Pushes freed slots (the caller holds the metapage page lock).
// PostgreSQL code only: may ereport.
void push_free_slots(Relation index, const std::vector<uint64>& slots);

// A free slot of the current sidecar generation, or kNoLocator (the caller
// holds the metapage page lock). PostgreSQL code only: may ereport.
uint64 pop_free_slot(Relation index);

// Every free slot of the current generation, for vectordb_check.
// PostgreSQL code only: may ereport.
std::vector<uint64> list_free_slots(Relation index);

}  // namespace pg
}  // namespace vectordb
