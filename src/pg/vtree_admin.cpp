// SQL functions to inspect vtree indexes: statistics, prewarm and evict,
// recall measurement; and the checks the other administration functions share.
// The sidecar's repair and cleanup are in sidecar_rebuild.cpp and
// sidecar_cleanup.cpp, vectordb_check in vtree_check.cpp.
#include "core/errors.h"
#include "core/vector_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include "pg/pg_call.h"
#include "pg/sidecar_cache.h"
#include "pg/sidecar_files.h"
#include "pg/vector_type.h"
#include "pg/vtree.h"

extern "C" {
#include "catalog/index.h"
#include "utils/ruleutils.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_database.h"
#include "commands/defrem.h"
#include "commands/event_trigger.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "storage/itemptr.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"
}

using namespace vectordb;
using namespace vectordb::pg;

namespace vectordb {
namespace pg {

// Opens a vtree index, or ERROR 42809 if the relation is something else.
Relation open_vtree(Oid oid, LOCKMODE lock) {
    Relation index = relation_open(oid, lock);
    const Oid am = get_index_am_oid("vtree", false);
    if (index->rd_rel->relkind != RELKIND_INDEX || index->rd_rel->relam != am) {
        const char* name = pstrdup(RelationGetRelationName(index));
        relation_close(index, lock);
        ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE), errmsg("\"%s\" is not a vtree index", name)));
    }
    return index;
}

Relation open_vtree_and_table(Oid oid, LOCKMODE index_lock, LOCKMODE table_lock, Relation* heap) {
    const Oid heap_oid = IndexGetRelation(oid, true);
    *heap = OidIsValid(heap_oid) ? table_open(heap_oid, table_lock) : nullptr;
    Relation index = open_vtree(oid, index_lock);
    if (*heap == nullptr || index->rd_index->indrelid != heap_oid)
        elog(ERROR, "index \"%s\" changed its table while being opened", RelationGetRelationName(index));
    return index;
}

// ERROR 42501 unless the current user may SELECT from the index's table: what
// the statistics and a prewarm reveal or cost is the table's to grant.
void require_select(Relation index) {
    const Oid heap = index->rd_index->indrelid;
    if (pg_class_aclcheck(heap, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
        ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                        errmsg("permission denied for table %s", get_rel_name(heap))));
}

// ERROR 42501 unless the current user owns the index or is a superuser.
void require_owner(Relation index) {
    if (!pg_class_ownercheck(RelationGetRelid(index), GetUserId()))
        ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                        errmsg("must be owner of index %s", RelationGetRelationName(index))));
}

void require_owner_of(Oid index_oid) {
    if (!pg_class_ownercheck(index_oid, GetUserId()))
        ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                        errmsg("must be owner of index %s", get_rel_name(index_oid))));
}

void require_superuser(const char* function) {
    if (!superuser())
        ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE), errmsg("must be superuser to call %s", function)));
}

}  // namespace pg
}  // namespace vectordb

