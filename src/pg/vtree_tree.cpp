// The tree: the blob the build writes, the log of leaf splits since, and the
// per-backend cache of the two for scans and inserts.
//
// The blob is immutable until the next build, which gives the index a new
// sidecar generation. The log only grows, by two kinds of record written to
// chained TreeLog pages and then made part of the log, in one WAL record with
// the metapage, by advancing its log_bytes and tree_version:
//   - a split (the leaf retired and when, up to two nearby leaves whose rows
//     it re-clustered with its own, then for each child its radius, size, head
//     page and centroid), whose WAL record also sets the retired flag of the
//     leaf and of those it absorbed; a split into no children is VACUUM
//     removing an empty leaf (its node stays, internal and childless, so node
//     numbers hold, as do the nodes of absorbed leaves);
//   - a radius raise (node, radius pairs): an insert's row lay outside a
//     node's ball, so the radius grows to keep covering every row below it
//     (strict-order scans bound unprobed subtrees by these balls); written
//     only if the tree is still at the version the insert computed it on;
//   - a reshape (new internal levels over the live leaves, breadth first:
//     for each node its parent, leaf or centroid, and size): growth
//     made the tree far deeper than a balanced one. It renumbers the nodes
//     (leaf numbers hold), which is why raises check the version.
// Bytes below log_bytes never change, so a backend whose cache is at an older
// version reads only the records it has not applied yet, in place when no
// scan holds its tree. (relfilenode, generation, tree_version) identifies a
// cache entry.
#include "core/distance.h"
#include "core/errors.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include "pg/pg_call.h"
#include "pg/tree_image.h"
#include "pg/vtree.h"

extern "C" {
#include "access/transam.h"
#include "utils/inval.h"
}

