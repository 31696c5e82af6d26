// Best-first tree walk, code scan, bound-driven exact rerank (see search.h).
#include "core/search.h"

#include "core/code_scan.h"
#include "core/distance.h"
#include "core/errors.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace vectordb {

namespace {

constexpr std::size_t kMaxFrontBatch = 2048;
// Batches' worth of the best candidates a pass over the pool sets aside (see take_from_tier).
constexpr std::size_t kTierBatches = 16;

IndexView view_of(const CoreIndex& index) {
    IndexView view;
    view.metric = index.metric;
    view.dim = index.dim;
    view.tree = &index.tree;
    view.quantizer = &index.quantizer;
    view.rotated_centroids = index.rotated_centroids.empty() ? nullptr : index.rotated_centroids.data();
    return view;
}

}  // namespace

Searcher::Searcher(const CoreIndex& index, const float* query, const SearchParams& params, VectorSource& source)
    : Searcher(view_of(index), query, params, source) {
    memory_codes_ = std::make_unique<MemoryLeafCodes>(index);
    index_.codes = memory_codes_.get();
}

Searcher::Searcher(const IndexView& index, const float* query, const SearchParams& params, VectorSource& source)
    : index_(index),
      tree_(*index.tree),
      quantizer_(*index.quantizer),
      params_(params),
      source_(source),
      query_(query, query + index.dim),
      scratch_(index.dim) {
    if (params.k == 0) throw InvalidArgument("k must be at least 1");
    if (params.probes == 0) throw InvalidArgument("probes must be at least 1");
    if (params.rerank_factor == 0) throw InvalidArgument("rerank_factor must be at least 1");
    nav_query_ = query_;
    query_norm_ = std::sqrt(squared_norm(query, index.dim));
    if (index.metric == Metric::Cosine) normalize(nav_query_.data(), index.dim);
    if (quantizer_.kind() == QuantizerKind::RaBitQ) {
        rotated_query_.resize(quantizer_.rotated_dim());
        quantizer_.rotate(nav_query_.data(), rotated_query_.data());
    } else {
        quantizer_.prepare_hamming(nav_query_.data(), &prepared_);
    }
    by_bound_ = quantizer_.has_bounds();
    epsilon_ = params.epsilon > 0 ? params.epsilon : bound_sigmas(index.metric);
    probe_target_ = params.probes;
    rerank_budget_ = params.k * params.rerank_factor;
    // Keeping the front costs a heap operation per candidate that enters it:
    // worth it while the batch is small beside a typical pool.
    const std::size_t first_batch = std::max<std::size_t>(rerank_budget_, 64);
    if (first_batch <= kMaxFrontBatch) front_capacity_ = first_batch;
    beam_ = tree_.effective_beam(std::max(kRouteBeam, 2 * params.probes));
    opened_.assign(tree_.nodes.size(), 0);
    if (tree_.nodes.empty())
        every_leaf_reached_ = true;
    else if (params_.strict_order)
        push_bound(0);
}

float Searcher::node_bound(std::size_t node) {
    stats_.nodes_scored++;
    if (!index_.radii_cover_rows) return -std::numeric_limits<float>::infinity();
    const float* c = tree_.centroid(node);
    const float radius = tree_.radius[node];
    // The lowest score a row below the node can have (its ball's nearest
    // point), less a margin for the float rounding of centroid, radius and
    // exact distances, so that it never exceeds a true score.
    constexpr float kRounding = 1e-4f;
    if (index_.metric == Metric::InnerProduct) {
        // <v, q> = <c, q> + <v - c, q> <= <c, q> + |q| |v - c|
        const float ip = inner_product(c, nav_query_.data(), index_.dim);
        const float reach = query_norm_ * radius;
        return -ip - reach - kRounding * (std::fabs(ip) + reach);
    }
    const float d = std::sqrt(l2_squared_distance(c, nav_query_.data(), index_.dim));
    const float gap = d - radius - kRounding * (d + radius);
    return gap > 0 ? gap * gap : 0.0f;
}

void Searcher::push_bound(int32_t node) { bound_frontier_.push({node_bound(static_cast<std::size_t>(node)), node}); }

void MatrixSource::warm(uint32_t id) { prefetch_lines(m_.row(id), std::min(m_.dim * sizeof(float), kWarmBytes)); }

