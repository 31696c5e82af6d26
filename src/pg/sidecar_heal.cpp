// Healing a sidecar in place: every entry whose record does not vouch for
// itself (lost in a crash, torn, never written because the file was
// unusable, stale) gets a new record from its heap row, appended to the
// index's sidecar, and its locator rewritten. Unlike vectordb_rebuild_sidecar
// it blocks no one: leaf pages are locked one at a time, briefly, and appends
// take the usual metapage page lock. When the metapage's file cannot be used
// at all (missing, foreign: a template clone, an unreadable header), healing
// first switches the index to a new, empty file of its own and then heals
// every entry into it.
//
// It runs as vectordb_heal_sidecar(index), and in a dynamic background worker
// (no shared_preload_libraries needed) that a scan or insert requests when it
// meets a record it cannot use (vectordb.heal_sidecars). One healer per index
// at a time: each takes a ShareUpdateExclusiveLock on the index, which also
// conflicts with REINDEX and vectordb_rebuild_sidecar. Not on a hot standby,
// which cannot change index pages: there scans rerank from the table.
#include "core/errors.h"
#include "core/vector_store.h"

#include <unordered_map>

#include "pg/pg_call.h"
#include "pg/sidecar_cache.h"
#include "pg/sidecar_files.h"
#include "pg/sidecar_lifecycle.h"
#include "pg/vector_type.h"
#include "pg/vtree.h"

extern "C" {
#include "access/generic_xlog.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "commands/defrem.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/fd.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

PGDLLEXPORT void vectordb_heal_main(Datum arg);
}

