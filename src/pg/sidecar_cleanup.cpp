// vectordb_cleanup_orphans(): removes the sidecar files no index uses, and
// their tree images (tree_image.h) with them.
//
// A file is an orphan when it is this server's (its name carries our system
// identifier: files of other clusters sharing vectordb.sidecar_dir are never
// touched) and either its database is gone, or, in the current database, no
// vtree index with its OID names it in its metapage. Each file of this
// database is judged under a lock on its index's OID that conflicts with
// every build, REINDEX and sidecar rebuild (taken only if free at once, so a
// file being written is skipped), and the metapage is read under that lock.
// The relfilenode plays no part: ALTER INDEX ... SET TABLESPACE keeps a file.
#include "core/vector_store.h"

#include <dirent.h>
#include <unistd.h>

#include "pg/pg_call.h"
#include "pg/sidecar_files.h"
#include "pg/vtree.h"

extern "C" {
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/xlog.h"
#include "catalog/pg_class.h"
#include "commands/defrem.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"
}

using namespace vectordb;
using namespace vectordb::pg;

namespace {

enum class Verdict { Keep, Orphan, Busy };

// Whether the sidecar `id` of this database is used (PostgreSQL code only).
Verdict judge_local_file(const StoreIdentity& id) {
    const Oid oid = static_cast<Oid>(id.index_id);
    if (id.index_id != oid || !ConditionalLockRelationOid(oid, ShareUpdateExclusiveLock)) return Verdict::Busy;
    Verdict verdict = Verdict::Orphan;
    // The lock has made us accept invalidations: the catalog is current.
    HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(oid));
    if (HeapTupleIsValid(tuple)) {
        const Form_pg_class rel = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple));
        const bool vtree = rel->relkind == RELKIND_INDEX && rel->relam == get_index_am_oid("vtree", true);
        ReleaseSysCache(tuple);
        if (vtree) {
            Relation index = relation_open(oid, NoLock);
            VtreeMeta meta;
            read_meta(index, &meta);
            if (meta.storage == static_cast<uint8>(Storage::Mmap) && sidecar_identity(meta) == id)
                verdict = Verdict::Keep;
            relation_close(index, NoLock);
        }
    }
    UnlockRelationOid(oid, ShareUpdateExclusiveLock);
    return verdict;
}

}  // namespace

// Superuser only. Returns the names removed.
VECTORDB_FUNCTION(vectordb_cleanup_orphans) {
    pg_call([&] {
        require_superuser("vectordb_cleanup_orphans");
        InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
    });
    const std::string dir = sidecar_directory(false);
    std::vector<std::string> names;
    if (DIR* d = opendir(dir.c_str())) {
        while (struct dirent* e = readdir(d)) names.emplace_back(e->d_name);
        closedir(d);
    }
    const uint64 system_id = GetSystemIdentifier();
    std::vector<std::string> removed;
    for (const std::string& name : names) {
        StoreIdentity id;
        if (!parse_sidecar_file_name(name, &id) || id.system_id != system_id) continue;
        Verdict verdict = Verdict::Keep;
        pg_call([&] {
            CHECK_FOR_INTERRUPTS();
            if (id.database_id != MyDatabaseId)
                verdict = SearchSysCacheExists1(DATABASEOID, ObjectIdGetDatum(static_cast<Oid>(id.database_id)))
                              ? Verdict::Keep
                              : Verdict::Orphan;
            else
                verdict = judge_local_file(id);
        });
        if (verdict != Verdict::Orphan) continue;
        const std::string path = dir + "/" + name;
        if (::unlink(path.c_str()) == 0) removed.push_back(name);
    }
    pg_call([&] {
        ReturnSetInfo* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
        for (const std::string& name : removed) {
            Datum value = CStringGetTextDatum(name.c_str());
            bool isnull = false;
            tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &value, &isnull);
        }
    });
    return static_cast<Datum>(0);
}
