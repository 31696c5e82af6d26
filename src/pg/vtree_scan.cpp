// Scanning a vtree index: ORDER BY col <op> query [LIMIT k].
//
// The core's Searcher walks the cached tree, reads the codes of the leaves it
// probes straight from shared buffers (PageLeafCodes), and reranks candidates
// exactly through RerankSource: from the mmap'd sidecar, from the index's
// vector pages, or, whenever those cannot vouch for a vector (missing or stale
// sidecar, a record whose tag is not the entry's heap TID), from the heap
// itself, so results stay exact whatever happened to the sidecar.
//
// The scan state is C++ (owned by scan->opaque) and freed by amendscan, or by
// a reset callback on the scan's memory context when a query errors out.
#include "core/distance.h"
#include "core/errors.h"
#include "core/search.h"
#include "core/vector_store.h"

#include "pg/pg_call.h"
#include "pg/sidecar_cache.h"
#include "pg/sidecar_files.h"
#include "pg/sidecar_heal.h"
#include "pg/vector_type.h"
#include "pg/vtree.h"

extern "C" {
#include "access/relscan.h"
#include "access/tableam.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
}

namespace vectordb {
namespace pg {
namespace {

// An index entry met during the scan; the Searcher's ids index these.
struct ScanEntry {
    ItemPointerData tid;
    uint64 locator;
};

struct ScanState;

// Leaf codes read in place from locked shared buffers, one page at a time.
class PageLeafCodes : public LeafCodeSource {
public:
    explicit PageLeafCodes(ScanState& s) : s_(s) {}
    void scan_leaf(std::size_t leaf, const ChunkVisitor& visit) override;

private:
    void visit_page(Page page, const ChunkVisitor& visit);
    ScanState& s_;
    std::vector<uint32_t> ids_;
    std::vector<uint64_t> repacked_;  // codes copied into 8-code blocks (pages without blocks)
};

// Full vectors for reranking, with the heap as the source of truth.
class RerankSource : public VectorSource {
public:
    explicit RerankSource(ScanState& s) : s_(s) {}
    const float* vector(uint32_t id, float* scratch) override;
    void prefetch(const uint32_t* ids, std::size_t n) override;
    void warm(uint32_t id) override;

private:
    const float* from_heap(const ScanEntry& e, float* scratch);
    ScanState& s_;
    std::vector<uint64_t> slots_;
};

struct ScanState {
    Relation index = nullptr;
    Relation heap = nullptr;
    IndexedColumn column;  // reads the index's value from table rows (opened with the heap fetch)
    IndexedElements elements = IndexedElements::Float;  // the key's (and so the query's) type
    TupleTableSlot* slot = nullptr;                     // for heap fetches, PostgreSQL-owned
    IndexFetchTableData* fetch = nullptr;               // heap fetches that follow HOT chains
    Snapshot snapshot = nullptr;                        // the scan's
    std::shared_ptr<const TreeCache> tree;
    LeafLayout layout{};
    std::vector<float> query;
    std::vector<ScanEntry> entries;
    BlockNumber nblocks = 0;             // relation size as last looked up (inserts may grow it)
    std::shared_ptr<VectorStore> store;  // shared with the sidecar cache: a rebuild cannot unmap it under us
    std::string store_problem;
    bool warned = false;
    bool heal_requested = false;
    float last_distance = -std::numeric_limits<float>::infinity();
    IterativeScan mode = IterativeScan::Off;
    // Rows returned that the executor found dead to everyone (deleted, not
    // yet vacuumed), and how many of them a further probe has answered for;
    // the distance of the row returned last, and the farthest of those the
    // executor may have shown (not found dead).
    std::size_t killed = 0;
    std::size_t killed_answered = 0;
    float returned_distance = -std::numeric_limits<float>::infinity();
    float shown_distance = -std::numeric_limits<float>::infinity();
    std::unique_ptr<PageLeafCodes> codes;
    std::unique_ptr<RerankSource> source;
    std::unique_ptr<Searcher> searcher;

