// Searching a CoreIndex. A query finds its leaves by a beam descent of the
// tree (the 2 x probes nearest centroids of each level, at least kRouteBeam;
// every node where the tree is small enough for that to cost no more, as
// insert routing does, Tree::effective_beam), scans the codes of the nearest
// of the leaves reached, keeps candidates
// ordered by the estimator's score, reranks them exactly through a
// VectorSource and returns neighbours in exact distance order.
//
// The descent scores O(beam x branching x depth) centroids, however large the
// tree. (Walking it best-first by a bound on each subtree, as before, probed
// leaves in exact order of centroid distance but scored most of the tree: in
// many dimensions a subtree's bound is near zero. On 1M SIFT descriptors that
// was 3,460 of 5,591 nodes per query at 8 probes; the beam scores 372, and
// its leaves hold the same neighbours but for 1-2% of recall at equal probes.)
// When the leaves reached run out, a beam twice as wide goes on from where the
// last left off.
// A probe is a leaf that gave candidates: a leaf whose entries are all deleted
// is passed over without counting, so that after mass deletes the probes still
// reach rows; and probing goes on past `probes` leaves until there are k
// candidates (leaves of a row or two are what deletes leave behind).
//
// Order: a row is returned only when no candidate of the probed leaves that
// has not been returned yet can be nearer. With rabitq that is certified by
// the estimator's lower bounds (at `epsilon` standard deviations): a reranked
// row goes out once its exact distance is below every remaining candidate's
// bound. Codes of few dimensions give wide bounds, so more candidates are
// reranked before one is certified; nothing else changes. hamming has no
// bound: every candidate of the probed leaves is reranked before the first
// row goes out. With every leaf probed the result is therefore an exact
// scan's (up to a bound failure, probability ~3e-7 per candidate at 5 sigma).
//
// Candidates are reranked in order of their lower bound (of their estimate
// without trusted bounds): the rows that must be reranked before the nearest
// can be certified are exactly those whose bound is below its distance, so no
// rerank is spent on a row that could not have mattered.
//
// Reranking comes in rounds of k * rerank_factor exact distances: the round
// sets how far ahead vectors are prefetched, never how many rows may be
// returned uncertified; a row that needs more reranks gets another round.
//
// Resumable: next() may be called past k (the index needs this when a WHERE
// clause rejects rows). When the probed leaves run out, the search probes
// `probes` more leaves (unless widen is off or max_scan_codes codes have been
// scanned) and goes on. Results within what has been examined come in exact
// order; a row found in a later round may be nearer than one already returned
// (pgvector calls this relaxed order).
//
// strict_order closes that gap: a row also waits until no unprobed subtree can
// hold a nearer one, judged by the subtree's ball (centroid and radius; the
// index must keep radii that cover its rows, IndexView::radii_cover_rows), and
// the search probes the subtree of lowest bound until it can tell. Every row
// returned is then the exact next nearest, so nothing a later round finds can
// be nearer. Once max_scan_codes codes are scanned it stops widening, and the
// rows of the probed leaves follow in exact order: never out of order, never
// a nearer row skipped for one already returned, only rows never examined missed.
#pragma once

#include "core/common.h"
#include "core/index.h"

#include <limits>
#include <memory>
#include <queue>
#include <vector>

