// The hierarchical k-means tree. A node holding more than max_leaf_size
// vectors is split by k-means into at most branching_factor children; tiny
// clusters are merged into their nearest sibling; a depth guard stops
// degenerate data (duplicates) from recursing forever. Every node keeps its
// full-precision centroid for navigation; leaves own contiguous ranges of a
// leaf-ordered permutation of the rows, so the vectors of one leaf can be
// stored next to each other.
//
// After the top-down split, a few Lloyd passes over all leaf centroids at once
// let every row move to its nearest leaf anywhere in the tree: upper-level
// splits cut through natural clusters, and this repairs the cuts (on synth-768
// two passes lifted the recall reachable by scanning 6% of the vectors from 0.68 to 0.89).
// Internal centroids are then recomputed as the means of their leaves, and each
// node records the radius of the rows below it, so a search can walk the tree
// best-first by a lower bound on the distance to anything in a subtree.
#pragma once

#include "core/common.h"
#include "core/types.h"

#include <limits>
#include <vector>

namespace vectordb {

// The vtree index options' defaults and bounds, shared by these parameters,
// the reloptions and the benchmarks. The default leaf size keeps leaves of a
// few hundred rows (averages of 200-360 on synth-768 and on 100,000 SIFT
// descriptors), where the old rule's max_leaf_size 1,000 had put them.
constexpr int kDefaultBranchingFactor = 10, kMinBranchingFactor = 2, kMaxBranchingFactor = 256;
constexpr int kDefaultMaxLeafSize = 500, kMinMaxLeafSize = 10, kMaxMaxLeafSize = 100000;
constexpr int kDefaultMaxIterations = 20, kMinMaxIterations = 1, kMaxMaxIterations = 1000;

struct TreeParams {
    int branching_factor = kDefaultBranchingFactor;
    int max_leaf_size = kDefaultMaxLeafSize;
    int max_iterations = kDefaultMaxIterations;
    int max_depth = 12;
    std::size_t min_cluster_size = 0;  // 0 = max(1, max_leaf_size / 20)
    uint64_t seed = 42;
    int threads = 1;
    Metric metric = Metric::L2;
    std::size_t max_training_points = 0;  // per k-means run; 0 = the k-means default
    int refine_iterations = 3;            // global Lloyd passes over all leaf centroids after the split
};

// Beam of nearest_leaf for routing rows after the tree is built (inserts,
// sampled builds): on 2,000 leaves it agrees with looking at every leaf for
// 99.5-99.7% of rows (test_kmeans_tree.cpp).
constexpr std::size_t kRouteBeam = 8;

struct TreeNode {
    int32_t parent;
    int32_t first_child;  // children are nodes[first_child .. first_child + child_count)
    int32_t child_count;
    int32_t leaf;  // index into leaves, -1 for internal nodes
    int32_t depth;
    uint32_t size;  // vectors below
};

struct TreeLeaf {
    int32_t node;
    uint32_t begin;  // range in permutation
    uint32_t count;
};

// A node on a leaf's path to the root and the distance from a vector to its centroid.
struct PathDistance {
    std::size_t node;
    float distance;
};

// A leaf a beam descent reached, and its centroid's score against the vector
// (squared L2, or negative inner product for InnerProduct).
struct ReachedLeaf {
    float score;
    int32_t node;
};

// Puts the `count` nearest of reached[from, end) first, in order (score, then
// node number), leaving the rest after them in no particular order: a search
// needs its leaves in order only as far as it probes, and ordering all 492
// leaves of synth-768's tree took a quarter of a query's time at 8 probes.
void order_reached(std::vector<ReachedLeaf>* reached, std::size_t from, std::size_t count);

class Tree;

// Working space of beam descents, reused from one to the next. reserve()
// sizes it for any descent of a tree (no level, and no set of reached
// leaves, holds more than the tree's nodes), so that a descent with it
// allocates nothing: for routing inside a parallel region.
struct BeamScratch {
    std::vector<ReachedLeaf> reached, level, next;
    void reserve(const Tree& tree);
};

struct TreeStats {
    int depth = 0;
    std::size_t nodes = 0, leaves = 0, min_leaf_size = 0, max_leaf_size = 0;
    double avg_leaf_size = 0;
};

class Tree {
public:
    std::size_t dim = 0;
    Metric metric = Metric::L2;
    std::vector<TreeNode> nodes;   // nodes[0] is the root
    std::vector<float> centroids;  // nodes.size() x dim, unless shared_centroids is set
    // Set when the centroids are kept elsewhere, read-only (a file mapping
    // that every backend shares; its owner keeps it alive): `centroids` is
    // then empty. Whoever changes the centroids copies them back first (own_centroids).
    const float* shared_centroids = nullptr;
    std::vector<TreeLeaf> leaves;
    std::vector<uint32_t> permutation;  // row ids in leaf order
    std::vector<float> radius;          // per node: largest distance from its centroid to a row below

    // The depth (levels), widest fan-out and live leaves of the tree reachable
    // from the root, for choosing between a beam descent and looking at every
    // leaf. Kept by whoever builds or grows the tree (note_shape); a stale
    // shape only makes that choice worse.
    int depth = 1;
    std::size_t widest = 1;
    std::size_t live_leaves = 0;      // leaves that are still leaves (splits and VACUUM retire some)
    std::size_t reachable_nodes = 0;  // nodes a descent can meet (a reshape leaves the old ones behind)

