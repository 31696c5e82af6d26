// Building the in-memory index: tree, then codes leaf by leaf.
#include "core/index.h"

#include "core/code_scan.h"
#include "core/distance.h"
#include "core/errors.h"
#include "core/parallel.h"

#include <cmath>

namespace vectordb {

std::vector<float> normalized_copy(const MatrixView& data) {
    std::vector<float> out(data.data, data.data + data.rows * data.dim);
    for (std::size_t i = 0; i < data.rows; i++) normalize(out.data() + i * data.dim, data.dim);
    return out;
}

CoreIndex CoreIndex::build(const MatrixView& input, const IndexParams& params, const StepCallback& between_steps) {
    if (input.rows == 0 || input.dim == 0) throw InvalidArgument("cannot build an index over no vectors");
    CoreIndex index;
    index.metric = params.tree.metric;
    index.dim = input.dim;

    std::vector<float> normalized;
    MatrixView data = input;
    if (index.metric == Metric::Cosine) {
        normalized = normalized_copy(input);
        data.data = normalized.data();
    }

    index.tree = build_tree(data, params.tree, between_steps);
    index.quantizer = Quantizer::create(params.quantizer, index.metric, data, params.tree.seed);
    if (between_steps) between_steps();

    const std::size_t words = index.quantizer.words();
    const bool rabitq = params.quantizer == QuantizerKind::RaBitQ;
    index.leaves.resize(index.tree.leaves.size());
    if (rabitq) index.rotated_centroids.resize(index.tree.leaves.size() * index.quantizer.rotated_dim());
    for (std::size_t l = 0; l < index.tree.leaves.size(); l++) {
        const TreeLeaf& leaf = index.tree.leaves[l];
        LeafCodes& codes = index.leaves[l];
        codes.ids.assign(index.tree.permutation.begin() + leaf.begin,
                         index.tree.permutation.begin() + leaf.begin + leaf.count);
        codes.blocks.assign(code_blocks(leaf.count) * kCodeBlock * words, 0ull);
        codes.factors.resize(leaf.count);
        const float* centroid = index.tree.centroid(static_cast<std::size_t>(leaf.node));
        if (rabitq)
            index.quantizer.rotate(centroid, index.rotated_centroids.data() + l * index.quantizer.rotated_dim());
    }

    // Encoding is independent per vector: spread it over threads, one leaf at a
    // time so each thread writes disjoint slots, each with its own code buffer.
    const int threads = std::max(1, params.tree.threads);
    std::vector<uint64_t> code_buffers(static_cast<std::size_t>(threads) * words);
    for (std::size_t l = 0; l < index.leaves.size(); l++) {
        LeafCodes& codes = index.leaves[l];
        const float* centroid = index.tree.centroid(static_cast<std::size_t>(index.tree.leaves[l].node));
        parallel_for(static_cast<std::ptrdiff_t>(codes.count()), threads, [&](std::ptrdiff_t i) {
            uint64_t* code = code_buffers.data() + static_cast<std::size_t>(thread_number()) * words;
            index.quantizer.encode(data.row(codes.ids[i]), centroid, code, &codes.factors[i]);
            store_code(codes.blocks.data(), static_cast<std::size_t>(i), words, code);
        });
        if (between_steps && l % 16 == 15) between_steps();
    }
    return index;
}

std::size_t CoreIndex::memory_bytes() const {
    std::size_t bytes =
        (tree.centroids.size() + rotated_centroids.size()) * sizeof(float) + tree.nodes.size() * sizeof(TreeNode);
    for (const LeafCodes& leaf : leaves) {
        bytes += leaf.blocks.size() * sizeof(uint64_t) + leaf.factors.size() * sizeof(CodeFactors) +
                 leaf.ids.size() * sizeof(uint32_t);
    }
    return bytes;
}

std::size_t CoreIndex::size() const {
    std::size_t n = 0;
    for (const LeafCodes& leaf : leaves) n += leaf.count();
    return n;
}

}  // namespace vectordb

namespace vectordb {

void MemoryLeafCodes::scan_leaf(std::size_t leaf, const ChunkVisitor& visit) {
    const LeafCodes& codes = index_.leaves[leaf];
    if (codes.count() == 0) return;
    visit(CodeChunk{codes.blocks.data(), codes.factors.data(), codes.ids.data(), codes.count()});
}

int32_t route_and_encode(const Tree& tree, const Quantizer& quantizer, const float* v, uint64_t* code,
                         CodeFactors* factors) {
    const int32_t leaf = tree.nearest_leaf(v, kRouteBeam);
    if (leaf < 0) return -1;
    quantizer.encode(v, tree.centroid(static_cast<std::size_t>(tree.leaves[static_cast<std::size_t>(leaf)].node)), code,
                     factors);
    return leaf;
}

}  // namespace vectordb