namespace {

const char* metric_name(uint8 metric) {
    switch (static_cast<Metric>(metric)) {
        case Metric::L2:
            return "l2";
        case Metric::InnerProduct:
            return "inner_product";
        case Metric::Cosine:
            return "cosine";
    }
    return "unknown";
}

const char* metric_operator(uint8 metric) {
    switch (static_cast<Metric>(metric)) {
        case Metric::L2:
            return "<->";
        case Metric::InnerProduct:
            return "<#>";
        case Metric::Cosine:
            return "<=>";
    }
    return "<->";
}

struct LeafCounts {
    int64 min = 0, max = 0, live = 0, dead = 0;
};

// Counts entries per leaf; an entry is live if its row is visible to the
// active snapshot, dead otherwise (deleted, not yet vacuumed). PostgreSQL code only.
void count_entries(Relation index, Relation heap, const BlockNumber* heads, std::size_t leaves,
                   const LeafLayout& layout, LeafCounts* out) {
    IndexFetchTableData* fetch = table_index_fetch_begin(heap);
    TupleTableSlot* slot = table_slot_create(heap, nullptr);
    Snapshot snapshot = GetActiveSnapshot();
    BlockNumber nblocks = 0;
    bool counted = false;
    ItemPointerData* tids = static_cast<ItemPointerData*>(palloc(sizeof(ItemPointerData) * layout.capacity));
    for (std::size_t leaf = 0; leaf < leaves; leaf++) {
        int64 in_leaf = 0;
        BlockNumber block = heads[leaf];
        if (block == InvalidBlockNumber) continue;  // split: its children are counted
        BlockNumber hops = 0;
        while (block != InvalidBlockNumber) {
            CHECK_FOR_INTERRUPTS();
            // Inserts and splits may add pages meanwhile: the helper looks the size up again.
            Buffer buffer =
                read_chain_page(index, block, static_cast<uint32>(leaf), layout, BUFFER_LOCK_SHARE, &hops, &nblocks);
            Page page = BufferGetPage(buffer);
            const uint16 count = leaf_header(page)->count;
            const BlockNumber next = page_opaque(page)->next;
            // Copy the TIDs so no index buffer lock is held while reading the heap.
            std::memcpy(tids, leaf_tids(page, layout), sizeof(ItemPointerData) * count);
            UnlockReleaseBuffer(buffer);
            for (uint16 i = 0; i < count; i++) {
                bool call_again = false, all_dead = false;
                ItemPointerData tid = tids[i];
                if (table_index_fetch_tuple(fetch, &tid, snapshot, slot, &call_again, &all_dead)) {
                    out->live++;
                    in_leaf++;
                } else {
                    out->dead++;
                }
            }
            block = next;
        }
        if (!counted || in_leaf < out->min) out->min = in_leaf;
        if (!counted || in_leaf > out->max) out->max = in_leaf;
        counted = true;
    }
    pfree(tids);
    ExecDropSingleTupleTableSlot(slot);
    table_index_fetch_end(fetch);
}

// posix_fadvise over a whole file (after an fdatasync when `sync_first`),
// through a descriptor PostgreSQL accounts for. A missing file is skipped.
void advise_whole_file(const std::string& path, int advice, bool sync_first) {
    const char* name = path.c_str();
    pg_call([&] {
        const int fd = OpenTransientFile(name, O_RDONLY | PG_BINARY);
        if (fd < 0) return;
        if (sync_first) (void)fdatasync(fd);
        (void)posix_fadvise(fd, 0, 0, advice);
        CloseTransientFile(fd);
    });
}

int64 file_size(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 ? static_cast<int64>(st.st_size) : -1;
}

}  // namespace