    // Warns once per scan that some vectors come from the heap, and asks for
    // the sidecar to be healed.
    void warn(const std::string& why) {
        if (warned) return;
        warned = true;
        request_sidecar_heal(index);
        const char* text = why.c_str();
        pg_call([&] {
            ereport(WARNING, (errmsg("vtree index \"%s\": %s", RelationGetRelationName(index), text),
                              errdetail("Reranking from the table instead: results are exact, but slower."),
                              errhint("A background worker heals it (vectordb.heal_sidecars); "
                                      "SELECT vectordb_heal_sidecar('%s') heals it now.",
                                      RelationGetRelationName(index))));
        });
    }
};

// Frees the scan state if the query ends in an error (amendscan is not called then).
struct ScanCleanup {
    MemoryContextCallback callback;
    ScanState* state;
};

void cleanup_scan(void* arg) {
    auto* c = static_cast<ScanCleanup*>(arg);
    delete c->state;
    c->state = nullptr;
}

void PageLeafCodes::scan_leaf(std::size_t leaf, const ChunkVisitor& visit) {
    Relation index = s_.index;
    BlockNumber block = s_.tree->leaf_heads[leaf];
    BlockNumber hops = 0;
    const uint32 leaf_number = static_cast<uint32>(leaf);
    while (block != InvalidBlockNumber) {
        Buffer buffer = InvalidBuffer;
        Page page = nullptr;
        pg_call([&] {
            CHECK_FOR_INTERRUPTS();
            buffer = read_chain_page(index, block, leaf_number, s_.layout, BUFFER_LOCK_SHARE, &hops, &s_.nblocks);
            page = BufferGetPage(buffer);
        });
        BlockNumber next = InvalidBlockNumber;
        try {
            visit_page(page, visit);
            next = page_opaque(page)->next;
        } catch (...) {
            pg_call([&] { UnlockReleaseBuffer(buffer); });
            throw;
        }
        pg_call([&] { UnlockReleaseBuffer(buffer); });
        block = next;
    }
}

void PageLeafCodes::visit_page(Page page, const ChunkVisitor& visit) {
    const LeafLayout& l = s_.layout;
    const std::size_t count = leaf_header(page)->count;
    if (count == 0) return;
    const uint8* flags = leaf_flags(page, l);
    const ItemPointerData* tids = leaf_tids(page, l);
    const uint64* locators = leaf_locators(page, l);
    ids_.resize(count);
    for (std::size_t i = 0; i < count; i++) {
        if (flags[i] & kEntryDead) {
            ids_[i] = kSkipId;
            continue;
        }
        ids_[i] = static_cast<uint32_t>(s_.entries.size());
        s_.entries.push_back(ScanEntry{tids[i], locators[i]});
    }
    const CodeFactors* factors = leaf_factors(page, l);
    const uint64_t* codes = leaf_codes(page, l);
    if (l.blocked) {
        visit(CodeChunk{codes, factors, ids_.data(), count});
        return;
    }
    // Codes stored one after another: copy groups of 8 into a block for the kernels.
    repacked_.assign(kCodeBlock * l.words, 0);
    for (std::size_t first = 0; first < count; first += kCodeBlock) {
        const std::size_t n = std::min(kCodeBlock, count - first);
        for (std::size_t j = 0; j < n; j++) store_code(repacked_.data(), j, l.words, codes + (first + j) * l.words);
        visit(CodeChunk{repacked_.data(), factors + first, ids_.data() + first, n});
    }
}

const float* RerankSource::from_heap(const ScanEntry& e, float* scratch) {
    bool found = false;
    ScanState& s = s_;
    // The scan's own MVCC snapshot: a row it cannot see is not returned anyway.
    pg_call([&] {
        found = fetch_heap_vector(s.fetch, s.snapshot, s.slot, s.column, e.tid, s.tree->meta.dim,
                                  indexed_elements(s.tree->meta), scratch);
    });
    return found ? scratch : nullptr;
}

const float* RerankSource::vector(uint32_t id, float* scratch) {
    const ScanEntry& e = s_.entries[id];
    std::string error;
    switch (
        read_entry_record(s_.index, s_.tree->meta, s_.store.get(), e.locator, e.tid, scratch, &s_.nblocks, &error)) {
        case RecordRead::Ok:
            return scratch;
        case RecordRead::NoRecord:
            // Written while the sidecar was unusable: no warning, but a heal.
            if (!s_.heal_requested) {
                s_.heal_requested = true;
                request_sidecar_heal(s_.index);
            }
            break;
        case RecordRead::NoStore:
            s_.warn(s_.store_problem);
            break;
        case RecordRead::Mismatch:
            s_.warn(s_.tree->meta.storage == static_cast<uint8>(Storage::Pages)
                        ? "a vector page record does not match its entry"
                        : "a sidecar record does not match its index entry");
            break;
        case RecordRead::Corrupt:
            s_.warn("a sidecar record fails its checksum (torn or never written)");
            break;
        case RecordRead::Truncated:
            s_.warn("the sidecar was truncated while mapped");
            break;
        case RecordRead::Unreadable:
            s_.warn("the sidecar cannot be read: " + without_directory(error));
            break;
    }
    return from_heap(e, scratch);
}

void RerankSource::prefetch(const uint32_t* ids, std::size_t n) {
    if (s_.store == nullptr) return;
    slots_.clear();
    for (std::size_t i = 0; i < n; i++) {
        const uint64 loc = s_.entries[ids[i]].locator;
        if (loc != kNoLocator) slots_.push_back(loc);
    }
    s_.store->prefetch(slots_.data(), slots_.size());
}

void RerankSource::warm(uint32_t id) {
    const uint64 loc = s_.entries[id].locator;
    if (s_.store != nullptr && loc != kNoLocator) s_.store->warm(loc, kWarmBytes);
}

ScanState* state_of(IndexScanDesc scan) { return static_cast<ScanCleanup*>(scan->opaque)->state; }

// Sets up the search for the query in the scan's first ORDER BY key.
void start_search(IndexScanDesc scan, ScanState& s) {
    // The heap is known only after ambeginscan (index_beginscan sets it then).
    if (s.slot == nullptr) {
        s.heap = scan->heapRelation;
        if (s.heap == nullptr) pg_call([] { elog(ERROR, "vtree scan without a heap relation"); });
        pg_call([&] {
            s.slot = table_slot_create(s.heap, nullptr);
            s.fetch = table_index_fetch_begin(s.heap);
            s.column = open_indexed_column(scan->indexRelation);
        });
    }
    s.snapshot = scan->xs_snapshot;
    s.tree = load_tree(scan->indexRelation);
    const VtreeMeta& meta = s.tree->meta;
    s.layout = leaf_layout(meta.words);
    if (s.query.empty()) s.query.assign(meta.dim, 0.0f);  // NULL query: every row, in no useful order
    if (s.query.size() != meta.dim) {
        const int got = static_cast<int>(s.query.size());
        pg_call([&] {
            // A bit index's query: the <~> operator's own message.
            if (indexed_elements(meta) == IndexedElements::Bit)
                ereport(ERROR,
                        (errcode(ERRCODE_DATA_EXCEPTION), errmsg("different bit lengths %u and %d", meta.dim, got)));
            ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("expected %u dimensions, not %d", meta.dim, got)));
        });
    }
    s.store.reset();
    s.store_problem.clear();
    if (meta.storage == static_cast<uint8>(Storage::Mmap))
        s.store = open_sidecar(scan->indexRelation, meta, SidecarAccess::Read, &s.store_problem);
    s.entries.clear();
    s.nblocks = 0;
    s.codes = std::make_unique<PageLeafCodes>(s);
    s.source = std::make_unique<RerankSource>(s);
    SearchParams params;
    params.k = 10;  // an index scan does not know its LIMIT; the budget grows per row returned
    params.probes = scan_probes(meta, s.tree->tree.live_leaves, s.query.data());
    params.rerank_factor = static_cast<std::size_t>(guc_rerank_factor);
    s.mode = static_cast<IterativeScan>(guc_iterative_scan);
    params.widen = s.mode != IterativeScan::Off;
    params.strict_order = s.mode == IterativeScan::Strict;
    params.max_scan_codes = params.widen ? static_cast<std::size_t>(guc_max_scan_tuples) : 0;
    IndexView view;
    view.metric = static_cast<Metric>(meta.metric);
    view.dim = meta.dim;
    view.tree = &s.tree->tree;
    view.quantizer = &s.tree->quantizer;
    view.rotated_centroids = s.tree->rotated_data();
    view.codes = s.codes.get();
    view.radii_cover_rows = meta.radii_cover_rows != 0;
    s.searcher = std::make_unique<Searcher>(view, s.query.data(), params, *s.source);
    s.last_distance = -std::numeric_limits<float>::infinity();
    s.killed = s.killed_answered = 0;
    s.returned_distance = s.shown_distance = -std::numeric_limits<float>::infinity();
}

bool next_tuple(IndexScanDesc scan) {
    ScanState& s = *state_of(scan);
    if (!s.searcher) {
        pgstat_count_index_scan(scan->indexRelation);
        start_search(scan, s);
    }
    // The executor tells whether the row returned last was dead to everyone.
    if (scan->kill_prior_tuple)
        s.killed++;
    else
        s.shown_distance = std::max(s.shown_distance, s.returned_distance);
    Neighbor n;
    for (;;) {
        if (!s.searcher->next(&n)) {
            // Without iterative scans the search ends with its probes' rows;
            // but rows deleted since the last VACUUM do not count: as long as
            // some of those returned were dead, probe further (after a mass
            // DELETE, probes spent on dead rows would return nothing).
            // (Iterative scans widen by themselves, within their scan limit.)
            if (s.mode != IterativeScan::Off || s.killed == s.killed_answered) return false;
            // As many more leaves as the dead share says the probes so far
            // were worth in dead rows: after a DELETE of 99% of the rows, one
            // further round reaches about as many live rows as the probes
            // would have without it (each further round risks leaving out rows
            // nearer than those already shown, see below).
            const std::size_t returned = s.searcher->stats().returned;
            const std::size_t live = returned > s.killed ? returned - s.killed : 1;
            const double dead_per_live = static_cast<double>(s.killed) / static_cast<double>(live);
            s.killed_answered = s.killed;
            s.searcher->probe_further(
                static_cast<std::size_t>(dead_per_live * static_cast<double>(s.searcher->stats().leaves_probed)));
            continue;
        }
        // strict_order: the searcher certifies each row against what it has
        // not probed, so a later row is never nearer; should a bound fail
        // (probability ~3e-7 a candidate), the row is dropped, not misplaced.
        if (s.mode == IterativeScan::Strict && n.distance < s.last_distance) continue;
        // A further probe's rows may be nearer than rows already shown: those
        // are left out (the order is kept; they would have been missed anyway).
        if (s.killed_answered > 0 && n.distance < s.shown_distance) continue;
        s.last_distance = std::max(s.last_distance, n.distance);
        s.returned_distance = n.distance;
        scan->xs_heaptid = s.entries[n.id].tid;
        scan->xs_recheck = false;
        scan->xs_recheckorderby = false;
        return true;
    }
}

}  // namespace

