// The vtree index access method: page formats, options, settings and the
// functions its files share. Include core headers before this one.
//
// Relation layout (every page carries a VtreePageOpaque with its type):
//   block 0           metapage: format, parameters, quantizer state, counts,
//                     where the tree is, the sidecar's identity
//   blocks 1 .. L     the head page of each of the L leaves, in leaf order
//   further pages     leaf continuation pages (chained by `next`), the tree
//                     blob (contiguous pages), tree log pages, for storage =
//                     pages the chained vector pages, and free pages (recycled
//                     by VACUUM, in the free space map)
// A leaf page holds a fixed-layout array of entries: binary codes (in the
// scan kernels' 8-code blocks when 8 codes fit a page, one after another
// otherwise), estimator scalars, locators (sidecar slot, or position in the
// vector pages) and heap TIDs, plus a flags byte per entry. Its one flag,
// kEntryDead, makes every reader pass over the entry; nothing sets it today
// (VACUUM removes entries by compacting the page in place), and it is kept so
// that marking entries dead in place later needs no change of format.
// The tree blob (nodes, centroids, radii, leaf heads, hamming mean) is written
// once by the build. Leaves that outgrow max_leaf_size are split after it
// (vtree_split.cpp): each split appends a record to the tree log, a byte
// stream in chained TreeLog pages, and the tree a backend uses is the blob
// with the log's records applied in order (vtree_tree.cpp caches it).
#pragma once

#include "core/calibration.h"
#include "core/code_scan.h"
#include "core/quantizer.h"
#include "core/tree.h"

#include <memory>
#include <string>
#include <vector>

#include "pg/pg.h"

extern "C" {
#include "access/amapi.h"
#include "access/genam.h"
#include "access/generic_xlog.h"
#include "executor/tuptable.h"
#include "nodes/execnodes.h"
#include "access/relscan.h"
#include "access/reloptions.h"
#include "storage/block.h"
#include "storage/bufmgr.h"
#include "storage/bufpage.h"
#include "storage/itemptr.h"
#include "utils/rel.h"
}

