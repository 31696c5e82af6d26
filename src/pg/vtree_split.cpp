// Splitting a leaf that has outgrown max_leaf_size, so that a tree grows with
// its table: an index created on an empty table trains its tree as rows
// arrive, and a leaf that keeps receiving rows is cut the way the build cuts a
// node: k-means into branching_factor children.
//
// Protocol (the caller, an INSERT whose entry has just gone in):
//   1. the tree lock (kTreeLockBlock) exclusively, only if it is free at once:
//      another split or a VACUUM pass is under way otherwise, and the leaf will
//      be looked at again when it next grows a page;
//   2. the current tree, and the leaf's head page locked exclusively, which
//      holds off every insert into the leaf until the split is over;
//   3. every live entry of the chain (pages after the head share-locked: only
//      head-lock holders change them), its full vector from its sidecar or
//      vector-page record when the record's tag is the entry's TID, else from
//      the table (a non-vacuumable snapshot: rows still in progress count);
//   4. k-means on those vectors (a sample when they exceed maintenance_work_mem)
//      into as many children as the build cuts a node of that size into
//      (split_children: two for a leaf just past max_leaf_size), every entry
//      routed to its nearest child and coded against it; the children's
//      chains are written to new pages, each page one WAL record;
//   5. log_split: the tree log record and, in one WAL record, the metapage
//      and the retired flag on the old head page.
// The old chain is left as it was: scans that loaded the tree before the split
// still read it and find every row. Inserts that routed to the old leaf see
// the retired flag under its head lock and route again. Entries keep their
// locators, so the sidecar is not touched. A split that fails before step 5
// leaves only unreachable pages behind.
#include "core/distance.h"
#include "core/errors.h"
#include "core/kmeans.h"
#include "core/vector_store.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "pg/pg_call.h"
#include "pg/sidecar_cache.h"
#include "pg/vtree.h"

extern "C" {
#include "access/tableam.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/snapmgr.h"
}