namespace vectordb {
namespace pg {
namespace {

struct BlobHeader {
    uint32 nodes;
    uint32 leaves;
    uint32 dim;
    uint32 rotated_dim;  // rabitq: dimensions after rotation (the rotated centroids are recomputed); hamming: 0
    uint32 mean_len;     // hamming: dim; rabitq: 0
    uint32 reserved;
};

template <class T>
void put(std::vector<char>& out, const T* data, std::size_t n) {
    const char* p = reinterpret_cast<const char*>(data);
    out.insert(out.end(), p, p + n * sizeof(T));
}

// Reads consecutive arrays out of the blob, throwing DataError past its end.
class BlobReader {
public:
    BlobReader(const std::vector<char>& blob) : blob_(blob) {}
    template <class T>
    void get(T* out, std::size_t n) {
        const std::size_t bytes = n * sizeof(T);
        if (bytes > blob_.size() - pos_) throw DataError("vtree tree blob is truncated");
        std::memcpy(out, blob_.data() + pos_, bytes);
        pos_ += bytes;
    }

private:
    const std::vector<char>& blob_;
    std::size_t pos_ = 0;
};

constexpr uint32 kSplitMagic = 0x53504C54;         // "SPLT": a split without its stamp (older indexes)
constexpr uint32 kStampedSplitMagic = 0x53504C32;  // "SPL2": a SplitRecordHeader, then a SplitStamp

struct SplitRecordHeader {
    uint32 magic;
    uint32 leaf;  // the leaf retired
    uint32 children;
    float radius;  // the retired node's radius, covering its children
};

struct SplitStamp {
    uint64 retired_xid;  // FullTransactionId: the next transaction ID when the leaf retired
    // Leaves whose rows the split took in with its own, each plus one (0: none;
    // records from before these existed have zeros). They retire with the leaf.
    uint32 absorbed[kMaxAbsorbedLeaves];
};
static_assert(sizeof(SplitStamp) == 16, "the stamp keeps its size");

struct SplitChildHeader {
    float radius;
    uint32 size;
    BlockNumber head;
    uint32 reserved;
};  // then dim floats: the child's centroid

constexpr uint32 kRaiseMagic = 0x52414449;    // "RADI"
constexpr uint32 kReshapeMagic = 0x52534850;  // "RSHP"

struct ReshapeRecordHeader {
    uint32 magic;
    uint32 count;  // ReshapeNodes that follow, breadth first (ShapedNode)
    uint32 reserved[2];
};

struct ReshapeNode {
    int32 parent;  // index among the record's nodes; -1: a child of the root
    int32 leaf;    // -1: internal, and dim floats of centroid follow
    uint32 size;   // (radii are computed when the record is applied)
};

struct RaiseRecordHeader {
    uint32 magic;
    uint32 count;  // RadiusRaise pairs that follow
    uint32 reserved[2];
};
static_assert(sizeof(RaiseRecordHeader) == sizeof(SplitRecordHeader), "records start with a header of one size");
static_assert(sizeof(ReshapeRecordHeader) == sizeof(SplitRecordHeader), "records start with a header of one size");

// Radius headroom of a raise: a leaf whose rows creep outwards logs a raise
// per 1% of growth, not per row.
constexpr float kRaiseHeadroom = 1.01f;

std::unordered_map<Oid, std::shared_ptr<TreeCache>>& cache() {
    static std::unordered_map<Oid, std::shared_ptr<TreeCache>> entries;
    return entries;
}

// Lets go of an index's tree when its relcache entry is invalidated (DROP
// INDEX, REINDEX, TRUNCATE, or any other change), at this backend's next
// command, so that a dropped index's tree, and the tree image it maps, do not
// stay in an idle backend until it exits. Scans holding the tree keep theirs.
void on_relcache_invalidation(Datum, Oid relid) { forget_invalidated(cache(), relid); }

// Rebuilds a TreeCache from the metapage and the blob bytes; DataError if they disagree.
std::shared_ptr<TreeCache> parse(const VtreeMeta& meta, const std::vector<char>& blob) {
    auto tc = std::make_shared<TreeCache>();
    tc->meta = meta;
    BlobReader in(blob);
    BlobHeader h;
    in.get(&h, 1);
    const auto kind = static_cast<QuantizerKind>(meta.quantizer);
    const std::size_t rotated_dim = std::size_t{meta.words} * 64;
    if (h.nodes != meta.nodes || h.leaves != meta.leaves || h.dim != meta.dim || h.nodes == 0 || h.leaves == 0 ||
        h.leaves > h.nodes || h.rotated_dim != (kind == QuantizerKind::RaBitQ ? rotated_dim : 0) ||
        h.mean_len != (kind == QuantizerKind::Hamming ? meta.dim : 0))
        throw DataError("vtree tree blob does not match the metapage");
    Tree& t = tc->tree;
    t.dim = meta.dim;
    t.metric = static_cast<Metric>(meta.metric);
    t.nodes.resize(h.nodes);
    in.get(t.nodes.data(), h.nodes);
    t.centroids.resize(std::size_t{h.nodes} * h.dim);
    in.get(t.centroids.data(), t.centroids.size());
    t.radius.resize(h.nodes);
    in.get(t.radius.data(), h.nodes);
    t.leaves.resize(h.leaves);
    std::vector<int32_t> leaf_nodes(h.leaves);
    in.get(leaf_nodes.data(), h.leaves);
    tc->leaf_heads.resize(h.leaves);
    in.get(tc->leaf_heads.data(), h.leaves);
    std::vector<float> mean(h.mean_len);
    in.get(mean.data(), mean.size());
    // Links must stay inside the arrays: a search follows them blindly.
    for (std::size_t l = 0; l < h.leaves; l++) {
        if (leaf_nodes[l] < 0 || static_cast<uint32>(leaf_nodes[l]) >= h.nodes ||
            t.nodes[static_cast<std::size_t>(leaf_nodes[l])].leaf != static_cast<int32_t>(l))
            throw DataError("vtree tree blob has a bad leaf link");
        t.leaves[l] = TreeLeaf{leaf_nodes[l], 0, 0};
    }
    for (std::size_t n = 0; n < h.nodes; n++) {
        const TreeNode& node = t.nodes[n];
        const bool leaf_ok = node.leaf < 0 || static_cast<uint32>(node.leaf) < h.leaves;
        const bool children_ok =
            node.leaf >= 0 || (node.first_child > static_cast<int32_t>(n) && node.child_count > 0 &&
                               static_cast<uint32>(node.first_child + node.child_count) <= h.nodes);
        if (!leaf_ok || !children_ok) throw DataError("vtree tree blob has a bad node link");
    }
    tc->quantizer = Quantizer::restore(kind, t.metric, meta.dim, meta.seed, std::move(mean));
    // Rotated leaf centroids are not stored (they would add a tenth to the
    // index): the rotation is seeded, so recomputing them gives the build's values.
    tc->rotated_centroids.resize(std::size_t{h.leaves} * h.rotated_dim);
    for (std::size_t l = 0; l < h.leaves && h.rotated_dim > 0; l++)
        tc->quantizer.rotate(t.centroid(static_cast<std::size_t>(leaf_nodes[l])),
                             tc->rotated_centroids.data() + l * h.rotated_dim);
    t.note_shape();
    tc->generation = meta.sidecar_generation;
    return tc;
}

}  // namespace

namespace {

// Applies one split record to the tree (DataError if it does not fit the tree).
void apply_split(TreeCache& tc, const char* record, std::size_t size) {
    Tree& t = tc.tree;
    SplitRecordHeader h;
    if (size < sizeof h) throw DataError("vtree tree log record is truncated");
    std::memcpy(&h, record, sizeof h);
    SplitStamp stamp{0, 0};
    const std::size_t head_bytes = sizeof h + (h.magic == kStampedSplitMagic ? sizeof stamp : 0);
    if (h.magic == kStampedSplitMagic && size >= head_bytes) std::memcpy(&stamp, record + sizeof h, sizeof stamp);
    const std::size_t child_bytes = sizeof(SplitChildHeader) + t.dim * sizeof(float);
    if ((h.magic != kSplitMagic && h.magic != kStampedSplitMagic) || h.leaf >= t.leaves.size() ||
        tc.leaf_heads[h.leaf] == InvalidBlockNumber || size != head_bytes + h.children * child_bytes ||
        (h.children < 2 && !(h.children == 0 && h.magic == kStampedSplitMagic)))
        throw DataError("vtree tree log has a bad split record");
    std::vector<uint32> absorbed;
    for (const uint32 a : stamp.absorbed) {
        if (a == 0) continue;
        const uint32 other = a - 1;
        if (h.children < 2 || other >= t.leaves.size() || other == h.leaf ||
            tc.leaf_heads[other] == InvalidBlockNumber ||
            std::find(absorbed.begin(), absorbed.end(), other) != absorbed.end())
            throw DataError("vtree tree log has a bad split record");
        absorbed.push_back(other);
    }
    own_tree_arrays(tc);  // centroids are appended below
    const auto parent = static_cast<std::size_t>(t.leaves[h.leaf].node);
    TreeNode& node = t.nodes[parent];
    node.leaf = -1;
    node.first_child = static_cast<int32_t>(t.nodes.size());
    node.child_count = static_cast<int32_t>(h.children);
    t.radius[parent] = h.radius;
    tc.retired.push_back(RetiredLeaf{h.leaf, tc.leaf_heads[h.leaf], stamp.retired_xid});
    tc.leaf_heads[h.leaf] = InvalidBlockNumber;
    const int32_t depth = node.depth + 1;
    const std::size_t rotated_dim = tc.quantizer.kind() == QuantizerKind::RaBitQ ? tc.quantizer.rotated_dim() : 0;
    const char* p = record + head_bytes;
    uint32 size_below = 0;
    for (uint32 c = 0; c < h.children; c++, p += child_bytes) {
        SplitChildHeader ch;
        std::memcpy(&ch, p, sizeof ch);
        const auto leaf = static_cast<int32_t>(t.leaves.size());
        t.nodes.push_back(TreeNode{static_cast<int32_t>(parent), -1, 0, leaf, depth, ch.size});
        const std::size_t at = t.centroids.size();
        t.centroids.resize(at + t.dim);
        std::memcpy(t.centroids.data() + at, p + sizeof ch, t.dim * sizeof(float));
        t.radius.push_back(ch.radius);
        t.leaves.push_back(TreeLeaf{static_cast<int32_t>(t.nodes.size() - 1), 0, 0});
        tc.leaf_heads.push_back(ch.head);
        if (rotated_dim > 0) {
            tc.rotated_centroids.resize(tc.rotated_centroids.size() + rotated_dim);
            tc.quantizer.rotate(t.centroids.data() + at,
                                tc.rotated_centroids.data() + tc.rotated_centroids.size() - rotated_dim);
        }
        size_below += ch.size;
    }
    t.nodes[parent].size = size_below;
    // Absorbed leaves: removed (their rows are now below the split leaf), and
    // the split leaf's ancestors widened to cover those rows, as the balls of
    // the children bound them (strict-order scans bound subtrees by radii).
    for (const uint32 other : absorbed) {
        TreeNode& gone = t.nodes[static_cast<std::size_t>(t.leaves[other].node)];
        gone.leaf = -1;
        gone.first_child = static_cast<int32_t>(t.nodes.size());
        gone.child_count = 0;
        gone.size = 0;
        tc.retired.push_back(RetiredLeaf{other, tc.leaf_heads[other], stamp.retired_xid});
        tc.leaf_heads[other] = InvalidBlockNumber;
    }
    if (!absorbed.empty()) {
        const std::size_t first = t.nodes.size() - h.children;
        for (int32_t a = t.nodes[parent].parent; a >= 0; a = t.nodes[static_cast<std::size_t>(a)].parent)
            for (std::size_t c = first; c < t.nodes.size(); c++) {
                const float reach =
                    std::sqrt(l2_squared_distance(t.centroid(static_cast<std::size_t>(a)), t.centroid(c), t.dim)) +
                    t.radius[c];
                t.radius[static_cast<std::size_t>(a)] = std::max(t.radius[static_cast<std::size_t>(a)], reach);
            }
    }
    tc.tree_version++;
}

// Applies one radius raise record (DataError if it names a node the tree lacks).
void apply_raise(TreeCache& tc, const char* record, std::size_t size) {
    RaiseRecordHeader h;
    if (size < sizeof h) throw DataError("vtree tree log record is truncated");
    std::memcpy(&h, record, sizeof h);
    if (h.magic != kRaiseMagic || size != sizeof h + std::size_t{h.count} * sizeof(RadiusRaise))
        throw DataError("vtree tree log has a bad radius record");
    std::vector<float>& radius = tc.tree.radius;
    for (uint32 i = 0; i < h.count; i++) {
        RadiusRaise r;
        std::memcpy(&r, record + sizeof h + i * sizeof r, sizeof r);
        if (r.node >= radius.size() || !(r.radius >= 0)) throw DataError("vtree tree log has a bad radius record");
        radius[r.node] = std::max(radius[r.node], r.radius);
    }
    tc.tree_version++;
}

// The nodes of a reshape record (DataError if they run past it).
std::vector<ShapedNode> parse_reshape(const TreeCache& tc, const char* record, std::size_t size) {
    ReshapeRecordHeader h;
    if (size < sizeof h) throw DataError("vtree tree log record is truncated");
    std::memcpy(&h, record, sizeof h);
    std::vector<ShapedNode> plan;
    plan.reserve(h.count);
    std::size_t pos = sizeof h;
    for (uint32 i = 0; i < h.count; i++) {
        ReshapeNode n;
        if (size - pos < sizeof n) throw DataError("vtree tree log has a bad reshape record");
        std::memcpy(&n, record + pos, sizeof n);
        pos += sizeof n;
        ShapedNode s{n.parent, n.leaf, n.size, {}};
        if (n.leaf < 0) {
            const std::size_t bytes = tc.tree.dim * sizeof(float);
            if (size - pos < bytes) throw DataError("vtree tree log has a bad reshape record");
            s.centroid.resize(tc.tree.dim);
            std::memcpy(s.centroid.data(), record + pos, bytes);
            pos += bytes;
        }
        plan.push_back(std::move(s));
    }
    if (pos != size) throw DataError("vtree tree log has a bad reshape record");
    return plan;
}

// Applies one reshape record: new internal levels over the live leaves.
void apply_reshape(TreeCache& tc, const char* record, std::size_t size) {
    const std::vector<ShapedNode> plan = parse_reshape(tc, record, size);
    own_tree_arrays(tc);  // the node centroids are rewritten
    apply_upper_levels(tc.tree, plan);
    tc.tree_version++;
}

// Bytes of the record at `p` (`left` bytes of log from there on); DataError
// for an unknown kind or a record that runs past the log.
std::size_t record_size(const TreeCache& tc, const char* p, std::size_t left) {
    if (left < sizeof(SplitRecordHeader)) throw DataError("vtree tree log ends inside a record");
    uint32 magic;
    std::memcpy(&magic, p, sizeof magic);
    std::size_t size = 0;
    if (magic == kSplitMagic || magic == kStampedSplitMagic) {
        SplitRecordHeader h;
        std::memcpy(&h, p, sizeof h);
        if (h.children > 1u << 20) throw DataError("vtree tree log has a bad split record");
        size = sizeof h + (magic == kStampedSplitMagic ? sizeof(SplitStamp) : 0) +
               std::size_t{h.children} * (sizeof(SplitChildHeader) + tc.tree.dim * sizeof(float));
    } else if (magic == kRaiseMagic) {
        RaiseRecordHeader h;
        std::memcpy(&h, p, sizeof h);
        if (h.count > 1u << 24) throw DataError("vtree tree log has a bad radius record");
        size = sizeof h + std::size_t{h.count} * sizeof(RadiusRaise);
    } else if (magic == kReshapeMagic) {
        ReshapeRecordHeader h;
        std::memcpy(&h, p, sizeof h);
        if (h.count > 1u << 24) throw DataError("vtree tree log has a bad reshape record");
        size = sizeof h;
        for (uint32 i = 0; i < h.count; i++) {
            ReshapeNode n;
            if (left - size < sizeof n) throw DataError("vtree tree log ends inside a record");
            std::memcpy(&n, p + size, sizeof n);
            size += sizeof n + (n.leaf < 0 ? tc.tree.dim * sizeof(float) : 0);
        }
    } else {
        throw DataError("vtree tree log has a record of unknown kind");
    }
    if (size > left) throw DataError("vtree tree log ends inside a record");
    return size;
}

// Reads the log bytes the cache has not seen (up to meta.log_bytes) and applies
// their records. PostgreSQL calls through pg_call; throws DataError on a bad log.
void read_log(Relation index, TreeCache& tc, const VtreeMeta& meta) {
    if (meta.log_bytes <= tc.log_read) return;
    if (meta.log_head == 0 || meta.log_head == InvalidBlockNumber) throw DataError("vtree tree log has no pages");
    std::vector<char> bytes(meta.log_bytes - tc.log_read);
    BlockNumber block = tc.log_read == 0 ? meta.log_head : tc.log_block;
    uint32 offset = tc.log_read == 0 ? 0 : tc.log_offset;
    std::size_t done = 0;
    while (done < bytes.size()) {
        BlockNumber next = InvalidBlockNumber;
        std::size_t take = 0;
        pg_call([&] {
            if (block == kMetaBlock || block == InvalidBlockNumber || block >= RelationGetNumberOfBlocks(index))
                ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
                                errmsg("index \"%s\" has a bad tree log link to block %u",
                                       RelationGetRelationName(index), block),
                                errhint("Please REINDEX it.")));
            Buffer buffer = ReadBuffer(index, block);
            LockBuffer(buffer, BUFFER_LOCK_SHARE);
            Page page = BufferGetPage(buffer);
            check_page(index, block, page, PageType::TreeLog);
            take = std::min<std::size_t>(kPageContentSize - offset, bytes.size() - done);
            std::memcpy(bytes.data() + done, page_contents(page) + offset, take);
            next = page_opaque(page)->next;
            UnlockReleaseBuffer(buffer);
        });
        done += take;
        offset += static_cast<uint32>(take);
        if (offset == kPageContentSize && done < bytes.size()) {
            block = next;
            offset = 0;
        }
    }
    tc.log_block = block;
    tc.log_offset = offset;
    tc.log_read = meta.log_bytes;
    // Records: a header whose first word tells the kind, then the kind's items.
    std::size_t pos = 0;
    while (pos < bytes.size()) {
        const std::size_t size = record_size(tc, bytes.data() + pos, bytes.size() - pos);
        uint32 magic;
        std::memcpy(&magic, bytes.data() + pos, sizeof magic);
        if (magic == kSplitMagic || magic == kStampedSplitMagic)
            apply_split(tc, bytes.data() + pos, size);
        else if (magic == kReshapeMagic)
            apply_reshape(tc, bytes.data() + pos, size);
        else
            apply_raise(tc, bytes.data() + pos, size);
        pos += size;
    }
    tc.tree.note_shape();  // once for all the splits applied, not per split
    if (tc.tree_version != meta.tree_version) throw DataError("vtree tree log does not match the metapage's version");
}

}  // namespace

