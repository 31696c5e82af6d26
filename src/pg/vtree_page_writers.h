// Writing a new index's pages: the build's (main fork) and an unlogged
// table's empty index (init fork, ambuildempty).
//
// Pages are built as images in C++ memory where entries arrive in any order,
// and go through shared buffers of one fork without WAL: nobody else can see
// a relation that is being built. log_fork() then logs the whole fork in one
// pass (a new relation needs nothing finer); an init fork is always logged and
// synced, since crash recovery copies it over the main fork.
//
// Every function here runs PostgreSQL code through pg_call, so it may raise
// PgError (an ERROR or a cancel); none holds a buffer across a raise.
#pragma once

#include <vector>

#include "pg/vtree.h"

namespace vectordb {
namespace pg {

// A new block at the end of `fork` (the build is the only writer: no lock needed).
BlockNumber allocate_block(Relation index, ForkNumber fork);

// Copies a page image built in C++ memory into block `block` of `fork`.
void write_page(Relation index, ForkNumber fork, BlockNumber block, const char* image);

// Block 0, an empty metapage for now: write_blob_and_meta() fills it last.
void start_metapage(Relation index, ForkNumber fork);

// Writes leaf chains. Each leaf's current last page is kept as an image and
// written out when full; the head pages (blocks 1 .. L) are allocated up front.
class LeafWriter {
public:
    LeafWriter(Relation index, ForkNumber fork, const LeafLayout& layout, std::size_t leaves);

    void append(std::size_t leaf, const uint64_t* code, const CodeFactors& factors, uint64 locator,
                const ItemPointerData& tid);
    // Writes the last pages and records each chain's tail in its head page.
    void finish();

    const std::vector<BlockNumber>& heads() const { return heads_; }
    const std::vector<std::size_t>& counts() const { return counts_; }

private:
    Page image(std::size_t leaf) { return reinterpret_cast<Page>(images_[leaf].data()); }

    Relation index_;
    ForkNumber fork_;
    LeafLayout layout_;
    std::vector<std::vector<char>> images_;
    std::vector<BlockNumber> blocks_;  // block of each leaf's current page
    std::vector<BlockNumber> heads_;
    std::vector<std::size_t> counts_;
};

// storage = pages: appends vector records to a chain of vector pages.
class VectorPageWriter {
public:
    VectorPageWriter(Relation index, ForkNumber fork) : index_(index), fork_(fork), image_(BLCKSZ, 0) {}

    uint64 append(uint64 tag, const float* v, uint32 dim);
    void finish();
    BlockNumber head() const { return head_; }
    BlockNumber tail() const { return block_; }

private:
    Page page() { return reinterpret_cast<Page>(image_.data()); }
    void put(const char* src, std::size_t n);
    void start_page();
    void next_page();
    void flush();

    Relation index_;
    ForkNumber fork_;
    std::vector<char> image_;
    BlockNumber head_ = InvalidBlockNumber;
    BlockNumber block_ = InvalidBlockNumber;
    uint32 used_ = 0;
};

// Writes the tree blob on contiguous new pages, then the metapage (block 0)
// with *meta, whose blob fields it fills in.
void write_blob_and_meta(Relation index, ForkNumber fork, const std::vector<char>& blob, VtreeMeta* meta);

// WAL-logs every page of `fork` (the main fork only where the relation needs
// WAL; an init fork always, then syncs it).
void log_fork(Relation index, ForkNumber fork);

}  // namespace pg
}  // namespace vectordb
