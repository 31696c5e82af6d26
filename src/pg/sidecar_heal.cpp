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
// at a time: on a primary each takes a ShareUpdateExclusiveLock on the index,
// which also conflicts with REINDEX and vectordb_rebuild_sidecar.
//
// A hot standby cannot change index pages, so it cannot give an entry a new
// locator. It does not need to: the locators it replays are its primary's
// slots, each slot written once by the primary for the entry that names it.
// So a standby heals by writing, at each slot an entry names, that entry's
// record from its own table: the primary's file, rebuilt from the standby's
// own rows (a missing file, after a REINDEX on the primary, is created under
// the same name). Nothing else writes a standby's sidecar, so writes at
// slots cannot collide with appends. Standby healers exclude each other with
// an advisory lock (relation locks above RowExclusiveLock are not available
// during recovery). The sidecar directory must not be shared with the
// primary (the default, pg_vectordb in the data directory, is not).
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
#include "catalog/index.h"
#include "commands/defrem.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
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

// Creates an empty sidecar for `meta`'s identity, counting `slots` records
// (all failing their checksum until written), fsynced with its directory.
void create_empty_sidecar(const VtreeMeta& meta, uint64 slots) {
    sidecar_directory(true);
    auto created = create_accounted_store(sidecar_path(meta), meta);
    created->extend_to(slots);
    created->sync();
    sync_sidecar_directory();
}

// Switches the metapage to a new, empty sidecar of this index (PostgreSQL
// code and C++: call outside pg_call). The old file goes when this commits.
void switch_to_new_sidecar(Relation index, VtreeMeta* meta) {
    claim_new_sidecar(index, meta);
    create_empty_sidecar(*meta, 0);
    keep_only_on_commit(sidecar_identity(*meta));
    meta->built_entries = 0;
    write_sidecar_identity(index, *meta);
    forget_sidecar(RelationGetRelid(index));
}

// The advisory lock tag a standby's healer of this index holds (field 4 = 3:
// the SQL advisory lock functions use 1 and 2).
void set_replica_heal_tag(LOCKTAG* tag, Oid index_oid) {
    SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, index_oid, 0x76646268, 3);
}

// Makes a healer's writes readable, and every kRecords of them durable: a
// healer rewrites a whole file's worth of records at worst, and dirty pages
// without bound can exhaust a memory-limited server (cgroup v1 throttles
// writeback poorly). Call with the writer's exclusion held.
struct Writeback {
    static constexpr uint64 kRecords = 4096;
    uint64 since_sync = 0;
    void wrote(VectorStore& store, std::size_t records) {
        since_sync += records;
        if (since_sync < kRecords) {
            store.flush();
            return;
        }
        store.sync();
        since_sync = 0;
    }
};

// An entry to heal: its place on its page, its row, and (once written) its record's slot.
struct Fix {
    uint16 position;
    ItemPointerData tid;
    uint64 locator;
};

// The entries of one leaf page that need a record, and their rows' vectors (dim floats each).
struct PageToHeal {
    BlockNumber block = InvalidBlockNumber;
    std::vector<Fix> fixes;
    std::vector<float> vectors;
};

// Walks every leaf page of the index. For each page, collects the live
// entries whose record is unusable and whose row `snapshot` still sees
// (entries without a locator too, when `unlocated`), and hands them to
// repair(page), which returns the records it wrote. Returns their sum.
template <class Repair>
uint64 heal_pages(Relation index, Relation heap, const TreeCache& tc, VectorStore* store, Snapshot snapshot,
                  bool unlocated, Repair&& repair) {
    const VtreeMeta& meta = tc.meta;
    TupleTableSlot* slot = nullptr;
    IndexFetchTableData* fetch = nullptr;
    IndexedColumn column;
    pg_call([&] {
        slot = table_slot_create(heap, nullptr);
        fetch = table_index_fetch_begin(heap);
        column = open_indexed_column(index);
    });
    const LeafLayout layout = leaf_layout(meta.words);
    std::vector<ItemPointerData> tids(layout.capacity);
    std::vector<uint64> locators(layout.capacity);
    std::vector<uint8> flags(layout.capacity);
    std::vector<float> vec(meta.dim);
    PageToHeal page_to_heal;
    BlockNumber nblocks = 0;
    uint64 written = 0;
    for (std::size_t leaf = 0; leaf < tc.leaf_heads.size(); leaf++) {
        BlockNumber block = tc.leaf_heads[leaf];
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
            page_to_heal.block = block;
            page_to_heal.fixes.clear();
            page_to_heal.vectors.clear();
            for (uint16 i = 0; i < count; i++) {
                if ((flags[i] & kEntryDead) || (!unlocated && locators[i] == kNoLocator)) continue;
                std::string error;
                if (read_entry_record(index, meta, store, locators[i], tids[i], vec.data(), &nblocks, &error) ==
                    RecordRead::Ok)
                    continue;
                bool found = false;
                pg_call([&] {
                    found = fetch_heap_vector(fetch, snapshot, slot, column, tids[i], meta.dim, indexed_elements(meta),
                                              vec.data());
                });
                if (!found) continue;  // the row is gone: VACUUM removes its entry
                page_to_heal.fixes.push_back(Fix{i, tids[i], locators[i]});
                page_to_heal.vectors.insert(page_to_heal.vectors.end(), vec.begin(), vec.end());
            }
            if (!page_to_heal.fixes.empty()) written += repair(page_to_heal);
            block = next;
        }
    }
    pg_call([&] {
        table_index_fetch_end(fetch);
        ExecDropSingleTupleTableSlot(slot);
        close_indexed_column(column);
    });
    return written;
}