std::size_t TreeCache::live_leaves() const {
    std::size_t n = 0;
    for (BlockNumber head : leaf_heads) n += head != InvalidBlockNumber;
    return n;
}

namespace {

// Appends `record` to the tree log and makes it part of the log in one WAL
// record with the metapage; a split's record also retires the leaves whose
// head pages are `retire` (none for other records; at most three, as a
// generic WAL record holds four pages). The metapage's buffer lock, held
// throughout, serialises writers of the log. With `only_at_version` >= 0 the
// record goes in only if the tree is still at that version (false if not:
// nothing is written).
bool append_log_record(Relation index, const std::vector<char>& record, const std::vector<Buffer>& retire,
                       int64 only_at_version = -1) {
    Buffer meta_buffer = ReadBuffer(index, kMetaBlock);
    LockBuffer(meta_buffer, BUFFER_LOCK_EXCLUSIVE);
    check_page(index, kMetaBlock, BufferGetPage(meta_buffer), PageType::Meta);
    const VtreeMeta* m = page_meta(BufferGetPage(meta_buffer));
    if (only_at_version >= 0 && m->tree_version != static_cast<uint32>(only_at_version)) {
        UnlockReleaseBuffer(meta_buffer);
        return false;
    }
    const bool empty = m->log_head == 0 || m->log_head == InvalidBlockNumber;
    // Write from where the valid bytes end (a writer that failed after writing
    // may have left bytes past it: they are overwritten). Each page is one WAL
    // record, linked to the next before that one is written; a full last page
    // only gets its link.
    Buffer current = InvalidBuffer;
    bool current_new = empty;
    uint32 used = 0;
    if (empty) {
        current = new_buffer(index);
    } else {
        current = ReadBuffer(index, m->log_tail);
        LockBuffer(current, BUFFER_LOCK_EXCLUSIVE);
        check_page(index, m->log_tail, BufferGetPage(current), PageType::TreeLog);
        used = m->log_tail_used;
    }
    const BlockNumber head = empty ? BufferGetBlockNumber(current) : m->log_head;
    std::size_t done = 0;
    for (;;) {
        const std::size_t take = std::min<std::size_t>(kPageContentSize - used, record.size() - done);
        const Buffer next_buffer = done + take < record.size() ? new_buffer(index) : InvalidBuffer;
        GenericXLogState* x = GenericXLogStart(index);
        Page page = GenericXLogRegisterBuffer(x, current, current_new ? GENERIC_XLOG_FULL_IMAGE : 0);
        if (current_new) init_page(page, PageType::TreeLog);
        std::memcpy(page_contents(page) + used, record.data() + done, take);
        if (next_buffer != InvalidBuffer) page_opaque(page)->next = BufferGetBlockNumber(next_buffer);
        GenericXLogFinish(x);
        done += take;
        used += static_cast<uint32>(take);
        if (next_buffer == InvalidBuffer) break;
        UnlockReleaseBuffer(current);
        current = next_buffer;
        current_new = true;
        used = 0;
    }
    // The switch: the new bytes become part of the log (and the leaf retires).
    GenericXLogState* x = GenericXLogStart(index);
    VtreeMeta* meta = page_meta(GenericXLogRegisterBuffer(x, meta_buffer, 0));
    for (const Buffer b : retire) leaf_header(GenericXLogRegisterBuffer(x, b, 0))->flags |= kLeafRetired;
    meta->log_head = head;
    meta->log_tail = BufferGetBlockNumber(current);
    meta->log_tail_used = used;
    meta->log_bytes += record.size();
    meta->tree_version++;
    GenericXLogFinish(x);
    UnlockReleaseBuffer(current);
    UnlockReleaseBuffer(meta_buffer);
    return true;
}

}  // namespace

