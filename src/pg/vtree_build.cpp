// Building a vtree index.
//
// Phases (reported in pg_stat_progress_create_index):
//   loading     scan the heap and copy vectors into C++ memory, up to what
//               maintenance_work_mem allows; past that, keep a uniform sample
//   clustering  build the k-means tree and the codes in the core (OpenMP)
//   assigning   (sampled builds only) scan the heap again and route every
//               vector to its nearest leaf
//   writing     write leaf pages, the sidecar (or vector pages) and the tree
//   calibrating measure recall against probes on the index's own rows
//               (vtree_calibrate.cpp), for vtree.target_recall
// Pages are written through shared buffers without WAL and logged in one pass
// at the end (vtree_page_writers.h). An unlogged table's index also gets an
// empty index in its init fork (ambuildempty, build_empty_index).
//
// Error handling: every PostgreSQL call runs inside pg_call, so an ERROR or a
// cancel becomes a C++ exception that unwinds the build's memory; heap scan
// callbacks catch C++ exceptions themselves and park them in the build state
// (they run inside PostgreSQL frames). The sidecar is removed if the
// transaction aborts (sidecar_lifecycle.h).
#include "core/code_scan.h"
#include "core/distance.h"
#include "core/errors.h"
#include "core/index.h"
#include "core/random.h"
#include "core/vector_store.h"

#include <chrono>
#include <sys/mman.h>

#include "pg/pg_call.h"
#include "pg/sidecar_cache.h"
#include "pg/sidecar_files.h"
#include "pg/sidecar_lifecycle.h"
#include "pg/signal_mask.h"
#include "pg/vector_type.h"
#include "pg/vtree.h"
#include "pg/vtree_page_writers.h"

extern "C" {
#include "access/tableam.h"
#include "access/xloginsert.h"
#include "catalog/index.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/backend_progress.h"
}

namespace vectordb {
namespace pg {
namespace {

// The rows a build keeps, in anonymous memory backed by transparent huge
// pages where the kernel allows: filling hundreds of MB page by page spent more
// time in page faults and zero-filling than in reading the table (measured on
// synth-768: loading 1.5-2.6 s with a std::vector).
class RowBuffer {
public:
    RowBuffer() = default;
    RowBuffer(const RowBuffer&) = delete;
    RowBuffer& operator=(const RowBuffer&) = delete;
    ~RowBuffer() { release(); }