// The sidecar a healer writes to, opened for writing, or null when there is
// nothing to heal with (pages storage; a standby replaying a copy's metapage,
// which its primary heals; a backend out of file descriptors, no fault of the
// file). A file that cannot be used is replaced first: on a primary by a new
// one of this index (*meta then names it), on a standby by an empty one under
// the name its replayed metapage gives.
std::shared_ptr<VectorStore> store_to_heal(Relation index, VtreeMeta* meta, bool replica) {
    if (meta->storage != static_cast<uint8>(Storage::Mmap)) return nullptr;
    if (replica && !foreign_sidecar_problem(index, *meta).empty()) return nullptr;
    std::string problem;
    bool transient = false;
    std::shared_ptr<VectorStore> store = open_sidecar(index, *meta, SidecarAccess::Append, &problem, &transient);
    if (store != nullptr || transient) return store;
    if (replica) {
        // Missing (a REINDEX on the primary since the base backup) or unreadable: a new file, same name.
        VectorStore::remove(sidecar_path(*meta));
        create_empty_sidecar(*meta, meta->built_entries);
        forget_sidecar(RelationGetRelid(index));
    } else {
        switch_to_new_sidecar(index, meta);
    }
    store = open_sidecar(index, *meta, SidecarAccess::Append, &problem);
    if (store == nullptr) throw IoError("the new sidecar cannot be opened: " + problem);
    return store;
}

// Heals a hot standby's sidecar by writing each entry's record at the slot it
// names (its AccessShareLock and the advisory lock held). Returns the records written.
uint64 heal_replica(Relation index, Relation heap) {
    std::shared_ptr<const TreeCache> tc = load_tree(index);
    VtreeMeta meta = tc->meta;
    std::shared_ptr<VectorStore> store = store_to_heal(index, &meta, true);
    if (store == nullptr) return 0;
    Snapshot snapshot = nullptr;
    pg_call([&] { snapshot = RegisterSnapshot(GetTransactionSnapshot()); });
    Writeback writeback;
    const uint64 written =
        heal_pages(index, heap, *tc, store.get(), snapshot, false, [&](const PageToHeal& page) -> uint64 {
            for (std::size_t f = 0; f < page.fixes.size(); f++)
                store->write_at(page.fixes[f].locator, tid_tag(page.fixes[f].tid), page.vectors.data() + f * meta.dim);
            writeback.wrote(*store, page.fixes.size());
            return page.fixes.size();
        });
    pg_call([&] { UnregisterSnapshot(snapshot); });
    return written;
}

// Heals one index on a primary (its ShareUpdateExclusiveLock held): appends
// records and rewrites locators. Returns the records written.
uint64 heal_index(Relation index, Relation heap) {
    std::shared_ptr<const TreeCache> tc = load_tree(index);
    VtreeMeta meta = tc->meta;
    std::shared_ptr<VectorStore> store = store_to_heal(index, &meta, false);
    if (store == nullptr) return 0;
    // After a switch the tree cache's metapage copy names the old file: walk a copy naming the new one.
    const TreeCache* walked = tc.get();
    TreeCache switched;
    if (sidecar_identity(meta) != sidecar_identity(tc->meta)) {
        switched = *tc;
        switched.meta = meta;
        walked = &switched;
    }
    SnapshotData snapshot;  // every version VACUUM may not remove yet, as vectordb_rebuild_sidecar
    pg_call([&] { InitNonVacuumableSnapshot(snapshot, GlobalVisTestFor(heap)); });
    Writeback writeback;
    return heal_pages(index, heap, *walked, store.get(), &snapshot, true, [&](PageToHeal& page) -> uint64 {
        pg_call([&] { LockPage(index, kMetaBlock, ExclusiveLock); });
        try {
            store->refresh();
            for (std::size_t f = 0; f < page.fixes.size(); f++)
                page.fixes[f].locator = store->append(tid_tag(page.fixes[f].tid), page.vectors.data() + f * meta.dim);
            writeback.wrote(*store, page.fixes.size());
        } catch (...) {
            forget_sidecar(RelationGetRelid(index));
            pg_call([&] { UnlockPage(index, kMetaBlock, ExclusiveLock); });
            throw;
        }
        const LeafLayout layout = leaf_layout(meta.words);
        pg_call([&] {
            UnlockPage(index, kMetaBlock, ExclusiveLock);
            // The entries may have moved since (VACUUM, a hole filled): only
            // an entry still holding its TID at its place gets its record.
            Buffer buffer = ReadBuffer(index, page.block);
            LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
            GenericXLogState* xlog = GenericXLogStart(index);
            Page p = GenericXLogRegisterBuffer(xlog, buffer, 0);
            check_leaf_page(index, page.block, p, layout);
            const uint16 now = leaf_header(p)->count;
            for (const Fix& f : page.fixes)
                if (f.position < now &&
                    ItemPointerEquals(&leaf_tids(p, layout)[f.position], const_cast<ItemPointer>(&f.tid)))
                    leaf_locators(p, layout)[f.position] = f.locator;
            GenericXLogFinish(xlog);
            UnlockReleaseBuffer(buffer);
        });
        return page.fixes.size();
    });
}