void log_split(Relation index, Buffer head_buffer, uint32 leaf, float retired_radius,
               const std::vector<SplitChild>& children, uint32 dim, const std::vector<AbsorbedLeaf>& absorbed) {
    Assert(absorbed.size() <= kMaxAbsorbedLeaves && (absorbed.empty() || children.size() >= 2));
    std::vector<char> record;
    const SplitRecordHeader h{kStampedSplitMagic, leaf, static_cast<uint32>(children.size()), retired_radius};
    put(record, &h, 1);
    // Any scan or insert still using the tree from before this split took
    // its snapshot before now, so its xmin is at most this.
    SplitStamp stamp{U64FromFullTransactionId(ReadNextFullTransactionId()), {0, 0}};
    std::vector<Buffer> retire{head_buffer};
    for (std::size_t i = 0; i < absorbed.size(); i++) {
        stamp.absorbed[i] = absorbed[i].leaf + 1;
        retire.push_back(absorbed[i].head);
    }
    put(record, &stamp, 1);
    for (const SplitChild& c : children) {
        const SplitChildHeader ch{c.radius, c.size, c.head, 0};
        put(record, &ch, 1);
        put(record, c.centroid.data(), dim);
    }
    append_log_record(index, record, retire);
}

std::vector<RadiusRaise> radius_raises(const Tree& tree, std::size_t leaf, const float* v) {
    std::vector<PathDistance> path;
    tree.path_distances(leaf, v, &path);
    std::vector<RadiusRaise> raises;
    for (const PathDistance& p : path)
        if (p.distance > tree.radius[p.node])
            raises.push_back({static_cast<uint32>(p.node), p.distance * kRaiseHeadroom});
    return raises;
}

