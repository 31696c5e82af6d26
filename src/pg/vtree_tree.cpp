// The tree: the blob the build writes, the log of leaf splits since, and the
// per-backend cache of the two for scans and inserts.
//
// The blob is immutable until the next build, which gives the index a new
// sidecar generation. The log only grows: a split appends one record (the
// leaf retired, then for each child its radius, size, head page and centroid)
// to chained TreeLog pages, and then, in one WAL record with the leaf's head
// page, advances the metapage's log_bytes and tree_version. Bytes below
// log_bytes never change, so a backend whose cache is at an older version
// reads only the records it has not applied yet. (relfilenode, generation,
// tree_version) identifies a cache entry.
#include "core/errors.h"

#include <cstring>
#include <unordered_map>

#include "pg/pg_call.h"
#include "pg/vtree.h"

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

constexpr uint32 kSplitMagic = 0x53504C54;  // "SPLT"

struct SplitRecordHeader {
    uint32 magic;
    uint32 leaf;      // the leaf retired
    uint32 children;
    float radius;     // the retired node's radius, covering its children
};

struct SplitChildHeader {
    float radius;
    uint32 size;
    BlockNumber head;
    uint32 reserved;
};  // then dim floats: the child's centroid

std::unordered_map<Oid, std::shared_ptr<const TreeCache>>& cache() {
    static std::unordered_map<Oid, std::shared_ptr<const TreeCache>> entries;
    return entries;
}

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
        const bool children_ok = node.leaf >= 0 || (node.first_child > static_cast<int32_t>(n) && node.child_count > 0 &&
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
    const std::size_t child_bytes = sizeof(SplitChildHeader) + t.dim * sizeof(float);
    if (h.magic != kSplitMagic || h.leaf >= t.leaves.size() || tc.leaf_heads[h.leaf] == InvalidBlockNumber ||
        h.children < 2 || size != sizeof h + h.children * child_bytes)
        throw DataError("vtree tree log has a bad split record");
    const auto parent = static_cast<std::size_t>(t.leaves[h.leaf].node);
    TreeNode& node = t.nodes[parent];
    node.leaf = -1;
    node.first_child = static_cast<int32_t>(t.nodes.size());
    node.child_count = static_cast<int32_t>(h.children);
    t.radius[parent] = h.radius;
    tc.retired.emplace_back(h.leaf, tc.leaf_heads[h.leaf]);
    tc.leaf_heads[h.leaf] = InvalidBlockNumber;
    const int32_t depth = node.depth + 1;
    const std::size_t rotated_dim = tc.quantizer.kind() == QuantizerKind::RaBitQ ? tc.quantizer.rotated_dim() : 0;
    const char* p = record + sizeof h;
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
            tc.quantizer.rotate(t.centroids.data() + at, tc.rotated_centroids.data() + tc.rotated_centroids.size() - rotated_dim);
        }
        size_below += ch.size;
    }
    t.nodes[parent].size = size_below;
    tc.tree_version++;
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
    // Records: a header, then children of a fixed size.
    const std::size_t child_bytes = sizeof(SplitChildHeader) + tc.tree.dim * sizeof(float);
    std::size_t pos = 0;
    while (pos < bytes.size()) {
        SplitRecordHeader h;
        if (bytes.size() - pos < sizeof h) throw DataError("vtree tree log ends inside a record");
        std::memcpy(&h, bytes.data() + pos, sizeof h);
        const std::size_t size = sizeof h + std::size_t{h.children} * child_bytes;
        if (h.children > 1u << 20 || size > bytes.size() - pos) throw DataError("vtree tree log ends inside a record");
        apply_split(tc, bytes.data() + pos, size);
        pos += size;
    }
    if (tc.tree_version != meta.tree_version) throw DataError("vtree tree log does not match the metapage's version");
}

}  // namespace

std::size_t TreeCache::live_leaves() const {
    std::size_t n = 0;
    for (BlockNumber head : leaf_heads) n += head != InvalidBlockNumber;
    return n;
}

void log_split(Relation index, Buffer head_buffer, uint32 leaf, float retired_radius,
               const std::vector<SplitChild>& children, uint32 dim) {
    std::vector<char> record;
    const SplitRecordHeader h{kSplitMagic, leaf, static_cast<uint32>(children.size()), retired_radius};
    put(record, &h, 1);
    for (const SplitChild& c : children) {
        const SplitChildHeader ch{c.radius, c.size, c.head, 0};
        put(record, &ch, 1);
        put(record, c.centroid.data(), dim);
    }
    Buffer meta_buffer = ReadBuffer(index, kMetaBlock);
    LockBuffer(meta_buffer, BUFFER_LOCK_EXCLUSIVE);
    check_page(index, kMetaBlock, BufferGetPage(meta_buffer), PageType::Meta);
    const VtreeMeta* m = page_meta(BufferGetPage(meta_buffer));
    const bool empty = m->log_head == 0 || m->log_head == InvalidBlockNumber;
    // Write from where the valid bytes end (a split that failed after writing
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
    // The switch: the new bytes become part of the log, and the leaf retires.
    GenericXLogState* x = GenericXLogStart(index);
    VtreeMeta* meta = page_meta(GenericXLogRegisterBuffer(x, meta_buffer, 0));
    Page head_page = GenericXLogRegisterBuffer(x, head_buffer, 0);
    meta->log_head = head;
    meta->log_tail = BufferGetBlockNumber(current);
    meta->log_tail_used = used;
    meta->log_bytes += record.size();
    meta->tree_version++;
    leaf_header(head_page)->flags |= kLeafRetired;
    GenericXLogFinish(x);
    UnlockReleaseBuffer(current);
    UnlockReleaseBuffer(meta_buffer);
}

std::size_t TreeCache::bytes() const {
    return tree.nodes.size() * sizeof(TreeNode) + (tree.centroids.size() + tree.radius.size()) * sizeof(float) +
           rotated_centroids.size() * sizeof(float) + leaf_heads.size() * sizeof(BlockNumber) +
           quantizer.mean().size() * sizeof(float) + sizeof(TreeCache);
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

std::shared_ptr<const TreeCache> load_tree(Relation index) {
    VtreeMeta meta;
    pg_call([&] { read_meta(index, &meta); });
    auto& entries = cache();
    auto found = entries.find(RelationGetRelid(index));
    if (found != entries.end() && RelFileNodeEquals(found->second->node, index->rd_node) &&
        found->second->generation == meta.sidecar_generation && found->second->tree_version <= meta.tree_version) {
        if (found->second->tree_version == meta.tree_version) return found->second;
        // Splits since: apply the new log records to a copy (scans may hold the old tree).
        auto grown = std::make_shared<TreeCache>(*found->second);
        try {
            read_log(index, *grown, meta);
        } catch (const DataError& e) {
            report_damaged_tree(index, e);
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
    entries[RelationGetRelid(index)] = tc;
    return tc;
}

}  // namespace pg
}  // namespace vectordb
