// VACUUM for vtree: ambulkdelete removes the entries of dead heap rows from
// the leaf pages (compacting each page, one GenericXLog record per changed
// page); amvacuumcleanup reports sizes. Freed sidecar slots and vector page
// space are reclaimed by REINDEX.
#include "core/code_scan.h"

#include "pg/pg_call.h"
#include "pg/vtree.h"

extern "C" {
#include "commands/vacuum.h"
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
                  IndexBulkDeleteResult* stats) {
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
        for (uint32 i = 0; i < h->count && !any; i++)
            any = callback(&leaf_tids(page, layout)[i], callback_state);
        if (any) {
            GenericXLogState* xlog = GenericXLogStart(index);
            Page p = GenericXLogRegisterBuffer(xlog, buffer, 0);
            LeafHeader* lh = leaf_header(p);
            uint32 i = 0;
            while (i < lh->count) {
                if (callback(&leaf_tids(p, layout)[i], callback_state)) {
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
        for (uint32 leaf = 0; leaf < tc->leaf_heads.size(); leaf++) {
            const BlockNumber head = tc->leaf_heads[leaf];
            if (head == InvalidBlockNumber) continue;  // a split leaf: its entries are in its children
            pg_call([&] { vacuum_chain(index, info->strategy, leaf, head, layout, callback, callback_state, result); });
        }
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
                    vacuum_chain(index, info->strategy, leaf, head, layout, [](ItemPointer, void*) { return false; },
                                 nullptr, result);
                });
            }
        });
    }
    stats->num_pages = RelationGetNumberOfBlocks(index);
    return stats;
}

}  // namespace pg
}  // namespace vectordb