namespace vectordb {

struct SearchParams {
    std::size_t k = 10;
    std::size_t probes = 4;
    std::size_t rerank_factor = 5;
    // rabitq bound width in standard deviations; 0 (the default) takes the
    // metric's (bound_sigmas). The bound certifies order, so a miss is a row
    // out of place.
    float epsilon = 0.0f;
    bool widen = true;               // probe further leaves once the first `probes` are used up
    bool strict_order = false;       // certify rows against unprobed subtrees too (see above)
    std::size_t max_scan_codes = 0;  // stop widening after scanning this many codes; 0 = no limit
};

// The rabitq bound width, in standard deviations, that certifies order for
// `metric`. L2 and cosine: 5, where a normal error exceeds the bound with
// probability 3e-7 (at 3, 1e-3, which LIMIT 1000 scans met every few queries;
// at 4 a few swaps in 200,000 rows). Inner product: 7 (1.3e-12). Its estimate
// is not centred on the leaf's centroid (the query enters whole, not as
// q - c), so when the data share a large common direction every query meets a
// candidate's code error in about the same direction: one code 5 standard
// deviations off for that direction put rows out of order for most queries
// (the differential harness, seed 1796270014: 768 dimensions, estimates
// beyond 4 standard deviations 9 times as often as a normal error gives). At 7
// it costs about a third more reranks (synth-768: 178 -> 244 a query).
float bound_sigmas(Metric metric);

// Where full-precision vectors come from for reranking (memory, mmap, heap).
// Reranks start loading the vector this many places ahead of the one being
// scored (a DRAM miss, and on a mapped file a page walk, is a few scorings'
// time), and at most this many of its bytes: the hardware prefetcher follows
// a sequential read once begun.
constexpr std::size_t kWarmAhead = 4;
constexpr std::size_t kWarmBytes = 1024;

class VectorSource {
public:
    virtual ~VectorSource() = default;
    // The vector with this id (dim floats): a pointer into the source's own
    // memory, or into scratch (dim floats) after copying it there; null if the
    // source has no such vector (it then ranks last).
    virtual const float* vector(uint32_t id, float* scratch) = 0;
    // Hint that these ids will be read soon (a rerank round's worth: the
    // source may ask the kernel to read their pages).
    virtual void prefetch(const uint32_t* ids, std::size_t n) {
        (void)ids;
        (void)n;
    }
    // Hint that this id is read within the next few reranks: the source may
    // start loading it into the CPU's caches (never faulting).
    virtual void warm(uint32_t id) { (void)id; }
};

// Serves vectors from a row-major matrix (row i = id i).
class MatrixSource : public VectorSource {
public:
    explicit MatrixSource(const MatrixView& m) : m_(m) {}
    const float* vector(uint32_t id, float*) override { return m_.row(id); }
    void warm(uint32_t id) override;

private:
    MatrixView m_;
};

struct Neighbor {
    uint32_t id;
    float distance;  // as the SQL operator reports it: L2, negative inner product, cosine distance
};

struct SearchStats {
    std::size_t leaves_probed = 0;
    std::size_t nodes_scored = 0;  // tree nodes whose centroid distance was computed
    std::size_t codes_scanned = 0;
    std::size_t reranked = 0;
    std::size_t returned = 0;
};

class Searcher {
public:
    Searcher(const IndexView& index, const float* query, const SearchParams& params, VectorSource& source);
    // Searches an in-memory index.
    Searcher(const CoreIndex& index, const float* query, const SearchParams& params, VectorSource& source);

    // The next neighbour; false when every indexed vector has been returned.
    bool next(Neighbor* out);
    // Lets a search that has run out of candidates probe `leaves` more
    // leaves (at least `probes`), widening or not (the caller learnt that
    // rows it returned were deleted: they should not have used up the probes).
    void probe_further(std::size_t leaves = 0) { probe_target_ = leaves_with_rows_ + std::max(leaves, params_.probes); }
    const SearchStats& stats() const { return stats_; }

private:
    struct Candidate {
        float lower_bound;
        float score;
        uint32_t id;
    };
    struct Scored {
        float score;
        uint32_t id;
        bool operator>(const Scored& o) const { return score > o.score || (score == o.score && id > o.id); }
    };
    struct NodeEntry {
        float score;
        int32_t node;
        bool operator>(const NodeEntry& o) const { return score > o.score; }
    };