namespace vectordb {
namespace pg {
namespace {

// Switches the metapage to a new, empty sidecar of this index (PostgreSQL
// code and C++: call outside pg_call). The old file goes when this commits.
void switch_to_new_sidecar(Relation index, VtreeMeta* meta) {
    claim_new_sidecar(index, meta);
    sidecar_directory(true);
    const std::string path = sidecar_path(*meta);
    {
        auto store = create_accounted_store(path, meta->dim, sidecar_identity(*meta));
        store->sync();
    }
    sync_sidecar_directory();
    keep_only_on_commit(sidecar_identity(*meta));
    meta->built_entries = 0;
    write_sidecar_identity(index, *meta, 0);
    forget_sidecar(RelationGetRelid(index));
}

struct Fix {
    uint16 position;
    ItemPointerData tid;
    uint64 locator;
};

// Heals one index (its ShareUpdateExclusiveLock held). Returns the records written.
uint64 heal_index(Relation index, Relation heap) {
    std::shared_ptr<const TreeCache> tc = load_tree(index);
    VtreeMeta meta = tc->meta;
    if (meta.storage != static_cast<uint8>(Storage::Mmap)) return 0;
    // A backend out of file descriptors is no reason to replace a good file.
    bool descriptor = false;
    pg_call([&] { descriptor = AcquireExternalFD(); });
    if (!descriptor) return 0;
    ReleaseExternalFD();
    std::string problem;
    std::shared_ptr<VectorStore> store = open_sidecar(index, meta, SidecarAccess::Append, &problem);
    if (store == nullptr) {
        switch_to_new_sidecar(index, &meta);
        store = open_sidecar(index, meta, SidecarAccess::Append, &problem);
        if (store == nullptr) throw IoError("the new sidecar cannot be opened: " + problem);
    }
    TupleTableSlot* slot = nullptr;
    IndexFetchTableData* fetch = nullptr;
    SnapshotData snapshot;  // every version VACUUM may not remove yet, as vectordb_rebuild_sidecar
    const AttrNumber attno = index->rd_index->indkey.values[0];
    pg_call([&] {
        slot = table_slot_create(heap, nullptr);
        fetch = table_index_fetch_begin(heap);
        InitNonVacuumableSnapshot(snapshot, GlobalVisTestFor(heap));
    });
    const LeafLayout layout = leaf_layout(meta.words);
    std::vector<ItemPointerData> tids(layout.capacity);
    std::vector<uint64> locators(layout.capacity);
    std::vector<uint8> flags(layout.capacity);
    std::vector<float> vec(meta.dim);
    std::vector<Fix> fixes;
    std::vector<float> fixed_vectors;
    BlockNumber nblocks = 0;
    uint64 written = 0;
    for (std::size_t leaf = 0; leaf < tc->leaf_heads.size(); leaf++) {
        BlockNumber block = tc->leaf_heads[leaf];
        BlockNumber hops = 0;
        while (block != InvalidBlockNumber) {
            uint16 count = 0;
            BlockNumber next = InvalidBlockNumber;
            pg_call([&] {
                CHECK_FOR_INTERRUPTS();
                Buffer buffer = read_chain_page(index, block, static_cast<uint32>(leaf), layout, BUFFER_LOCK_SHARE,
                                                &hops, &nblocks);
                Page page = BufferGetPage(buffer);
                count = leaf_header(page)->count;
                next = page_opaque(page)->next;
                std::memcpy(tids.data(), leaf_tids(page, layout), sizeof(ItemPointerData) * count);
                std::memcpy(locators.data(), leaf_locators(page, layout), sizeof(uint64) * count);
                std::memcpy(flags.data(), leaf_flags(page, layout), count);
                UnlockReleaseBuffer(buffer);
            });
            fixes.clear();
            fixed_vectors.clear();
            for (uint16 i = 0; i < count; i++) {
                if (flags[i] & kEntryDead) continue;
                std::string error;
                if (read_entry_record(index, meta, store.get(), locators[i], tids[i], vec.data(), &nblocks, &error) ==
                    RecordRead::Ok)
                    continue;
                bool found = false;
                pg_call([&] { found = fetch_heap_vector(fetch, &snapshot, slot, attno, tids[i], meta.dim, vec.data()); });
                if (!found) continue;  // the row is gone: VACUUM removes its entry
                fixes.push_back(Fix{i, tids[i], kNoLocator});
                fixed_vectors.insert(fixed_vectors.end(), vec.begin(), vec.end());
            }
            if (!fixes.empty()) {
                pg_call([&] { LockPage(index, kMetaBlock, ExclusiveLock); });
                try {
                    store->refresh();
                    for (std::size_t f = 0; f < fixes.size(); f++)
                        fixes[f].locator = store->append(tid_tag(fixes[f].tid), fixed_vectors.data() + f * meta.dim);
                    store->flush();
                } catch (...) {
                    forget_sidecar(RelationGetRelid(index));
                    pg_call([&] { UnlockPage(index, kMetaBlock, ExclusiveLock); });
                    throw;
                }
                pg_call([&] {
                    UnlockPage(index, kMetaBlock, ExclusiveLock);
                    // The entries may have moved since (VACUUM, a hole filled): only
                    // an entry still holding its TID at its place gets its record.
                    Buffer buffer = ReadBuffer(index, block);
                    LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
                    GenericXLogState* xlog = GenericXLogStart(index);
                    Page page = GenericXLogRegisterBuffer(xlog, buffer, 0);
                    check_leaf_page(index, block, page, layout);
                    const uint16 now = leaf_header(page)->count;
                    for (const Fix& f : fixes)
                        if (f.position < now && ItemPointerEquals(&leaf_tids(page, layout)[f.position],
                                                                  const_cast<ItemPointer>(&f.tid)))
                            leaf_locators(page, layout)[f.position] = f.locator;
                    GenericXLogFinish(xlog);
                    UnlockReleaseBuffer(buffer);
                });
                written += fixes.size();
            }
            block = next;
        }
    }
    pg_call([&] {
        table_index_fetch_end(fetch);
        ExecDropSingleTupleTableSlot(slot);
    });
    return written;
}

// Opens the index for healing: its lock taken if free (else null: another
// healer, a rebuild or a REINDEX is at it), and its table.
Relation open_for_healing(Oid oid, Relation* heap) {
    if (!ConditionalLockRelationOid(oid, ShareUpdateExclusiveLock)) return nullptr;
    Relation index = try_relation_open(oid, NoLock);
    if (index == nullptr) {
        UnlockRelationOid(oid, ShareUpdateExclusiveLock);
        return nullptr;
    }
    if (index->rd_rel->relkind != RELKIND_INDEX || index->rd_rel->relam != get_index_am_oid("vtree", true)) {
        relation_close(index, ShareUpdateExclusiveLock);
        return nullptr;
    }
    *heap = table_open(index->rd_index->indrelid, AccessShareLock);
    return index;
}

std::unordered_map<Oid, TimestampTz>& last_requests() {
    static std::unordered_map<Oid, TimestampTz> requests;
    return requests;
}

constexpr int kHealRequestIntervalMs = 10000;

}  // namespace

void request_sidecar_heal(Relation index) {
    if (!guc_heal_sidecars || RecoveryInProgress() || IsBackgroundWorker) return;
    const Oid oid = RelationGetRelid(index);
    const TimestampTz now = GetCurrentTimestamp();
    try {
        auto& requests = last_requests();
        const auto it = requests.find(oid);
        if (it != requests.end() && !TimestampDifferenceExceeds(it->second, now, kHealRequestIntervalMs)) return;
        requests[oid] = now;
    } catch (...) {
        return;
    }
    BackgroundWorker worker;
    std::memset(&worker, 0, sizeof(worker));
    worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
    worker.bgw_restart_time = BGW_NEVER_RESTART;
    std::snprintf(worker.bgw_library_name, BGW_MAXLEN, "vectordb");
    std::snprintf(worker.bgw_function_name, BGW_MAXLEN, "vectordb_heal_main");
    std::snprintf(worker.bgw_name, BGW_MAXLEN, "vectordb sidecar healer for index %u", oid);
    std::snprintf(worker.bgw_type, BGW_MAXLEN, "vectordb sidecar healer");
    worker.bgw_main_arg = ObjectIdGetDatum(oid);
    const Oid database = MyDatabaseId;
    std::memcpy(worker.bgw_extra, &database, sizeof(database));
    // No free worker slot: the next request (after the interval) tries again.
    pg_call([&] { (void)RegisterDynamicBackgroundWorker(&worker, nullptr); });
}

}  // namespace pg
}  // namespace vectordb

