// Building the hierarchical k-means tree (see tree.h).
//
// Nodes are split in breadth-first order so that each node's children are
// appended next to each other. A node of more than max_leaf_size rows is split
// into split_children clusters (see tree.h): branching_factor high in the
// tree, just enough for leaves of max_leaf_size at the bottom, so leaves end
// up between about half and all of max_leaf_size rows, as a leaf split by
// growth does. At one max_leaf_size this gives fewer, larger leaves than
// cutting every node into branching_factor children did, which needs a larger
// scanned share for the same recall; at equal leaf sizes (this rule at 500,
// the old one at 1,000) both measured the same on synth-768 and on SIFT
// descriptors. k-means trains on a sample of the
// node's rows (copied, so only the sample is ever gathered), then every row of
// the node is assigned to its nearest centroid in parallel.
#include "core/tree.h"

#include "core/distance.h"
#include "core/errors.h"
#include "core/kmeans.h"
#include "core/parallel.h"
#include "core/random.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <string>

namespace vectordb {
namespace {

void check(const TreeParams& p) {
    if (p.branching_factor < 2) throw InvalidArgument("branching_factor must be at least 2");
    if (p.max_leaf_size < 1) throw InvalidArgument("max_leaf_size must be at least 1");
    if (p.max_iterations < 1) throw InvalidArgument("max_iterations must be at least 1");
    if (p.max_depth < 1) throw InvalidArgument("max_depth must be at least 1");
    if (p.refine_iterations < 0) throw InvalidArgument("refine_iterations must not be negative");
}

void normalize_if_spherical(float* v, std::size_t dim, Metric metric) {
    if (metric != Metric::L2) normalize(v, dim);
}

// Mean (normalised for spherical metrics) of the given rows. Rows are summed
// in fixed blocks, in parallel, and the block sums added in order, so the
// result does not depend on the thread count.
std::vector<float> mean_of(const MatrixView& data, const std::vector<uint32_t>& rows, Metric metric, int threads) {
    constexpr std::size_t kBlock = 2048;
    const std::size_t dim = data.dim;
    const std::size_t blocks = (rows.size() + kBlock - 1) / kBlock;
    std::vector<double> partial(blocks * dim, 0.0);
    parallel_for(static_cast<std::ptrdiff_t>(blocks), blocks > 1 ? threads : 1, [&](std::ptrdiff_t b) {
        double* sum = partial.data() + static_cast<std::size_t>(b) * dim;
        const std::size_t end = std::min(rows.size(), (static_cast<std::size_t>(b) + 1) * kBlock);
        for (std::size_t i = static_cast<std::size_t>(b) * kBlock; i < end; i++) {
            const float* v = data.row(rows[i]);
            for (std::size_t j = 0; j < dim; j++) sum[j] += v[j];
        }
    });
    std::vector<double> sum(dim, 0.0);
    for (std::size_t b = 0; b < blocks; b++)
        for (std::size_t j = 0; j < dim; j++) sum[j] += partial[b * dim + j];
    std::vector<float> mean(dim);
    for (std::size_t j = 0; j < dim; j++) mean[j] = rows.empty() ? 0.0f : static_cast<float>(sum[j] / rows.size());
    normalize_if_spherical(mean.data(), dim, metric);
    return mean;
}

// Distance used for radii: Euclidean between (unit, for spherical) vectors.
float euclid(const float* a, const float* b, std::size_t dim) { return std::sqrt(l2_squared_distance(a, b, dim)); }

struct Pending {
    int32_t node;
    std::vector<uint32_t> rows;
};

// Splits `rows` into at most k clusters: k-means on a seeded sample, then
// every row assigned in parallel. Returns the cluster of each row and k.
std::vector<uint32_t> split(const MatrixView& data, const std::vector<uint32_t>& rows, int k, const TreeParams& params,
                            uint64_t seed, std::vector<float>* centroids, const StepCallback& between_steps) {
    const std::size_t n = rows.size();
    const std::size_t limit =
        params.max_training_points ? params.max_training_points : static_cast<std::size_t>(k) * 256;
    std::vector<uint32_t> ids(rows);
    std::size_t take = n;
    if (n > limit) {
        SplitMix64 rng(seed);
        for (std::size_t i = 0; i < limit; i++) std::swap(ids[i], ids[i + rng.next() % (n - i)]);
        take = limit;
        std::sort(ids.begin(), ids.begin() + static_cast<long>(take));
    }
    std::vector<float> sample(take * data.dim);
    for (std::size_t i = 0; i < take; i++)
        std::copy(data.row(ids[i]), data.row(ids[i]) + data.dim, sample.begin() + static_cast<long>(i * data.dim));

    KMeansParams kp;
    kp.k = k;
    kp.max_iterations = params.max_iterations;
    kp.max_training_points = take;
    kp.seed = seed;
    kp.threads = params.threads;
    kp.metric = params.metric;
    KMeansResult km = kmeans(MatrixView{sample.data(), take, data.dim}, kp, between_steps);
    const std::size_t clusters = km.sizes.size();
    std::vector<uint32_t> assignment(n);
    assign_nearest(data, rows.data(), n, km.centroids.data(), clusters, params.metric, params.threads,
                   assignment.data());
    *centroids = std::move(km.centroids);
    return assignment;
}

// Lloyd passes over all leaf centroids together; updates leaf_rows and centroids.
void refine_leaves(const MatrixView& data, const TreeParams& params, Tree& tree,
                   std::vector<std::vector<uint32_t>>& leaf_rows, const StepCallback& between_steps) {
    std::vector<int32_t> leaf_nodes(leaf_rows.size());
    for (std::size_t i = 0; i < tree.nodes.size(); i++)
        if (tree.nodes[i].leaf >= 0) leaf_nodes[static_cast<std::size_t>(tree.nodes[i].leaf)] = static_cast<int32_t>(i);
    const std::size_t L = leaf_nodes.size();
    if (L < 2) return;
    std::vector<float> cents(L * data.dim);
    for (std::size_t l = 0; l < L; l++) {
        const float* c = tree.centroid(static_cast<std::size_t>(leaf_nodes[l]));
        std::copy(c, c + data.dim, cents.begin() + static_cast<long>(l * data.dim));
    }
    std::vector<uint32_t> owner(data.rows);
    for (int pass = 0; pass < params.refine_iterations; pass++) {
        assign_nearest(data, nullptr, data.rows, cents.data(), L, params.metric, params.threads, owner.data());
        for (auto& rows : leaf_rows) rows.clear();
        for (std::size_t i = 0; i < data.rows; i++) leaf_rows[owner[i]].push_back(static_cast<uint32_t>(i));
        for (std::size_t l = 0; l < L; l++) {
            if (leaf_rows[l].empty()) continue;  // an emptied leaf keeps its centroid and stays empty
            const std::vector<float> c = mean_of(data, leaf_rows[l], params.metric, params.threads);
            std::copy(c.begin(), c.end(), cents.begin() + static_cast<long>(l * data.dim));
        }
        if (between_steps) between_steps();
    }
    for (std::size_t l = 0; l < L; l++)
        std::copy(cents.begin() + static_cast<long>(l * data.dim),
                  cents.begin() + static_cast<long>((l + 1) * data.dim),
                  tree.centroids.begin() + static_cast<long>(static_cast<std::size_t>(leaf_nodes[l]) * data.dim));
}

// Internal centroids as size-weighted means of their children, sizes and radii, bottom-up.
void finish_nodes(const MatrixView& data, Tree& tree, const std::vector<std::vector<uint32_t>>& leaf_rows,
                  Metric metric) {
    const std::size_t dim = data.dim;
    tree.radius.assign(tree.nodes.size(), 0.0f);
    // Children always come after their parent, so a reverse sweep sees children first.
    for (std::size_t i = tree.nodes.size(); i-- > 0;) {
        TreeNode& node = tree.nodes[i];
        if (node.leaf >= 0) {
            const auto& rows = leaf_rows[static_cast<std::size_t>(node.leaf)];
            node.size = static_cast<uint32_t>(rows.size());
            float r = 0;
            for (uint32_t row : rows) r = std::max(r, euclid(tree.centroid(i), data.row(row), dim));
            tree.radius[i] = r;
            continue;
        }
        std::vector<double> sum(dim, 0.0);
        uint32_t size = 0;
        for (int32_t c = node.first_child; c < node.first_child + node.child_count; c++) {
            const TreeNode& child = tree.nodes[static_cast<std::size_t>(c)];
            const float* cc = tree.centroid(static_cast<std::size_t>(c));
            for (std::size_t j = 0; j < dim; j++) sum[j] += static_cast<double>(cc[j]) * child.size;
            size += child.size;
        }
        node.size = size;
        float* centre = tree.centroids.data() + i * dim;
        if (size > 0) {
            for (std::size_t j = 0; j < dim; j++) centre[j] = static_cast<float>(sum[j] / size);
            normalize_if_spherical(centre, dim, metric);
        }
        // A child's ball lies within |centre - child centre| + child radius.
        float r = 0;
        for (int32_t c = node.first_child; c < node.first_child + node.child_count; c++) {
            if (tree.nodes[static_cast<std::size_t>(c)].size == 0) continue;
            r = std::max(r, euclid(centre, tree.centroid(static_cast<std::size_t>(c)), dim) +
                                tree.radius[static_cast<std::size_t>(c)]);
        }
        tree.radius[i] = r;
    }
}

}  // namespace

TreeStats Tree::stats() const {
    TreeStats s;
    s.nodes = nodes.size();
    s.leaves = leaves.size();
    s.min_leaf_size = leaves.empty() ? 0 : std::numeric_limits<std::size_t>::max();
    std::size_t total = 0;
    s.depth = depth;
    for (const TreeLeaf& l : leaves) {
        s.min_leaf_size = std::min<std::size_t>(s.min_leaf_size, l.count);
        s.max_leaf_size = std::max<std::size_t>(s.max_leaf_size, l.count);
        total += l.count;
    }
    s.avg_leaf_size = leaves.empty() ? 0.0 : static_cast<double>(total) / leaves.size();
    return s;
}

int32_t Tree::route(const float* v) const {
    std::size_t node = 0;
    while (nodes[node].leaf < 0) {
        const TreeNode& n = nodes[node];
        const uint32_t c = nearest_centroid(centroid(static_cast<std::size_t>(n.first_child)),
                                            static_cast<std::size_t>(n.child_count), dim, v, metric);
        node = static_cast<std::size_t>(n.first_child) + c;
    }
    return nodes[node].leaf;
}

void Tree::note_shape() {
    widest = 1;
    depth = 1;
    live_leaves = 0;
    reachable_nodes = 0;
    if (nodes.empty()) return;
    // From the root down: nodes a reshape replaced are not part of the shape.
    std::vector<std::pair<std::size_t, int>> stack{{0, 1}};
    while (!stack.empty()) {
        const auto [i, level] = stack.back();
        stack.pop_back();
        const TreeNode& n = nodes[i];
        depth = std::max(depth, level);
        widest = std::max<std::size_t>(widest, static_cast<std::size_t>(n.child_count));
        live_leaves += n.leaf >= 0;
        reachable_nodes++;
        for (int32_t c = n.first_child; c < n.first_child + n.child_count; c++)
            stack.emplace_back(static_cast<std::size_t>(c), level + 1);
    }
}

void Tree::own_centroids() {
    if (shared_centroids == nullptr) return;
    centroids.assign(shared_centroids, shared_centroids + nodes.size() * dim);
    shared_centroids = nullptr;
}

bool Tree::far_too_deep() const {
    // Levels a tree of this fan-out needs for its leaves, plus slack for the
    // unevenness of k-means and of growth.
    const double balanced = std::ceil(std::log(static_cast<double>(std::max<std::size_t>(2, live_leaves))) /
                                      std::log(static_cast<double>(std::max<std::size_t>(2, widest))));
    return depth > 2 * static_cast<int>(balanced) + 2;
}

std::size_t Tree::effective_beam(std::size_t beam) const {
    const std::size_t whole = std::max(beam, nodes.size());
    if (reachable_nodes <= beam * widest * static_cast<std::size_t>(depth) || far_too_deep()) return whole;
    return beam;
}

int32_t Tree::nearest_leaf(const float* v, std::size_t beam) const {
    BeamScratch scratch;
    return nearest_leaf(v, beam, &scratch);
}

int32_t Tree::nearest_leaf(const float* v, std::size_t beam, BeamScratch* scratch) const {
    // A beam whose paths all ended in removed leaves looks at every leaf.
    beam = effective_beam(beam);
    std::vector<ReachedLeaf>& reached = scratch->reached;
    std::size_t scored = 0;
    // Only the nearest is wanted: ordering every reached leaf was a third of
    // a sampled build's routing time.
    beam_leaves(v, beam, &reached, &scored, 1, scratch);
    if (reached.empty() && beam < nodes.size()) beam_leaves(v, nodes.size(), &reached, &scored, 1, scratch);
    return reached.empty() ? -1 : nodes[static_cast<std::size_t>(reached.front().node)].leaf;
}

void BeamScratch::reserve(const Tree& tree) {
    reached.reserve(tree.nodes.size());
    level.reserve(tree.nodes.size());
    next.reserve(tree.nodes.size());
}

namespace {

bool nearer(const ReachedLeaf& a, const ReachedLeaf& b) {
    return a.score < b.score || (a.score == b.score && a.node < b.node);
}

}  // namespace

void order_reached(std::vector<ReachedLeaf>* reached, std::size_t from, std::size_t count) {
    if (from >= reached->size()) return;
    const auto first = reached->begin() + static_cast<long>(from);
    const auto middle = first + static_cast<long>(std::min(count, reached->size() - from));
    if (middle < reached->end()) std::nth_element(first, middle - 1, reached->end(), nearer);
    std::sort(first, middle, nearer);
}

bool Tree::beam_leaves(const float* v, std::size_t beam, std::vector<ReachedLeaf>* out, std::size_t* scored,
                       std::size_t ordered) const {
    BeamScratch scratch;
    return beam_leaves(v, beam, out, scored, ordered, &scratch);
}

bool Tree::beam_leaves(const float* v, std::size_t beam, std::vector<ReachedLeaf>* out, std::size_t* scored,
                       std::size_t ordered, BeamScratch* scratch) const {
    const auto score = [&](std::size_t node) {
        ++*scored;
        return metric == Metric::InnerProduct ? -inner_product(centroid(node), v, dim)
                                              : l2_squared_distance(centroid(node), v, dim);
    };
    out->clear();
    if (beam >= reachable_nodes && reachable_nodes > 0) {
        // A beam as wide as the tree keeps every node of every level: the
        // live leaves are what it reaches, so score them alone (a third of a
        // build's nodes are internal ones).
        for (std::size_t l = 0; l < leaves.size(); l++)
            if (is_live_leaf(l)) out->push_back({score(static_cast<std::size_t>(leaves[l].node)), leaves[l].node});
        order_reached(out, 0, ordered);
        return true;
    }
    bool whole = true;
    std::vector<ReachedLeaf>& level = scratch->level;
    std::vector<ReachedLeaf>& next = scratch->next;
    level.assign(1, ReachedLeaf{score(0), 0});
    while (!level.empty()) {
        next.clear();
        for (const ReachedLeaf& r : level) {
            const TreeNode& node = nodes[static_cast<std::size_t>(r.node)];
            if (node.leaf >= 0) {
                out->push_back(r);
                continue;
            }
            for (int32_t c = node.first_child; c < node.first_child + node.child_count; c++) {
                const TreeNode& child = nodes[static_cast<std::size_t>(c)];
                if (child.leaf < 0 && child.child_count == 0) continue;  // a removed leaf: nothing below
                next.push_back({score(static_cast<std::size_t>(c)), c});
            }
        }
        if (next.size() > beam) {
            std::nth_element(next.begin(), next.begin() + static_cast<long>(beam) - 1, next.end(), nearer);
            next.resize(beam);
            whole = false;
        }
        level.swap(next);
    }
    order_reached(out, 0, ordered);
    return whole;
}

void Tree::path_distances(std::size_t leaf, const float* v, std::vector<PathDistance>* out) const {
    out->clear();
    for (int32_t node = leaves[leaf].node; node >= 0; node = nodes[static_cast<std::size_t>(node)].parent) {
        const auto n = static_cast<std::size_t>(node);
        out->push_back({n, euclid(centroid(n), v, dim)});
    }
}

int split_children(std::size_t rows, int branching_factor, int max_leaf_size) {
    const auto per_leaf = static_cast<std::size_t>(std::max(1, max_leaf_size));
    const std::size_t wanted = (rows + per_leaf - 1) / per_leaf;
    return static_cast<int>(
        std::clamp<std::size_t>(wanted, 2, static_cast<std::size_t>(std::max(2, branching_factor))));
}

Tree build_tree(const MatrixView& data, const TreeParams& params, const StepCallback& between_steps) {
    check(params);
    if (data.rows == 0 || data.dim == 0) throw InvalidArgument("cannot build a tree over no vectors");
    if (data.rows > std::numeric_limits<uint32_t>::max()) throw LimitExceeded("too many vectors for one tree");
    const std::size_t min_cluster =
        params.min_cluster_size ? params.min_cluster_size : std::max<std::size_t>(1, params.max_leaf_size / 20);

    Tree tree;
    tree.dim = data.dim;
    tree.metric = params.metric;
    std::vector<std::vector<uint32_t>> leaf_rows;

    std::vector<uint32_t> all(data.rows);
    for (std::size_t i = 0; i < data.rows; i++) all[i] = static_cast<uint32_t>(i);
    tree.nodes.push_back({-1, -1, 0, -1, 0, static_cast<uint32_t>(data.rows)});
    const std::vector<float> root = mean_of(data, all, params.metric, params.threads);
    tree.centroids.insert(tree.centroids.end(), root.begin(), root.end());

    std::deque<Pending> queue;
    queue.push_back({0, std::move(all)});
    uint64_t split_seed = params.seed;
    while (!queue.empty()) {
        Pending p = std::move(queue.front());
        queue.pop_front();
        const std::size_t n = p.rows.size();
        const int32_t depth = tree.nodes[static_cast<std::size_t>(p.node)].depth;

        std::vector<std::vector<uint32_t>> groups;
        if (n > static_cast<std::size_t>(params.max_leaf_size) && depth + 1 < params.max_depth) {
            const int k = split_children(n, params.branching_factor, params.max_leaf_size);
            std::vector<float> centroids;
            const std::vector<uint32_t> assignment =
                split(data, p.rows, k, params, ++split_seed, &centroids, between_steps);
            const std::size_t clusters = centroids.size() / data.dim;
            std::vector<std::vector<uint32_t>> members(clusters);
            for (std::size_t i = 0; i < n; i++) members[assignment[i]].push_back(p.rows[i]);

            // Clusters below min_cluster join the nearest cluster that is kept.
            std::vector<std::size_t> keep;
            for (std::size_t c = 0; c < clusters; c++)
                if (members[c].size() >= min_cluster) keep.push_back(c);
            for (std::size_t c = 0; c < clusters; c++) {
                if (members[c].size() >= min_cluster || members[c].empty() || keep.empty()) continue;
                std::size_t best = keep[0];
                float best_d = std::numeric_limits<float>::max();
                for (std::size_t kc : keep) {
                    const float d = l2_squared_distance(centroids.data() + c * data.dim,
                                                        centroids.data() + kc * data.dim, data.dim);
                    if (d < best_d) best_d = d, best = kc;
                }
                members[best].insert(members[best].end(), members[c].begin(), members[c].end());
            }
            for (std::size_t kc : keep) groups.push_back(std::move(members[kc]));
            // One cluster (e.g. duplicate rows) cannot split: this node stays a leaf.
            if (groups.size() < 2) groups.clear();
            if (between_steps) between_steps();
        }

        if (groups.empty()) {
            tree.nodes[static_cast<std::size_t>(p.node)].leaf = static_cast<int32_t>(leaf_rows.size());
            leaf_rows.push_back(std::move(p.rows));
            continue;
        }
        const auto first = static_cast<int32_t>(tree.nodes.size());
        tree.nodes[static_cast<std::size_t>(p.node)].first_child = first;
        tree.nodes[static_cast<std::size_t>(p.node)].child_count = static_cast<int32_t>(groups.size());
        for (std::size_t g = 0; g < groups.size(); g++) {
            const std::vector<float> c = mean_of(data, groups[g], params.metric, params.threads);
            tree.centroids.insert(tree.centroids.end(), c.begin(), c.end());
            tree.nodes.push_back({p.node, -1, 0, -1, depth + 1, static_cast<uint32_t>(groups[g].size())});
            queue.push_back({first + static_cast<int32_t>(g), std::move(groups[g])});
        }
    }

    refine_leaves(data, params, tree, leaf_rows, between_steps);
    finish_nodes(data, tree, leaf_rows, params.metric);

    // Leaves renumbered in node order, each a contiguous range of the permutation.
    tree.permutation.reserve(data.rows);
    for (std::size_t i = 0; i < tree.nodes.size(); i++) {
        TreeNode& node = tree.nodes[i];
        if (node.leaf < 0) continue;
        const std::vector<uint32_t>& rows = leaf_rows[static_cast<std::size_t>(node.leaf)];
        node.leaf = static_cast<int32_t>(tree.leaves.size());
        tree.leaves.push_back({static_cast<int32_t>(i), static_cast<uint32_t>(tree.permutation.size()),
                               static_cast<uint32_t>(rows.size())});
        tree.permutation.insert(tree.permutation.end(), rows.begin(), rows.end());
    }
    tree.note_shape();
    return tree;
}

std::vector<ShapedNode> plan_upper_levels(const Tree& tree, int branching_factor, uint64_t seed) {
    const std::size_t dim = tree.dim;
    const auto branching = static_cast<std::size_t>(std::max(2, branching_factor));
    std::vector<uint32_t> live;
    for (std::size_t l = 0; l < tree.leaves.size(); l++)
        if (tree.is_live_leaf(l)) live.push_back(static_cast<uint32_t>(l));
    std::vector<ShapedNode> plan;
    if (live.size() < 2) return plan;
    const auto leaf_centroid = [&](uint32_t l) { return tree.centroid(static_cast<std::size_t>(tree.leaves[l].node)); };
    const auto leaf_size = [&](uint32_t l) { return tree.nodes[static_cast<std::size_t>(tree.leaves[l].node)].size; };

    // Breadth first: a group of leaves under a parent becomes that parent's
    // children at once, so that they are contiguous.
    struct Group {
        int32_t parent;
        std::vector<uint32_t> leaves;
    };
    std::deque<Group> queue;
    queue.push_back({-1, std::move(live)});
    std::vector<float> points;
    while (!queue.empty()) {
        Group g = std::move(queue.front());
        queue.pop_front();
        if (g.leaves.size() <= branching) {
            for (uint32_t l : g.leaves) plan.push_back({g.parent, static_cast<int32_t>(l), leaf_size(l), {}});
            continue;
        }
        points.resize(g.leaves.size() * dim);
        for (std::size_t i = 0; i < g.leaves.size(); i++)
            std::copy(leaf_centroid(g.leaves[i]), leaf_centroid(g.leaves[i]) + dim, points.data() + i * dim);
        KMeansParams kp;
        kp.k = static_cast<int>(branching);
        kp.seed = ++seed;
        kp.metric = tree.metric;
        const KMeansResult km = kmeans(MatrixView{points.data(), g.leaves.size(), dim}, kp);
        std::vector<std::vector<uint32_t>> members(km.centroids.size() / dim);
        for (std::size_t i = 0; i < g.leaves.size(); i++) members[km.assignment[i]].push_back(g.leaves[i]);
        members.erase(std::remove_if(members.begin(), members.end(), [](const auto& m) { return m.empty(); }),
                      members.end());
        std::size_t largest = 0;
        for (const auto& m : members) largest = std::max(largest, m.size());
        if (members.size() < 2 || 2 * largest > g.leaves.size()) {
            // k-means left most leaves in one group (or could not tell them
            // apart): that would nest the tree as deep as it was. Cut the
            // leaves, ordered along the coordinate where their centroids vary
            // most, into even parts, so the depth stays logarithmic.
            std::size_t widest_axis = 0;
            double widest_spread = -1;
            for (std::size_t j = 0; j < dim; j++) {
                double lo = std::numeric_limits<double>::max(), hi = std::numeric_limits<double>::lowest();
                for (uint32_t l : g.leaves)
                    lo = std::min<double>(lo, leaf_centroid(l)[j]), hi = std::max<double>(hi, leaf_centroid(l)[j]);
                if (hi - lo > widest_spread) widest_spread = hi - lo, widest_axis = j;
            }
            std::vector<uint32_t> order = g.leaves;
            std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
                return leaf_centroid(a)[widest_axis] < leaf_centroid(b)[widest_axis];
            });
            members.assign(branching, {});
            for (std::size_t i = 0; i < order.size(); i++) members[i * branching / order.size()].push_back(order[i]);
        }
        for (std::vector<uint32_t>& m : members) {
            ShapedNode node{g.parent, -1, 0, std::vector<float>(dim, 0.0f)};
            std::vector<double> sum(dim, 0.0);
            double total = 0;
            for (uint32_t l : m) {
                const float* c = leaf_centroid(l);
                const double w = std::max<uint32_t>(1, leaf_size(l));
                for (std::size_t j = 0; j < dim; j++) sum[j] += w * c[j];
                total += w;
                node.size += leaf_size(l);
            }
            for (std::size_t j = 0; j < dim; j++) node.centroid[j] = static_cast<float>(sum[j] / total);
            normalize_if_spherical(node.centroid.data(), dim, tree.metric);
            plan.push_back(std::move(node));
            queue.push_back({static_cast<int32_t>(plan.size() - 1), std::move(m)});
        }
    }
    return plan;
}

