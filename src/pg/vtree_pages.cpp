// Page helpers of the vtree access method: initialising and checking pages,
// the metapage, the leaf page layout and relation extension.
#include "pg/vtree.h"

extern "C" {
#include "storage/indexfsm.h"
#include "storage/lmgr.h"
}

namespace vectordb {
namespace pg {

static_assert(sizeof(CodeFactors) == 16, "CodeFactors is stored in pages as 16 bytes");
static_assert(sizeof(VtreeMeta) <= kPageContentSize, "the metapage must fit a page");

VtreePageOpaque* page_opaque(Page page) { return reinterpret_cast<VtreePageOpaque*>(PageGetSpecialPointer(page)); }

char* page_contents(Page page) { return reinterpret_cast<char*>(PageGetContents(page)); }

VtreeMeta* page_meta(Page page) { return reinterpret_cast<VtreeMeta*>(PageGetContents(page)); }

LeafHeader* leaf_header(Page page) { return reinterpret_cast<LeafHeader*>(PageGetContents(page)); }

void init_page(Page page, PageType type) {
    PageInit(page, BLCKSZ, sizeof(VtreePageOpaque));
    VtreePageOpaque* opaque = page_opaque(page);
    opaque->next = InvalidBlockNumber;
    opaque->tail = InvalidBlockNumber;
    opaque->leaf = 0;
    opaque->type = static_cast<uint16>(type);
    opaque->page_id = kVtreePageId;
    // Contents have a fixed layout: no hole for WAL compression to skip.
    reinterpret_cast<PageHeader>(page)->pd_lower = reinterpret_cast<PageHeader>(page)->pd_upper;
}

bool is_vtree_page(Page page) {
    const PageHeader header = reinterpret_cast<PageHeader>(page);
    return !PageIsNew(page) && PageGetSpecialSize(page) == MAXALIGN(sizeof(VtreePageOpaque)) &&
           header->pd_special == BLCKSZ - MAXALIGN(sizeof(VtreePageOpaque)) &&
           page_opaque(page)->page_id == kVtreePageId;
}

bool is_page_of_type(Page page, PageType type) {
    return is_vtree_page(page) && page_opaque(page)->type == static_cast<uint16>(type);
}

void check_page(Relation index, BlockNumber block, Page page, PageType type) {
    if (!is_vtree_page(page))
        ereport(ERROR,
                (errcode(ERRCODE_DATA_CORRUPTED),
                 errmsg("index \"%s\" contains a corrupted page at block %u", RelationGetRelationName(index), block),
                 errhint("Please REINDEX it.")));
    if (page_opaque(page)->type != static_cast<uint16>(type))
        ereport(ERROR,
                (errcode(ERRCODE_DATA_CORRUPTED),
                 errmsg("index \"%s\" has a page of type %u at block %u where type %u was expected",
                        RelationGetRelationName(index), page_opaque(page)->type, block, static_cast<unsigned>(type)),
                 errhint("Please REINDEX it.")));
    if (type == PageType::Leaf) {
        const LeafHeader* leaf = leaf_header(page);
        if (leaf->count > leaf->capacity || leaf->dead > leaf->count)
            ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
                            errmsg("index \"%s\" has a leaf page with invalid counts at block %u",
                                   RelationGetRelationName(index), block),
                            errhint("Please REINDEX it.")));
    }
}

void check_leaf_page(Relation index, BlockNumber block, Page page, const LeafLayout& layout) {
    check_page(index, block, page, PageType::Leaf);
    if (leaf_header(page)->capacity != layout.capacity)
        ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
                        errmsg("index \"%s\" has a leaf page of capacity %u at block %u where the index's is %u",
                               RelationGetRelationName(index), leaf_header(page)->capacity, block, layout.capacity),
                        errhint("Please REINDEX it.")));
}

void read_meta(Relation index, VtreeMeta* meta) {
    if (RelationGetNumberOfBlocks(index) == 0)
        ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
                        errmsg("index \"%s\" has no metapage", RelationGetRelationName(index)),
                        errhint("Please REINDEX it.")));
    Buffer buffer = ReadBuffer(index, kMetaBlock);
    LockBuffer(buffer, BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buffer);
    check_page(index, kMetaBlock, page, PageType::Meta);
    std::memcpy(meta, page_meta(page), sizeof(VtreeMeta));
    UnlockReleaseBuffer(buffer);
    if (meta->magic != kVtreeMagic || meta->version != kVtreeVersion)
        ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
                        errmsg("index \"%s\" has an unknown metapage format (magic %08x, version %u)",
                               RelationGetRelationName(index), meta->magic, meta->version),
                        errhint("Please REINDEX it.")));
    if (meta->dim == 0 || meta->metric > 2 || meta->quantizer > 1 || meta->storage > 1 ||
        meta->words != (meta->dim + 63) / 64 || meta->leaf_capacity == 0 ||
        meta->leaf_capacity != leaf_layout(meta->words).capacity)
        ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
                        errmsg("index \"%s\" has an inconsistent metapage", RelationGetRelationName(index)),
                        errhint("Please REINDEX it.")));
}