    const float* centroid(std::size_t node) const {
        return (shared_centroids != nullptr ? shared_centroids : centroids.data()) + node * dim;
    }
    // Copies shared centroids back into `centroids` (nothing if they are not shared).
    void own_centroids();
    // Whether leaf number l is still a leaf (splits, VACUUM and reshapes retire some).
    bool is_live_leaf(std::size_t l) const {
        return nodes[static_cast<std::size_t>(leaves[l].node)].leaf == static_cast<int32_t>(l);
    }
    // Recomputes depth, widest and live_leaves from the root down: O(nodes).
    void note_shape();
    // Whether the tree is far deeper than a balanced one of its fan-out over
    // its live leaves (a tree grown by splits below splits).
    bool far_too_deep() const;
    // The beam to use for `beam`: unchanged where a beam descent scores fewer
    // centroids than the tree has reachable nodes, every node where it would not (then
    // looking at every leaf costs no more, and finds the exact order). Every
    // node too where the tree is far deeper than a balanced one over its
    // leaves (a tree grown by splits below splits): a beam decides at every
    // level, and over tens of levels its misses add up (on 100,000 SIFT rows
    // grown from an empty index, depth 43: recall 0.37 at 4 probes against
    // 0.73 for a rebuilt tree).
    std::size_t effective_beam(std::size_t beam) const;
    TreeStats stats() const;
    // Leaf reached by greedy descent: the nearest child centroid at each level.
    int32_t route(const float* v) const;
    // The leaf whose centroid is nearest v (squared L2; largest inner product
    // for InnerProduct), found by a beam descent that keeps the `beam` nearest
    // nodes of each level: O(beam x branching x depth x dim) instead of
    // O(leaves x dim), and exact when the tree is small enough for the beam to
    // cost as much as looking at every leaf (then it does). v must be in the
    // tree's space (unit for cosine). Removed leaves (nodes that are neither
    // leaves nor have children) are passed over; -1 only if no leaf is left.
    int32_t nearest_leaf(const float* v, std::size_t beam) const;
    // The same in the caller's working space (allocation-free once reserved).
    int32_t nearest_leaf(const float* v, std::size_t beam, BeamScratch* scratch) const;
    // Every leaf a beam descent reaches, keeping the `beam` nearest nodes of
    // each level (leaves and internal nodes compete for the places), into
    // *out, the `ordered` nearest first in order of centroid distance and the
    // rest after them unordered (order_reached orders more); removed leaves
    // are passed over. Scores at most beam x branching x depth centroids
    // (*scored counts them). Returns true if no level needed cutting, so every
    // leaf was reached.
    bool beam_leaves(const float* v, std::size_t beam, std::vector<ReachedLeaf>* out, std::size_t* scored,
                     std::size_t ordered = std::numeric_limits<std::size_t>::max()) const;
    // The same with the levels kept in `scratch` (out may be &scratch->reached).
    bool beam_leaves(const float* v, std::size_t beam, std::vector<ReachedLeaf>* out, std::size_t* scored,
                     std::size_t ordered, BeamScratch* scratch) const;
    // The Euclidean distance (in the tree's space) from v to the centroid of
    // every node from leaf `leaf`'s up to the root, in that order, into *out:
    // what the radii of those nodes must cover for v to lie within them.
    void path_distances(std::size_t leaf, const float* v, std::vector<PathDistance>* out) const;
};

// How many children a node of `rows` rows (more than max_leaf_size) is cut
// into: as many as leaves of at most max_leaf_size rows need, 2 to
// branching_factor. The build cuts every node by it and a leaf that outgrows
// max_leaf_size is split by it, so leaves hold between about half and all of
// max_leaf_size rows whether the build made them or the table grew them, and
// a grown tree has as many leaves as a rebuilt one. (Cutting every node into
// branching_factor children instead made leaf sizes jump with the table's
// size: 100 or 1,000 rows at max_leaf_size 1,000, by where the table's size
// fell between powers of ten and how unevenly k-means cut the data.)
int split_children(std::size_t rows, int branching_factor, int max_leaf_size);

Tree build_tree(const MatrixView& data, const TreeParams& params, const StepCallback& between_steps = {});

// A node of new internal levels over a tree's live leaves (plan_upper_levels).
struct ShapedNode {
    int32_t parent;               // index into the plan; -1: a child of the root
    int32_t leaf;                 // the live leaf this node is, or -1 for an internal node
    uint32_t size;                // rows below, from the leaves' sizes
    std::vector<float> centroid;  // internal nodes: the size-weighted mean of the leaves' centroids
};

// New internal levels for a tree that growth made far too deep: the live
// leaves clustered by their centroids the way the build clusters rows
// (branching_factor children a node, k-means seeded by `seed`), as nodes in
// breadth-first order, each node's children contiguous. The leaves keep their
// numbers, centroids and radii; radii of the new nodes are computed when the
// plan is applied. Empty if the tree has fewer than two live leaves.
std::vector<ShapedNode> plan_upper_levels(const Tree& tree, int branching_factor, uint64_t seed);

// Puts a plan of plan_upper_levels in place of the tree's nodes: node 0 the
// root, the plan's nodes after it, and one childless node for the leaves that
// are no longer live, so the tree holds no more nodes than its shape needs
// (node numbers change: a radius raise must be computed on the tree it is
// applied to). Leaves keep their numbers, centroids and radii; each internal
// radius is computed to cover its children's balls, from the leaves' radii at
// the time of applying (raises may have come between planning and applying),
// so every row stays within the radius of every new ancestor. DataError, with the tree
// unchanged, if the plan does not fit the tree (a parent after its child,
// children not contiguous, a leaf that is not live or appears twice).
void apply_upper_levels(Tree& tree, const std::vector<ShapedNode>& plan);

}  // namespace vectordb
