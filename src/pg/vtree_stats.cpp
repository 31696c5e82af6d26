// vectordb_index_stats(): the shape, size and health of a vtree index, as
// this backend's tree and the index's pages show it; vectordb_tree_memory():
// what this backend's copy of the tree costs it.
#include "core/vector_store.h"

#include "pg/pg_call.h"
#include "pg/sidecar_cache.h"
#include "pg/sidecar_files.h"
#include "pg/tree_image.h"
#include "pg/vtree.h"

extern "C" {
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"
}

using namespace vectordb;
using namespace vectordb::pg;

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

// vectordb_tree_memory(regclass): this backend's memory for the index's tree
// (loading it if need be): bytes of its own, bytes in the tree image it maps
// (shared with every backend that maps it; tree_image.h), and that image's
// file name (NULL while the tree is private).
VECTORDB_FUNCTION(vectordb_tree_memory) {
    const Oid oid = PG_GETARG_OID(0);
    Relation index = nullptr;
    pg_call([&] {
        index = open_vtree(oid, AccessShareLock);
        require_select(index);
    });
    std::shared_ptr<const TreeCache> tc = load_tree(index);
    const std::size_t shared = tc->image != nullptr ? tc->image->length : 0;
    const std::size_t total = tc->bytes();
    const std::string image = tc->image != nullptr ? tc->image->name : std::string();
    Datum result = 0;
    pg_call([&] {
        TupleDesc desc;
        if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
            elog(ERROR, "vectordb_tree_memory must return a record");
        desc = BlessTupleDesc(desc);
        Datum values[3];
        bool nulls[3] = {false, false, image.empty()};
        values[0] = Int64GetDatum(static_cast<int64>(total > shared ? total - shared : 0));
        values[1] = Int64GetDatum(static_cast<int64>(shared));
        values[2] = image.empty() ? Datum(0) : CStringGetTextDatum(image.c_str());
        result = HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
        relation_close(index, AccessShareLock);
    });
    return result;
}
