// VACUUM for vtree: ambulkdelete removes the entries of dead heap rows from
// the leaf pages (compacting each page, one GenericXLog record per changed
// page) and puts their sidecar slots on the free stack for new rows
// (sidecar_free_slots.h); amvacuumcleanup recycles pages, reports sizes and
// calibrates the index again when its tree has changed by half (vtree_calibrate.cpp).
// Vector page space (storage = pages) is reclaimed by REINDEX.
//
// Recycling: the chain of a leaf a split retired is kept for scans that loaded
// the tree before the split. Once no snapshot is older than the split
// (RetiredLeaf::retired_xid), none can exist, and every page of that leaf
// (its pages carry its leaf number, and leaf numbers are never reused) is
// turned into a Free page and recorded in the free space map, as are pages a
// failed split left (leaf numbers beyond the tree's). The pass holds the tree
// lock shared, so no split is writing pages meanwhile. On a hot standby a
// query older than the primary's horizon could still meet a recycled page
// (generic WAL raises no recovery conflict): it fails with XX001 on the
// page's type or leaf number, never returns a wrong row;
// hot_standby_feedback keeps the primary from recycling under it.
//
// An exclusive buffer lock is enough to compact a leaf page (no cleanup lock,
// unlike heap pruning): a scan copies the entries it needs (TIDs, locators)
// out of the page under its share lock and keeps no pin between calls, so no
// one holds a pointer into the page across the compaction.
#include "core/code_scan.h"

#include <unordered_set>

#include "pg/pg_call.h"
#include "pg/sidecar_free_slots.h"
#include "pg/vtree.h"

extern "C" {
#include "access/transam.h"
#include "commands/vacuum.h"
#include "storage/indexfsm.h"
#include "utils/snapmgr.h"
#include "storage/lmgr.h"
#include "miscadmin.h"
}

