// The in-memory form of a vtree index: the k-means tree, the quantizer and,
// per leaf, the binary codes in scan-ready blocks with their scalars and the
// ids of their vectors. The PostgreSQL index stores the same pieces in pages;
// the core builds it and searches it (search.h).
#pragma once

#include "core/common.h"
#include "core/quantizer.h"
#include "core/tree.h"
#include "core/types.h"

#include <functional>
#include <vector>

namespace vectordb {

struct IndexParams {
    TreeParams tree;
    QuantizerKind quantizer = QuantizerKind::RaBitQ;
};

// One leaf's codes: count codes in code_blocks(count) blocks (see code_scan.h).
struct LeafCodes {
    std::vector<uint64_t> blocks;
    std::vector<CodeFactors> factors;
    std::vector<uint32_t> ids;  // caller's ids (row numbers, sidecar slots)
    std::size_t count() const { return ids.size(); }
};

// Id of a code a search must ignore (a deleted entry, a padding slot).
constexpr uint32_t kSkipId = 0xFFFFFFFFu;

// Consecutive codes of one leaf as a search scans them: count codes in
// code_blocks(count) blocks, with their scalars and ids.
struct CodeChunk {
    const uint64_t* blocks = nullptr;
    const CodeFactors* factors = nullptr;
    const uint32_t* ids = nullptr;
    std::size_t count = 0;
};

using ChunkVisitor = std::function<void(const CodeChunk&)>;

// Where a search reads leaf codes from: memory here, index pages in PostgreSQL.
class LeafCodeSource {
public:
    virtual ~LeafCodeSource() = default;
    // Calls visit once per chunk of the leaf's codes, in any number of chunks.
    // In PostgreSQL visit runs while the page's buffer is share-locked: it must
    // copy what it keeps and never call back into PostgreSQL.
    virtual void scan_leaf(std::size_t leaf, const ChunkVisitor& visit) = 0;
};

// Everything a search reads. The tree's permutation and leaf ranges are not needed.
struct IndexView {
    Metric metric = Metric::L2;
    std::size_t dim = 0;
    const Tree* tree = nullptr;
    const Quantizer* quantizer = nullptr;
    const float* rotated_centroids = nullptr;  // rabitq: one row of rotated_dim floats per leaf
    LeafCodeSource* codes = nullptr;
    // Whether every row lies within its nodes' radii (Tree::radius), so that a
    // search may bound what an unprobed subtree holds (strict order). True for
    // a built index; an index maintained outside the core says so itself.
    bool radii_cover_rows = true;
};

class CoreIndex {
public:
    Metric metric = Metric::L2;
    std::size_t dim = 0;
    Tree tree;
    Quantizer quantizer;
    std::vector<LeafCodes> leaves;         // parallel to tree.leaves
    std::vector<float> rotated_centroids;  // rabitq: P c per leaf, leaves x rotated_dim

    // Builds the tree over data (row i gets id i) and codes every vector.
    // For Cosine the tree and codes are built over normalised copies.
    static CoreIndex build(const MatrixView& data, const IndexParams& params, const StepCallback& between_steps = {});

    // Bytes of the in-memory structures: centroids, codes, scalars and ids.
    std::size_t memory_bytes() const;
    // Number of indexed vectors.
    std::size_t size() const;
    // The rabitq rotated centroid of a leaf.
    const float* rotated_centroid(std::size_t leaf) const {
        return rotated_centroids.data() + leaf * quantizer.rotated_dim();
    }
};

// Serves a CoreIndex's in-memory leaves to a search.
class MemoryLeafCodes : public LeafCodeSource {
public:
    explicit MemoryLeafCodes(const CoreIndex& index) : index_(index) {}
    void scan_leaf(std::size_t leaf, const ChunkVisitor& visit) override;

private:
    const CoreIndex& index_;
};

// Copies of data's rows scaled to unit norm (zero rows stay zero).
std::vector<float> normalized_copy(const MatrixView& data);

// Where a new vector goes: the leaf of nearest centroid by the beam descent
// every router uses (Tree::nearest_leaf with kRouteBeam: sampled builds and
// inserts), and its code and factors against that leaf's centroid. v is in
// the tree's space (unit length for cosine). Returns the leaf number, or -1
// (code untouched) if the tree has no live leaf. Throws only bad_alloc.
int32_t route_and_encode(const Tree& tree, const Quantizer& quantizer, const float* v, uint64_t* code,
                         CodeFactors* factors);
// The same in the caller's working space (`beam` reserved for the tree,
// `encode_scratch` of Quantizer::encode_scratch_floats() floats): allocates nothing.
int32_t route_and_encode(const Tree& tree, const Quantizer& quantizer, const float* v, uint64_t* code,
                         CodeFactors* factors, BeamScratch* beam, float* encode_scratch);

// route_and_encode for batches of rows on several threads (a sampled build
// routes every row of the table after clustering a sample: on one core that
// was ~2,000 rows/s at 768 dimensions). Rows are as stored (cosine rows are
// normalised here). All working space is sized at construction, per thread,
// so a batch allocates nothing inside its parallel region (a bad_alloc there
// would terminate the server). It also keeps, per thread, the largest
// distance from each node's centroid to a row routed below it; cover() folds
// them into a tree's radii.
class BatchRouter {
public:
    BatchRouter(const Tree& tree, const Quantizer& quantizer, std::size_t batch_rows, int threads);

    std::size_t capacity() const { return capacity_; }
    // Routes rows[0 .. n) (n <= capacity(), row-major, tree.dim floats each).
    // Throws DataError if the tree has no live leaf.
    void route(const float* rows, std::size_t n);

    // Results of the last route() for row i of its batch.
    std::size_t leaf(std::size_t i) const { return static_cast<std::size_t>(leaves_[i]); }
    const uint64_t* code(std::size_t i) const { return codes_.data() + i * words_; }
    const CodeFactors& factors(std::size_t i) const { return factors_[i]; }

    // Raises radius[node] (one per tree node) to cover every row routed so far.
    void cover(std::vector<float>* radius) const;

private:
    struct ThreadScratch {
        BeamScratch beam;
        std::vector<float> nav;          // the row normalised (cosine)
        std::vector<float> encode;       // Quantizer::encode's working space
        std::vector<PathDistance> path;  // the routed row's leaf up to the root
        std::vector<float> reach;        // per node: farthest row routed below it by this thread
    };

    const Tree& tree_;
    const Quantizer& quantizer_;
    std::size_t capacity_;
    int threads_;
    std::size_t words_;
    std::vector<int32_t> leaves_;
    std::vector<uint64_t> codes_;
    std::vector<CodeFactors> factors_;
    std::vector<ThreadScratch> scratch_;
};

}  // namespace vectordb