void apply_upper_levels(Tree& tree, const std::vector<ShapedNode>& plan) {
    const std::size_t dim = tree.dim;
    // Check everything first, so that a bad plan leaves the tree as it was.
    std::vector<bool> seen(tree.leaves.size(), false);
    std::size_t leaves_in_plan = 0;
    for (std::size_t i = 0; i < plan.size(); i++) {
        const ShapedNode& n = plan[i];
        if (n.parent >= static_cast<int32_t>(i) ||
            (n.parent >= 0 && plan[static_cast<std::size_t>(n.parent)].leaf >= 0))
            throw DataError("vtree reshape record: a node's parent does not come before it");
        if (i > 0 && n.parent < plan[i - 1].parent)
            throw DataError("vtree reshape record: a node's children are not contiguous");
        if (n.leaf >= 0) {
            const auto l = static_cast<std::size_t>(n.leaf);
            if (l >= tree.leaves.size() || seen[l] || !tree.is_live_leaf(l))
                throw DataError("vtree reshape record names a leaf the tree does not have");
            seen[l] = true;
            leaves_in_plan++;
        } else if (n.centroid.size() != dim) {
            throw DataError("vtree reshape record: an internal node without its centroid");
        }
    }
    std::size_t live = 0;
    for (std::size_t l = 0; l < tree.leaves.size(); l++) live += tree.is_live_leaf(l);
    if (plan.empty() || leaves_in_plan != live) throw DataError("vtree reshape record does not hold every live leaf");

    // The new node array: the root, the plan's nodes (plan node i is node
    // i + 1), and one childless node for every leaf that is no longer live.
    const std::size_t removed = plan.size() + 1;
    std::vector<TreeNode> nodes(plan.size() + 2);
    std::vector<float> centroids(nodes.size() * dim, 0.0f);
    std::vector<float> radius(nodes.size(), 0.0f);
    nodes[0] = {-1, 1, 0, -1, 0, 0};
    std::copy(tree.centroid(0), tree.centroid(0) + dim, centroids.data());
    nodes[removed] = {-1, static_cast<int32_t>(nodes.size()), 0, -1, 0, 0};
    for (std::size_t i = 0; i < plan.size(); i++) {
        const ShapedNode& n = plan[i];
        const std::size_t at = i + 1;
        const std::size_t parent = n.parent < 0 ? 0 : static_cast<std::size_t>(n.parent) + 1;
        TreeNode& p = nodes[parent];
        if (p.child_count == 0) p.first_child = static_cast<int32_t>(at);
        p.child_count++;
        nodes[at] = {static_cast<int32_t>(parent), -1, 0, n.leaf, p.depth + 1, n.size};
        if (n.leaf >= 0) {
            // The leaf's centroid, and its radius as it is now: raises logged
            // after the plan was made but before it are in it.
            const auto old = static_cast<std::size_t>(tree.leaves[static_cast<std::size_t>(n.leaf)].node);
            std::copy(tree.centroid(old), tree.centroid(old) + dim, centroids.data() + at * dim);
            radius[at] = tree.radius[old];
        } else {
            std::copy(n.centroid.begin(), n.centroid.end(), centroids.data() + at * dim);
        }
        nodes[0].size += n.parent < 0 ? n.size : 0;
    }
    // Internal radii from the leaves' balls, bottom up (children follow their
    // parents); the root's last.
    for (std::size_t i = plan.size(); i >= 1; i--) {
        const auto parent = static_cast<std::size_t>(nodes[i].parent);
        radius[parent] = std::max(radius[parent],
                                  euclid(centroids.data() + parent * dim, centroids.data() + i * dim, dim) + radius[i]);
    }
    for (std::size_t l = 0; l < tree.leaves.size(); l++) tree.leaves[l].node = static_cast<int32_t>(removed);
    for (std::size_t i = 1; i <= plan.size(); i++)
        if (nodes[i].leaf >= 0) tree.leaves[static_cast<std::size_t>(nodes[i].leaf)].node = static_cast<int32_t>(i);
    tree.nodes = std::move(nodes);
    tree.centroids = std::move(centroids);
    tree.shared_centroids = nullptr;
    tree.radius = std::move(radius);
    tree.note_shape();
}

}  // namespace vectordb