Buffer read_chain_page(Relation index, BlockNumber block, uint32 leaf, const LeafLayout& layout, int lock_mode,
                       BlockNumber* hops, BlockNumber* nblocks, BufferAccessStrategy strategy) {
    // The size lookup is a system call: redo it only for a block past the last known end.
    if (block >= *nblocks) *nblocks = RelationGetNumberOfBlocks(index);
    if (block == kMetaBlock || block >= *nblocks || ++*hops > *nblocks)
        ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
                        errmsg("index \"%s\" has a bad leaf link to block %u", RelationGetRelationName(index), block),
                        errhint("Please REINDEX it.")));
    Buffer buffer = ReadBufferExtended(index, MAIN_FORKNUM, block, RBM_NORMAL, strategy);
    LockBuffer(buffer, lock_mode);
    Page page = BufferGetPage(buffer);
    check_leaf_page(index, block, page, layout);
    if (page_opaque(page)->leaf != leaf)
        ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
                        errmsg("index \"%s\" has a page of leaf %u in the chain of leaf %u",
                               RelationGetRelationName(index), page_opaque(page)->leaf, leaf),
                        errhint("Please REINDEX it.")));
    return buffer;
}

Buffer new_buffer(Relation index) {
    // A recycled page first. The free space map may be stale (a page handed
    // out twice, or recorded again by a VACUUM pass meanwhile): a page is
    // taken only if it is still Free (or new) under our exclusive lock.
    for (;;) {
        const BlockNumber block = GetFreeIndexPage(index);
        if (block == InvalidBlockNumber) break;
        Buffer buffer = ReadBuffer(index, block);
        if (ConditionalLockBuffer(buffer)) {
            const Page page = BufferGetPage(buffer);
            if (PageIsNew(page) || is_page_of_type(page, PageType::Free)) return buffer;
            LockBuffer(buffer, BUFFER_LOCK_UNLOCK);
        }
        ReleaseBuffer(buffer);
    }
    // The extension lock keeps two backends from extending at the same time.
    LockRelationForExtension(index, ExclusiveLock);
    Buffer buffer = ReadBuffer(index, P_NEW);
    LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
    UnlockRelationForExtension(index, ExclusiveLock);
    return buffer;
}

}  // namespace pg
}  // namespace vectordb

namespace vectordb {
namespace pg {

void init_leaf_page(Page page, const LeafLayout& layout, uint32 leaf) {
    init_page(page, PageType::Leaf);
    page_opaque(page)->leaf = leaf;
    LeafHeader* h = leaf_header(page);
    h->count = 0;
    h->capacity = static_cast<uint16>(layout.capacity);
    h->dead = 0;
    h->flags = 0;
}

void put_entry(Page page, const LeafLayout& l, uint32 pos, const uint64_t* code, const CodeFactors& factors,
               uint64 locator, const ItemPointerData& tid) {
    if (l.blocked)
        store_code(leaf_codes(page, l), pos, l.words, code);
    else
        std::memcpy(leaf_codes(page, l) + std::size_t{pos} * l.words, code, std::size_t{l.words} * 8);
    leaf_factors(page, l)[pos] = factors;
    leaf_locators(page, l)[pos] = locator;
    leaf_tids(page, l)[pos] = tid;
    leaf_flags(page, l)[pos] = 0;
}

uint32 vector_page_used(Page page) {
    return reinterpret_cast<PageHeader>(page)->pd_lower - MAXALIGN(SizeOfPageHeaderData);
}

void set_vector_page_used(Page page, uint32 used) {
    reinterpret_cast<PageHeader>(page)->pd_lower = static_cast<LocationIndex>(MAXALIGN(SizeOfPageHeaderData) + used);
}

bool read_vector_record(Relation index, uint64 locator, uint32 dim, uint64* tag, float* out, BlockNumber* nblocks) {
    BlockNumber block = static_cast<BlockNumber>(locator >> 13);
    uint32 offset = static_cast<uint32>(locator & 0x1FFF);
    const std::size_t total = 8 + std::size_t{dim} * 4;
    char* dest_tag = reinterpret_cast<char*>(tag);
    char* dest_vec = reinterpret_cast<char*>(out);
    std::size_t done = 0;
    BlockNumber hops = 0;
    while (done < total) {
        if (block != InvalidBlockNumber && block >= *nblocks) *nblocks = RelationGetNumberOfBlocks(index);
        if (++hops > *nblocks || block == InvalidBlockNumber || block == kMetaBlock || block >= *nblocks) return false;
        Buffer buffer = ReadBuffer(index, block);
        LockBuffer(buffer, BUFFER_LOCK_SHARE);
        Page page = BufferGetPage(buffer);
        check_page(index, block, page, PageType::Vectors);
        const uint32 used = vector_page_used(page);
        if (offset > used || used > kPageContentSize) {
            UnlockReleaseBuffer(buffer);
            return false;
        }
        const std::size_t take = std::min<std::size_t>(used - offset, total - done);
        const char* src = page_contents(page) + offset;
        std::size_t i = 0;
        if (done < 8) {
            i = std::min<std::size_t>(take, 8 - done);
            std::memcpy(dest_tag + done, src, i);
        }
        if (take > i) std::memcpy(dest_vec + (done + i - 8), src + i, take - i);
        done += take;
        const BlockNumber next = page_opaque(page)->next;
        UnlockReleaseBuffer(buffer);
        if (take == 0 && done < total && next == InvalidBlockNumber) return false;
        block = next;
        offset = 0;
    }
    return true;
}

}  // namespace pg
}  // namespace vectordb
