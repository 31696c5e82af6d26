// vectordb_rebuild_sidecar(): a new sidecar written from the table.
//
// It repairs whatever happened to the old one (lost, torn, stale, foreign,
// from a template database) without rebuilding the tree: every entry of every
// leaf chain gets a record read from its heap row, the entries' locators are
// rewritten to the new slots, and the metapage switches to the new file last.
// The index is locked against inserts and VACUUM meanwhile (ExclusiveLock);
// scans go on, on the old file or on the table.
#include "core/errors.h"
#include "core/vector_store.h"

#include "pg/pg_call.h"
#include "pg/sidecar_cache.h"
#include "pg/sidecar_files.h"
#include "pg/sidecar_lifecycle.h"
#include "pg/vector_type.h"
#include "pg/vtree.h"

extern "C" {
#include "access/genam.h"
#include "access/generic_xlog.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
}

using namespace vectordb;
using namespace vectordb::pg;

// vectordb_rebuild_sidecar(regclass): writes a new sidecar from the table's
// rows, points every entry at it and switches the metapage to it. Blocks
// writes to the index meanwhile. Returns the records written.
VECTORDB_FUNCTION(vectordb_rebuild_sidecar) {
    const Oid oid = PG_GETARG_OID(0);
    Relation index = nullptr;
    Relation heap = nullptr;
    TupleTableSlot* slot = nullptr;
    IndexFetchTableData* fetch = nullptr;
    SnapshotData snapshot;  // every version VACUUM may not remove yet: entries of open snapshots get records too
    IndexedColumn column;
    pg_call([&] {
        // Ownership first, from the catalog: a non-owner must not queue for the
        // lock and hold up writers behind it.
        require_owner_of(oid);
        index = open_vtree_and_table(oid, ExclusiveLock, AccessShareLock,
                                     &heap);  // no inserts or VACUUM while entries move
        slot = table_slot_create(heap, nullptr);
        fetch = table_index_fetch_begin(heap);
        InitNonVacuumableSnapshot(snapshot, GlobalVisTestFor(heap));
        column = open_indexed_column(index);
    });
    std::shared_ptr<const TreeCache> tc = load_tree(index);
    VtreeMeta meta = tc->meta;
    if (meta.storage != static_cast<uint8>(Storage::Mmap))
        pg_call([&] {
            ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                            errmsg("index \"%s\" keeps its vectors in its pages (storage = pages) and has no sidecar",
                                   RelationGetRelationName(index))));
        });
    claim_new_sidecar(index, &meta);
    sidecar_directory(true);
    const std::string path = sidecar_path(meta);
    auto store_owner = create_accounted_store(path, meta);
    VectorStore& store = *store_owner;
    remove_on_abort(path);
    const LeafLayout layout = leaf_layout(meta.words);
    std::vector<ItemPointerData> tids(layout.capacity);
    std::vector<uint64> locators(layout.capacity);
    std::vector<float> vec(meta.dim);
    uint64 records = 0;
    for (BlockNumber head : tc->leaf_heads) {
        BlockNumber block = head;
        while (block != InvalidBlockNumber) {
            uint16 count = 0;
            BlockNumber next = InvalidBlockNumber;
            pg_call([&] {
                CHECK_FOR_INTERRUPTS();
                if (block == kMetaBlock || block >= RelationGetNumberOfBlocks(index))
                    ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
                                    errmsg("index \"%s\" has a bad leaf link", RelationGetRelationName(index))));
                Buffer buffer = ReadBuffer(index, block);
                LockBuffer(buffer, BUFFER_LOCK_SHARE);
                Page page = BufferGetPage(buffer);
                check_leaf_page(index, block, page, layout);
                count = leaf_header(page)->count;
                next = page_opaque(page)->next;
                std::memcpy(tids.data(), leaf_tids(page, layout), sizeof(ItemPointerData) * count);
                UnlockReleaseBuffer(buffer);
            });
            for (uint16 i = 0; i < count; i++) {
                bool found = false;
                pg_call([&] {
                    found = fetch_heap_vector(fetch, &snapshot, slot, column, tids[i], meta.dim, indexed_elements(meta),
                                              vec.data());
                });
                locators[i] = found ? store.append(tid_tag(tids[i]), vec.data()) : kNoLocator;
                records += found ? 1 : 0;
            }
            pg_call([&] {
                Buffer buffer = ReadBuffer(index, block);
                LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
                GenericXLogState* xlog = GenericXLogStart(index);
                Page page = GenericXLogRegisterBuffer(xlog, buffer, 0);
                const uint16 now = std::min(count, leaf_header(page)->count);
                std::memcpy(leaf_locators(page, layout), locators.data(), sizeof(uint64) * now);
                GenericXLogFinish(xlog);
                UnlockReleaseBuffer(buffer);
            });
            block = next;
        }
    }
    store.sync();
    sync_sidecar_directory();
    // The metapage switches last, WAL-logged and not undone by an abort: from
    // then on the new file must stay whatever the transaction does. The old
    // generation goes when this commits (after an abort it is an orphan for
    // vectordb_cleanup_orphans()).
    keep_only_on_commit(sidecar_identity(meta));
    meta.built_entries = records;
    write_sidecar_identity(index, meta);
    keep_on_abort(path);
    forget_sidecar(oid);
    pg_call([&] {
        table_index_fetch_end(fetch);
        ExecDropSingleTupleTableSlot(slot);
        close_indexed_column(column);
        table_close(heap, AccessShareLock);
        relation_close(index, ExclusiveLock);
    });
    PG_RETURN_INT64(static_cast<int64>(records));
}