float Searcher::exact_score(uint32_t id) {
    const float* v = source_.vector(id, scratch_.data());
    if (v == nullptr) return std::numeric_limits<float>::infinity();  // the source lost it: rank it last
    switch (index_.metric) {
        case Metric::L2:
            return l2_squared_distance(v, query_.data(), index_.dim);
        case Metric::InnerProduct:
            return -inner_product(v, query_.data(), index_.dim);
        case Metric::Cosine:
            // Scores compare with squared L2 between unit vectors: 2 * cosine distance.
            return static_cast<float>(2.0 * cosine_distance(v, query_.data(), index_.dim));
    }
    return 0.0f;
}

float Searcher::to_distance(float score) const {
    switch (index_.metric) {
        case Metric::L2:
            return std::sqrt(std::max(0.0f, score));
        case Metric::InnerProduct:
            return score;
        case Metric::Cosine:
            return score / 2.0f;
    }
    return score;
}

bool Searcher::open_node(int32_t n) {
    const auto node = static_cast<std::size_t>(n);
    if (opened_[node]) return false;  // a leaf the beam probed already
    opened_[node] = 1;
    const TreeNode& tn = tree_.nodes[node];
    if (tn.leaf >= 0) {
        probe_leaf(static_cast<std::size_t>(tn.leaf));
        return true;
    }
    for (int32_t c = tn.first_child; c < tn.first_child + tn.child_count; c++) push_bound(c);
    return false;
}

bool Searcher::probe_next_leaf() {
    // Leaves are put in order a block at a time: most queries probe a few of them.
    const std::size_t order_block = std::max(kRouteBeam, params_.probes);
    for (;;) {
        while (next_reached_ < reached_.size()) {
            if (next_reached_ == reached_ordered_) {
                order_reached(&reached_, reached_ordered_, order_block);
                reached_ordered_ += order_block;
            }
            const auto node = static_cast<std::size_t>(reached_[next_reached_++].node);
            if (opened_[node]) continue;  // probed already (an earlier beam, or strict order's bounds)
            opened_[node] = 1;
            probe_leaf(static_cast<std::size_t>(tree_.nodes[node].leaf));
            return true;
        }
        if (every_leaf_reached_) return false;
        // A wider beam: it reaches the leaves of the narrower ones again (and
        // passes over them) and further ones. Doubling keeps the rescoring
        // within twice the last beam's cost.
        every_leaf_reached_ = tree_.beam_leaves(nav_query_.data(), beam_, &reached_, &stats_.nodes_scored, order_block);
        reached_ordered_ = order_block;
        next_reached_ = 0;
        beam_ *= 2;
    }
}

bool Searcher::probe_lowest_bound_leaf() {
    while (!bound_frontier_.empty()) {
        const int32_t node = bound_frontier_.top().node;
        bound_frontier_.pop();
        if (open_node(node)) return true;
    }
    return false;
}

float Searcher::unprobed_min_bound() {
    while (!bound_frontier_.empty() && opened_[static_cast<std::size_t>(bound_frontier_.top().node)])
        bound_frontier_.pop();
    return bound_frontier_.empty() ? std::numeric_limits<float>::infinity() : bound_frontier_.top().score;
}

bool Searcher::can_widen() {
    if (!params_.widen) return false;
    if (params_.max_scan_codes > 0 && stats_.codes_scanned >= params_.max_scan_codes) return false;
    return !every_leaf_reached_ || next_reached_ < reached_.size();
}

void Searcher::probe_leaf(std::size_t leaf_index) {
    stats_.leaves_probed++;
    const std::size_t candidates_before = candidates_seen_;
    if (quantizer_.kind() == QuantizerKind::RaBitQ) {
        const TreeLeaf& tl = tree_.leaves[leaf_index];
        const float centroid_ip =
            index_.metric == Metric::InnerProduct
                ? inner_product(tree_.centroid(static_cast<std::size_t>(tl.node)), nav_query_.data(), index_.dim)
                : 0.0f;
        quantizer_.prepare_leaf(rotated_query_.data(), index_.rotated_centroids + leaf_index * quantizer_.rotated_dim(),
                                centroid_ip, &prepared_);
    }
    // New candidates may rank before the tier set aside: the next selection passes over the whole pool.
    tier_size_ = 0;
    index_.codes->scan_leaf(leaf_index, [this](const CodeChunk& chunk) { scan_chunk(chunk); });
    // A leaf without a live entry (all deleted) does not use up a probe:
    // after mass deletes the probes still reach rows.
    if (candidates_seen_ > candidates_before) leaves_with_rows_++;
    if (batch_pos_ < batch_.size()) {
        // New candidates may rank before the batch's rest: select again.
        pool_.insert(pool_.end(), batch_.begin() + static_cast<long>(batch_pos_), batch_.end());
        front_.clear();
        front_capacity_ = 0;
    }
    batch_.clear();
    batch_pos_ = 0;
}