    // Room for `rows` rows of `dim` floats; existing rows are kept. Throws bad_alloc.
    void reserve(std::size_t rows, std::size_t dim) {
        dim_ = dim;
        const std::size_t bytes = round_up(std::max<std::size_t>(rows, 1) * dim * sizeof(float));
        if (bytes <= bytes_) return;
        void* p = base_ == nullptr ? mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
                                   : mremap(base_, bytes_, bytes, MREMAP_MAYMOVE);
        if (p == MAP_FAILED) throw std::bad_alloc();
        (void)madvise(p, bytes, MADV_HUGEPAGE);
        base_ = static_cast<float*>(p);
        bytes_ = bytes;
    }
    // Appends an uninitialised row (growing by half when full) and returns its index.
    std::size_t append() {
        if ((rows_ + 1) * dim_ * sizeof(float) > bytes_) reserve(rows_ + rows_ / 2 + 1024, dim_);
        return rows_++;
    }
    float* row(std::size_t i) { return base_ + i * dim_; }
    float* data() { return base_; }
    std::size_t rows() const { return rows_; }
    void release() {
        if (base_ != nullptr) munmap(base_, bytes_);
        base_ = nullptr;
        bytes_ = rows_ = 0;
    }

private:
    static std::size_t round_up(std::size_t n) {
        return (n + (std::size_t{2} << 20) - 1) & ~((std::size_t{2} << 20) - 1);
    }
    float* base_ = nullptr;
    std::size_t bytes_ = 0;
    std::size_t rows_ = 0;
    std::size_t dim_ = 0;
};

// The phase a build is in, for pg_stat_progress_create_index, and how long
// the previous one took, at DEBUG1 (what make bench reports as build phases).
// Each build keeps its own: a build that failed leaves nothing for the next.
class PhaseClock {
public:
    void enter(int64 phase, int64 total) {
        const auto now = std::chrono::steady_clock::now();
        if (current_ != 0) {
            const double seconds = std::chrono::duration<double>(now - started_).count();
            const char* name = vtree_buildphasename(current_);
            pg_call([&] { elog(DEBUG1, "vtree build: %s took %.3f s", name, seconds); });
        }
        current_ = phase;
        started_ = now;
        if (phase == 0) return;
        const int index[] = {PROGRESS_CREATEIDX_SUBPHASE, PROGRESS_CREATEIDX_TUPLES_TOTAL,
                             PROGRESS_CREATEIDX_TUPLES_DONE};
        const int64 values[] = {phase, total, 0};
        pg_call([&] { pgstat_progress_update_multi_param(3, index, values); });
    }

private:
    std::chrono::steady_clock::time_point started_;
    int64 current_ = 0;
};

struct BuildState {
    Relation heap = nullptr;
    Relation index = nullptr;
    Metric metric = Metric::L2;
    IndexedElements elements = IndexedElements::Float;  // the key's type
    VtreeOptions options{};
    QuantizerKind quantizer = QuantizerKind::RaBitQ;
    Storage storage = Storage::Mmap;
    int32 typmod = -1;
    uint32 dim = 0;
    std::size_t budget_rows = 0;    // rows that fit maintenance_work_mem
    std::size_t expected_rows = 0;  // the planner's row estimate, plus a margin
    std::size_t seen = 0;           // indexable rows met in the heap
    bool sampled = false;
    SplitMix64 rng{0x5EED};
    RowBuffer data;  // loaded rows (or the sample), row-major
    std::vector<ItemPointerData> tids;
    std::exception_ptr failure;  // a C++ exception caught in a heap scan callback
    std::size_t assigned = 0;    // rows routed by the assigning phase (sampled builds)
    PhaseClock phases;
};

// Takes a vector Datum out of a heap scan callback: NULLs, zero vectors under
// cosine and dimension mismatches are handled here, in PostgreSQL frames.
Vector* callback_vector(BuildState* st, Datum value) {
    Vector* v = datum_get_indexed_vector(value, st->elements);
    if (st->dim == 0) {
        check_dim_range(v->dim);
        st->dim = static_cast<uint32>(v->dim);
    }
    if (static_cast<uint32>(v->dim) != st->dim)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                        errmsg("expected %u dimensions, not %d", st->dim, static_cast<int>(v->dim))));
    if (st->metric == Metric::Cosine && squared_norm(v->x, v->dim) == 0.0f) {
        if (reinterpret_cast<Pointer>(v) != DatumGetPointer(value)) pfree(v);
        return nullptr;
    }
    return v;
}

void report_parked_failure(BuildState* st) {
    if (st->failure) ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("vtree build failed")));
}

// Phase "loading": keeps every row while they fit, then a uniform sample (reservoir).
void load_callback(Relation, ItemPointer tid, Datum* values, bool* isnull, bool, void* state) {
    auto* st = static_cast<BuildState*>(state);
    if (isnull[0]) return;
    Vector* v = callback_vector(st, values[0]);
    if (v == nullptr) return;
    try {
        st->seen++;
        std::size_t slot = st->tids.size();
        if (st->tids.size() >= st->budget_rows) {
            st->sampled = true;
            slot = static_cast<std::size_t>(st->rng.next() % st->seen);
            if (slot >= st->budget_rows) slot = SIZE_MAX;
        } else {
            // Reserve for the rows the statistics expect: growing by doubling would copy
            // hundreds of MB in one step, during which a cancel would wait.
            if (st->data.rows() == 0) st->data.reserve(std::min(st->budget_rows, st->expected_rows), st->dim);
            st->data.append();
            st->tids.push_back(*tid);
        }
        if (slot != SIZE_MAX) {
            std::memcpy(st->data.row(slot), v->x, std::size_t{st->dim} * sizeof(float));
            st->tids[slot] = *tid;
        }
    } catch (...) {
        st->failure = std::current_exception();
    }
    report_parked_failure(st);
    if (st->seen % 1024 == 0)
        pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, static_cast<int64>(st->seen));
    if (reinterpret_cast<Pointer>(v) != DatumGetPointer(values[0])) pfree(v);
}

