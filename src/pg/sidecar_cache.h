// The backend's open sidecars: at most one open VectorStore per index, shared
// by every scan, insert, split and check of that backend that uses it.
//
// Ownership is shared: a scan keeps the store it started with even if the
// cache moves on to a newer file (a rebuild, a REINDEX), so nothing is
// unmapped under a running scan or an open cursor. The cache lets go of an
// index's store when its relcache entry is invalidated (DROP INDEX, REINDEX,
// TRUNCATE, a rebuild in another backend), at that backend's next command,
// so deleted files do not stay open. Open files count against PostgreSQL's
// file-descriptor budget (max_files_per_process); when it is spent, stores no
// one is using are closed first, and otherwise the index reranks from the
// table.
#pragma once

#include "core/vector_store.h"

#include <memory>
#include <string>

#include "pg/vtree.h"

namespace vectordb {
namespace pg {

enum class SidecarAccess { Read, Append };

// The open sidecar of this index, or null with *problem set (a message naming
// the file but not the directory) when it is missing, foreign, unreadable or
// not the metapage's. Append opens it for writing. *transient (when given)
// tells a failure that may pass by itself (this backend is out of file
// descriptors) from one of the file. Throws only bad_alloc; never ereports.
std::shared_ptr<VectorStore> open_sidecar(Relation index, const VtreeMeta& meta, SidecarAccess access,
                                          std::string* problem, bool* transient = nullptr);

// Forgets the cached sidecar of this index (after a failed write, a rebuild).
void forget_sidecar(Oid index_oid);

// Number of sidecars this backend holds open (for tests and statistics).
std::size_t open_sidecar_count();

// Installs the relcache callback (from _PG_init).
void register_sidecar_cache();

// A new store for the index `meta` describes (its identity, dimensions and
// element type: float16 for halfvec and bit keys) created outside the cache
// (builds, rebuilds, heals) under the same file-descriptor accounting:
// released when the pointer goes.
std::unique_ptr<VectorStore, void (*)(VectorStore*)> create_accounted_store(const std::string& path,
                                                                            const VtreeMeta& meta);

}  // namespace pg
}  // namespace vectordb
