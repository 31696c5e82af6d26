// The sidecar's life: where `vectors.bin` files live, what they are called,
// removing them when the transaction that made them obsolete commits (or the
// one that made them aborts), and the per-backend cache of open sidecars.
//
// A sidecar belongs to one build of one index: its name and header carry the
// database OID, the index's relfilenode and a build generation that the
// metapage records. A build schedules its own file for removal on abort and
// every other generation of the same index (by OID) for removal on commit;
// dropping an index schedules its relfilenode's files for removal on commit.
// Anything a crash leaves behind is found by vectordb_cleanup_orphans().
#pragma once

#include "core/vector_store.h"

#include <memory>
#include <string>

#include "pg/vtree.h"

namespace vectordb {
namespace pg {

// The sidecar directory (vectordb.sidecar_dir, or pg_vectordb in the data
// directory), created with mode 0700 if missing. May ereport.
std::string sidecar_directory(bool create);

// File name of a sidecar, e.g. db16384_idx16390_rel16390_1a2b3c4d5e6f7a8b.vec.
std::string sidecar_name(uint64 database, uint64 index_oid, uint64 relfilenode, uint64 generation);
std::string sidecar_path(const VtreeMeta& meta);

// A new, practically unique build generation (never 0).
uint64 new_generation();

// Transactional removal (see above). Paths and names are copied.
void remove_on_abort(const std::string& path);
void remove_other_generations_on_commit(uint64 database, uint64 index_oid, const std::string& keep_name);

// Installs the transaction callbacks and the DROP hook (from _PG_init).
void register_sidecar_lifecycle();

// The backend's open sidecar for this index, or null with *problem set when it
// is missing or unusable. Throws only bad_alloc; never ereports.
VectorStore* open_sidecar(Oid index_oid, const VtreeMeta& meta, std::string* problem);
// Forgets the cached sidecar of this index (after a rebuild or eviction).
void forget_sidecar(Oid index_oid);

// Parses a sidecar file name; false if it is not one.
bool parse_sidecar_name(const std::string& name, uint64* database, uint64* index_oid, uint64* relfilenode,
                        uint64* generation);

}  // namespace pg
}  // namespace vectordb