namespace vectordb {

class VectorStore;  // core/vector_store.h

namespace pg {

constexpr uint32 kVtreeMagic = 0x56545245;  // "VTRE"
constexpr uint32 kVtreeVersion = 1;
constexpr uint16 kVtreePageId = 0xFF93;  // last two bytes of every page, as pgvector and GIN do
constexpr BlockNumber kMetaBlock = 0;

enum class PageType : uint16 { Meta = 1, Blob = 2, Leaf = 3, Vectors = 4, TreeLog = 5, Free = 6, SlotList = 7 };
// Free: a page VACUUM recycled (a retired leaf's chain, or a failed split's
// page) and recorded in the free space map; new_buffer() hands it out again.
// SlotList: a page of the stack of free sidecar slots (sidecar_free_slots.h).

// Special space of every vtree page.
struct VtreePageOpaque {
    BlockNumber next;  // next page of a leaf chain or of the vector pages
    BlockNumber tail;  // leaf head pages: last page of the chain
    uint32 leaf;       // leaf pages: leaf number
    uint16 type;       // PageType
    uint16 page_id;    // kVtreePageId
};

enum class Storage : uint8 { Mmap = 0, Pages = 1 };

// Where a leaf entry's full vector is: a sidecar slot (mmap) or a position in
// the vector pages (pages). kNoLocator: nowhere but the heap.
constexpr uint64 kNoLocator = ~uint64{0};

// The element type of an index's values (its key's type). Stored in the
// metapage: values never change.
enum class IndexedElements : uint32 {
    Float = 0,  // vector
    Half = 1,   // halfvec
    Bit = 2,    // bit: each bit as 0 or 1, so squared L2 is the Hamming distance
};

// A recall calibration as the metapage keeps it (core/calibration.h).
struct VtreeCalibration {
    uint32 leaves;   // live leaves when it was measured; 0: never calibrated
    uint32 queries;  // calibration queries it was measured with
    uint32 points;   // points of the curve in use
    uint32 unused;
    RecallPoint curve[kMaxCurvePoints];
};
static_assert(sizeof(RecallPoint) == 8, "the metapage keeps RecallPoints as they are in memory");

RecallCurve curve_of(const VtreeCalibration& c);
VtreeCalibration calibration_of(const RecallCurve& curve);

// Contents of the metapage.
struct VtreeMeta {
    uint32 magic;
    uint32 version;
    uint32 dim;
    uint8 metric;     // Metric
    uint8 quantizer;  // QuantizerKind
    uint8 storage;    // Storage
    uint8 blocked;    // leaf codes in 8-code blocks (else one after another)
    int32 branching_factor;
    int32 max_leaf_size;
    int32 max_iterations;
    uint32 words;          // uint64s per code
    uint32 leaf_capacity;  // entries per leaf page
    uint32 nodes;
    uint32 leaves;
    uint32 depth;
    BlockNumber blob_start;  // tree blob: blob_pages contiguous pages
    uint32 blob_pages;
    uint64 blob_bytes;
    uint64 seed;
    uint64 built_entries;  // entries written by the build
    // The sidecar's identity (sidecar_files.h): name and header of the file.
    uint64 sidecar_database;
    uint64 sidecar_system_id;
    uint64 sidecar_generation;
    uint64 sidecar_index_oid;
    BlockNumber vector_head;  // storage = pages: first and last vector page
    BlockNumber vector_tail;
    uint32 build_sampled;  // 1 when the tree was trained on a sample
    // The tree log (leaf splits since the build). Indexes written before it
    // existed have zeros here, which reads as an empty log.
    uint32 tree_version;   // records in the log (splits and radius raises)
    BlockNumber log_head;  // first and last TreeLog page (0: none yet)
    BlockNumber log_tail;
    uint32 log_tail_used;  // bytes of the log in its last page
    uint64 log_bytes;      // bytes of the log: readers stop here
    // 1 when every row lies within the radius of each node above it (the
    // build makes it so and inserts log radius raises), so a strict-order
    // scan may bound what an unprobed subtree holds. Indexes built before
    // radii were maintained read 0.
    uint32 radii_cover_rows;
    // Retired leaves (in split order, TreeCache::retired) whose pages VACUUM
    // has recycled, or that it passed over for good (unstamped): VACUUM
    // reads the whole index only when a later one has become recyclable.
    uint32 recycled_splits;
    // The stack of free sidecar slots (sidecar_free_slots.h): its top page,
    // and the sidecar generation it belongs to (another: no stack).
    BlockNumber free_slots_head;
    uint64 free_slots_generation;
    // IndexedElements: what the indexed values are made of. halfvec and bit
    // values are read as floats (exactly; a bit as 0 or 1), so the index
    // itself is the same as over vector.
    uint32 elements;
    // What vtree.target_recall reads (vtree_calibrate.cpp): the probes-recall
    // curve last measured on the index's own rows. Zeros (an index built
    // before calibration existed, or over too few rows) read as uncalibrated.
    VtreeCalibration calibration;
};

inline IndexedElements indexed_elements(const VtreeMeta& meta) { return static_cast<IndexedElements>(meta.elements); }

// Fixed part of a leaf page; the arrays follow (see LeafLayout).
struct LeafHeader {
    uint16 count;     // entries in use
    uint16 capacity;  // entries the page can hold
    uint16 dead;      // entries flagged kEntryDead: always 0 today (VACUUM compacts instead)
    uint16 flags;     // head pages: kLeafRetired
};

// A head page's leaf was split: its entries live on in the children, inserts
// must route again, VACUUM and the checks skip the chain. Its pages stay as
// they were for scans that still use the tree from before the split.
constexpr uint16 kLeafRetired = 1;
// A head page's chain has room before its tail (VACUUM removed entries there):
// inserts fill those holes first, so a chain under updates stays as long as
// its live entries need.
constexpr uint16 kLeafHasRoom = 2;

// A heavyweight lock tag (no such block exists) serialising changes of the
// tree: a split takes it exclusively (and gives up if it cannot at once),
// VACUUM's passes over the leaves share it, so no split moves entries under them.
constexpr BlockNumber kTreeLockBlock = InvalidBlockNumber - 1;

// A leaf page, worked for 768 dimensions under rabitq (12 code words: the
// rotation pads to a multiple of 64). Each entry takes 96 (code) + 16
// (CodeFactors) + 8 (locator) + 6 (TID) + 1 (flags) = 127 bytes; the contents
// hold (8,152 - 8 header - 16 slack) / 127 = 64 entries, a multiple of the
// code block of 8. Offsets from the start of the page contents:
//
//   page header (24)          PostgreSQL's PageHeaderData
//   contents
//     0      LeafHeader       count, capacity (64), dead (0), flags (head page:
//                             kLeafRetired, kLeafHasRoom)
//     8      codes            8 blocks of 8 entries; in a block, word w of
//                             entry e at [w * 8 + e] (store_code), so one
//                             AVX-512 load takes word w of 8 codes
//     6152   factors          CodeFactors[64]: |v - c|, 1/<o_bar,o>, error, popcount
//     7176   locators         uint64[64]: sidecar slot or vector-page position
//                             (kNoLocator: only the heap has the vector)
//     7688   tids             ItemPointerData[64]: the heap rows
//     8072   flags            uint8[64]: kEntryDead (never set today)
//     8136   (end; 16 bytes unused)
//   special (16)              VtreePageOpaque: next and tail (head pages) of
//                             the chain, leaf number, page type, page id
//
// Entries 0 .. count-1 are in use. Inserts append at the tail page, or fill
// the holes VACUUM leaves when it compacts a page in place (the head then
// carries kLeafHasRoom). Without blocks (fewer than 8 entries a page: above
// 7,872 dimensions) codes are stored entry after entry.
//
// Byte offsets of a leaf page's arrays, from the start of the page contents.
struct LeafLayout {
    uint32 capacity;
    uint32 words;
    bool blocked;
    uint32 codes;     // uint64[capacity * words]
    uint32 factors;   // CodeFactors[capacity]
    uint32 locators;  // uint64[capacity]
    uint32 tids;      // ItemPointerData[capacity]
    uint32 flags;     // uint8[capacity]
    uint32 end;
};

// An entry flag: readers skip the entry (see the top of this file: nothing sets it yet).
constexpr uint8 kEntryDead = 1;

// Bytes of a page available to contents (after the header, before the special space).
constexpr uint32 kPageContentSize = BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(VtreePageOpaque));

constexpr LeafLayout leaf_layout(uint32 words) {
    // Bytes per entry: code, scalars, locator, TID, flag.
    const uint32 per_entry = words * 8 + sizeof(CodeFactors) + 8 + sizeof(ItemPointerData) + 1;
    const uint32 room = kPageContentSize - MAXALIGN(sizeof(LeafHeader)) - 16;  // 16: alignment slack
    LeafLayout l{};
    l.words = words;
    uint32 capacity = room / per_entry;
    l.blocked = capacity >= static_cast<uint32>(kCodeBlock);
    if (l.blocked) capacity -= capacity % static_cast<uint32>(kCodeBlock);
    l.capacity = capacity;
    uint32 offset = MAXALIGN(sizeof(LeafHeader));
    l.codes = offset;
    offset += capacity * words * 8;
    l.factors = offset;
    offset += capacity * static_cast<uint32>(sizeof(CodeFactors));
    l.locators = offset;
    offset += capacity * 8;
    l.tids = offset;
    offset += capacity * static_cast<uint32>(sizeof(ItemPointerData));
    l.flags = offset;
    offset += capacity;
    l.end = offset;
    return l;
}

// The drawing above, kept true.
static_assert(leaf_layout(12).capacity == 64 && leaf_layout(12).codes == 8 && leaf_layout(12).factors == 6152 &&
                  leaf_layout(12).locators == 7176 && leaf_layout(12).tids == 7688 && leaf_layout(12).flags == 8072 &&
                  leaf_layout(12).end == 8136 && leaf_layout(12).blocked,
              "the leaf page drawn above");
static_assert(leaf_layout(123).blocked && !leaf_layout(124).blocked, "blocks up to 7,872 dimensions");

// --- reloptions ---------------------------------------------------------------

struct VtreeOptions {
    int32 vl_len_;
    int branching_factor;
    int max_leaf_size;
    int max_iterations;
    int quantizer;  // QuantizerKind
    int storage;    // Storage
};

void register_reloptions();
bytea* vtree_options(Datum reloptions, bool validate);
VtreeOptions options_of(Relation index);

// --- settings (GUCs) ---------------------------------------------------------

enum class IterativeScan { Off = 0, Relaxed = 1, Strict = 2 };

// Defaults and bounds of the settings (vtree_handler.cpp registers them; the
// options' are in core/tree.h).
// vtree.probes 0 (its default) takes the probes from vtree.target_recall; an
// index without a calibration then probes kUncalibratedProbes leaves.
constexpr int kDefaultProbes = 0, kMinProbes = 0, kMaxProbes = 100000, kUncalibratedProbes = 8;
constexpr double kDefaultTargetRecall = 0.95;
constexpr int kDefaultRerankFactor = 5, kMinRerankFactor = 1, kMaxRerankFactor = 1000;
constexpr int kDefaultMaxScanTuples = 20000, kMinMaxScanTuples = 1;
constexpr int kDefaultBuildThreads = 0, kMaxBuildThreads = 256;  // 0: one per CPU

extern int guc_probes;
extern double guc_target_recall;
extern int guc_rerank_factor;
extern int guc_iterative_scan;
extern int guc_max_scan_tuples;
extern int guc_build_threads;
extern char* guc_sidecar_dir;
extern bool guc_heal_sidecars;

void register_settings();
int build_threads();

// --- pages (vtree_pages.cpp); every function may ereport ---------------------

VtreePageOpaque* page_opaque(Page page);
void init_page(Page page, PageType type);
// Whether the page is an initialised vtree page (special space and page id),
// and of this type: the tests check_page makes, without raising.
bool is_vtree_page(Page page);
bool is_page_of_type(Page page, PageType type);
// ERROR XX001 unless the page is an initialised vtree page of this type; for
// a leaf page, also unless its entry counts fit `layout` (the index's: a
// garbled capacity must not lead a reader past the page's arrays).
void check_page(Relation index, BlockNumber block, Page page, PageType type);
void check_leaf_page(Relation index, BlockNumber block, Page page, const LeafLayout& layout);
// Copies the metapage, checked (magic, version, type).
void read_meta(Relation index, VtreeMeta* meta);
VtreeMeta* page_meta(Page page);
// Changes the metapage in one generic WAL record: edit(VtreeMeta*) runs under
// its buffer's exclusive lock, after the page is checked. edit must only
// assign fields (it runs where an ERROR may unwind).
template <class Edit>
void edit_meta(Relation index, Edit&& edit) {
    Buffer buffer = ReadBuffer(index, kMetaBlock);
    LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
    GenericXLogState* xlog = GenericXLogStart(index);
    Page page = GenericXLogRegisterBuffer(xlog, buffer, 0);
    check_page(index, kMetaBlock, page, PageType::Meta);
    edit(page_meta(page));
    GenericXLogFinish(xlog);
    UnlockReleaseBuffer(buffer);
}
LeafHeader* leaf_header(Page page);
char* page_contents(Page page);
// A page for new contents, exclusively locked: a free page from the free
// space map (VACUUM's recycled pages) or a new one at the end of the
// relation. Its old contents are garbage: callers initialise it and log it
// as a full image.
Buffer new_buffer(Relation index);
// Reads and locks (lock_mode) the page at `block` of leaf `leaf`'s chain:
// ERROR XX001 for a link outside the relation, a cycle (more hops than
// blocks), a page that is not a leaf page or belongs to another leaf.
// *nblocks caches the relation's size between calls (0 to look it up);
// strategy: a buffer ring (VACUUM's), or null.
Buffer read_chain_page(Relation index, BlockNumber block, uint32 leaf, const LeafLayout& layout, int lock_mode,
                       BlockNumber* hops, BlockNumber* nblocks, BufferAccessStrategy strategy = nullptr);

// Encodes a heap TID as a sidecar record tag (and back).
inline uint64 tid_tag(const ItemPointerData& tid) {
    return (uint64{ItemPointerGetBlockNumberNoCheck(&tid)} << 16) | ItemPointerGetOffsetNumberNoCheck(&tid);
}

// --- the tree cache (vtree_tree.cpp) -----------------------------------------

// A leaf a split retired: its old chain stays for scans that loaded the tree
// before the split. retired_xid is the next transaction ID when it retired:
// once no snapshot is that old (GlobalVisCheckRemovableFullXid), no scan or
// insert can use the old tree, and VACUUM recycles the chain's pages. 0 for
// splits logged before the stamp existed: never recycled (until REINDEX).
struct RetiredLeaf {
    uint32 leaf;
    BlockNumber head;
    uint64 retired_xid;  // FullTransactionId
};

struct TreeImage;  // tree_image.h

// What a backend keeps of an index between queries: the tree, the quantizer
// and per-leaf data from the tree blob. Immutable once loaded. Its two large
// arrays, the node centroids and the rotated leaf centroids, may live in a
// tree image that every backend maps (tree_image.h) instead of in this
// backend's memory.
struct TreeCache {
    RelFileNode node;
    uint64 generation = 0;
    uint32 tree_version = 0;                     // split records applied
    BlockNumber log_block = InvalidBlockNumber;  // where the next unread log byte is
    uint32 log_offset = 0;
    uint64 log_read = 0;  // log bytes read
    VtreeMeta meta;
    Tree tree;
    Quantizer quantizer;
    std::vector<float> rotated_centroids;  // rabitq: leaves x rotated_dim, unless shared_rotated is set
    std::vector<BlockNumber> leaf_heads;   // InvalidBlockNumber: a retired (split) leaf
    std::vector<RetiredLeaf> retired;      // each split leaf, in split order
    // The tree image the shared arrays are in (tree.shared_centroids and
    // shared_rotated point into it), or null while they are this backend's.
    std::shared_ptr<const TreeImage> image;
    const float* shared_rotated = nullptr;
    // Steady-clock nanoseconds when the arrays last changed (0: at load), so
    // that a tree is shared again only once splits have paused.
    int64 arrays_changed_at = 0;

