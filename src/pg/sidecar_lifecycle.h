// Sidecar files in step with transactions: which files a commit or an abort
// removes.
//
// A build (CREATE INDEX, REINDEX, TRUNCATE, vectordb_rebuild_sidecar) creates
// a file for a new generation. It asks for that file to go if its
// (sub)transaction aborts, and for every other generation of the index to go
// when the transaction commits. Requests are keyed by (database, index): when
// one transaction builds the same index twice (CREATE INDEX then TRUNCATE,
// two REINDEXes), only the last build that survives its subtransactions
// decides what stays. Dropping an index removes all of its files at commit,
// dropping a database all of that database's (when the dropping backend has
// loaded vectordb; otherwise vectordb_cleanup_orphans() finds them).
// Removals run after the commit record is written; a crash between the two
// leaves a file that vectordb_cleanup_orphans() removes.
#pragma once

#include "core/vector_store.h"

#include <string>

#include "pg/vtree.h"

namespace vectordb {
namespace pg {

// The sidecar `path` (just created) goes if the current subtransaction aborts.
void remove_on_abort(const std::string& path);
// Withdraws remove_on_abort(path): the file is in use whatever happens now.
void keep_on_abort(const std::string& path);
// At commit, every sidecar of the index `keep` names is removed but `keep`'s
// file, unless a later surviving request of this transaction names another.
void keep_only_on_commit(const StoreIdentity& keep);

// Installs the transaction callbacks and the DROP hook (from _PG_init).
void register_sidecar_lifecycle();

}  // namespace pg
}  // namespace vectordb