    using NodeQueue = std::priority_queue<NodeEntry, std::vector<NodeEntry>, std::greater<NodeEntry>>;
    bool probe_next_leaf();          // the next leaf of the beam's order, widening the beam when it runs out
    bool probe_lowest_bound_leaf();  // strict order: the unprobed subtree that could hold the nearest row
    bool open_node(int32_t node);    // probes a leaf (true) or puts an internal node's children in the bound queue
    float unprobed_min_bound();      // strict order: lowest bound on a row of an unprobed subtree
    bool can_widen();
    void push_bound(int32_t node);
    void probe_leaf(std::size_t leaf);
    void scan_chunk(const CodeChunk& chunk);
    // Rerank order: lower bound, or the estimate without trusted bounds; ties by id.
    float rank_key(const Candidate& c) const { return by_bound_ ? c.lower_bound : c.score; }
    bool ranks_before(const Candidate& a, const Candidate& b) const {
        const float ka = rank_key(a), kb = rank_key(b);
        return ka < kb || (ka == kb && a.id < b.id);
    }
    void offer_front(const Candidate& c, uint32_t pos);
    void select_batch();
    void take_from_tier(std::size_t batch);  // the batch best of the pool into batch_ (pool larger than batch)
    void prefetch_batch(std::size_t n);      // warms the next n of batch_ from batch_pos_
    const Candidate* peek_candidate();
    float remaining_min_bound() const;  // lowest lower bound among candidates not yet reranked (batch_ not empty)
    void rerank(const Candidate& c);
    bool certified(float score) const;  // no unreranked probed candidate can beat this score
    void grant_round();
    float node_bound(std::size_t node);  // strict order: lowest score a row below the node can have
    float exact_score(uint32_t id);
    float to_distance(float score) const;

    std::unique_ptr<MemoryLeafCodes> memory_codes_;  // when searching a CoreIndex
    IndexView index_;
    const Tree& tree_;
    const Quantizer& quantizer_;
    SearchParams params_;
    VectorSource& source_;
    std::vector<float> query_;          // original query (exact distances)
    std::vector<float> nav_query_;      // normalised for cosine: tree and codes
    std::vector<float> rotated_query_;  // rabitq: P nav_query
    std::vector<float> scratch_;
    float query_norm_ = 0;
    PreparedQuery prepared_;
    std::vector<uint32_t> scanned_;

    // Leaves in probe order: those the last beam descent reached, nearest
    // centroid first (Tree::beam_leaves) as far as reached_ordered_ (ordered
    // further a block at a time as probing gets there), the next to look at,
    // the next beam's width, and whether a beam has reached every leaf.
    std::vector<ReachedLeaf> reached_;
    std::size_t reached_ordered_ = 0;
    std::size_t next_reached_ = 0;
    std::size_t beam_;
    bool every_leaf_reached_ = false;
    // strict order: nodes by the lower bound of their ball (dropping opened
    // entries lazily). Opened nodes: leaves probed by either path, and
    // internal nodes the bound queue expanded.
    NodeQueue bound_frontier_;
    std::vector<char> opened_;
    // Candidates not yet reranked: pool_ unordered; batch_ the next ones to
    // rerank, in rerank order from batch_pos_, all ranking before the pool's.
    // While the pool only grows from empty (the first selection, nearly every
    // query's only one), front_ keeps, as the codes are scanned, the
    // front_capacity_ best-ranked of it (a max-heap, with pool positions), so
    // that selecting needs no pass over the whole pool.
    struct FrontEntry {
        Candidate c;
        uint32_t pos;
    };
    // pool_[0, tier_size_) is the tier: candidates that rank before every
    // other in the pool (0: none). Probing a leaf drops it.
    std::vector<Candidate> pool_;
    std::size_t tier_size_ = 0;
    std::vector<Candidate> batch_;
    std::size_t batch_pos_ = 0;
    std::size_t selections_ = 0;  // batches selected so far (each next one twice as large)
    std::vector<FrontEntry> front_;
    std::size_t front_capacity_ = 0;                              // 0: front_ not kept (it would not cover the pool)
    float front_worst_ = std::numeric_limits<float>::infinity();  // rank key of its worst, once full
    std::vector<uint32_t> prefetch_ids_;
    std::priority_queue<Scored, std::vector<Scored>, std::greater<Scored>> reranked_;

    bool by_bound_;                     // the quantizer's bounds are trusted: rerank in lower-bound order
    float epsilon_;                     // bound width in standard deviations
    std::size_t probe_target_;          // leaves with live entries to probe before reranking
    std::size_t leaves_with_rows_ = 0;  // probed leaves that gave candidates
    std::size_t candidates_seen_ = 0;   // live entries scanned
    std::size_t rerank_budget_;
    SearchStats stats_;
};

// The first params.k neighbours (fewer if the index is smaller).
std::vector<Neighbor> search(const CoreIndex& index, const float* query, const SearchParams& params,
                             VectorSource& source, SearchStats* stats = nullptr);

}  // namespace vectordb