void log_reshape(Relation index, const std::vector<ShapedNode>& plan, uint32 dim) {
    std::vector<char> record;
    const ReshapeRecordHeader h{kReshapeMagic, static_cast<uint32>(plan.size()), {0, 0}};
    put(record, &h, 1);
    for (const ShapedNode& s : plan) {
        const ReshapeNode n{s.parent, s.leaf, s.size};
        put(record, &n, 1);
        if (s.leaf < 0) put(record, s.centroid.data(), dim);
    }
    append_log_record(index, record, {});
}

bool log_radius_raises(Relation index, const std::vector<RadiusRaise>& raises, uint32 computed_at_version) {
    std::vector<char> record;
    const RaiseRecordHeader h{kRaiseMagic, static_cast<uint32>(raises.size()), {0, 0}};
    put(record, &h, 1);
    put(record, raises.data(), raises.size());
    return append_log_record(index, record, {}, computed_at_version);
}

std::size_t TreeCache::bytes() const {
    // The arrays as the tree has them, shared or not.
    const std::size_t rotated =
        quantizer.kind() == QuantizerKind::RaBitQ ? tree.leaves.size() * quantizer.rotated_dim() : 0;
    return tree.nodes.size() * sizeof(TreeNode) + (tree.nodes.size() * tree.dim + tree.radius.size()) * sizeof(float) +
           rotated * sizeof(float) + leaf_heads.size() * sizeof(BlockNumber) + quantizer.mean().size() * sizeof(float) +
           sizeof(TreeCache);
}