namespace vectordb {
namespace pg {
namespace {

// Moves entry `from` of a leaf page over entry `to`.
void move_entry(Page page, const LeafLayout& l, uint32 from, uint32 to) {
    uint64_t code[1024];
    uint64_t* codes = leaf_codes(page, l);
    if (l.blocked) {
        // words <= 123 when codes are blocked (see leaf_layout), so the buffer is large enough.
        load_code(codes, from, l.words, code);
        store_code(codes, to, l.words, code);
    } else {
        std::memmove(codes + std::size_t{to} * l.words, codes + std::size_t{from} * l.words, std::size_t{l.words} * 8);
    }
    leaf_factors(page, l)[to] = leaf_factors(page, l)[from];
    leaf_locators(page, l)[to] = leaf_locators(page, l)[from];
    leaf_tids(page, l)[to] = leaf_tids(page, l)[from];
    leaf_flags(page, l)[to] = leaf_flags(page, l)[from];
}

// Walks leaf `leaf`'s chain, removing entries the callback reports dead (PostgreSQL code only).
void vacuum_chain(Relation index, BufferAccessStrategy strategy, uint32 leaf, BlockNumber head,
                  const LeafLayout& layout, IndexBulkDeleteCallback callback, void* callback_state,
                  IndexBulkDeleteResult* stats, std::vector<uint64>* freed_slots) {
    BlockNumber block = head;
    BlockNumber hops = 0, nblocks = 0;
    bool removed = false;
    while (block != InvalidBlockNumber) {
        vacuum_delay_point();
        Buffer buffer = read_chain_page(index, block, leaf, layout, BUFFER_LOCK_EXCLUSIVE, &hops, &nblocks, strategy);
        Page page = BufferGetPage(buffer);
        // Look first, so that a page with nothing to remove writes no WAL.
        bool any = false;
        const LeafHeader* h = leaf_header(page);
        for (uint32 i = 0; i < h->count && !any; i++) any = callback(&leaf_tids(page, layout)[i], callback_state);
        if (any) {
            GenericXLogState* xlog = GenericXLogStart(index);
            Page p = GenericXLogRegisterBuffer(xlog, buffer, 0);
            LeafHeader* lh = leaf_header(p);
            uint32 i = 0;
            while (i < lh->count) {
                if (callback(&leaf_tids(p, layout)[i], callback_state)) {
                    const uint64 locator = leaf_locators(p, layout)[i];
                    if (freed_slots != nullptr && locator != kNoLocator) freed_slots->push_back(locator);
                    const uint32 last = lh->count - 1u;
                    if (i != last) move_entry(p, layout, last, i);
                    lh->count--;
                    stats->tuples_removed += 1;
                } else {
                    i++;
                }
            }
            lh->dead = 0;
            GenericXLogFinish(xlog);
            removed = true;
        }
        stats->num_index_tuples += leaf_header(page)->count;
        block = page_opaque(page)->next;
        UnlockReleaseBuffer(buffer);
    }
    if (!removed) return;
    // Tell inserts the chain has holes. The head is locked again alone: an
    // insert holds the head before any other page of the chain.
    Buffer buffer = ReadBufferExtended(index, MAIN_FORKNUM, head, RBM_NORMAL, strategy);
    LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
    check_leaf_page(index, head, BufferGetPage(buffer), layout);
    if (!(leaf_header(BufferGetPage(buffer))->flags & (kLeafRetired | kLeafHasRoom))) {
        GenericXLogState* xlog = GenericXLogStart(index);
        leaf_header(GenericXLogRegisterBuffer(xlog, buffer, 0))->flags |= kLeafHasRoom;
        GenericXLogFinish(xlog);
    }
    UnlockReleaseBuffer(buffer);
}

// Which leaves' pages the pass recycles: retired leaves from the metapage's
// watermark on whose stamp no snapshot is older than, and leaf numbers beyond
// the tree's (pages of a split that failed before its log record).
class Recyclable {
public:
    Recyclable(const TreeCache& tc, uint32 watermark) : leaves_(tc.tree.leaves.size()), next_watermark_(watermark) {
        for (std::size_t i = watermark; i < tc.retired.size(); i++) {
            const RetiredLeaf& r = tc.retired[i];
            if (r.retired_xid == 0) {  // split logged before stamps: never recycled
                if (next_watermark_ == i) next_watermark_ = static_cast<uint32>(i + 1);
                continue;
            }
            if (!GlobalVisCheckRemovableFullXid(nullptr, FullTransactionIdFromU64(r.retired_xid))) break;
            leaves_retired_.insert(r.leaf);
            next_watermark_ = static_cast<uint32>(i + 1);
        }
    }
    bool operator()(uint32 leaf) const { return leaf >= leaves_ || leaves_retired_.count(leaf) > 0; }
    bool any() const { return !leaves_retired_.empty(); }
    uint32 next_watermark() const { return next_watermark_; }

private:
    std::size_t leaves_;
    uint32 next_watermark_;
    std::unordered_set<uint32> leaves_retired_;
};

// The recycling pass (see the top of the file) over every page; then the
// metapage's watermark moves on. Returns the pages recycled; *free_pages:
// the free pages, recorded in the free space map (PostgreSQL code only).
BlockNumber recycle_pages(Relation index, BufferAccessStrategy strategy, const Recyclable& recyclable,
                          BlockNumber* free_pages) {
    const BlockNumber nblocks = RelationGetNumberOfBlocks(index);
    BlockNumber recycled = 0;
    for (BlockNumber block = 1; block < nblocks; block++) {
        vacuum_delay_point();
        Buffer buffer = ReadBufferExtended(index, MAIN_FORKNUM, block, RBM_NORMAL, strategy);
        LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
        Page page = BufferGetPage(buffer);
        bool free_page = PageIsNew(page) || is_page_of_type(page, PageType::Free);
        if (is_page_of_type(page, PageType::Leaf) && recyclable(page_opaque(page)->leaf)) {
            GenericXLogState* xlog = GenericXLogStart(index);
            init_page(GenericXLogRegisterBuffer(xlog, buffer, GENERIC_XLOG_FULL_IMAGE), PageType::Free);
            GenericXLogFinish(xlog);
            free_page = true;
            recycled++;
        }
        UnlockReleaseBuffer(buffer);
        if (free_page) {
            RecordFreeIndexPage(index, block);
            (*free_pages)++;
        }
    }
    IndexFreeSpaceMapVacuum(index);
    Buffer meta_buffer = ReadBuffer(index, kMetaBlock);
    LockBuffer(meta_buffer, BUFFER_LOCK_EXCLUSIVE);
    check_page(index, kMetaBlock, BufferGetPage(meta_buffer), PageType::Meta);
    GenericXLogState* xlog = GenericXLogStart(index);
    VtreeMeta* meta = page_meta(GenericXLogRegisterBuffer(xlog, meta_buffer, 0));
    meta->recycled_splits = std::max(meta->recycled_splits, recyclable.next_watermark());
    GenericXLogFinish(xlog);
    UnlockReleaseBuffer(meta_buffer);
    return recycled;
}

// Entries on leaf `leaf`'s chain; the head's buffer is locked by the caller
// (PostgreSQL code only).
uint32 chain_entries(Relation index, Buffer head, uint32 leaf, const LeafLayout& layout,
                     BufferAccessStrategy strategy) {
    uint32 entries = leaf_header(BufferGetPage(head))->count;
    BlockNumber block = page_opaque(BufferGetPage(head))->next;
    BlockNumber hops = 0, nblocks = 0;
    while (block != InvalidBlockNumber) {
        Buffer buffer = read_chain_page(index, block, leaf, layout, BUFFER_LOCK_SHARE, &hops, &nblocks, strategy);
        entries += leaf_header(BufferGetPage(buffer))->count;
        block = page_opaque(BufferGetPage(buffer))->next;
        UnlockReleaseBuffer(buffer);
    }
    return entries;
}

// Removes the leaves VACUUM left empty, as a split into no children (one WAL
// record each, with the metapage; scans that loaded the tree before still
// read the old, empty chain): they would take probes from leaves with rows.
// One leaf always stays. The caller holds the tree lock exclusively.
// Returns the leaves removed (PostgreSQL code only).
uint32 remove_empty_leaves(Relation index, BufferAccessStrategy strategy, const TreeCache& tc) {
    const LeafLayout layout = leaf_layout(tc.meta.words);
    std::size_t live = tc.live_leaves();
    uint32 removed = 0;
    BlockNumber hops = 0, nblocks = 0;
    for (uint32 leaf = 0; leaf < tc.leaf_heads.size() && live > 1; leaf++) {
        const BlockNumber head = tc.leaf_heads[leaf];
        if (head == InvalidBlockNumber) continue;
        vacuum_delay_point();
        // A look under a share lock first: most heads hold entries.
        Buffer buffer = read_chain_page(index, head, leaf, layout, BUFFER_LOCK_SHARE, &hops, &nblocks, strategy);
        const bool maybe_empty = leaf_header(BufferGetPage(buffer))->count == 0;
        LockBuffer(buffer, BUFFER_LOCK_UNLOCK);
        if (maybe_empty) {
            // The head lock keeps inserts out of the chain while we count and retire it.
            LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
            check_leaf_page(index, head, BufferGetPage(buffer), layout);
            if (!(leaf_header(BufferGetPage(buffer))->flags & kLeafRetired) &&
                chain_entries(index, buffer, leaf, layout, strategy) == 0) {
                const auto node = static_cast<std::size_t>(tc.tree.leaves[leaf].node);
                log_split(index, buffer, leaf, tc.tree.radius[node], {}, tc.meta.dim);
                live--;
                removed++;
            }
            LockBuffer(buffer, BUFFER_LOCK_UNLOCK);
        }
        ReleaseBuffer(buffer);
    }
    return removed;
}

}  // namespace

IndexBulkDeleteResult* vtree_bulkdelete(IndexVacuumInfo* info, IndexBulkDeleteResult* stats,
                                        IndexBulkDeleteCallback callback, void* callback_state) {
    Relation index = info->index;
    if (stats == nullptr) stats = static_cast<IndexBulkDeleteResult*>(palloc0(sizeof(IndexBulkDeleteResult)));
    IndexBulkDeleteResult* result = stats;
    // The tree lock, shared: no split moves entries out of a chain this pass
    // has not reached yet into one it has passed.
    LockPage(index, kTreeLockBlock, ShareLock);
    guarded([&] {
        std::shared_ptr<const TreeCache> tc = load_tree(index);
        const LeafLayout layout = leaf_layout(tc->meta.words);
        result->num_index_tuples = 0;
        // mmap storage: the removed entries' sidecar slots go to the free stack for new rows.
        const bool mmap_storage = tc->meta.storage == static_cast<uint8>(Storage::Mmap);
        std::vector<uint64> freed;
        for (uint32 leaf = 0; leaf < tc->leaf_heads.size(); leaf++) {
            const BlockNumber head = tc->leaf_heads[leaf];
            if (head == InvalidBlockNumber) continue;  // a split leaf: its entries are in its children
            pg_call([&] {
                vacuum_chain(index, info->strategy, leaf, head, layout, callback, callback_state, result,
                             mmap_storage ? &freed : nullptr);
            });
        }
        pg_call([&] {
            LockPage(index, kMetaBlock, ExclusiveLock);  // the sidecar append lock
            push_free_slots(index, freed);
            UnlockPage(index, kMetaBlock, ExclusiveLock);
        });
    });
    UnlockPage(index, kTreeLockBlock, ShareLock);
    return stats;
}

IndexBulkDeleteResult* vtree_vacuumcleanup(IndexVacuumInfo* info, IndexBulkDeleteResult* stats) {
    if (info->analyze_only) return stats;
    Relation index = info->index;
    if (stats == nullptr) {
        // No bulk delete ran: count the entries for the statistics.
        stats = static_cast<IndexBulkDeleteResult*>(palloc0(sizeof(IndexBulkDeleteResult)));
        IndexBulkDeleteResult* result = stats;
        guarded([&] {
            std::shared_ptr<const TreeCache> tc = load_tree(index);
            const LeafLayout layout = leaf_layout(tc->meta.words);
            for (uint32 leaf = 0; leaf < tc->leaf_heads.size(); leaf++) {
                const BlockNumber head = tc->leaf_heads[leaf];
                if (head == InvalidBlockNumber) continue;
                pg_call([&] {
                    vacuum_chain(
                        index, info->strategy, leaf, head, layout, [](ItemPointer, void*) { return false; }, nullptr,
                        result, nullptr);
                });
            }
        });
    }
    // Remove empty leaves and recycle pages, under the tree lock exclusively:
    // no split writes pages or changes the tree meanwhile (inserts pass over
    // their splits and retry them later).
    IndexBulkDeleteResult* result = stats;
    LockPage(index, kTreeLockBlock, ExclusiveLock);
    guarded([&] {
        std::shared_ptr<const TreeCache> tc = load_tree(index);
        uint32 removed = 0;
        pg_call([&] { removed = remove_empty_leaves(index, info->strategy, *tc); });
        if (tc->retired.empty()) return;  // never split: nothing to recycle
        const Recyclable recyclable(*tc, tc->meta.recycled_splits);
        if (!recyclable.any() && recyclable.next_watermark() == tc->meta.recycled_splits) return;
        BlockNumber recycled = 0, free_pages = 0;
        pg_call([&] { recycled = recycle_pages(index, info->strategy, recyclable, &free_pages); });
        result->pages_newly_deleted = recycled;
        result->pages_deleted = free_pages;
        result->pages_free = free_pages;
        pg_call([&] {
            elog(DEBUG1, "vtree index \"%s\": %u empty leaves removed, %u pages recycled, %u free",
                 RelationGetRelationName(index), removed, recycled, free_pages);
        });
    });
    UnlockPage(index, kTreeLockBlock, ExclusiveLock);
    // The calibration follows the tree: once it has grown or shrunk by half
    // since the last one, or was never made (an index built empty).
    guarded([&] {
        std::shared_ptr<const TreeCache> tc = load_tree(index);
        if (calibration_is_stale(*tc)) {
            tc.reset();
            calibrate_index(index, build_threads());
        }
    });
    stats->num_pages = RelationGetNumberOfBlocks(index);
    return stats;
}

}  // namespace pg
}  // namespace vectordb