void Searcher::scan_chunk(const CodeChunk& chunk) {
    if (chunk.count == 0) return;
    const std::size_t words = quantizer_.words();
    const std::size_t blocks = code_blocks(chunk.count);
    scanned_.resize(blocks * kCodeBlock);
    if (quantizer_.kind() == QuantizerKind::RaBitQ)
        scan_weighted_popcount(chunk.blocks, blocks, words, prepared_.planes.data(), scanned_.data());
    else
        scan_hamming(chunk.blocks, blocks, words, prepared_.planes.data(), scanned_.data());
    for (std::size_t i = 0; i < chunk.count; i++) {
        if (chunk.ids[i] == kSkipId) continue;
        const Estimate e = quantizer_.estimate(prepared_, scanned_[i], chunk.factors[i], epsilon_);
        const Candidate c{e.lower_bound, e.score, chunk.ids[i]};
        // Most candidates rank well behind the front: one comparison turns them away.
        if (front_capacity_ > 0 && rank_key(c) <= front_worst_) offer_front(c, static_cast<uint32_t>(pool_.size()));
        pool_.push_back(c);
        candidates_seen_++;
    }
    stats_.codes_scanned += chunk.count;
}

void Searcher::offer_front(const Candidate& c, uint32_t pos) {
    const auto worse_first = [this](const FrontEntry& a, const FrontEntry& b) { return ranks_before(a.c, b.c); };
    if (front_.size() < front_capacity_) {
        front_.push_back({c, pos});
        std::push_heap(front_.begin(), front_.end(), worse_first);
    } else if (ranks_before(c, front_.front().c)) {
        std::pop_heap(front_.begin(), front_.end(), worse_first);
        front_.back() = {c, pos};
        std::push_heap(front_.begin(), front_.end(), worse_first);
    } else {
        return;
    }
    if (front_.size() == front_capacity_) front_worst_ = rank_key(front_.front().c);
}

void Searcher::select_batch() {
    // Each later selection takes twice as many as the last: a query whose
    // rows are nearly tied with hundreds of others (it reranks 500 to 1,500)
    // then passes over the pool a few times, not once per 64 reranks.
    // (Twice the last, not twice the budget so far: that grows with every
    // round, and sorting batches of thousands was a fifth of such a query.)
    const std::size_t round = params_.k * params_.rerank_factor;
    const std::size_t batch = std::max<std::size_t>(round, 64) << std::min<std::size_t>(selections_++, 6);
    const auto by_rank = [this](const Candidate& a, const Candidate& b) { return ranks_before(a, b); };
    batch_.clear();
    batch_pos_ = 0;
    if (pool_.size() <= batch) {
        batch_.swap(pool_);
        tier_size_ = 0;  // the pool is empty now
    } else if (front_capacity_ == batch && front_.size() == batch) {
        // front_ holds the pool's best batch: remove it from the pool highest
        // position first (so the element moved into each hole is never one of it).
        std::sort(front_.begin(), front_.end(), [](const FrontEntry& a, const FrontEntry& b) { return a.pos > b.pos; });
        for (const FrontEntry& f : front_) {
            batch_.push_back(f.c);
            pool_[f.pos] = pool_.back();
            pool_.pop_back();
        }
    } else {
        take_from_tier(batch);
    }
    std::sort(batch_.begin(), batch_.end(), by_rank);
    // The pool has changed: front_ no longer describes it.
    front_.clear();
    front_capacity_ = 0;
    // Warm the vectors about to be reranked.
    prefetch_batch(rerank_budget_ > stats_.reranked ? rerank_budget_ - stats_.reranked : 0);
    for (std::size_t i = 0; i < kWarmAhead && i < batch_.size(); i++) source_.warm(batch_[i].id);
}