    const float* rotated_data() const {
        return shared_rotated != nullptr ? shared_rotated
                                         : (rotated_centroids.empty() ? nullptr : rotated_centroids.data());
    }
    std::size_t live_leaves() const;
    std::size_t bytes() const;
};

// One child of a split leaf, as the tree log records it.
struct SplitChild {
    std::vector<float> centroid;  // dim floats, in the tree's space (unit for cosine and ip)
    float radius = 0;
    uint32 size = 0;
    BlockNumber head = InvalidBlockNumber;
};

// A leaf whose rows a split re-clustered with the split leaf's, and its head
// page's buffer (exclusively locked by the caller).
struct AbsorbedLeaf {
    uint32 leaf;
    Buffer head;
};
constexpr std::size_t kMaxAbsorbedLeaves = 2;  // with the metapage and the split leaf: a generic WAL record's 4 pages

// Appends a split of `leaf` into `children` to the tree log and retires the
// leaf's head page and those of the leaves it absorbed, in one WAL record
// with the metapage (vtree_tree.cpp). The caller holds the tree lock and
// every one of those head pages' buffers exclusively locked.
// PostgreSQL code only: may ereport.
void log_split(Relation index, Buffer head_buffer, uint32 leaf, float retired_radius,
               const std::vector<SplitChild>& children, uint32 dim, const std::vector<AbsorbedLeaf>& absorbed = {});

// A node whose radius must grow to cover a new row.
struct RadiusRaise {
    uint32 node;
    float radius;
};
// The raises that keep `v` (in the tree's space) inside every node from `leaf`
// up to the root, with headroom so that rows creeping outwards are not logged
// one by one; empty when the radii already cover it. Throws only bad_alloc.
std::vector<RadiusRaise> radius_raises(const Tree& tree, std::size_t leaf, const float* v);
// Appends radius raises to the tree log (one WAL record with the metapage),
// if the tree is still at the version they were computed on: a reshape
// renumbers nodes, so a raise must name the nodes of the tree it is applied
// to (false: nothing written; load the tree again and recompute). Raises only
// grow radii, so they need no lock beyond the metapage's buffer and commute
// with each other and with splits. PostgreSQL code only: may ereport.
bool log_radius_raises(Relation index, const std::vector<RadiusRaise>& raises, uint32 computed_at_version);
// Appends new internal levels over the live leaves (plan_upper_levels) to the
// tree log (vtree_tree.cpp). The caller holds the tree lock exclusively.
// PostgreSQL code only: may ereport.
void log_reshape(Relation index, const std::vector<ShapedNode>& plan, uint32 dim);

// After an insert: splits grown_leaf (-1: none) if it holds more than
// max_leaf_size live entries, unless another split or a VACUUM pass holds the
// tree lock; a leaf passed over so is tried again on this backend's next
// inserts (vtree_split.cpp). May ereport and throw.
void split_grown_leaves(Relation index, Relation heap, int64 grown_leaf);

// Installs the relcache callback that drops invalidated trees (from _PG_init).
void register_tree_cache();

// Drops what a relcache invalidation of `relid` concerns from a per-backend
// cache keyed by index OID (everything for InvalidOid, a reset): the tree and
// sidecar caches' callbacks. Never raises.
template <class Cache>
void forget_invalidated(Cache& entries, Oid relid) {
    if (relid == InvalidOid)
        entries.clear();
    else
        entries.erase(relid);
}

// The tree of this index, from the backend's cache or read from its pages.
// May ereport (call through pg_call) and throw (bad_alloc, DataError).
std::shared_ptr<const TreeCache> load_tree(Relation index);

// --- recall calibration (vtree_calibrate.cpp) --------------------------------

// Measures the index's probes-recall curve on its own rows and stores it in
// the metapage (WAL-logged); the caller holds a lock that keeps out another
// calibration (ShareUpdateExclusiveLock on the table: VACUUM's, or a build's).
// May throw PgError.
RecallCurve calibrate_index(Relation index, int threads);
// Whether VACUUM should calibrate again: never calibrated and more than one
// live leaf, or the live leaves have grown or shrunk by half since.
bool calibration_is_stale(const TreeCache& tc);
// The leaves a scan probes for `query`: vtree.probes when set, else every
// leaf of a tree of at most kUncalibratedProbes of them, else what the
// index's calibration gives for vtree.target_recall (kUncalibratedProbes
// without one).
std::size_t scan_probes(const VtreeMeta& meta, std::size_t live_leaves, const float* query);

// Serialises the tree for the blob pages. Throws only bad_alloc.
std::vector<char> serialize_tree(const Tree& tree, const Quantizer& quantizer, const std::vector<BlockNumber>& heads);

// --- access method callbacks (one file per phase) ----------------------------
// Entry points from PostgreSQL: each runs its C++ through guarded(), so no
// exception leaves it; errors reach PostgreSQL as ERRORs.

IndexBuildResult* vtree_build(Relation heap, Relation index, struct IndexInfo* info);
void vtree_buildempty(Relation index);
char* vtree_buildphasename(int64 phase);
bool vtree_insert(Relation index, Datum* values, bool* isnull, ItemPointer tid, Relation heap,
                  IndexUniqueCheck check_unique, bool index_unchanged, struct IndexInfo* info);
IndexBulkDeleteResult* vtree_bulkdelete(IndexVacuumInfo* info, IndexBulkDeleteResult* stats,
                                        IndexBulkDeleteCallback callback, void* callback_state);
IndexBulkDeleteResult* vtree_vacuumcleanup(IndexVacuumInfo* info, IndexBulkDeleteResult* stats);
IndexScanDesc vtree_beginscan(Relation index, int nkeys, int norderbys);
void vtree_rescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys);
bool vtree_gettuple(IndexScanDesc scan, ScanDirection direction);
void vtree_endscan(IndexScanDesc scan);
void vtree_costestimate(struct PlannerInfo* root, struct IndexPath* path, double loop_count, Cost* startup_cost,
                        Cost* total_cost, Selectivity* selectivity, double* correlation, double* pages);