// vectordb_index_stats(regclass): the shape, size and health of a vtree index.
VECTORDB_FUNCTION(vectordb_index_stats) {
    const Oid oid = PG_GETARG_OID(0);
    Relation index = nullptr;
    Relation heap = nullptr;
    bool may_see_path = false;
    pg_call([&] {
        index = open_vtree_and_table(oid, AccessShareLock, AccessShareLock, &heap);
        require_select(index);
        may_see_path = pg_class_ownercheck(oid, GetUserId());
    });
    std::shared_ptr<const TreeCache> tc = load_tree(index);
    const VtreeMeta& meta = tc->meta;
    const LeafLayout layout = leaf_layout(meta.words);
    LeafCounts counts;
    pg_call([&] { count_entries(index, heap, tc->leaf_heads.data(), tc->leaf_heads.size(), layout, &counts); });
    const bool mmap_storage = meta.storage == static_cast<uint8>(Storage::Mmap);
    std::string path, status = "not used (storage = pages)";
    int64 sidecar_bytes = 0;
    bool using_mmap = false;
    if (mmap_storage) {
        path = sidecar_path(meta);
        sidecar_bytes = std::max<int64>(0, file_size(path));
        std::string problem;
        using_mmap = open_sidecar(index, meta, SidecarAccess::Read, &problem) != nullptr;
        status = using_mmap ? "ok" : problem;
    }
    const int64 relation_bytes = static_cast<int64>(RelationGetNumberOfBlocks(index)) * BLCKSZ;
    const int64 memory = relation_bytes + static_cast<int64>(tc->bytes());
    const std::size_t leaves = tc->live_leaves();
    const int depth = tc->tree.stats().depth;
    Datum result = 0;
    pg_call([&] {
        TupleDesc desc;
        if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
            elog(ERROR, "vectordb_index_stats must return a record");
        desc = BlessTupleDesc(desc);
        Datum values[18];
        bool nulls[18] = {false};
        // The tree as it is now: the build's, grown by the splits since.
        values[0] = Int32GetDatum(static_cast<int32>(depth));
        values[1] = Int32GetDatum(static_cast<int32>(tc->tree.nodes.size()));
        values[2] = Int32GetDatum(static_cast<int32>(tc->live_leaves()));
        values[3] = Int64GetDatum(counts.min);
        values[4] = Float8GetDatum(leaves ? static_cast<double>(counts.live) / leaves : 0.0);
        values[5] = Int64GetDatum(counts.max);
        values[6] = Int64GetDatum(counts.live);
        values[7] = Int64GetDatum(counts.dead);
        values[8] = Int64GetDatum(relation_bytes);
        values[9] = Int64GetDatum(sidecar_bytes);
        if (mmap_storage && may_see_path)
            values[10] = CStringGetTextDatum(path.c_str());
        else
            nulls[10] = true;
        values[11] = CStringGetTextDatum(mmap_storage ? "mmap" : "pages");
        values[12] = BoolGetDatum(using_mmap);
        values[13] = Int64GetDatum(memory);
        values[14] = Int32GetDatum(static_cast<int32>(meta.dim));
        values[15] = CStringGetTextDatum(metric_name(meta.metric));
        values[16] = CStringGetTextDatum(quantizer_name(static_cast<QuantizerKind>(meta.quantizer)));
        values[17] = CStringGetTextDatum(status.c_str());
        result = HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
        table_close(heap, AccessShareLock);
        relation_close(index, AccessShareLock);
    });
    return result;
}

// vectordb_prewarm(regclass): reads every index page into shared buffers and
// asks the kernel to read the sidecar ahead. Returns the pages read.
VECTORDB_FUNCTION(vectordb_prewarm) {
    const Oid oid = PG_GETARG_OID(0);
    Relation index = nullptr;
    int64 pages = 0;
    pg_call([&] {
        index = open_vtree(oid, AccessShareLock);
        require_select(index);
        const BlockNumber n = RelationGetNumberOfBlocks(index);
        for (BlockNumber b = 0; b < n; b++) {
            CHECK_FOR_INTERRUPTS();
            ReleaseBuffer(ReadBuffer(index, b));
            pages++;
        }
    });
    std::shared_ptr<const TreeCache> tc = load_tree(index);
    if (tc->meta.storage == static_cast<uint8>(Storage::Mmap) && foreign_sidecar_problem(index, tc->meta).empty())
        advise_whole_file(sidecar_path(tc->meta), POSIX_FADV_WILLNEED, false);
    pg_call([&] { relation_close(index, AccessShareLock); });
    PG_RETURN_INT64(pages);
}

// vectordb_evict(regclass): drops the sidecar from the OS page cache (for cold
// measurements). Superuser only. Returns the sidecar's size in bytes.
VECTORDB_FUNCTION(vectordb_evict) {
    const Oid oid = PG_GETARG_OID(0);
    Relation index = nullptr;
    pg_call([&] {
        require_superuser("vectordb_evict");
        index = open_vtree(oid, AccessShareLock);
    });
    std::shared_ptr<const TreeCache> tc = load_tree(index);
    int64 bytes = 0;
    if (tc->meta.storage == static_cast<uint8>(Storage::Mmap) && foreign_sidecar_problem(index, tc->meta).empty()) {
        std::string problem;
        if (std::shared_ptr<VectorStore> store = open_sidecar(index, tc->meta, SidecarAccess::Read, &problem))
            store->evict();
        const std::string path = sidecar_path(tc->meta);
        advise_whole_file(path, POSIX_FADV_DONTNEED, true);
        bytes = std::max<int64>(0, file_size(path));
    }
    pg_call([&] { relation_close(index, AccessShareLock); });
    PG_RETURN_INT64(bytes);
}

