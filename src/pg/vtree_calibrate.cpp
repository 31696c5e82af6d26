// Recall calibration of a vtree index (core/calibration.h), kept in its
// metapage for vtree.target_recall: after every build, by VACUUM once the
// tree has grown or shrunk by half since the last one, and on request
// (vectordb_calibrate). vectordb_recall_curve() shows the stored curve.
//
// It reads the index itself, not the table: the entries of every live leaf
// and their vectors (sidecar records or vector pages, each checked against
// its entry as a scan checks them; a record that fails is left out, a cache
// miss that changes an estimate, never an answer). Three passes over the leaf
// pages: count the entries, pick kCalibrationQueries of them as queries, then
// offer every vector to their neighbour collector in batches. Each pass copies
// a page's entries and lets go of the page before reading records. Cost: one
// read of every vector and 400 distances per row (on 1M x 128 a few seconds),
// plus the curve's beam descents.
#include "core/calibration.h"
#include "core/distance.h"
#include "core/vector_store.h"

#include "pg/pg_call.h"
#include "pg/sidecar_cache.h"
#include "pg/signal_mask.h"
#include "pg/vtree.h"

extern "C" {
#include "access/relation.h"
#include "access/table.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"
}

#include <algorithm>
#include <functional>

namespace vectordb {
namespace pg {

RecallCurve curve_of(const VtreeCalibration& c) {
    RecallCurve curve;
    if (c.leaves == 0) return curve;
    curve.leaves = c.leaves;
    curve.queries = c.queries;
    curve.points.assign(c.curve, c.curve + std::min<uint32>(c.points, kMaxCurvePoints));
    return curve;
}

VtreeCalibration calibration_of(const RecallCurve& curve) {
    VtreeCalibration c{};
    if (curve.empty()) return c;
    c.leaves = static_cast<uint32>(curve.leaves);
    c.queries = static_cast<uint32>(curve.queries);
    c.points = static_cast<uint32>(std::min(curve.points.size(), kMaxCurvePoints));
    std::copy(curve.points.begin(), curve.points.begin() + c.points, c.curve);
    return c;
}

namespace {

struct EntryRef {
    ItemPointerData tid;
    uint64 locator;
};

// Calls visit(leaf, entries) for the live entries of each page of every live
// leaf, the page already released (PostgreSQL code inside pg_call).
void for_each_page(Relation index, const TreeCache& tc,
                   const std::function<void(uint32 leaf, const std::vector<EntryRef>&)>& visit) {
    const LeafLayout layout = leaf_layout(tc.meta.words);
    BlockNumber nblocks = 0;
    std::vector<EntryRef> entries;
    for (uint32 leaf = 0; leaf < tc.leaf_heads.size(); leaf++) {
        BlockNumber block = tc.leaf_heads[leaf];
        BlockNumber hops = 0;
        while (block != InvalidBlockNumber) {
            entries.clear();
            pg_call([&] {
                CHECK_FOR_INTERRUPTS();
                Buffer buffer = read_chain_page(index, block, leaf, layout, BUFFER_LOCK_SHARE, &hops, &nblocks);
                Page page = BufferGetPage(buffer);
                const std::size_t count = leaf_header(page)->count;
                const uint8* flags = leaf_flags(page, layout);
                const ItemPointerData* tids = leaf_tids(page, layout);
                const uint64* locators = leaf_locators(page, layout);
                for (std::size_t i = 0; i < count; i++)
                    if (!(flags[i] & kEntryDead)) entries.push_back({tids[i], locators[i]});
                block = page_opaque(page)->next;
                UnlockReleaseBuffer(buffer);
            });
            visit(leaf, entries);
        }
    }
}

RecallCurve measure(Relation index, const TreeCache& tc, int threads) {
    const VtreeMeta& meta = tc.meta;
    const std::size_t dim = meta.dim;
    std::string problem;
    std::shared_ptr<VectorStore> store;
    if (meta.storage == static_cast<uint8>(Storage::Mmap))
        store = open_sidecar(index, meta, SidecarAccess::Read, &problem);
    BlockNumber nblocks = 0;
    std::string error;
    const auto read = [&](const EntryRef& e, float* out) {
        return read_entry_record(index, meta, store.get(), e.locator, e.tid, out, &nblocks, &error) == RecordRead::Ok;
    };

    std::size_t total = 0;
    for_each_page(index, tc, [&](uint32, const std::vector<EntryRef>& entries) { total += entries.size(); });
    const std::vector<std::size_t> picked = sample_positions(total, kCalibrationQueries, meta.seed ^ total);
    std::vector<float> queries;
    std::vector<uint64_t> self;
    std::vector<float> vector(dim);
    std::size_t ordinal = 0, next_pick = 0;
    for_each_page(index, tc, [&](uint32, const std::vector<EntryRef>& entries) {
        for (const EntryRef& e : entries) {
            if (next_pick < picked.size() && picked[next_pick] == ordinal) {
                next_pick++;
                if (read(e, vector.data())) {
                    queries.insert(queries.end(), vector.begin(), vector.end());
                    self.push_back(tid_tag(e.tid));
                }
            }
            ordinal++;
        }
    });
    const MatrixView query_view{queries.data(), self.size(), dim};
    if (self.empty()) return RecallCurve{};

    // Batches of about 4 MB of vectors (at least 16 rows).
    const std::size_t batch = std::max<std::size_t>(16, (std::size_t{4} << 20) / (dim * sizeof(float)));
    NeighbourCollector collector(static_cast<Metric>(meta.metric), query_view, self, kCalibrationK, batch, threads);
    std::vector<float> rows(batch * dim);
    std::vector<uint64_t> ids(batch);
    std::vector<int32_t> leaves(batch);
    std::size_t filled = 0;
    const auto add_batch = [&] {
        SignalMask mask;  // collector.add runs on `threads` OpenMP threads
        collector.add(rows.data(), filled, ids.data(), leaves.data());
        filled = 0;
    };
    for_each_page(index, tc, [&](uint32 leaf, const std::vector<EntryRef>& entries) {
        for (const EntryRef& e : entries) {
            if (!read(e, rows.data() + filled * dim)) continue;
            ids[filled] = tid_tag(e.tid);
            leaves[filled] = static_cast<int32_t>(leaf);
            if (++filled == batch) add_batch();
        }
    });
    if (filled > 0) add_batch();

    return curve_of_collected(tc.tree, static_cast<Metric>(meta.metric), std::move(queries), collector);
}

}  // namespace

RecallCurve calibrate_index(Relation index, int threads) {
    std::shared_ptr<const TreeCache> tc = load_tree(index);
    RecallCurve curve = measure(index, *tc, threads);
    const VtreeCalibration c = calibration_of(curve);
    pg_call([&] { edit_meta(index, [&](VtreeMeta* m) { m->calibration = c; }); });
    return curve;
}

bool calibration_is_stale(const TreeCache& tc) {
    const std::size_t live = tc.tree.live_leaves;
    const std::size_t then = tc.meta.calibration.leaves;
    if (then == 0) return live > 1;
    return 2 * live >= 3 * then || 3 * live <= 2 * then;
}

std::size_t scan_probes(const VtreeMeta& meta, std::size_t live_leaves, const float* query) {
    if (guc_probes > 0) return static_cast<std::size_t>(guc_probes);
    // A tree of a few leaves (a few thousand rows) is probed whole: exact for
    // the price of a few thousand codes, where a calibration over its few
    // rows says least.
    if (live_leaves <= static_cast<std::size_t>(kUncalibratedProbes)) return std::max<std::size_t>(live_leaves, 1);
    const VtreeCalibration& c = meta.calibration;  // read in place: this runs for every query
    const double probes = probes_for_recall(c.curve, std::min<uint32>(c.points, kMaxCurvePoints), c.leaves,
                                            guc_target_recall, live_leaves);
    if (probes <= 0) return kUncalibratedProbes;
    return probes_for_query(probes, query, meta.dim);
}

}  // namespace pg
}  // namespace vectordb