IndexScanDesc vtree_beginscan(Relation index, int nkeys, int norderbys) {
    IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
    auto* cleanup = static_cast<ScanCleanup*>(palloc0(sizeof(ScanCleanup)));
    cleanup->callback.func = cleanup_scan;
    cleanup->callback.arg = cleanup;
    MemoryContextRegisterResetCallback(CurrentMemoryContext, &cleanup->callback);
    scan->opaque = cleanup;
    const IndexedElements elements = indexed_elements(index);  // the query comes as the key's type
    guarded([&] {
        auto state = std::make_unique<ScanState>();
        state->index = index;
        state->elements = elements;
        cleanup->state = state.release();
    });
    return scan;
}

void vtree_rescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys) {
    if (keys && scan->numberOfKeys > 0) memmove(scan->keyData, keys, scan->numberOfKeys * sizeof(ScanKeyData));
    if (orderbys && scan->numberOfOrderBys > 0)
        memmove(scan->orderByData, orderbys, scan->numberOfOrderBys * sizeof(ScanKeyData));
    Vector* query = nullptr;
    if (scan->numberOfOrderBys > 0 && !(scan->orderByData[0].sk_flags & SK_ISNULL))
        query = datum_get_indexed_vector(scan->orderByData[0].sk_argument, state_of(scan)->elements);
    guarded([&] {
        ScanState& s = *state_of(scan);
        s.searcher.reset();
        s.codes.reset();
        s.source.reset();
        s.entries.clear();
        if (query != nullptr)
            s.query.assign(query->x, query->x + query->dim);
        else
            s.query.clear();
    });
}

bool vtree_gettuple(IndexScanDesc scan, ScanDirection direction) {
    if (direction != ForwardScanDirection)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("vtree scans only go forward")));
    if (scan->numberOfOrderBys == 0)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("a vtree index can only be scanned for ORDER BY its distance operator")));
    // TIDs are returned after the leaf page's lock is released, which only an
    // MVCC snapshot makes safe against VACUUM reusing a heap slot meanwhile.
    if (!IsMVCCSnapshot(scan->xs_snapshot))
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("vtree index scans need an MVCC snapshot")));
    return guarded([&] { return next_tuple(scan); });
}

void vtree_endscan(IndexScanDesc scan) {
    auto* cleanup = static_cast<ScanCleanup*>(scan->opaque);
    if (cleanup->state != nullptr && cleanup->state->fetch != nullptr) table_index_fetch_end(cleanup->state->fetch);
    if (cleanup->state != nullptr && cleanup->state->slot != nullptr)
        ExecDropSingleTupleTableSlot(cleanup->state->slot);
    if (cleanup->state != nullptr) close_indexed_column(cleanup->state->column);
    guarded([&] {
        delete cleanup->state;
        cleanup->state = nullptr;
    });
}

}  // namespace pg
}  // namespace vectordb