namespace {

// Runs `sql` with $1 = query and collects the ctids it returns (PostgreSQL code only).
void collect_ctids(const char* sql, Datum query, Oid vector_type, std::vector<uint64>* out, std::size_t max) {
    Oid types[1] = {vector_type};
    Datum args[1] = {query};
    if (SPI_execute_with_args(sql, 1, types, args, nullptr, true, 0) != SPI_OK_SELECT)
        elog(ERROR, "vectordb_recall: query failed: %s", sql);
    for (uint64 i = 0; i < SPI_processed && out->size() < max; i++) {
        bool isnull = false;
        const Datum d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
        if (!isnull) out->push_back(tid_tag(*reinterpret_cast<ItemPointer>(DatumGetPointer(d))));
    }
}

}  // namespace

// vectordb_recall(regclass, vector, k): the share of the exact k nearest rows
// that an index scan with the current settings returns.
VECTORDB_FUNCTION(vectordb_recall) {
    const Oid oid = PG_GETARG_OID(0);
    const Datum query = PG_GETARG_DATUM(1);
    const int32 k = PG_GETARG_INT32(2);
    if (k < 1 || k > 100000)
        pg_call([&] {
            ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("k must be between 1 and 100000")));
        });
    char sql[4096];
    Oid vector_type = InvalidOid;
    pg_call([&] {
        Relation index = open_vtree(oid, AccessShareLock);
        VtreeMeta meta;
        read_meta(index, &meta);
        const Oid heap_oid = index->rd_index->indrelid;
        // The query's own type (vector): the ORDER BY casts it to a halfvec key's as SQL would.
        vector_type = get_fn_expr_argtype(fcinfo->flinfo, 1);
        if (!OidIsValid(vector_type)) vector_type = TupleDescAttr(RelationGetDescr(index), 0)->atttypid;
        const char* table =
            quote_qualified_identifier(get_namespace_name(get_rel_namespace(heap_oid)), get_rel_name(heap_oid));
        // The index's key as SQL: its column, or its expression (in parentheses).
        const char* column = psprintf("(%s)", pg_get_indexdef_columns(oid, false));
        std::snprintf(sql, sizeof(sql), "SELECT ctid FROM %s WHERE %s IS NOT NULL ORDER BY %s %s $1 LIMIT %d", table,
                      column, column, metric_operator(meta.metric), k);
        relation_close(index, AccessShareLock);
    });
    std::vector<uint64> exact, approximate;
    exact.reserve(static_cast<std::size_t>(k));
    approximate.reserve(static_cast<std::size_t>(k));
    const std::size_t max = static_cast<std::size_t>(k);
    pg_call([&] {
        if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "vectordb_recall: SPI_connect failed");
        const int nest = NewGUCNestLevel();
        set_config_option("enable_indexscan", "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
        set_config_option("enable_bitmapscan", "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
        collect_ctids(sql, query, vector_type, &exact, max);
        AtEOXact_GUC(true, nest);
        const int nest2 = NewGUCNestLevel();
        set_config_option("enable_seqscan", "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
        set_config_option("enable_sort", "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
        collect_ctids(sql, query, vector_type, &approximate, max);
        AtEOXact_GUC(true, nest2);
        SPI_finish();
    });
    if (exact.empty()) PG_RETURN_NULL();
    const std::set<uint64> truth(exact.begin(), exact.end());
    std::size_t hits = 0;
    for (uint64 t : approximate) hits += truth.count(t);
    PG_RETURN_FLOAT8(static_cast<double>(hits) / static_cast<double>(exact.size()));
}

// Event trigger function: loading the library is all it does (see the install script).
VECTORDB_FUNCTION(vectordb_load_library) {
    (void)fcinfo;
    PG_RETURN_VOID();
}