// Opens the index for healing: its table's lock and then its own taken if
// free (else null: another healer, a rebuild, a REINDEX or a DROP is at it).
// Table first, as DROP and REINDEX lock them, and never waiting: a healer
// must not be the other half of a deadlock with a user's command.
// On a standby the index lock is AccessShareLock and the healers'
// exclusion an advisory lock, held to the end of the transaction.
Relation open_for_healing(Oid oid, Relation* heap, LOCKMODE* mode) {
    const bool replica = RecoveryInProgress();
    *mode = replica ? AccessShareLock : ShareUpdateExclusiveLock;
    if (replica) {
        LOCKTAG tag;
        set_replica_heal_tag(&tag, oid);
        if (LockAcquire(&tag, ExclusiveLock, false, true) == LOCKACQUIRE_NOT_AVAIL) return nullptr;
    }
    const Oid heap_oid = IndexGetRelation(oid, true);
    if (!OidIsValid(heap_oid) || !ConditionalLockRelationOid(heap_oid, AccessShareLock)) return nullptr;
    if (!ConditionalLockRelationOid(oid, *mode)) {
        UnlockRelationOid(heap_oid, AccessShareLock);
        return nullptr;
    }
    Relation index = try_relation_open(oid, NoLock);
    if (index == nullptr || index->rd_rel->relkind != RELKIND_INDEX ||
        index->rd_rel->relam != get_index_am_oid("vtree", true) || index->rd_index->indrelid != heap_oid) {
        if (index != nullptr) relation_close(index, NoLock);
        UnlockRelationOid(oid, *mode);
        UnlockRelationOid(heap_oid, AccessShareLock);
        return nullptr;
    }
    *heap = table_open(heap_oid, NoLock);
    return index;
}

// Heals the index now if no other healer, rebuild or REINDEX holds it (else
// false). *written: the records written; *name: the index's name.
bool heal_now(Oid oid, uint64* written, std::string* name) {
    Relation heap = nullptr;
    Relation index = nullptr;
    LOCKMODE mode = NoLock;
    pg_call([&] { index = open_for_healing(oid, &heap, &mode); });
    if (index == nullptr) return false;
    *written = RecoveryInProgress() ? heal_replica(index, heap) : heal_index(index, heap);
    *name = RelationGetRelationName(index);
    pg_call([&] {
        table_close(heap, AccessShareLock);
        relation_close(index, mode);
    });
    return true;
}

std::unordered_map<Oid, TimestampTz>& last_requests() {
    static std::unordered_map<Oid, TimestampTz> requests;
    return requests;
}

constexpr int kHealRequestIntervalMs = 10000;

}  // namespace

void request_sidecar_heal(Relation index) {
    if (!guc_heal_sidecars || IsBackgroundWorker) return;
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
    worker.bgw_start_time = BgWorkerStart_ConsistentState;  // hot standbys heal too
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
    pg_call([&] {
        require_owner_of(oid);
        relation_close(open_vtree(oid, AccessShareLock), AccessShareLock);  // ERROR 42809 if not a vtree index
    });
    uint64 written = 0;
    std::string name;
    if (!heal_now(oid, &written, &name)) PG_RETURN_NULL();
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
        const TimestampTz started = GetCurrentTimestamp();
        uint64 written = 0;
        std::string name;
        if (heal_now(oid, &written, &name) && written > 0) {
            const char* index_name = name.c_str();
            pg_call([&] {
                long secs = 0;
                int usecs = 0;
                TimestampDifference(started, GetCurrentTimestamp(), &secs, &usecs);
                ereport(LOG, (errmsg("vectordb: healed the sidecar of index \"%s\": %llu records rewritten in %.1f s",
                                     index_name, static_cast<unsigned long long>(written), secs + usecs / 1e6)));
            });
        }
        pg_call([] {
            PopActiveSnapshot();
            CommitTransactionCommand();
        });
    });
}
