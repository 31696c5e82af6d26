// vectordb_check(index): verifies a vtree index in the spirit of amcheck.
//
// It reads every page itself and reports problems instead of failing on the
// first: the metapage and tree blob, every page's header and type, the leaf
// chains (each leaf page on exactly one chain, heads' tail links), the vector
// page chain, duplicate entries, every entry's full vector (sidecar record or
// vector page record carrying the entry's TID) and that it lies within the
// radii above its leaf (strict-order scans rely on it), and that every live table row
// with an indexable vector has exactly one entry. Each problem becomes a
// WARNING; the result is false if there was any. The table is locked in SHARE
// mode meanwhile, so writes wait and the comparison is exact.
#include "core/code_scan.h"
#include "core/distance.h"
#include "core/errors.h"
#include "core/vector_store.h"

#include <cmath>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "pg/pg_call.h"
#include "pg/sidecar_cache.h"
#include "pg/sidecar_files.h"
#include "pg/sidecar_free_slots.h"
#include "pg/vector_type.h"
#include "pg/vtree.h"

extern "C" {
#include "access/heapam.h"
#include "access/relation.h"
#include "access/tableam.h"
#include "access/xlog.h"
#include "catalog/index.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/snapmgr.h"
}

using namespace vectordb;
using namespace vectordb::pg;

