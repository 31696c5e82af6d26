// Building the in-memory index: tree, then codes leaf by leaf.
#include "core/index.h"

#include "core/code_scan.h"
#include "core/distance.h"
#include "core/errors.h"
#include "core/parallel.h"

#include <algorithm>
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
    const std::size_t scratch_floats = index.quantizer.encode_scratch_floats();
    std::vector<float> encode_scratch(static_cast<std::size_t>(threads) * scratch_floats);
    for (std::size_t l = 0; l < index.leaves.size(); l++) {
        LeafCodes& codes = index.leaves[l];
        const float* centroid = index.tree.centroid(static_cast<std::size_t>(index.tree.leaves[l].node));
        parallel_for(static_cast<std::ptrdiff_t>(codes.count()), threads, [&](std::ptrdiff_t i) {
            const auto t = static_cast<std::size_t>(thread_number());
            uint64_t* code = code_buffers.data() + t * words;
            index.quantizer.encode(data.row(codes.ids[i]), centroid, code, &codes.factors[i],
                                   encode_scratch.data() + t * scratch_floats);
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
    BeamScratch beam;
    std::vector<float> encode_scratch(quantizer.encode_scratch_floats());
    return route_and_encode(tree, quantizer, v, code, factors, &beam, encode_scratch.data());
}

int32_t route_and_encode(const Tree& tree, const Quantizer& quantizer, const float* v, uint64_t* code,
                         CodeFactors* factors, BeamScratch* beam, float* encode_scratch) {
    const int32_t leaf = tree.nearest_leaf(v, kRouteBeam, beam);
    if (leaf < 0) return -1;
    quantizer.encode(v, tree.centroid(static_cast<std::size_t>(tree.leaves[static_cast<std::size_t>(leaf)].node)), code,
                     factors, encode_scratch);
    return leaf;
}

BatchRouter::BatchRouter(const Tree& tree, const Quantizer& quantizer, std::size_t batch_rows, int threads)
    : tree_(tree),
      quantizer_(quantizer),
      capacity_(std::max<std::size_t>(1, batch_rows)),
      threads_(std::max(1, threads)),
      words_(quantizer.words()),
      leaves_(capacity_),
      codes_(capacity_ * words_),
      factors_(capacity_),
      scratch_(static_cast<std::size_t>(threads_)) {
    for (ThreadScratch& s : scratch_) {
        s.beam.reserve(tree);
        s.nav.resize(tree.metric == Metric::Cosine ? tree.dim : 0);
        s.encode.resize(quantizer.encode_scratch_floats());
        s.path.reserve(tree.nodes.size());  // no path is longer than the tree has nodes
        s.reach.assign(tree.nodes.size(), 0.0f);
    }
}

void BatchRouter::route(const float* rows, std::size_t n) {
    if (n > capacity_) throw InvalidArgument("BatchRouter: batch larger than its capacity");
    const std::size_t dim = tree_.dim;
    // Rows cost about the same (one beam descent each): static chunks.
    parallel_for(static_cast<std::ptrdiff_t>(n), threads_, [&](std::ptrdiff_t r) {
        const auto i = static_cast<std::size_t>(r);
        ThreadScratch& s = scratch_[static_cast<std::size_t>(thread_number())];
        const float* x = rows + i * dim;
        if (tree_.metric == Metric::Cosine) {
            std::copy(x, x + dim, s.nav.begin());
            normalize(s.nav.data(), dim);
            x = s.nav.data();
        }
        const int32_t found =
            route_and_encode(tree_, quantizer_, x, codes_.data() + i * words_, &factors_[i], &s.beam, s.encode.data());
        if (found < 0) throw DataError("vtree build: the tree has no leaf to route a row to");
        leaves_[i] = found;
        tree_.path_distances(static_cast<std::size_t>(found), x, &s.path);
        for (const PathDistance& p : s.path) s.reach[p.node] = std::max(s.reach[p.node], p.distance);
    });
}

void BatchRouter::cover(std::vector<float>* radius) const {
    for (const ThreadScratch& s : scratch_)
        for (std::size_t node = 0; node < s.reach.size() && node < radius->size(); node++)
            (*radius)[node] = std::max((*radius)[node], s.reach[node]);
}

}  // namespace vectordb