using namespace vectordb;
using namespace vectordb::pg;

namespace {

// Returns a curve as rows (probes, recall, calibrated_leaves) of the function's result set.
void return_curve(FunctionCallInfo fcinfo, const RecallCurve& curve) {
    pg_call([&] {
        ReturnSetInfo* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
        for (const RecallPoint& p : curve.points) {
            Datum values[3] = {Int32GetDatum(static_cast<int32>(p.probes)), Float4GetDatum(p.recall),
                               Int32GetDatum(static_cast<int32>(curve.leaves))};
            bool nulls[3] = {false, false, false};
            tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
        }
    });
}

}  // namespace

// vectordb_calibrate(index): measures the curve again now and stores it;
// the index's owner only.
VECTORDB_FUNCTION(vectordb_calibrate) {
    const Oid oid = PG_GETARG_OID(0);
    Relation heap = nullptr, index = nullptr;
    pg_call([&] {
        InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
        // VACUUM's lock on the table: one calibration at a time, and none during a VACUUM.
        index = open_vtree_and_table(oid, RowExclusiveLock, ShareUpdateExclusiveLock, &heap);
        require_owner(index);
        if (RecoveryInProgress())
            ereport(ERROR, (errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
                            errmsg("cannot calibrate a vtree index during recovery")));
    });
    const RecallCurve curve = calibrate_index(index, build_threads());
    return_curve(fcinfo, curve);
    pg_call([&] {
        relation_close(index, RowExclusiveLock);
        table_close(heap, ShareUpdateExclusiveLock);
    });
    return static_cast<Datum>(0);
}

// vectordb_recall_curve(index): the stored curve (no rows: never calibrated).
VECTORDB_FUNCTION(vectordb_recall_curve) {
    const Oid oid = PG_GETARG_OID(0);
    VtreeMeta meta{};
    pg_call([&] {
        InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
        Relation index = open_vtree(oid, AccessShareLock);
        require_select(index);
        read_meta(index, &meta);
        relation_close(index, AccessShareLock);
    });
    return_curve(fcinfo, curve_of(meta.calibration));
    return static_cast<Datum>(0);
}