namespace {

constexpr std::size_t kMaxReported = 100;

// What the check found, as messages.
class Report {
public:
    void add(const std::string& problem) { problems_.push_back(problem); }
    bool empty() const { return problems_.empty(); }
    const std::vector<std::string>& problems() const { return problems_; }

private:
    std::vector<std::string> problems_;
};

// Whether an ERROR with this SQLSTATE is something the check reports: damage
// it found (data or index corrupted, internal and I/O errors from reading it).
// Cancels, timeouts, lack of memory and the like go on up.
bool is_damage(int sqlerrcode) {
    return ERRCODE_TO_CATEGORY(sqlerrcode) == ERRCODE_TO_CATEGORY(ERRCODE_INTERNAL_ERROR) ||
           ERRCODE_TO_CATEGORY(sqlerrcode) == ERRCODE_TO_CATEGORY(ERRCODE_SYSTEM_ERROR) ||
           sqlerrcode == ERRCODE_DATA_CORRUPTED || sqlerrcode == ERRCODE_INDEX_CORRUPTED;
}

// Runs f (PostgreSQL code) in a subtransaction; damage it reports becomes a
// problem "<what>: <message>", with whatever f held released. True if f finished.
template <class F>
bool attempt(Report& report, const std::string& what, F&& f) {
    try {
        if (ErrorData* error = pg_call_in_subtransaction(f, is_damage)) {
            report.add(what + ": " + (error->message ? error->message : "error"));
            return false;
        }
        return true;
    } catch (const PgError&) {
        throw;
    } catch (const std::bad_alloc&) {
        throw;
    } catch (const std::exception& e) {
        report.add(what + ": " + e.what());
    }
    return false;
}

std::string block_name(BlockNumber b) { return "block " + std::to_string(b); }

std::string tid_name(const ItemPointerData& tid) {
    return "(" + std::to_string(ItemPointerGetBlockNumberNoCheck(&tid)) + "," +
           std::to_string(ItemPointerGetOffsetNumberNoCheck(&tid)) + ")";
}

// What the page scan remembers of each block.
struct BlockInfo {
    uint16 type = 0;  // PageType, 0 if unreadable or not a vtree page
    BlockNumber next = InvalidBlockNumber;
    BlockNumber tail = InvalidBlockNumber;
    uint32 leaf = 0;
    uint16 count = 0;
    bool reached = false;  // on some chain
    bool retired = false;  // on the chain of a leaf a split retired: its entries live on elsewhere
    bool zeroed = false;   // an all-zero page
};

// Copies block b into page (PostgreSQL code only).
void copy_block(Relation index, BlockNumber b, char* page) {
    Buffer buffer = ReadBuffer(index, b);
    LockBuffer(buffer, BUFFER_LOCK_SHARE);
    std::memcpy(page, BufferGetPage(buffer), BLCKSZ);
    UnlockReleaseBuffer(buffer);
}

// Page header and type of one copied block; records what the chain walk needs.
void check_block(const VtreeMeta& meta, std::size_t leaves, BlockNumber b, Page page, BlockInfo* info, Report& report) {
    // An all-zero page is what an extension leaves when a crash comes before
    // the WAL record that fills it (or a build not yet done): nothing links
    // to it (a chain that reaches one is reported by the walk, as a page not
    // of its kind), and VACUUM records it as free, as nbtree does.
    if (PageIsNew(page)) {
        info->zeroed = true;
        return;
    }
    if (!is_vtree_page(page)) {
        report.add(block_name(b) + " is not a vtree page (bad special space)");
        return;
    }
    const VtreePageOpaque* o = page_opaque(page);
    const bool in_blob = b >= meta.blob_start && b < meta.blob_start + meta.blob_pages;
    switch (static_cast<PageType>(o->type)) {
        case PageType::Blob:
            if (!in_blob) report.add(block_name(b) + " is a tree page outside the tree's range");
            break;
        case PageType::Leaf: {
            const LeafHeader* h = leaf_header(page);
            if (in_blob) report.add(block_name(b) + " is a leaf page inside the tree's range");
            if (h->capacity != meta.leaf_capacity || h->count > h->capacity)
                report.add(block_name(b) + " has bad entry counts (" + std::to_string(h->count) + " of " +
                           std::to_string(h->capacity) + ")");
            if (o->leaf >= leaves)
                report.add(block_name(b) + " belongs to leaf " + std::to_string(o->leaf) + " of " +
                           std::to_string(leaves));
            info->count = std::min(h->count, h->capacity);
            break;
        }
        case PageType::TreeLog:
        case PageType::Free:
        case PageType::SlotList:
            break;
        case PageType::Vectors:
            if (meta.storage != static_cast<uint8>(Storage::Pages))
                report.add(block_name(b) + " is a vector page in an index with storage = mmap");
            break;
        default:
            report.add(block_name(b) + " has unknown page type " + std::to_string(o->type));
            return;
    }
    info->type = o->type;
    info->next = o->next;
    info->tail = o->tail;
    info->leaf = o->leaf;
}

// Whether row v (as stored) lies within the radius of leaf `leaf` and of every
// node above it, as strict-order scans assume (a margin for float rounding);
// else *node is the first node it lies outside.
bool within_radii(const TreeCache& tc, uint32 leaf, float* v, std::size_t* node) {
    const Tree& tree = tc.tree;
    if (leaf >= tree.leaves.size()) return true;  // reported by the page checks
    if (tree.metric == Metric::Cosine) normalize(v, tree.dim);
    std::vector<PathDistance> path;
    tree.path_distances(leaf, v, &path);
    for (const PathDistance& p : path)
        if (p.distance > tree.radius[p.node] * 1.0001f + 1e-6f) {
            *node = p.node;
            return false;
        }
    return true;
}

// Follows one chain from head; every page must have `type` (and leaf number `leaf`
// for leaf chains) and belong to no other chain. Returns the last block.
BlockNumber walk_chain(std::vector<BlockInfo>& blocks, BlockNumber head, PageType type, int64 leaf,
                       const std::string& name, Report& report) {
    BlockNumber block = head, last = InvalidBlockNumber;
    while (block != InvalidBlockNumber) {
        if (block == kMetaBlock || block >= blocks.size()) {
            report.add(name + " links to " + block_name(block) + ", outside the index");
            break;
        }
        BlockInfo& info = blocks[block];
        if (info.reached) {
            report.add(name + " reaches " + block_name(block) + " a second time (cycle or shared page)");
            break;
        }
        info.reached = true;
        if (info.type != static_cast<uint16>(type)) {
            report.add(name + " reaches " + block_name(block) +
                       (info.zeroed ? ", an all-zero page" : ", which is not a page of its kind"));
            break;
        }
        if (leaf >= 0 && info.leaf != static_cast<uint32>(leaf))
            report.add(name + " reaches " + block_name(block) + " of leaf " + std::to_string(info.leaf));
        last = block;
        block = info.next;
    }
    return last;
}

// Calls visit(entry, row) for each of the entries' TIDs whose row `snapshot`
// sees, with the TID of the version it sees (its HOT chain followed).
// PostgreSQL code: may ereport.
template <class Visit>
void for_each_visible_row(Relation heap, Snapshot snapshot, const std::vector<ItemPointerData>& entries, Visit visit) {
    IndexFetchTableData* fetch = table_index_fetch_begin(heap);
    TupleTableSlot* slot = table_slot_create(heap, nullptr);
    for (ItemPointerData tid : entries) {
        bool call_again = false, all_dead = false;
        if (table_index_fetch_tuple(fetch, &tid, snapshot, slot, &call_again, &all_dead)) visit(tid, slot->tts_tid);
    }
    table_index_fetch_end(fetch);
    ExecDropSingleTupleTableSlot(slot);
}

bool check_index(Oid oid) {
    Report report;
    Relation index = nullptr;
    Relation heap = nullptr;
    pg_call([&] {
        // SHARE on the table: writes wait, so the comparison is exact. A hot
        // standby cannot hold replay up that way (nor take the lock).
        if (RecoveryInProgress())
            ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                            errmsg("vectordb_check cannot run during recovery"),
                            errdetail("It blocks writes to the table while it compares the index with it, "
                                      "and a standby cannot block the replay of its primary's writes."),
                            errhint("Run it on the primary: a standby's index pages are the primary's.")));
        // The owner is checked first, so that a non-owner holds up no writer.
        if (OidIsValid(IndexGetRelation(oid, true))) require_owner_of(oid);
        index = open_vtree_and_table(oid, AccessShareLock, ShareLock, &heap);
        require_owner(index);
    });
    const std::string index_name = RelationGetRelationName(index);
    VtreeMeta meta{};
    bool meta_ok = attempt(report, "metapage", [&] { read_meta(index, &meta); });
    std::shared_ptr<const TreeCache> tc;
    if (meta_ok) {
        try {
            tc = load_tree(index);
        } catch (const std::bad_alloc&) {
            throw;
        } catch (const std::exception& e) {
            report.add(std::string("tree: ") + e.what());
        }
    }

    BlockNumber nblocks = 0;
    pg_call([&] { nblocks = RelationGetNumberOfBlocks(index); });
    std::vector<BlockInfo> blocks(nblocks);
    std::vector<char> copy(BLCKSZ);
    Page page = reinterpret_cast<Page>(copy.data());
    if (tc) {
        // Every page's header and type.
        for (BlockNumber b = 1; b < nblocks; b++) {
            if (!attempt(report, block_name(b), [&] {
                    CHECK_FOR_INTERRUPTS();
                    copy_block(index, b, copy.data());
                }))
                continue;
            check_block(meta, tc->tree.leaves.size(), b, page, &blocks[b], report);
        }
        // Chains: every leaf page on exactly one leaf's chain, heads' tails right.
        const LeafLayout layout = leaf_layout(meta.words);
        // Pages of retired leaves are not walked: VACUUM may have recycled
        // some of them (a chain cut short is no damage then); their entries
        // live on in the children.
        std::unordered_set<uint32> retired_leaves;
        for (const RetiredLeaf& r : tc->retired) retired_leaves.insert(r.leaf);
        for (BlockNumber b = 1; b < nblocks; b++)
            if (blocks[b].type == static_cast<uint16>(PageType::Leaf) && retired_leaves.count(blocks[b].leaf) > 0)
                blocks[b].reached = blocks[b].retired = true;
        for (std::size_t l = 0; l < tc->leaf_heads.size(); l++) {
            const std::string name = "leaf " + std::to_string(l);
            const BlockNumber head = tc->leaf_heads[l];
            if (head == InvalidBlockNumber) continue;  // split: walked above
            const BlockNumber last = walk_chain(blocks, head, PageType::Leaf, static_cast<int64>(l), name, report);
            if (head < nblocks && blocks[head].type == static_cast<uint16>(PageType::Leaf) &&
                last != InvalidBlockNumber && blocks[head].tail != last)
                report.add(name + ": its head page says the chain ends at " + block_name(blocks[head].tail) +
                           " but it ends at " + block_name(last));
        }
        if (meta.storage == static_cast<uint8>(Storage::Pages) && meta.vector_head != InvalidBlockNumber) {
            const BlockNumber last =
                walk_chain(blocks, meta.vector_head, PageType::Vectors, -1, "vector pages", report);
            if (last != meta.vector_tail)
                report.add("the metapage says the vector pages end at " + block_name(meta.vector_tail) +
                           " but they end at " + block_name(last));
        }
        for (BlockNumber b = 1; b < nblocks; b++)
            if (!blocks[b].reached && (blocks[b].type == static_cast<uint16>(PageType::Leaf) ||
                                       blocks[b].type == static_cast<uint16>(PageType::Vectors)))
                report.add(block_name(b) + " is on no chain");

        // Entries: duplicates, and each one's full vector.
        std::string sidecar_problem;
        std::shared_ptr<VectorStore> store;
        const bool mmap_storage = meta.storage == static_cast<uint8>(Storage::Mmap);
        if (mmap_storage) {
            store = open_sidecar(index, meta, SidecarAccess::Read, &sidecar_problem);
            if (store == nullptr) {
                report.add("sidecar: " + sidecar_problem);
            } else {
                try {
                    store->refresh();  // records other backends appended since this one mapped it
                    if (store->size() < meta.built_entries)
                        report.add("sidecar holds " + std::to_string(store->size()) + " records, the build wrote " +
                                   std::to_string(meta.built_entries));
                } catch (const std::bad_alloc&) {
                    throw;
                } catch (const std::exception& e) {
                    report.add("sidecar: " + without_directory(e.what()));
                    store.reset();
                }
            }
        }
        // Slots on the free stack must not be any live entry's (a new row would overwrite its record).
        std::unordered_set<uint64> free_slots;
        if (mmap_storage)
            attempt(report, "free sidecar slots", [&] {
                for (uint64 slot : list_free_slots(index)) free_slots.insert(slot);
            });
        std::size_t on_free_stack = 0;
        std::unordered_map<uint64, uint32> entries;  // tid tag -> entries pointing at it
        std::vector<ItemPointerData> tids(layout.capacity);
        std::vector<uint64> locators(layout.capacity);
        std::vector<float> vec(meta.dim);
        std::size_t no_record = 0, outside_radius = 0;
        std::vector<ItemPointerData> bad_records, torn_records;  // entries whose record is unusable
        BlockNumber vector_nblocks = 0;
        std::string first_outside;
        std::size_t outside_node = 0;
        for (BlockNumber b = 1; b < nblocks; b++) {
            if (!blocks[b].reached || blocks[b].retired || blocks[b].type != static_cast<uint16>(PageType::Leaf))
                continue;
            uint16 count = 0;
            if (!attempt(report, block_name(b), [&] {
                    copy_block(index, b, copy.data());
                    count = std::min<uint16>(leaf_header(page)->count, static_cast<uint16>(layout.capacity));
                    std::memcpy(tids.data(), leaf_tids(page, layout), sizeof(ItemPointerData) * count);
                    std::memcpy(locators.data(), leaf_locators(page, layout), sizeof(uint64) * count);
                }))
                continue;
            for (uint16 i = 0; i < count; i++) {
                const uint64 tag = tid_tag(tids[i]);
                entries[tag]++;
                const uint64 loc = locators[i];
                if (loc == kNoLocator) {
                    no_record++;
                    continue;
                }
                on_free_stack += free_slots.count(loc);
                if (mmap_storage && store == nullptr) continue;  // reported above
                RecordRead read = RecordRead::Unreadable;
                std::string error;
                attempt(report, "vector record of " + tid_name(tids[i]), [&] {
                    read =
                        read_entry_record(index, meta, store.get(), loc, tids[i], vec.data(), &vector_nblocks, &error);
                });
                if (read == RecordRead::Corrupt) {
                    torn_records.push_back(tids[i]);
                } else if (read != RecordRead::Ok) {
                    bad_records.push_back(tids[i]);
                } else if (meta.radii_cover_rows && !within_radii(*tc, blocks[b].leaf, vec.data(), &outside_node)) {
                    if (outside_radius++ == 0)
                        first_outside = tid_name(tids[i]) + " outside node " + std::to_string(outside_node);
                }
            }
        }
        // A record matters only while its row is visible: the entry of a row
        // nobody sees any more (an aborted insert, a deleted row) waits for
        // VACUUM, a scan finds no row behind it, and no healer can rewrite it.
        attempt(report, "table", [&] {
            Snapshot snapshot = RegisterSnapshot(GetLatestSnapshot());
            for (std::vector<ItemPointerData>* list : {&bad_records, &torn_records}) {
                std::vector<ItemPointerData> visible;
                for_each_visible_row(heap, snapshot, *list,
                                     [&](ItemPointerData entry, ItemPointerData) { visible.push_back(entry); });
                list->swap(visible);
            }
            UnregisterSnapshot(snapshot);
        });
        if (!bad_records.empty())
            report.add(std::to_string(bad_records.size()) +
                       " entries' full vectors do not carry their TID (first: row " + tid_name(bad_records[0]) + ")");
        if (on_free_stack > 0)
            report.add(std::to_string(on_free_stack) + " entries' sidecar slots are also on the free slot stack");
        if (outside_radius > 0)
            report.add(std::to_string(outside_radius) +
                       " entries' rows lie outside a radius above their leaf (first: row " + first_outside +
                       "): strict-order scans could miss them");
        if (!torn_records.empty())
            report.add(std::to_string(torn_records.size()) +
                       " entries' sidecar records fail their checksum (first: row " + tid_name(torn_records[0]) + ")");
        for (const auto& [tag, n] : entries)
            if (n > 1) {
                ItemPointerData tid;
                ItemPointerSet(&tid, static_cast<BlockNumber>(tag >> 16), static_cast<OffsetNumber>(tag & 0xFFFF));
                report.add("row " + tid_name(tid) + " has " + std::to_string(n) + " entries");
            }
        (void)no_record;  // kept only in the heap: legal (written while the sidecar was unusable)

        // Every live row with an indexable vector has exactly one entry.
        const bool partial = index->rd_indpred != NIL || RelationGetIndexPredicate(index) != NIL;
        if (!partial) {
            std::unordered_map<uint64, uint32> reached;  // visible row tid -> entries reaching it
            std::vector<ItemPointerData> entry_tids;
            entry_tids.reserve(entries.size());
            for (const auto& [tag, n] : entries) {
                ItemPointerData tid;
                ItemPointerSet(&tid, static_cast<BlockNumber>(tag >> 16), static_cast<OffsetNumber>(tag & 0xFFFF));
                entry_tids.push_back(tid);
            }
            std::vector<uint64> visible_through_index;
            visible_through_index.reserve(entry_tids.size());
            const Metric metric = static_cast<Metric>(meta.metric);
            std::vector<ItemPointerData> live_rows;
            attempt(report, "table", [&] {
                Snapshot snapshot = RegisterSnapshot(GetLatestSnapshot());
                for_each_visible_row(heap, snapshot, entry_tids, [&](ItemPointerData, ItemPointerData row) {
                    visible_through_index.push_back(tid_tag(row));
                });
                TupleTableSlot* slot = table_slot_create(heap, nullptr);
                IndexedColumn column = open_indexed_column(index);
                TableScanDesc scan = table_beginscan(heap, snapshot, 0, nullptr);
                while (table_scan_getnextslot(scan, ForwardScanDirection, slot)) {
                    CHECK_FOR_INTERRUPTS();
                    bool isnull = false;
                    const Datum d = indexed_column_value(column, slot, &isnull);
                    if (isnull) continue;
                    if (metric == Metric::Cosine) {
                        Vector* v = datum_get_indexed_vector(d, indexed_elements(meta));
                        const bool zero = squared_norm(v->x, static_cast<std::size_t>(v->dim)) == 0.0f;
                        if (reinterpret_cast<Pointer>(v) != DatumGetPointer(d)) pfree(v);
                        if (zero) continue;
                    }
                    live_rows.push_back(slot->tts_tid);
                }
                table_endscan(scan);
                close_indexed_column(column);
                ExecDropSingleTupleTableSlot(slot);
                UnregisterSnapshot(snapshot);
            });
            for (uint64 t : visible_through_index) reached[t]++;
            std::size_t absent = 0, doubled = 0;
            std::string first_absent, first_doubled;
            for (const ItemPointerData& tid : live_rows) {
                const auto it = reached.find(tid_tag(tid));
                const uint32 n = it == reached.end() ? 0 : it->second;
                if (n == 0 && absent++ == 0) first_absent = tid_name(tid);
                if (n > 1 && doubled++ == 0) first_doubled = tid_name(tid);
            }
            if (absent > 0)
                report.add(std::to_string(absent) + " live rows have no entry (first: row " + first_absent + ")");
            if (doubled > 0)
                report.add(std::to_string(doubled) + " live rows have more than one entry (first: row " +
                           first_doubled + ")");
        }
    }

    const std::vector<std::string>& problems = report.problems();
    const std::size_t shown = std::min(problems.size(), kMaxReported);
    for (std::size_t i = 0; i < shown; i++) {
        const char* text = problems[i].c_str();
        const char* name = index_name.c_str();
        pg_call([&] {
            ereport(WARNING, (errcode(ERRCODE_INDEX_CORRUPTED), errmsg("vtree index \"%s\": %s", name, text)));
        });
    }
    if (problems.size() > shown) {
        const std::size_t more = problems.size() - shown;
        pg_call([&] { ereport(WARNING, (errmsg("... and %zu more problems", more))); });
    }
    pg_call([&] {
        table_close(heap, ShareLock);
        relation_close(index, AccessShareLock);
    });
    return report.empty();
}

}  // namespace

VECTORDB_FUNCTION(vectordb_check) { PG_RETURN_BOOL(check_index(PG_GETARG_OID(0))); }