using namespace vectordb;
using namespace vectordb::pg;

// vectordb_heal_sidecar(regclass): heals the index's sidecar now (index owner).
// Returns the records written, or NULL when another healer, a rebuild or a
// REINDEX holds the index.
VECTORDB_FUNCTION(vectordb_heal_sidecar) {
    const Oid oid = PG_GETARG_OID(0);
    Relation index = nullptr;
    Relation heap = nullptr;
    pg_call([&] {
        if (!pg_class_ownercheck(oid, GetUserId()))
            ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                            errmsg("must be owner of index %s", get_rel_name(oid))));
        if (RecoveryInProgress())
            ereport(ERROR, (errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
                            errmsg("cannot heal a sidecar during recovery"),
                            errdetail("A hot standby reranks rows its sidecar lacks from its table.")));
        index = open_vtree(oid, AccessShareLock);
        relation_close(index, AccessShareLock);
        index = open_for_healing(oid, &heap);
    });
    if (index == nullptr) PG_RETURN_NULL();
    const uint64 written = heal_index(index, heap);
    pg_call([&] {
        table_close(heap, AccessShareLock);
        relation_close(index, ShareUpdateExclusiveLock);
    });
    PG_RETURN_INT64(static_cast<int64>(written));
}

// The background healer: one index of one database, then exit.
void vectordb_heal_main(Datum arg) {
    const Oid oid = DatumGetObjectId(arg);
    Oid database = InvalidOid;
    std::memcpy(&database, MyBgworkerEntry->bgw_extra, sizeof(database));
    BackgroundWorkerUnblockSignals();
    BackgroundWorkerInitializeConnectionByOid(database, InvalidOid, 0);
    guarded([&] {
        pg_call([] {
            SetCurrentStatementStartTimestamp();
            StartTransactionCommand();
            PushActiveSnapshot(GetTransactionSnapshot());
        });
        Relation heap = nullptr;
        Relation index = nullptr;
        pg_call([&] { index = open_for_healing(oid, &heap); });
        if (index != nullptr) {
            const uint64 written = heal_index(index, heap);
            pg_call([&] {
                if (written > 0)
                    ereport(LOG, (errmsg("vectordb: healed the sidecar of index \"%s\": %llu records rewritten",
                                         RelationGetRelationName(index), static_cast<unsigned long long>(written))));
                table_close(heap, AccessShareLock);
                relation_close(index, ShareUpdateExclusiveLock);
            });
        }
        pg_call([] {
            PopActiveSnapshot();
            CommitTransactionCommand();
        });
    });
}