// Where the full vectors go: the sidecar (mmap) or vector pages (pages).
class VectorSink {
public:
    VectorSink(Relation index, Storage storage, uint32 dim, const VtreeMeta& meta) : storage_(storage), dim_(dim) {
        if (storage == Storage::Pages) {
            pages_ = std::make_unique<VectorPageWriter>(index, MAIN_FORKNUM);
            return;
        }
        sidecar_directory(true);
        const std::string path = sidecar_path(meta);
        store_ = create_accounted_store(path, meta);
        remove_on_abort(path);
        keep_only_on_commit(sidecar_identity(meta));
    }

    uint64 append(const ItemPointerData& tid, const float* v) {
        if (pages_) return pages_->append(tid_tag(tid), v, dim_);
        return store_->append(tid_tag(tid), v);
    }

    void finish(VtreeMeta* meta) {
        if (pages_) {
            pages_->finish();
            meta->vector_head = pages_->head();
            meta->vector_tail = pages_->tail();
        } else {
            store_->sync();
            sync_sidecar_directory();
        }
    }

private:
    Storage storage_;
    uint32 dim_;
    std::unique_ptr<VectorStore, void (*)(VectorStore*)> store_{nullptr, nullptr};
    std::unique_ptr<VectorPageWriter> pages_;
};

// Phase "assigning" (sampled builds): every row of the table routed to its
// nearest leaf and written, in heap order. Rows are gathered into batches
// that the core routes and codes on vtree.build_threads threads (BatchRouter;
// one core did ~2,000 rows/s at 768 dimensions); each batch is then written
// here, on the backend's thread. The tree's radii came from the sample: the
// router widens them to cover every row.
class Assigner {
public:
    Assigner(const CoreIndex& core, LeafWriter& writer, VectorSink& sink, std::size_t batch_rows, int threads)
        : dim_(core.dim), writer_(writer), sink_(sink), router_(core.tree, core.quantizer, batch_rows, threads) {
        batch_.reserve(router_.capacity(), dim_);
        tids_.resize(router_.capacity());
    }

    void add(const float* v, const ItemPointerData& tid) {
        std::memcpy(batch_.row(pending_), v, std::size_t{dim_} * sizeof(float));
        tids_[pending_] = tid;
        if (++pending_ == router_.capacity()) flush();
    }

    // Routes and writes the rows gathered so far.
    void flush() {
        if (pending_ == 0) return;
        {
            SignalMask mask;  // the OpenMP threads must not take the backend's signals
            router_.route(batch_.data(), pending_);
        }
        for (std::size_t i = 0; i < pending_; i++) {
            const uint64 locator = sink_.append(tids_[i], batch_.row(i));
            writer_.append(router_.leaf(i), router_.code(i), router_.factors(i), locator, tids_[i]);
        }
        pending_ = 0;
    }

    // Widens `radius` (the tree's) to cover every row assigned.
    void cover(std::vector<float>* radius) const { router_.cover(radius); }

private:
    uint32 dim_;
    LeafWriter& writer_;
    VectorSink& sink_;
    BatchRouter router_;
    RowBuffer batch_;  // pending rows, as stored
    std::vector<ItemPointerData> tids_;
    std::size_t pending_ = 0;
};

// Rows per assigning batch: a few MB, and a small part of maintenance_work_mem
// (the sample, released by then, had the rest).
std::size_t assign_batch_rows(uint32 dim) {
    const std::size_t budget = static_cast<std::size_t>(maintenance_work_mem) * 1024 / 8;
    const std::size_t bytes = std::clamp<std::size_t>(budget, std::size_t{256} << 10, std::size_t{8} << 20);
    return std::max<std::size_t>(16, bytes / (std::size_t{dim} * sizeof(float)));
}

struct AssignState {
    BuildState* build;
    Assigner* assigner;
};

void assign_callback(Relation, ItemPointer tid, Datum* values, bool* isnull, bool, void* state) {
    auto* as = static_cast<AssignState*>(state);
    BuildState* st = as->build;
    if (isnull[0]) return;
    Vector* v = callback_vector(st, values[0]);
    if (v == nullptr) return;
    try {
        as->assigner->add(v->x, *tid);
        st->assigned++;
    } catch (...) {
        st->failure = std::current_exception();
    }
    report_parked_failure(st);
    if (st->assigned % 1024 == 0)
        pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, static_cast<int64>(st->assigned));
    if (reinterpret_cast<Pointer>(v) != DatumGetPointer(values[0])) pfree(v);
}