bool vtree_validate(Oid opclass);

struct IndexedColumn;  // below
// The vector of the heap row whose HOT chain starts at tid, as `snapshot`
// sees it, copied into out (dim floats; half: the column is halfvec); false if no version is visible, or it
// is NULL or of another dimension. The snapshot must not see versions VACUUM
// may have removed (MVCC or non-vacuumable, never SnapshotAny).
// PostgreSQL code only: may ereport (entry_vector.cpp).
bool fetch_heap_vector(IndexFetchTableData* fetch, Snapshot snapshot, TupleTableSlot* slot, IndexedColumn& column,
                       ItemPointerData tid, uint32 dim, IndexedElements elements, float* out);

// What reading an entry's record gave (entry_vector.cpp).
enum class RecordRead {
    Ok,          // the record carries the entry's TID: out holds its vector
    NoRecord,    // the entry has no record (written while the sidecar was unusable)
    NoStore,     // mmap storage, and no usable sidecar is open
    Mismatch,    // past the end, or another row's record (stale)
    Corrupt,     // the record fails its checksum (torn or never written)
    Truncated,   // the file was cut short while mapped
    Unreadable,  // the sidecar cannot be read (*error says why)
};
// Copies the record at `locator` (dim floats) into out when its tag is tid's.
// store: the open sidecar for mmap storage (may be null). Calls PostgreSQL
// through pg_call (may throw PgError) and rethrows bad_alloc.
RecordRead read_entry_record(Relation index, const VtreeMeta& meta, VectorStore* store, uint64 locator,
                             const ItemPointerData& tid, float* out, BlockNumber* nblocks, std::string* error);

