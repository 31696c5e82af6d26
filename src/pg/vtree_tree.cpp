// The tree blob: serialising the k-means tree into the index's blob pages at
// build time, and the per-backend cache that reads it back for scans and
// inserts. The blob is immutable until the next build, which gives the index a
// new sidecar generation, so (relfilenode, generation) identifies a cache entry.
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

std::shared_ptr<const TreeCache> load_tree(Relation index) {
    VtreeMeta meta;
    pg_call([&] { read_meta(index, &meta); });
    auto& entries = cache();
    auto found = entries.find(RelationGetRelid(index));
    if (found != entries.end() && RelFileNodeEquals(found->second->node, index->rd_node) &&
        found->second->generation == meta.sidecar_generation)
        return found->second;

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
        tc = parse(meta, blob);
    } catch (const DataError& e) {
        // A damaged blob is a damaged index: report it as such (XX001).
        char message[256];
        std::snprintf(message, sizeof(message), "%s", e.what());
        pg_call([&] {
            ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
                            errmsg("index \"%s\" is corrupted: %s", RelationGetRelationName(index), message),
                            errhint("Please REINDEX it.")));
        });
    }
    tc->node = index->rd_node;
    entries[RelationGetRelid(index)] = tc;
    return tc;
}

}  // namespace pg
}  // namespace vectordb
