// Writing a new index's pages, in one fork (see vtree_page_writers.h).
#include "pg/vtree_page_writers.h"

#include <cstring>

#include "pg/pg_call.h"

extern "C" {
#include "access/xloginsert.h"
#include "storage/smgr.h"
}

namespace vectordb {
namespace pg {
namespace {

// The one way the writers reach a page of the fork being built, the main
// fork (ambuild) or the init fork (ambuildempty): block `block`, or a new
// block at the fork's end for P_NEW, exclusively locked. PostgreSQL code:
// call inside pg_call.
Buffer locked_buffer(Relation index, ForkNumber fork, BlockNumber block) {
    Buffer buffer = ReadBufferExtended(index, fork, block, RBM_NORMAL, nullptr);
    LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
    return buffer;
}

}  // namespace

BlockNumber allocate_block(Relation index, ForkNumber fork) {
    BlockNumber block = InvalidBlockNumber;
    pg_call([&] {
        Buffer buffer = locked_buffer(index, fork, P_NEW);
        block = BufferGetBlockNumber(buffer);
        UnlockReleaseBuffer(buffer);
    });
    return block;
}

void write_page(Relation index, ForkNumber fork, BlockNumber block, const char* image) {
    pg_call([&] {
        Buffer buffer = locked_buffer(index, fork, block);
        std::memcpy(BufferGetPage(buffer), image, BLCKSZ);
        MarkBufferDirty(buffer);
        UnlockReleaseBuffer(buffer);
    });
}

void start_metapage(Relation index, ForkNumber fork) {
    pg_call([&] {
        Buffer buffer = locked_buffer(index, fork, P_NEW);
        if (BufferGetBlockNumber(buffer) != kMetaBlock) elog(ERROR, "vtree build: metapage is not block 0");
        init_page(BufferGetPage(buffer), PageType::Meta);
        MarkBufferDirty(buffer);
        UnlockReleaseBuffer(buffer);
    });
}

LeafWriter::LeafWriter(Relation index, ForkNumber fork, const LeafLayout& layout, std::size_t leaves)
    : index_(index), fork_(fork), layout_(layout), images_(leaves), blocks_(leaves), counts_(leaves, 0) {
    for (std::size_t l = 0; l < leaves; l++) {
        images_[l].assign(BLCKSZ, 0);
        init_leaf_page(image(l), layout_, static_cast<uint32>(l));
        blocks_[l] = allocate_block(index_, fork_);
    }
    heads_ = blocks_;
}

void LeafWriter::append(std::size_t leaf, const uint64_t* code, const CodeFactors& factors, uint64 locator,
                        const ItemPointerData& tid) {
    Page page = image(leaf);
    LeafHeader* h = leaf_header(page);
    if (h->count == layout_.capacity) {
        const BlockNumber next = allocate_block(index_, fork_);
        page_opaque(page)->next = next;
        write_page(index_, fork_, blocks_[leaf], page);
        init_leaf_page(page, layout_, static_cast<uint32>(leaf));
        blocks_[leaf] = next;
    }
    put_entry(page, layout_, h->count, code, factors, locator, tid);
    h->count++;
    counts_[leaf]++;
}

void LeafWriter::finish() {
    for (std::size_t l = 0; l < images_.size(); l++) {
        if (blocks_[l] == heads_[l]) page_opaque(image(l))->tail = heads_[l];
        write_page(index_, fork_, blocks_[l], image(l));
        if (blocks_[l] != heads_[l]) {
            const BlockNumber head = heads_[l], tail = blocks_[l];
            pg_call([&] {
                Buffer buffer = locked_buffer(index_, fork_, head);
                page_opaque(BufferGetPage(buffer))->tail = tail;
                MarkBufferDirty(buffer);
                UnlockReleaseBuffer(buffer);
            });
        }
    }
}

uint64 VectorPageWriter::append(uint64 tag, const float* v, uint32 dim) {
    if (head_ == InvalidBlockNumber) start_page();
    if (used_ == kPageContentSize) next_page();
    const uint64 locator = vector_locator(block_, used_);
    put(reinterpret_cast<const char*>(&tag), 8);
    put(reinterpret_cast<const char*>(v), std::size_t{dim} * 4);
    return locator;
}

void VectorPageWriter::finish() {
    if (head_ != InvalidBlockNumber) flush();
}

void VectorPageWriter::put(const char* src, std::size_t n) {
    while (n > 0) {
        if (used_ == kPageContentSize) next_page();
        const std::size_t take = std::min<std::size_t>(n, kPageContentSize - used_);
        std::memcpy(page_contents(page()) + used_, src, take);
        used_ += static_cast<uint32>(take);
        src += take;
        n -= take;
    }
}

void VectorPageWriter::start_page() {
    block_ = allocate_block(index_, fork_);
    if (head_ == InvalidBlockNumber) head_ = block_;
    init_page(page(), PageType::Vectors);
    used_ = 0;
}

void VectorPageWriter::next_page() {
    const BlockNumber next = allocate_block(index_, fork_);
    page_opaque(page())->next = next;
    flush();
    init_page(page(), PageType::Vectors);
    block_ = next;
    used_ = 0;
}

void VectorPageWriter::flush() {
    set_vector_page_used(page(), used_);
    write_page(index_, fork_, block_, image_.data());
}

void write_blob_and_meta(Relation index, ForkNumber fork, const std::vector<char>& blob, VtreeMeta* meta) {
    meta->blob_bytes = blob.size();
    meta->blob_pages = static_cast<uint32>((blob.size() + kPageContentSize - 1) / kPageContentSize);
    const char* bytes = blob.data();
    const std::size_t size = blob.size();
    const VtreeMeta m = *meta;
    BlockNumber start = InvalidBlockNumber;
    pg_call([&] {
        for (uint32 i = 0; i < m.blob_pages; i++) {
            Buffer buffer = locked_buffer(index, fork, P_NEW);
            const BlockNumber block = BufferGetBlockNumber(buffer);
            if (i == 0) start = block;
            if (block != start + i) elog(ERROR, "vtree build: blob pages are not contiguous");
            Page page = BufferGetPage(buffer);
            init_page(page, PageType::Blob);
            const std::size_t off = std::size_t{i} * kPageContentSize;
            std::memcpy(page_contents(page), bytes + off, std::min<std::size_t>(kPageContentSize, size - off));
            MarkBufferDirty(buffer);
            UnlockReleaseBuffer(buffer);
        }
        VtreeMeta final_meta = m;
        final_meta.blob_start = start;
        Buffer buffer = locked_buffer(index, fork, kMetaBlock);
        Page page = BufferGetPage(buffer);
        init_page(page, PageType::Meta);
        std::memcpy(page_meta(page), &final_meta, sizeof(VtreeMeta));
        MarkBufferDirty(buffer);
        UnlockReleaseBuffer(buffer);
    });
    meta->blob_start = start;
}

void log_fork(Relation index, ForkNumber fork) {
    pg_call([&] {
        if (fork == INIT_FORKNUM || RelationNeedsWAL(index))
            log_newpage_range(index, fork, 0, RelationGetNumberOfBlocksInFork(index, fork), true);
        // Crash recovery copies the init fork over the main fork: it must be on disk.
        if (fork == INIT_FORKNUM) smgrimmedsync(RelationGetSmgr(index), fork);
    });
}

}  // namespace pg
}  // namespace vectordb