// --- indexed values (indexed_value.cpp); PostgreSQL code, may ereport ---------

struct Vector;  // pg/vector_type.h
IndexedElements indexed_elements(Relation index);

// Reads an index's value from heap rows: its table column, or its expression
// (an index on (v::halfvec(n)), say) evaluated on the row.
struct IndexedColumn {
    AttrNumber attno = 0;         // the table column, 0 for an expression
    ::IndexInfo* info = nullptr;  // expression: the index's, and an executor state to evaluate it in
    ::EState* estate = nullptr;
};
IndexedColumn open_indexed_column(Relation index);
// The value for the row in slot, valid until the next call (expressions are
// evaluated in per-row memory, reset each time).
Datum indexed_column_value(IndexedColumn& column, TupleTableSlot* slot, bool* isnull);
void close_indexed_column(IndexedColumn& column);
// The value d of an indexed column as a vector: datum_get_vector(d) for
// vector, a palloc'd exact conversion for halfvec and bit (never d's own
// memory then); ERROR 54000 for a bit string beyond vector's dimensions.
Vector* datum_get_indexed_vector(Datum d, IndexedElements elements);

// --- administration helpers (admin_checks.cpp); PostgreSQL code, may ereport --

// Opens a vtree index, or ERROR 42809 if the relation is something else.
Relation open_vtree(Oid oid, LOCKMODE lock);
// The same, and its table (*heap), locking the table first as DROP and
// REINDEX do, so that no deadlock with them is possible.
Relation open_vtree_and_table(Oid oid, LOCKMODE index_lock, LOCKMODE table_lock, Relation* heap);
// ERROR 42501 unless the current user owns the index or is a superuser.
void require_owner(Relation index);
// The same from the catalog, before the index is opened or locked (so that a
// non-owner never queues for its lock).
void require_owner_of(Oid index_oid);
// ERROR 42501 unless the current user may SELECT from the index's table.
void require_select(Relation index);
// ERROR 42501 unless the current user is a superuser.
void require_superuser(const char* function);
// Size of a file in bytes, -1 if it cannot be looked at. Never raises.
int64 file_size(const std::string& path);