namespace vectordb {
namespace pg {
namespace {

struct ChainEntry {
    ItemPointerData tid;
    uint64 locator;
};

// Full vectors of a leaf's entries: the record when it vouches for itself, else the table.
class EntryVectors {
public:
    EntryVectors(Relation index, Relation heap, const VtreeMeta& meta) : index_(index), heap_(heap), meta_(meta) {
        if (meta.storage == static_cast<uint8>(Storage::Mmap)) {
            std::string problem;
            store_ = open_sidecar(index, meta, SidecarAccess::Read, &problem);
        }
        pg_call([&] {
            slot_ = table_slot_create(heap, nullptr);
            fetch_ = table_index_fetch_begin(heap);
            InitNonVacuumableSnapshot(snapshot_, GlobalVisTestFor(heap));
            column_ = open_indexed_column(index);
        });
    }
    // PostgreSQL resources are released by finish(), or by the transaction's abort.
    void finish() {
        pg_call([&] {
            table_index_fetch_end(fetch_);
            ExecDropSingleTupleTableSlot(slot_);
            close_indexed_column(column_);
        });
    }
    // Whether the entry's row counts toward the leaf's size: inserted (even by
    // a transaction still running) and not deleted by a committed transaction
    // or by this one. A leaf swollen by rows an UPDATE replaced (VACUUM will
    // empty their entries) is not one to split; one that concurrent loads are
    // filling is. (A dirty snapshot: exactly that, bar other running deleters.)
    bool alive(const ChainEntry& e) {
        bool found = false;
        pg_call([&] {
            ItemPointerData tid = e.tid;
            bool call_again = false, all_dead = false;
            SnapshotData dirty;
            InitDirtySnapshot(dirty);
            found = table_index_fetch_tuple(fetch_, &tid, &dirty, slot_, &call_again, &all_dead);
            ExecClearTuple(slot_);
        });
        return found;
    }
    // Copies the entry's vector (dim floats) into out; false if its row is gone.
    bool read(const ChainEntry& e, float* out) {
        std::string error;
        const RecordRead r = read_entry_record(index_, meta_, store_.get(), e.locator, e.tid, out, &nblocks_, &error);
        if (r == RecordRead::Ok) return true;
        if (r == RecordRead::Unreadable) store_.reset();  // the table has every vector
        bool found = false;
        pg_call([&] {
            found =
                fetch_heap_vector(fetch_, &snapshot_, slot_, column_, e.tid, meta_.dim, indexed_elements(meta_), out);
        });
        return found;
    }

private:
    Relation index_;
    Relation heap_;
    const VtreeMeta& meta_;
    std::shared_ptr<VectorStore> store_;  // shared with the sidecar cache
    TupleTableSlot* slot_ = nullptr;
    IndexFetchTableData* fetch_ = nullptr;
    SnapshotData snapshot_;
    IndexedColumn column_;
    BlockNumber nblocks_ = 0;
};

// The live entries of the chain whose head page the caller holds locked (PostgreSQL code only).
void collect_chain(Relation index, Buffer head, const LeafLayout& layout, uint32 leaf, std::vector<ChainEntry>* out) {
    Page page = BufferGetPage(head);
    Buffer buffer = InvalidBuffer;
    BlockNumber hops = 0;
    BlockNumber nblocks = 0;
    for (;;) {
        const LeafHeader* h = leaf_header(page);
        const uint8* flags = leaf_flags(page, layout);
        for (uint32 i = 0; i < h->count; i++)
            if (!(flags[i] & kEntryDead)) out->push_back({leaf_tids(page, layout)[i], leaf_locators(page, layout)[i]});
        const BlockNumber next = page_opaque(page)->next;
        if (buffer != InvalidBuffer) UnlockReleaseBuffer(buffer);
        if (next == InvalidBlockNumber) return;
        CHECK_FOR_INTERRUPTS();
        buffer = read_chain_page(index, next, leaf, layout, BUFFER_LOCK_SHARE, &hops, &nblocks);
        page = BufferGetPage(buffer);
    }
}

// Writes one child's chain: pages are filled in local images and each logged
// whole; the head page goes last, once it knows its tail (PostgreSQL code only).
BlockNumber write_chain(Relation index, const LeafLayout& layout, uint32 leaf, const std::vector<uint64_t>& codes,
                        const std::vector<CodeFactors>& factors, const std::vector<ChainEntry>& entries) {
    PGAlignedBlock head_image, page_image;
    Buffer head = new_buffer(index);
    const BlockNumber head_block = BufferGetBlockNumber(head);
    Page head_page = head_image.data;
    init_leaf_page(head_page, layout, leaf);
    Page page = head_page;
    Buffer buffer = head;
    BlockNumber tail = head_block;
    auto log_page = [&](Buffer b, Page image) {
        GenericXLogState* x = GenericXLogStart(index);
        Page p = GenericXLogRegisterBuffer(x, b, GENERIC_XLOG_FULL_IMAGE);
        std::memcpy(p, image, BLCKSZ);
        GenericXLogFinish(x);
    };
    for (std::size_t i = 0; i < entries.size(); i++) {
        LeafHeader* h = leaf_header(page);
        if (h->count == layout.capacity) {
            Buffer next = new_buffer(index);
            tail = BufferGetBlockNumber(next);
            page_opaque(page)->next = tail;
            if (buffer != head) {
                log_page(buffer, page);
                UnlockReleaseBuffer(buffer);
            }
            buffer = next;
            page = page_image.data;
            init_leaf_page(page, layout, leaf);
            h = leaf_header(page);
        }
        put_entry(page, layout, h->count, codes.data() + i * layout.words, factors[i], entries[i].locator,
                  entries[i].tid);
        h->count++;
    }
    if (buffer != head) {
        log_page(buffer, page);
        UnlockReleaseBuffer(buffer);
    }
    page_opaque(head_page)->tail = tail;
    log_page(head, head_page);
    UnlockReleaseBuffer(head);
    return head_block;
}

float euclid(const float* a, const float* b, std::size_t dim) { return std::sqrt(l2_squared_distance(a, b, dim)); }

// One child of a planned split: its centroid and radius, and its entries
// with their codes against that centroid.
struct ChildPlan {
    const float* centroid = nullptr;  // into the k-means result
    float radius = 0;
    std::vector<ChainEntry> entries;
    std::vector<uint64_t> codes;  // words per entry
    std::vector<CodeFactors> factors;
};

// Step 3's second half: the leaves nearest the split one (by centroid, up to
// kMaxAbsorbedLeaves of them) whose rows are re-clustered with its own, their
// head pages locked exclusively and their live entries appended to *entries.
// A head page is taken only if it is free at once, so the split never waits
// for an insert while it holds the split leaf's head. (Splitting one leaf's
// rows alone leaves its cut with the neighbours where growth put it; pooling
// them is a local Lloyd pass: on a drifting load recall at the defaults went
// from 0.09 below a rebuilt index's to 0.02, see vtree_space.sh.)
// The caller releases the returned buffers.
std::vector<AbsorbedLeaf> absorb_nearby_leaves(Relation index, const TreeCache& tc, uint32 leaf,
                                               const LeafLayout& layout, std::vector<ChainEntry>* entries) {
    const Tree& t = tc.tree;
    std::vector<ReachedLeaf> reached;
    std::size_t scored = 0;
    t.beam_leaves(t.centroid(static_cast<std::size_t>(t.leaves[leaf].node)), t.effective_beam(kRouteBeam), &reached,
                  &scored);
    std::vector<AbsorbedLeaf> absorbed;
    try {
        for (const ReachedLeaf& r : reached) {
            if (absorbed.size() == kMaxAbsorbedLeaves) break;
            const int32_t other = t.nodes[static_cast<std::size_t>(r.node)].leaf;
            if (other < 0 || static_cast<uint32>(other) == leaf || tc.leaf_heads[other] == InvalidBlockNumber) continue;
            const BlockNumber block = tc.leaf_heads[other];
            bool taken = false;
            pg_call([&] {
                Buffer b = ReadBuffer(index, block);
                if (!ConditionalLockBuffer(b)) {
                    ReleaseBuffer(b);
                    return;
                }
                absorbed.push_back({static_cast<uint32>(other), b});
                check_leaf_page(index, block, BufferGetPage(b), layout);
                taken = !(leaf_header(BufferGetPage(b))->flags & kLeafRetired);
                if (!taken) {
                    absorbed.pop_back();
                    UnlockReleaseBuffer(b);
                }
            });
            if (taken)
                pg_call([&] { collect_chain(index, absorbed.back().head, layout, absorbed.back().leaf, entries); });
        }
    } catch (...) {
        for (const AbsorbedLeaf& a : absorbed) pg_call([&] { UnlockReleaseBuffer(a.head); });
        throw;
    }
    return absorbed;
}

// Steps 3 and 4 (see the top of the file): k-means over the entries' vectors
// and every entry routed and coded. The first `own` entries are the split
// leaf's, the rest those of the leaves it absorbs. Empty when there is
// nothing to split: too few live rows of its own, or fewer than two
// non-empty clusters.
std::vector<ChildPlan> plan_children(const TreeCache& tc, uint32 leaf, const std::vector<ChainEntry>& entries,
                                     std::size_t own, EntryVectors& vectors, KMeansResult* km) {
    const VtreeMeta& meta = tc.meta;
    const auto max_live = static_cast<std::size_t>(meta.max_leaf_size);
    std::size_t alive = 0;
    for (std::size_t i = 0; i < own && alive <= max_live; i++) alive += vectors.alive(entries[i]);
    if (alive <= max_live) return {};

    const Metric metric = static_cast<Metric>(meta.metric);
    const std::size_t dim = meta.dim;
    const int branching = meta.branching_factor;
    // The rows k-means trains on: all of them when they fit maintenance_work_mem.
    const std::size_t budget = static_cast<std::size_t>(maintenance_work_mem) * 1024;
    const std::size_t fit = std::max<std::size_t>(std::size_t{4} * branching, budget / (dim * sizeof(float)));
    const std::size_t stride = (entries.size() + fit - 1) / fit;
    std::vector<float> train;
    std::vector<float> v(dim);
    auto to_nav = [&](float* x) {
        if (metric == Metric::Cosine) normalize(x, dim);
    };
    std::vector<ChainEntry> live;
    live.reserve(entries.size());
    for (std::size_t i = 0; i < entries.size(); i++) {
        if (i % 256 == 0) pg_call([] { CHECK_FOR_INTERRUPTS(); });
        if (!vectors.read(entries[i], v.data())) continue;  // the row is gone for good: drop its entry
        live.push_back(entries[i]);
        if (i % stride != 0) continue;
        to_nav(v.data());
        train.insert(train.end(), v.begin(), v.end());
    }
    const std::size_t rows = train.size() / dim;
    KMeansParams kp;
    kp.k =
        static_cast<int>(std::min<std::size_t>(split_children(live.size(), branching, meta.max_leaf_size), rows / 2));
    kp.max_iterations = meta.max_iterations;
    kp.seed = meta.seed ^ (uint64{leaf} * 0x9E3779B97F4A7C15ull) ^ meta.tree_version;
    kp.threads = 1;  // an ordinary backend: no thread pool for one leaf
    kp.metric = metric;
    if (kp.k < 2) return {};
    *km = kmeans(MatrixView{train.data(), rows, dim}, kp);
    train = std::vector<float>();
    // Clusters below a twentieth of max_leaf_size are dropped, their rows
    // going to the nearest kept one, as the build merges them: otherwise
    // clustered data leaves a trail of tiny leaves behind its splits (1,220
    // leaves for 100,000 x 768 grown from empty, against 492 built).
    {
        const double scale = static_cast<double>(live.size()) / static_cast<double>(std::max<std::size_t>(1, rows));
        const double smallest = std::max(1.0, meta.max_leaf_size / 20.0);
        std::vector<float> kept;
        std::vector<uint32_t> kept_sizes;
        for (std::size_t c = 0; c < km->sizes.size(); c++)
            if (km->sizes[c] * scale >= smallest) {
                kept.insert(kept.end(), km->centroids.begin() + c * dim, km->centroids.begin() + (c + 1) * dim);
                kept_sizes.push_back(km->sizes[c]);
            }
        if (kept_sizes.size() >= 2 && kept_sizes.size() < km->sizes.size()) {
            km->centroids = std::move(kept);
            km->sizes = std::move(kept_sizes);
            kp.k = static_cast<int>(km->sizes.size());
        }
    }

    // Route every live entry to its nearest centroid and code it there.
    std::vector<ChildPlan> plans(static_cast<std::size_t>(kp.k));
    for (std::size_t c = 0; c < plans.size(); c++) plans[c].centroid = km->centroids.data() + c * dim;
    std::vector<uint64_t> code(meta.words);
    for (std::size_t i = 0; i < live.size(); i++) {
        if (i % 256 == 0) pg_call([] { CHECK_FOR_INTERRUPTS(); });
        if (!vectors.read(live[i], v.data())) continue;
        to_nav(v.data());
        ChildPlan& child = plans[nearest_centroid(km->centroids.data(), plans.size(), dim, v.data(), metric)];
        CodeFactors f;
        tc.quantizer.encode(v.data(), child.centroid, code.data(), &f);
        child.entries.push_back(live[i]);
        child.codes.insert(child.codes.end(), code.begin(), code.end());
        child.factors.push_back(f);
        child.radius = std::max(child.radius, euclid(child.centroid, v.data(), dim));
    }
    plans.erase(std::remove_if(plans.begin(), plans.end(), [](const ChildPlan& c) { return c.entries.empty(); }),
                plans.end());
    if (plans.size() < 2) return {};
    return plans;
}

// Step 5: the children's chains, then the tree log record and the switch.
void write_split(Relation index, const TreeCache& tc, uint32 leaf, Buffer head, const std::vector<ChildPlan>& plans,
                 const std::vector<AbsorbedLeaf>& absorbed, std::size_t entries) {
    const std::size_t dim = tc.meta.dim;
    const LeafLayout layout = leaf_layout(tc.meta.words);
    const uint32 first_leaf = static_cast<uint32>(tc.tree.leaves.size());
    const float* parent_centroid = tc.tree.centroid(static_cast<std::size_t>(tc.tree.leaves[leaf].node));
    float retired_radius = 0;
    std::vector<SplitChild> children;
    for (const ChildPlan& plan : plans) {
        SplitChild child;
        child.centroid.assign(plan.centroid, plan.centroid + dim);
        child.radius = plan.radius;
        child.size = static_cast<uint32>(plan.entries.size());
        const uint32 child_leaf = first_leaf + static_cast<uint32>(children.size());
        pg_call([&] { child.head = write_chain(index, layout, child_leaf, plan.codes, plan.factors, plan.entries); });
        retired_radius = std::max(retired_radius, euclid(parent_centroid, plan.centroid, dim) + child.radius);
        children.push_back(std::move(child));
    }
    pg_call([&] {
        log_split(index, head, leaf, retired_radius, children, static_cast<uint32>(dim), absorbed);
        elog(DEBUG1, "vtree index \"%s\": leaf %u split with %zu nearby leaves, %zu entries into %zu leaves",
             RelationGetRelationName(index), leaf, absorbed.size(), entries, children.size());
    });
}

// The split itself, under the tree lock (see the top of the file). The leaf's
// head page stays locked exclusively from the first step to the last.
void split_leaf(Relation index, Relation heap, uint32 leaf) {
    std::shared_ptr<const TreeCache> tc = load_tree(index);
    if (leaf >= tc->leaf_heads.size() || tc->leaf_heads[leaf] == InvalidBlockNumber) return;
    const VtreeMeta& meta = tc->meta;
    const BlockNumber head_block = tc->leaf_heads[leaf];
    const LeafLayout layout = leaf_layout(meta.words);
    Buffer head = InvalidBuffer;
    pg_call([&] {
        head = ReadBuffer(index, head_block);
        LockBuffer(head, BUFFER_LOCK_EXCLUSIVE);
        check_leaf_page(index, head_block, BufferGetPage(head), layout);
    });
    try {
        std::vector<ChainEntry> entries;
        if (!(leaf_header(BufferGetPage(head))->flags & kLeafRetired))
            pg_call([&] { collect_chain(index, head, layout, leaf, &entries); });
        if (entries.size() > static_cast<std::size_t>(meta.max_leaf_size) && meta.branching_factor >= 2) {
            const std::size_t own = entries.size();
            const std::vector<AbsorbedLeaf> absorbed = absorb_nearby_leaves(index, *tc, leaf, layout, &entries);
            try {
                EntryVectors vectors(index, heap, meta);
                KMeansResult km;
                const std::vector<ChildPlan> plans = plan_children(*tc, leaf, entries, own, vectors, &km);
                vectors.finish();
                if (!plans.empty()) write_split(index, *tc, leaf, head, plans, absorbed, entries.size());
            } catch (...) {
                for (const AbsorbedLeaf& a : absorbed) pg_call([&] { UnlockReleaseBuffer(a.head); });
                throw;
            }
            for (const AbsorbedLeaf& a : absorbed) pg_call([&] { UnlockReleaseBuffer(a.head); });
        }
    } catch (...) {
        pg_call([&] { UnlockReleaseBuffer(head); });
        throw;
    }
    pg_call([&] { UnlockReleaseBuffer(head); });
}

// After a split, under the tree lock: a tree that splits below splits made far
// deeper than a balanced one over its leaves gets new internal levels
// (plan_upper_levels: its live leaves clustered by centroid, the way a build
// clusters rows). No leaf page changes and leaf numbers hold, so scans and
// inserts on the older tree go on as they were; an insert whose radius raise
// was computed on it finds the version moved and computes it again
// (log_radius_raises).
void reshape_if_far_too_deep(Relation index) {
    std::shared_ptr<const TreeCache> tc = load_tree(index);
    if (!tc->tree.far_too_deep()) return;
    const int depth = tc->tree.depth;
    const std::vector<ShapedNode> plan =
        plan_upper_levels(tc->tree, tc->meta.branching_factor, tc->meta.seed ^ tc->tree_version);
    if (plan.empty()) return;
    // Only a reshape that mends the tree: one that left it as deep would be
    // planned again after every split, each a tree-log record.
    Tree planned = tc->tree;
    apply_upper_levels(planned, plan);
    if (planned.far_too_deep() || planned.depth >= depth) return;
    pg_call([&] {
        CHECK_FOR_INTERRUPTS();
        log_reshape(index, plan, tc->meta.dim);
        elog(DEBUG1, "vtree index \"%s\": %zu live leaves %d levels deep given new internal levels",
             RelationGetRelationName(index), tc->tree.live_leaves, depth);
    });
}

}  // namespace

void split_grown_leaves(Relation index, Relation heap, int64 grown_leaf) {
    // Leaves this backend could not look at because the tree lock was taken
    // (concurrent loads contend for it) are retried on its next inserts, one
    // per insert, so a leaf is not left oversized until it next grows a page.
    static std::unordered_map<Oid, std::vector<uint32>> pending;
    auto found = pending.find(RelationGetRelid(index));
    if (grown_leaf < 0 && (found == pending.end() || found->second.empty())) return;
    std::vector<uint32>& todo = pending[RelationGetRelid(index)];
    const auto grown = static_cast<uint32>(grown_leaf);
    if (grown_leaf >= 0 && todo.size() < 64 && std::find(todo.begin(), todo.end(), grown) == todo.end())
        todo.push_back(grown);
    if (todo.empty()) return;
    bool locked = false;
    pg_call([&] { locked = ConditionalLockPage(index, kTreeLockBlock, ExclusiveLock); });
    if (!locked) return;
    const uint32 leaf = todo.front();
    todo.erase(todo.begin());
    try {
        split_leaf(index, heap, leaf);  // nothing to do if the leaf was split or shrank meanwhile
        reshape_if_far_too_deep(index);
    } catch (...) {
        pg_call([&] { UnlockPage(index, kTreeLockBlock, ExclusiveLock); });
        throw;
    }
    pg_call([&] { UnlockPage(index, kTreeLockBlock, ExclusiveLock); });
}

}  // namespace pg
}  // namespace vectordb
