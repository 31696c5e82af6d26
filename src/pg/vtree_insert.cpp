// Inserting into a vtree index after its build: the vector goes to its nearest
// leaf (the build's refinement puts every row there too), its code is appended
// to that leaf's last page, and the full vector to the sidecar or the vector
// pages.
//
// Locking: a heavyweight lock on the metapage serialises appends to the
// sidecar and to the vector pages between backends; a leaf's head page lock
// serialises appends to that leaf (head, then tail, then a new page).
// WAL: each page change is one GenericXLog record. The sidecar is not
// WAL-logged: after a crash an entry may point at a record that was never
// written, which a scan detects by its tag and reranks from the heap.
#include "core/distance.h"
#include "core/errors.h"
#include "core/index.h"
#include "core/vector_store.h"

#include "pg/pg_call.h"
#include "pg/sidecar_cache.h"
#include "pg/sidecar_files.h"
#include "pg/sidecar_free_slots.h"
#include "pg/sidecar_heal.h"
#include "pg/vector_type.h"
#include "pg/vtree.h"

extern "C" {
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "utils/memutils.h"
}

namespace vectordb {
namespace pg {
namespace {

// Puts the entry on the first page before the tail that has room, in one WAL
// record; false if there is none. The caller holds the head exclusively.
bool fill_hole(Relation index, Buffer head_buffer, uint32 leaf, const LeafLayout& layout, const uint64_t* code,
               const CodeFactors& factors, uint64 locator, const ItemPointerData& tid) {
    const Page head_page = BufferGetPage(head_buffer);
    const BlockNumber tail = page_opaque(head_page)->tail;
    auto put = [&](Buffer buffer) {
        GenericXLogState* xlog = GenericXLogStart(index);
        Page page = GenericXLogRegisterBuffer(xlog, buffer, 0);
        LeafHeader* h = leaf_header(page);
        put_entry(page, layout, h->count, code, factors, locator, tid);
        h->count++;
        GenericXLogFinish(xlog);
    };
    if (BufferGetBlockNumber(head_buffer) == tail) return false;
    if (leaf_header(head_page)->count < layout.capacity) {
        put(head_buffer);
        return true;
    }
    BlockNumber block = page_opaque(head_page)->next;
    BlockNumber hops = 0, nblocks = 0;
    while (block != InvalidBlockNumber && block != tail) {
        Buffer buffer = read_chain_page(index, block, leaf, layout, BUFFER_LOCK_EXCLUSIVE, &hops, &nblocks);
        if (leaf_header(BufferGetPage(buffer))->count < layout.capacity) {
            put(buffer);
            UnlockReleaseBuffer(buffer);
            return true;
        }
        block = page_opaque(BufferGetPage(buffer))->next;
        UnlockReleaseBuffer(buffer);
    }
    return false;
}

// What append_entry did.
enum class Appended { Retired, InPlace, NewPage };

// Appends one entry to the leaf whose chain starts at `head`, unless a split
// retired the leaf since the caller routed to it (PostgreSQL code only).
// *tail_count: entries on the page the entry went to.
Appended append_entry(Relation index, BlockNumber head, uint32 leaf, const LeafLayout& layout, const uint64_t* code,
                      const CodeFactors& factors, uint64 locator, const ItemPointerData& tid, uint32* tail_count) {
    Buffer head_buffer = ReadBuffer(index, head);
    LockBuffer(head_buffer, BUFFER_LOCK_EXCLUSIVE);
    // A head page that is no longer this leaf's was recycled by VACUUM after
    // the leaf retired (only a tree older than every snapshot routes there):
    // route again, like a retired one.
    const Page current_head = BufferGetPage(head_buffer);
    if (!is_page_of_type(current_head, PageType::Leaf) || page_opaque(current_head)->leaf != leaf) {
        UnlockReleaseBuffer(head_buffer);
        return Appended::Retired;
    }
    check_leaf_page(index, head, current_head, layout);
    if (leaf_header(BufferGetPage(head_buffer))->flags & kLeafRetired) {
        UnlockReleaseBuffer(head_buffer);
        return Appended::Retired;
    }
    // Holes VACUUM left before the tail come first (the head lock keeps other
    // inserts and splits out of the chain meanwhile).
    bool holes_gone = false;
    if (leaf_header(BufferGetPage(head_buffer))->flags & kLeafHasRoom) {
        if (fill_hole(index, head_buffer, leaf, layout, code, factors, locator, tid)) {
            UnlockReleaseBuffer(head_buffer);
            *tail_count = 0;
            return Appended::InPlace;
        }
        holes_gone = true;
    }
    const BlockNumber tail = page_opaque(BufferGetPage(head_buffer))->tail;
    if (tail == InvalidBlockNumber || tail == kMetaBlock || tail >= RelationGetNumberOfBlocks(index))
        ereport(ERROR,
                (errcode(ERRCODE_DATA_CORRUPTED),
                 errmsg("index \"%s\" has a bad leaf tail link at block %u", RelationGetRelationName(index), head),
                 errhint("Please REINDEX it.")));
    Buffer tail_buffer = head_buffer;
    if (tail != head) {
        tail_buffer = ReadBuffer(index, tail);
        LockBuffer(tail_buffer, BUFFER_LOCK_EXCLUSIVE);
        check_leaf_page(index, tail, BufferGetPage(tail_buffer), layout);
    }
    GenericXLogState* xlog = GenericXLogStart(index);
    Page head_page = GenericXLogRegisterBuffer(xlog, head_buffer, 0);
    Page tail_page = tail == head ? head_page : GenericXLogRegisterBuffer(xlog, tail_buffer, 0);
    if (holes_gone) leaf_header(head_page)->flags &= static_cast<uint16>(~kLeafHasRoom);
    Buffer new_page_buffer = InvalidBuffer;
    LeafHeader* h = leaf_header(tail_page);
    if (h->count < layout.capacity) {
        put_entry(tail_page, layout, h->count, code, factors, locator, tid);
        h->count++;
        *tail_count = h->count;
    } else {
        new_page_buffer = new_buffer(index);
        Page page = GenericXLogRegisterBuffer(xlog, new_page_buffer, GENERIC_XLOG_FULL_IMAGE);
        init_leaf_page(page, layout, leaf);
        put_entry(page, layout, 0, code, factors, locator, tid);
        leaf_header(page)->count = 1;
        const BlockNumber block = BufferGetBlockNumber(new_page_buffer);
        page_opaque(tail_page)->next = block;
        page_opaque(head_page)->tail = block;
        *tail_count = 1;
    }
    GenericXLogFinish(xlog);
    const bool new_page = new_page_buffer != InvalidBuffer;
    if (new_page) UnlockReleaseBuffer(new_page_buffer);
    if (tail_buffer != head_buffer) UnlockReleaseBuffer(tail_buffer);
    UnlockReleaseBuffer(head_buffer);
    return new_page ? Appended::NewPage : Appended::InPlace;
}

// storage = pages: appends a record to the vector pages; returns its locator.
uint64 append_vector_record(Relation index, uint64 tag, const float* v, uint32 dim) {
    Buffer meta_buffer = ReadBuffer(index, kMetaBlock);
    LockBuffer(meta_buffer, BUFFER_LOCK_EXCLUSIVE);
    check_page(index, kMetaBlock, BufferGetPage(meta_buffer), PageType::Meta);
    GenericXLogState* xlog = GenericXLogStart(index);
    VtreeMeta* meta = page_meta(GenericXLogRegisterBuffer(xlog, meta_buffer, 0));
    // The old tail and at most one new page: a record never exceeds a page's contents.
    Buffer buffers[3] = {InvalidBuffer, InvalidBuffer, InvalidBuffer};
    Page pages[3] = {nullptr, nullptr, nullptr};
    int n = 0;
    uint32 used = kPageContentSize;
    if (meta->vector_tail != InvalidBlockNumber) {
        buffers[0] = ReadBuffer(index, meta->vector_tail);
        LockBuffer(buffers[0], BUFFER_LOCK_EXCLUSIVE);
        check_page(index, meta->vector_tail, BufferGetPage(buffers[0]), PageType::Vectors);
        pages[0] = GenericXLogRegisterBuffer(xlog, buffers[0], 0);
        used = vector_page_used(pages[0]);
        n = 1;
    }
    auto add_page = [&]() {
        buffers[n] = new_buffer(index);
        pages[n] = GenericXLogRegisterBuffer(xlog, buffers[n], GENERIC_XLOG_FULL_IMAGE);
        init_page(pages[n], PageType::Vectors);
        const BlockNumber block = BufferGetBlockNumber(buffers[n]);
        if (n > 0) page_opaque(pages[n - 1])->next = block;
        if (meta->vector_head == InvalidBlockNumber) meta->vector_head = block;
        meta->vector_tail = block;
        n++;
    };
    if (used == kPageContentSize) {
        // No tail yet, or a full one: the record starts on a new page (linked from the old tail).
        add_page();
        used = 0;
    }
    const uint64 locator = vector_locator(BufferGetBlockNumber(buffers[n - 1]), used);
    const char* parts[2] = {reinterpret_cast<const char*>(&tag), reinterpret_cast<const char*>(v)};
    const uint32 sizes[2] = {8, dim * 4};
    uint32 remaining_in_page = kPageContentSize - used;
    Page page = pages[n - 1];
    for (int p = 0; p < 2; p++) {
        uint32 done = 0;
        while (done < sizes[p]) {
            if (remaining_in_page == 0) {
                set_vector_page_used(page, kPageContentSize);
                add_page();
                page = pages[n - 1];
                used = 0;
                remaining_in_page = kPageContentSize;
            }
            const uint32 take = std::min(remaining_in_page, sizes[p] - done);
            std::memcpy(page_contents(page) + used, parts[p] + done, take);
            used += take;
            done += take;
            remaining_in_page -= take;
        }
    }
    set_vector_page_used(page, used);
    GenericXLogFinish(xlog);
    for (int i = 0; i < n; i++) UnlockReleaseBuffer(buffers[i]);
    UnlockReleaseBuffer(meta_buffer);
    return locator;
}

// Warns that new rows go without sidecar records: once per index and transaction, not once per row.
void warn_sidecar_unusable(Relation index, const std::string& problem) {
    static Oid warned_index = InvalidOid;
    static LocalTransactionId warned_in = InvalidLocalTransactionId;
    if (warned_index == RelationGetRelid(index) && warned_in == MyProc->lxid) return;
    warned_index = RelationGetRelid(index);
    warned_in = MyProc->lxid;
    request_sidecar_heal(index);
    const char* why = problem.c_str();
    pg_call([&] {
        ereport(WARNING, (errmsg("vtree index \"%s\": %s", RelationGetRelationName(index), why),
                          errdetail("New rows' vectors are kept only in the table; scans rerank them from there."),
                          errhint("A background worker heals it (vectordb.heal_sidecars); "
                                  "SELECT vectordb_heal_sidecar('%s') heals it now.",
                                  RelationGetRelationName(index))));
    });
}

void insert_one(Relation index, Relation heap, Datum value, ItemPointer heap_tid) {
    std::shared_ptr<const TreeCache> tc = load_tree(index);
    Vector* v = nullptr;
    pg_call([&] { v = datum_get_indexed_vector(value, indexed_elements(tc->meta)); });
    const VtreeMeta meta = tc->meta;  // a copy: tc may be replaced by a newer tree below
    const int dim = v->dim;
    if (static_cast<uint32>(dim) != meta.dim)
        pg_call([&] {
            ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("expected %u dimensions, not %d", meta.dim, dim)));
        });
    const auto metric = static_cast<Metric>(meta.metric);
    std::vector<float> nav(v->x, v->x + dim);
    // Zero vectors have no direction: not indexed under cosine.
    if (metric == Metric::Cosine && normalize(nav.data(), meta.dim) == 0.0f) return;
    const ItemPointerData tid = *heap_tid;
    uint64 locator = kNoLocator;
    if (meta.storage == static_cast<uint8>(Storage::Pages)) {
        pg_call([&] { locator = append_vector_record(index, tid_tag(tid), v->x, meta.dim); });
    } else {
        std::string problem;
        std::shared_ptr<VectorStore> store = open_sidecar(index, meta, SidecarAccess::Append, &problem);
        if (store != nullptr) {
            // A slot VACUUM freed first; the sidecar grows only when there is none.
            uint64 slot = kNoLocator;
            pg_call([&] {
                LockPage(index, kMetaBlock, ExclusiveLock);
                slot = pop_free_slot(index);
            });
            try {
                store->refresh();
                if (slot != kNoLocator && slot < store->size()) {
                    store->write_at(slot, tid_tag(tid), v->x);
                    locator = slot;
                } else {
                    locator = store->append(tid_tag(tid), v->x);
                }
                store->flush();
            } catch (const std::bad_alloc&) {
                forget_sidecar(RelationGetRelid(index));
                throw;
            } catch (const std::exception& e) {
                // A full disk, or a file damaged or replaced behind our back: the
                // table holds the vector, so the entry goes in without a record
                // (scans rerank it from the table). The open store may hold
                // unflushed or torn bytes: reopen it next time.
                forget_sidecar(RelationGetRelid(index));
                locator = kNoLocator;
                problem = without_directory(e.what());
            }
            pg_call([&] { UnlockPage(index, kMetaBlock, ExclusiveLock); });
        }
        if (locator == kNoLocator) warn_sidecar_unusable(index, problem);
    }
    // Route, code and append; a split may retire the leaf meanwhile: then again with the new tree.
    const LeafLayout layout = leaf_layout(meta.words);
    std::vector<uint64_t> code(tc->quantizer.words());
    for (;;) {
        const Tree& tree = tc->tree;
        CodeFactors factors;
        const int32_t found = route_and_encode(tree, tc->quantizer, nav.data(), code.data(), &factors);
        if (found < 0 || tc->leaf_heads[static_cast<std::size_t>(found)] == InvalidBlockNumber)
            throw DataError("vtree tree has no leaf to route a row to");
        const auto leaf = static_cast<std::size_t>(found);
        // The leaf's ball and its ancestors' grow to hold the row before its
        // entry goes in, so no scan can see the entry outside them.
        const std::vector<RadiusRaise> raises = radius_raises(tree, leaf, nav.data());
        if (!raises.empty()) {
            bool logged = false;
            pg_call([&] { logged = log_radius_raises(index, raises, tc->tree_version); });
            if (!logged) {  // the tree moved on since it was loaded: route and raise on the current one
                tc = load_tree(index);
                continue;
            }
        }
        const BlockNumber head = tc->leaf_heads[leaf];
        Appended appended = Appended::Retired;
        uint32 tail_count = 0;
        pg_call([&] {
            appended = append_entry(index, head, static_cast<uint32>(leaf), layout, code.data(), factors, locator, tid,
                                    &tail_count);
        });
        if (appended == Appended::Retired) {
            const std::shared_ptr<const TreeCache> newer = load_tree(index);
            if (newer == tc || newer->leaf_heads[leaf] == head)  // the tree still routes there: a damaged head page
                pg_call([&] {
                    ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
                                    errmsg("index \"%s\" has a bad head page at block %u for leaf %zu",
                                           RelationGetRelationName(index), head, leaf),
                                    errhint("Please REINDEX it.")));
                });
            tc = newer;
            continue;
        }
        // A leaf grows a page every `capacity` entries: look at its size then,
        // and once when a one-page leaf first passes max_leaf_size.
        const bool grew = appended == Appended::NewPage ||
                          (tail_count == static_cast<uint32>(meta.max_leaf_size) + 1 && layout.capacity > tail_count);
        split_grown_leaves(index, heap, grew ? static_cast<int64>(leaf) : -1);
        return;
    }
}

}  // namespace

bool vtree_insert(Relation index, Datum* values, bool* isnull, ItemPointer tid, Relation heap, IndexUniqueCheck, bool,
                  IndexInfo*) {
    if (isnull[0]) return false;
    // A per-call context: a TOASTed value (a non-HOT UPDATE re-indexes the
    // stored vector) is detoasted into it and freed with it, not left in the
    // statement's memory for every row.
    MemoryContext call_context = AllocSetContextCreate(CurrentMemoryContext, "vtree insert", ALLOCSET_SMALL_SIZES);
    MemoryContext old_context = MemoryContextSwitchTo(call_context);
    guarded([&] { insert_one(index, heap, values[0], tid); });
    MemoryContextSwitchTo(old_context);
    MemoryContextDelete(call_context);
    return false;
}

}  // namespace pg
}  // namespace vectordb
