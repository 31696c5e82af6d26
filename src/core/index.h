// The in-memory form of a vtree index: the k-means tree, the quantizer and,
// per leaf, the binary codes in scan-ready blocks with their scalars and the
// ids of their vectors. The PostgreSQL index stores the same pieces in pages;
// the core builds it and searches it (search.h).
#pragma once

#include "core/common.h"
#include "core/quantizer.h"
#include "core/tree.h"
#include "core/types.h"

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
    std::vector<uint32_t> ids;            // caller's ids (row numbers, sidecar slots)
    std::vector<float> rotated_centroid;  // rabitq: P c, rotated_dim floats
    std::size_t count() const { return ids.size(); }
};

class CoreIndex {
public:
    Metric metric = Metric::L2;
    std::size_t dim = 0;
    Tree tree;
    Quantizer quantizer;
    std::vector<LeafCodes> leaves;  // parallel to tree.leaves

    // Builds the tree over data (row i gets id i) and codes every vector.
    // For Cosine the tree and codes are built over normalised copies.
    static CoreIndex build(const MatrixView& data, const IndexParams& params,
                           const StepCallback& between_steps = {});

    // Bytes of the in-memory structures: centroids, codes, scalars and ids.
    std::size_t memory_bytes() const;
    // Number of indexed vectors.
    std::size_t size() const;
};

// Copies of data's rows scaled to unit norm (zero rows stay zero).
std::vector<float> normalized_copy(const MatrixView& data);

}  // namespace vectordb