// Runs a heap scan with `callback`; rethrows what the callback parked.
// Returns the heap's live tuple count (NULL vectors included), for reltuples.
double scan_heap(BuildState* st, IndexInfo* info, IndexBuildCallback callback, void* state) {
    double heap_tuples = 0;
    try {
        pg_call([&] {
            heap_tuples = table_index_build_scan(st->heap, st->index, info, true, true, callback, state, nullptr);
        });
        return heap_tuples;
    } catch (const PgError&) {
        if (st->failure) std::rethrow_exception(st->failure);
        throw;
    }
}

// Rows of `dim` dimensions that fit maintenance_work_mem: the vectors, a
// cosine copy and their codes (at least 1,000).
std::size_t budget_rows(const BuildState& st, uint32 dim) {
    const std::size_t budget_bytes = static_cast<std::size_t>(maintenance_work_mem) * 1024;
    const std::size_t row_bytes =
        std::size_t{dim} * sizeof(float) * (st.metric == Metric::Cosine ? 2 : 1) + dim / 8 + 64;
    return std::max<std::size_t>(1000, budget_bytes / row_bytes);
}

// A one-leaf tree with a zero centroid, for an index built over no rows.
CoreIndex empty_core(uint32 dim, Metric metric, QuantizerKind kind) {
    CoreIndex core;
    core.metric = metric;
    core.dim = dim;
    core.tree.dim = dim;
    core.tree.metric = metric;
    core.tree.nodes.push_back(TreeNode{-1, -1, 0, 0, 0, 0});
    core.tree.centroids.assign(dim, 0.0f);
    core.tree.radius.assign(1, 0.0f);
    core.tree.leaves.push_back(TreeLeaf{0, 0, 0});
    core.quantizer = Quantizer::restore(
        kind, metric, dim, 42, kind == QuantizerKind::Hamming ? std::vector<float>(dim, 0.0f) : std::vector<float>{});
    core.leaves.resize(1);
    if (kind == QuantizerKind::RaBitQ) core.rotated_centroids.assign(core.quantizer.rotated_dim(), 0.0f);
    return core;
}

// The metapage of an index over `core`, but for its sidecar's identity and
// what the writing phases fill in (blob, vector pages, entries).
VtreeMeta new_meta(const CoreIndex& core, const VtreeOptions& options, Metric metric, Storage storage, bool sampled,
                   IndexedElements elements) {
    VtreeMeta meta{};
    meta.magic = kVtreeMagic;
    meta.version = kVtreeVersion;
    meta.dim = static_cast<uint32>(core.dim);
    meta.metric = static_cast<uint8>(metric);
    meta.quantizer = static_cast<uint8>(core.quantizer.kind());
    meta.storage = static_cast<uint8>(storage);
    meta.branching_factor = options.branching_factor;
    meta.max_leaf_size = options.max_leaf_size;
    meta.max_iterations = options.max_iterations;
    meta.words = static_cast<uint32>(core.quantizer.words());
    meta.leaf_capacity = leaf_layout(meta.words).capacity;
    meta.nodes = static_cast<uint32>(core.tree.nodes.size());
    meta.leaves = static_cast<uint32>(core.tree.leaves.size());
    meta.depth = static_cast<uint32>(core.tree.stats().depth);
    meta.seed = core.quantizer.seed();
    meta.vector_head = InvalidBlockNumber;
    meta.vector_tail = InvalidBlockNumber;
    meta.build_sampled = sampled ? 1 : 0;
    meta.radii_cover_rows = 1;  // built on every row, or widened by the assigning phase
    meta.elements = static_cast<uint32>(elements);
    return meta;
}

// ambuildempty: an unlogged table's index, empty, in the init fork (crash
// recovery copies it over the main fork). ambuild has just written the main
// fork, so its options, dimensions and sidecar are known: the empty index
// names the same sidecar file. After a reset the file's old records match no
// entry (each is checked against its entry's slot, TID and checksum before
// use) and new rows' records are appended to it; DROP removes it as usual.
void build_empty_index(Relation index) {
    VtreeMeta main_meta{};
    read_meta(index, &main_meta);
    IndexedElements elements = IndexedElements::Float;
    pg_call([&] { elements = indexed_elements(index); });
    const VtreeOptions options = options_of(index);
    const auto metric = static_cast<Metric>(main_meta.metric);
    const auto storage = static_cast<Storage>(main_meta.storage);
    const CoreIndex core = empty_core(main_meta.dim, metric, static_cast<QuantizerKind>(main_meta.quantizer));
    VtreeMeta meta = new_meta(core, options, metric, storage, false, elements);
    meta.sidecar_database = main_meta.sidecar_database;
    meta.sidecar_system_id = main_meta.sidecar_system_id;
    meta.sidecar_generation = main_meta.sidecar_generation;
    meta.sidecar_index_oid = main_meta.sidecar_index_oid;

    start_metapage(index, INIT_FORKNUM);
    LeafWriter writer(index, INIT_FORKNUM, leaf_layout(meta.words), 1);
    writer.finish();
    write_blob_and_meta(index, INIT_FORKNUM, serialize_tree(core.tree, core.quantizer, writer.heads()), &meta);
    log_fork(index, INIT_FORKNUM);
}