std::vector<char> serialize_tree(const Tree& tree, const Quantizer& quantizer, const std::vector<BlockNumber>& heads) {
    BlobHeader h{};
    h.nodes = static_cast<uint32>(tree.nodes.size());
    h.leaves = static_cast<uint32>(tree.leaves.size());
    h.dim = static_cast<uint32>(tree.dim);
    h.rotated_dim = quantizer.kind() == QuantizerKind::RaBitQ ? static_cast<uint32>(quantizer.rotated_dim()) : 0;
    h.mean_len = static_cast<uint32>(quantizer.mean().size());
    std::vector<char> out;
    put(out, &h, 1);
    put(out, tree.nodes.data(), tree.nodes.size());
    put(out, tree.centroids.data(), tree.centroids.size());
    put(out, tree.radius.data(), tree.radius.size());
    for (const TreeLeaf& leaf : tree.leaves) put(out, &leaf.node, 1);
    put(out, heads.data(), heads.size());
    put(out, quantizer.mean().data(), quantizer.mean().size());
    return out;
}

namespace {

// ERROR XX001 for a blob or log that does not fit the metapage.
[[noreturn]] void report_damaged_tree(Relation index, const DataError& e) {
    char message[256];
    std::snprintf(message, sizeof(message), "%s", e.what());
    pg_call([&] {
        ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
                        errmsg("index \"%s\" is corrupted: %s", RelationGetRelationName(index), message),
                        errhint("Please REINDEX it.")));
    });
    throw e;  // not reached: pg_call turns the ERROR into an exception
}

}  // namespace