void Searcher::take_from_tier(std::size_t batch) {
    const auto by_rank = [this](const Candidate& a, const Candidate& b) { return ranks_before(a, b); };
    // One pass over the whole pool sets aside the best kTierBatches batches'
    // worth; the next selections choose among those alone (a query that
    // reranks 1,300 of 12,000 candidates passes over the pool once, not four times).
    if (tier_size_ < batch) {
        tier_size_ = std::min(pool_.size(), batch * kTierBatches);
        if (tier_size_ < pool_.size())
            std::nth_element(pool_.begin(), pool_.begin() + static_cast<long>(tier_size_), pool_.end(), by_rank);
    }
    const auto tier_end = pool_.begin() + static_cast<long>(tier_size_);
    const auto middle = pool_.begin() + static_cast<long>(batch);
    if (batch < tier_size_) std::nth_element(pool_.begin(), middle, tier_end, by_rank);
    batch_.assign(pool_.begin(), middle);
    // Close the batch's gap keeping the tier in front: the tier's last
    // entries move into it, then the pool's last entries into the gap this
    // leaves at the tier's end.
    const std::size_t tier_rest = tier_size_ - batch;
    const std::size_t from_tier = std::min(batch, tier_rest);
    std::move(tier_end - static_cast<long>(from_tier), tier_end, pool_.begin());
    const std::size_t from_rest = std::min(batch, pool_.size() - tier_size_);
    std::move(pool_.end() - static_cast<long>(from_rest), pool_.end(), pool_.begin() + static_cast<long>(tier_rest));
    pool_.resize(pool_.size() - batch);
    tier_size_ = tier_rest;
}

void Searcher::prefetch_batch(std::size_t n) {
    prefetch_ids_.clear();
    for (std::size_t i = batch_pos_; i < batch_.size() && prefetch_ids_.size() < n; i++)
        prefetch_ids_.push_back(batch_[i].id);
    if (!prefetch_ids_.empty()) source_.prefetch(prefetch_ids_.data(), prefetch_ids_.size());
}

const Searcher::Candidate* Searcher::peek_candidate() {
    if (batch_pos_ == batch_.size()) {
        if (pool_.empty()) return nullptr;
        select_batch();
    }
    return &batch_[batch_pos_];
}

float Searcher::remaining_min_bound() const {
    // With bounds the batch is in lower-bound order, and ranks before the
    // whole pool; certified() is asked only while the batch has candidates.
    return batch_[batch_pos_].lower_bound;
}

void Searcher::rerank(const Candidate& c) {
    // Random reads of whole vectors are a rerank's cost: start the one a few
    // places ahead now, so its cache misses overlap this one's arithmetic.
    if (batch_pos_ + kWarmAhead < batch_.size()) source_.warm(batch_[batch_pos_ + kWarmAhead].id);
    reranked_.push({exact_score(c.id), c.id});
    stats_.reranked++;
    batch_pos_++;
}

bool Searcher::certified(float score) const {
    // Without bounds (hamming) only an exhausted candidate list certifies.
    return by_bound_ && score <= remaining_min_bound();
}

void Searcher::grant_round() {
    const std::size_t grant = params_.k * params_.rerank_factor;
    rerank_budget_ = stats_.reranked + grant;
    // Warm what this round will rerank (the batch was prefetched only up to the old budget).
    prefetch_batch(grant);
}

bool Searcher::next(Neighbor* out) {
    for (;;) {
        // Probe `probes` leaves with rows, and at least enough for k candidates:
        // leaves of a row or two (a table thinned by deletes) still give k.
        while ((leaves_with_rows_ < probe_target_ || candidates_seen_ < params_.k) && probe_next_leaf()) {
        }
        const Candidate* c = peek_candidate();
        // The nearest reranked row goes out only when no candidate left in the
        // probed leaves can be nearer: all of them reranked, or (rabitq) its
        // exact score below every remaining lower bound. The budget never
        // forces a row out; it only paces reranks and prefetches.
        if (!reranked_.empty() && (c == nullptr || certified(reranked_.top().score))) {
            // strict order: nor may an unprobed subtree hold a nearer row,
            // while the search may still look there.
            if (params_.strict_order && reranked_.top().score > unprobed_min_bound() && can_widen()) {
                probe_lowest_bound_leaf();
                continue;
            }
            const Scored best = reranked_.top();
            reranked_.pop();
            *out = {best.id, to_distance(best.score)};
            stats_.returned++;
            return true;
        }
        if (c != nullptr) {
            if (stats_.reranked >= rerank_budget_) grant_round();
            rerank(*c);
            continue;
        }
        // Every candidate examined: widen the search, unless told not to, the
        // scan limit is reached or the tree is exhausted.
        if (!can_widen()) return false;
        probe_target_ = leaves_with_rows_ + params_.probes;
    }
}

float bound_sigmas(Metric metric) { return metric == Metric::InnerProduct ? 7.0f : 5.0f; }

std::vector<Neighbor> search(const CoreIndex& index, const float* query, const SearchParams& params,
                             VectorSource& source, SearchStats* stats) {
    Searcher searcher(index, query, params, source);
    std::vector<Neighbor> result;
    Neighbor n;
    while (result.size() < params.k && searcher.next(&n)) result.push_back(n);
    if (stats) *stats = searcher.stats();
    return result;
}

}  // namespace vectordb