// --- the build's steps, in order (build_index) -----------------------------------

// Options, metric, column type and the memory budget; the index must be empty.
void start_build(BuildState* st, Relation heap, Relation index) {
    if (RelationGetNumberOfBlocks(index) != 0)
        pg_call([&] { elog(ERROR, "index \"%s\" already contains data", RelationGetRelationName(index)); });
    st->heap = heap;
    st->index = index;
    pg_call([&] {
        st->metric = index_metric(index);
        st->elements = indexed_elements(index);
    });
    st->options = options_of(index);
    st->quantizer = static_cast<QuantizerKind>(st->options.quantizer);
    st->storage = static_cast<Storage>(st->options.storage);
    st->typmod = TupleDescAttr(RelationGetDescr(index), 0)->atttypmod;
    if (st->typmod > 0) st->dim = static_cast<uint32>(st->typmod);
    st->budget_rows = budget_rows(*st, st->dim > 0 ? st->dim : 768);
    const double reltuples = heap->rd_rel->reltuples;
    st->expected_rows = reltuples > 0 ? static_cast<std::size_t>(reltuples * 1.05) + 1024 : 1u << 16;
}

// Phase "loading": every row's vector into memory, or a sample of them past
// maintenance_work_mem. Returns the heap's tuple count (for reltuples).
double load_rows(BuildState* st, IndexInfo* info) {
    st->phases.enter(kPhaseLoading, static_cast<int64>(std::max<double>(0, st->heap->rd_rel->reltuples)));
    const double heap_tuples = scan_heap(st, info, load_callback, st);
    // A column without a typmod takes its dimensions from the first row.
    if (st->dim > 0 && st->typmod <= 0) st->budget_rows = budget_rows(*st, st->dim);
    if (st->dim == 0) {
        pg_call([&] {
            ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                            errmsg("column has no dimensions and the table has no rows to take them from"),
                            errhint("Declare the column as vector(n).")));
        });
    }
    if (st->storage == Storage::Pages && 8 + std::size_t{st->dim} * 4 > kPageContentSize) {
        const uint32 dim = st->dim;
        const uint32 max_dim = (kPageContentSize - 8) / 4;
        pg_call([&] {
            ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                            errmsg("storage = pages holds vectors of at most %u dimensions, not %u", max_dim, dim),
                            errhint("Use storage = mmap (the default) for wider vectors.")));
        });
    }
    return heap_tuples;
}

// Phase "clustering": the k-means tree and the codes, in the core, on
// vtree.build_threads OpenMP threads (signals held off them; a cancel is
// answered between steps).
CoreIndex cluster_rows(BuildState* st) {
    const std::size_t rows = st->tids.size();
    st->phases.enter(kPhaseClustering, static_cast<int64>(rows));
    IndexParams params;
    params.quantizer = st->quantizer;
    params.tree.branching_factor = st->options.branching_factor;
    params.tree.max_leaf_size = st->options.max_leaf_size;
    params.tree.max_iterations = st->options.max_iterations;
    params.tree.metric = st->metric;
    params.tree.threads = build_threads();
    const int threads = params.tree.threads;
    pg_call([&] { elog(DEBUG1, "vtree build: clustering %zu rows on %d threads", rows, threads); });
    if (st->sampled) {
        // Leaves of the sample grow by seen / rows when every row is assigned.
        const double scale = static_cast<double>(rows) / static_cast<double>(st->seen);
        params.tree.max_leaf_size = std::max(2, static_cast<int>(st->options.max_leaf_size * scale));
    }
    if (rows == 0) return empty_core(st->dim, st->metric, st->quantizer);
    SignalMask mask;
    const StepCallback between_steps = [&mask] {
        mask.allow();
        pg_call([] { CHECK_FOR_INTERRUPTS(); });
        mask.block();
    };
    return CoreIndex::build(MatrixView{st->data.data(), rows, st->dim}, params, between_steps);
}