void register_tree_cache() { CacheRegisterRelcacheCallback(on_relcache_invalidation, static_cast<Datum>(0)); }

std::shared_ptr<const TreeCache> load_tree(Relation index) {
    VtreeMeta meta;
    pg_call([&] { read_meta(index, &meta); });
    auto& entries = cache();
    auto found = entries.find(RelationGetRelid(index));
    if (found != entries.end() && RelFileNodeEquals(found->second->node, index->rd_node) &&
        found->second->generation == meta.sidecar_generation && found->second->tree_version <= meta.tree_version) {
        if (found->second->tree_version == meta.tree_version) {
            // A calibration changes the metapage, not the tree: take its curve
            // (into a copy if a scan holds the tree, as its meta must not change under it).
            if (std::memcmp(&found->second->meta.calibration, &meta.calibration, sizeof(meta.calibration)) != 0) {
                if (found->second.use_count() != 1) found->second = std::make_shared<TreeCache>(*found->second);
                found->second->meta.calibration = meta.calibration;
            }
            // Shared once loaded, or once splits have paused (share_tree_arrays
            // decides); only when no scan holds the tree, as its arrays move.
            if (found->second->image == nullptr && found->second.use_count() == 1)
                share_tree_arrays(index, *found->second);
            return found->second;
        }
        // Records since: apply them in place when no scan holds the tree,
        // else to a copy (a scan's tree must not change under it).
        std::shared_ptr<TreeCache> grown =
            found->second.use_count() == 1 ? found->second : std::make_shared<TreeCache>(*found->second);
        try {
            read_log(index, *grown, meta);
        } catch (const DataError& e) {
            entries.erase(found);  // maybe half applied
            report_damaged_tree(index, e);
        } catch (...) {
            entries.erase(found);
            throw;
        }
        grown->meta = meta;
        found->second = grown;
        return grown;
    }

    std::vector<char> blob(meta.blob_bytes);
    if (meta.blob_bytes > std::uint64_t{meta.blob_pages} * kPageContentSize)
        throw DataError("vtree metapage gives a tree blob larger than its pages");
    std::size_t done = 0;
    for (uint32 i = 0; i < meta.blob_pages && done < blob.size(); i++) {
        const BlockNumber block = meta.blob_start + i;
        const std::size_t take = std::min<std::size_t>(kPageContentSize, blob.size() - done);
        char* dest = blob.data() + done;
        pg_call([&] {
            Buffer buffer = ReadBuffer(index, block);
            LockBuffer(buffer, BUFFER_LOCK_SHARE);
            Page page = BufferGetPage(buffer);
            check_page(index, block, page, PageType::Blob);
            std::memcpy(dest, page_contents(page), take);
            UnlockReleaseBuffer(buffer);
        });
        done += take;
    }
    std::shared_ptr<TreeCache> tc;
    try {
        // A damaged blob or log is a damaged index: report it as such (XX001).
        tc = parse(meta, blob);
        read_log(index, *tc, meta);
    } catch (const DataError& e) {
        report_damaged_tree(index, e);
    }
    tc->node = index->rd_node;
    share_tree_arrays(index, *tc);
    entries[RelationGetRelid(index)] = tc;
    return tc;
}

}  // namespace pg
}  // namespace vectordb