// The metric of the index's operator class, from its support function 1
// (vtree_handler.cpp). PostgreSQL code only: may ereport.
Metric index_metric(Relation index);

// Build progress phases (pg_stat_progress_create_index.phase).
constexpr int64 kPhaseLoading = 2;
constexpr int64 kPhaseClustering = 3;
constexpr int64 kPhaseAssigning = 4;
constexpr int64 kPhaseWriting = 5;
constexpr int64 kPhaseFinishing = 6;  // tree pages, metapage, WAL
constexpr int64 kPhaseCalibrating = 7;

// --- leaf entries and vector records (vtree_pages.cpp); may ereport ----------

// Writes entry `pos` of a leaf page (count is not changed).
void put_entry(Page page, const LeafLayout& layout, uint32 pos, const uint64_t* code, const CodeFactors& factors,
               uint64 locator, const ItemPointerData& tid);
inline uint64_t* leaf_codes(Page page, const LeafLayout& l) {
    return reinterpret_cast<uint64_t*>(page_contents(page) + l.codes);
}
inline CodeFactors* leaf_factors(Page page, const LeafLayout& l) {
    return reinterpret_cast<CodeFactors*>(page_contents(page) + l.factors);
}
inline uint64* leaf_locators(Page page, const LeafLayout& l) {
    return reinterpret_cast<uint64*>(page_contents(page) + l.locators);
}
inline ItemPointerData* leaf_tids(Page page, const LeafLayout& l) {
    return reinterpret_cast<ItemPointerData*>(page_contents(page) + l.tids);
}
inline uint8* leaf_flags(Page page, const LeafLayout& l) {
    return reinterpret_cast<uint8*>(page_contents(page) + l.flags);
}
void init_leaf_page(Page page, const LeafLayout& layout, uint32 leaf);

// storage = pages: a vector record (tag + floats, as in the sidecar) starts at
// byte `offset` of a vector page's contents and runs on into the next pages.
// The offset takes 13 bits: enough for pages of up to 8 KB.
static_assert(BLCKSZ <= 8192, "vector locators keep a page offset in 13 bits");
inline uint64 vector_locator(BlockNumber block, uint32 offset) { return (uint64{block} << 13) | offset; }
// Copies the record at `locator`; false if it is out of bounds. *nblocks caches
// the relation's size between calls (0 to look it up).
bool read_vector_record(Relation index, uint64 locator, uint32 dim, uint64* tag, float* out, BlockNumber* nblocks);
// Bytes used in a vector page (kept in the page header's pd_lower).
uint32 vector_page_used(Page page);
void set_vector_page_used(Page page, uint32 used);

}  // namespace pg
}  // namespace vectordb