// Phase "writing" (every row was loaded: leaf by leaf, so a leaf's vectors
// sit together in the sidecar) or "assigning" (a sample was: every row routed
// to its leaf, in heap order). Returns the entries written.
std::size_t write_entries(BuildState* st, IndexInfo* info, CoreIndex& core, LeafWriter& writer, VectorSink& sink) {
    if (st->sampled) {
        st->data.release();
        st->phases.enter(kPhaseAssigning, static_cast<int64>(st->seen));
        Assigner assigner(core, writer, sink, assign_batch_rows(st->dim), build_threads());
        AssignState as{st, &assigner};
        scan_heap(st, info, assign_callback, &as);
        assigner.flush();
        assigner.cover(&core.tree.radius);
    } else {
        st->phases.enter(kPhaseWriting, static_cast<int64>(st->tids.size()));
        std::vector<uint64_t> code(core.quantizer.words());
        std::size_t written = 0;
        for (std::size_t l = 0; l < core.leaves.size(); l++) {
            const LeafCodes& leaf = core.leaves[l];
            for (std::size_t i = 0; i < leaf.count(); i++) {
                load_code(leaf.blocks.data(), i, code.size(), code.data());
                const ItemPointerData& tid = st->tids[leaf.ids[i]];
                const uint64 locator = sink.append(tid, st->data.row(leaf.ids[i]));
                writer.append(l, code.data(), leaf.factors[i], locator, tid);
            }
            written += leaf.count();
            pg_call([&] {
                CHECK_FOR_INTERRUPTS();
                pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, static_cast<int64>(written));
            });
        }
    }
    writer.finish();
    std::size_t entries = 0;
    for (std::size_t c : writer.counts()) entries += c;
    return entries;
}

// Phase "finishing": the sidecar synced, the tree blob and the metapage
// written, the whole fork WAL-logged.
void finish_build(BuildState* st, const CoreIndex& core, const LeafWriter& writer, VectorSink& sink, VtreeMeta* meta,
                  std::size_t entries) {
    sink.finish(meta);
    st->phases.enter(kPhaseFinishing, 0);
    meta->built_entries = entries;
    write_blob_and_meta(st->index, MAIN_FORKNUM, serialize_tree(core.tree, core.quantizer, writer.heads()), meta);
    log_fork(st->index, MAIN_FORKNUM);
    st->phases.enter(0, 0);
}

IndexBuildResult* build_result(double heap_tuples, std::size_t entries) {
    IndexBuildResult* result = nullptr;
    pg_call([&] {
        result = static_cast<IndexBuildResult*>(palloc(sizeof(IndexBuildResult)));
        result->heap_tuples = heap_tuples;
        result->index_tuples = static_cast<double>(entries);
    });
    return result;
}

// ambuild, as a table of contents.
IndexBuildResult* build_index(Relation heap, Relation index, IndexInfo* info) {
    BuildState st;
    start_build(&st, heap, index);
    const double heap_tuples = load_rows(&st, info);
    CoreIndex core = cluster_rows(&st);
    VtreeMeta meta = new_meta(core, st.options, st.metric, st.storage, st.sampled, st.elements);
    claim_new_sidecar(index, &meta);
    start_metapage(index, MAIN_FORKNUM);  // block 0: its contents are written last
    LeafWriter writer(index, MAIN_FORKNUM, leaf_layout(meta.words), core.tree.leaves.size());
    VectorSink sink(index, st.storage, st.dim, meta);
    const std::size_t entries = write_entries(&st, info, core, writer, sink);
    finish_build(&st, core, writer, sink, &meta, entries);
    st.phases.enter(kPhaseCalibrating, 0);
    calibrate_index(index, build_threads());
    st.phases.enter(0, 0);
    return build_result(heap_tuples, entries);
}

}  // namespace

IndexBuildResult* vtree_build(Relation heap, Relation index, IndexInfo* info) {
    return guarded([&] { return build_index(heap, index, info); });
}

void vtree_buildempty(Relation index) {
    guarded([&] { build_empty_index(index); });
}

}  // namespace pg
}  // namespace vectordb
