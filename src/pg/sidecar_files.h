// Sidecar files by name: where they live and whose they are.
//
// A sidecar belongs to one build of one index on one server. Its name and its
// header carry the same identity: the server's system identifier, the
// database OID, the index OID and a build generation. The metapage records
// the identity of the file the index uses. The relfilenode is not part of it:
// ALTER INDEX ... SET TABLESPACE changes that and leaves the file valid.
//
// The identity is checked before a file is opened: an index whose metapage
// names another server or database (a copy: CREATE DATABASE ... TEMPLATE, a
// file-level copy) or another index OID does not use that file at all, for
// reading or writing. It reranks from the table until its sidecar is rebuilt.
#pragma once

#include "core/vector_store.h"

#include <string>

#include "pg/vtree.h"

namespace vectordb {
namespace pg {

// The sidecar directory (vectordb.sidecar_dir, or pg_vectordb in the data
// directory), created with mode 0700 when `create`. May ereport.
std::string sidecar_directory(bool create);

// File name of the sidecar with this identity, e.g.
// sys7301234567890123456_db16384_idx16390_1a2b3c4d5e6f7a8b.vec.
std::string sidecar_name(const StoreIdentity& id);
// Parses a sidecar file name; false if it is not one.
bool parse_sidecar_name(const std::string& name, StoreIdentity* id);
// The file name of the tree image (tree_image.h) of this sidecar identity
// whose arrays hash to `hash`, and what every image name of it starts with.
std::string tree_image_name(const StoreIdentity& id, uint64 hash);
std::string tree_image_prefix(const StoreIdentity& id);
// Parses the name of any file that belongs to a sidecar identity: the sidecar
// itself, or one of its tree images, whole or being written.
bool parse_sidecar_file_name(const std::string& name, StoreIdentity* id);

// The identity the metapage records, and the path of that file.
StoreIdentity sidecar_identity(const VtreeMeta& meta);
std::string sidecar_path(const VtreeMeta& meta);

// Empty when the metapage names a sidecar of this very index on this server
// and database; else why it does not (the file is then never opened).
std::string foreign_sidecar_problem(Relation index, const VtreeMeta& meta);

// Gives the metapage a new sidecar identity: this server, database and index,
// and a new, practically unique generation (never 0).
void claim_new_sidecar(Relation index, VtreeMeta* meta);

// Writes the sidecar identity and built_entries of `meta` into the
// metapage (WAL-logged; not undone by an abort) and invalidates the index's
// relcache entry, so other backends let go of the old file. May ereport.
void write_sidecar_identity(Relation index, const VtreeMeta& meta);

// fsyncs the sidecar directory, so that a file created in it survives a power
// loss (after the file itself was synced). May ereport (PANIC on failure, as
// PostgreSQL treats a failed fsync of its own files).
void sync_sidecar_directory();

// The message with the sidecar directory taken out, so that messages shown
// to any role name the file only.
std::string without_directory(std::string message);

}  // namespace pg
}  // namespace vectordb
