// The stack of free sidecar slots (see sidecar_free_slots.h).
//
// A SlotList page holds a count and up to kSlotsPerPage slots; the metapage's
// free_slots_head is the top page, whose `next` is the page below. Pushing
// fills the top page and starts a new one above it when full; popping takes
// from the top page and, when it is empty, makes the page below the top and
// frees the page (a Free page in the free space map). Every change is one
// GenericXLog record (metapage and the page).
#include "pg/sidecar_free_slots.h"

extern "C" {
#include "storage/indexfsm.h"
}

namespace vectordb {
namespace pg {
namespace {

struct SlotPage {
    uint32 count;
    uint32 reserved;
    uint64 slots[1];  // count of kSlotsPerPage
};

constexpr uint32 kSlotsPerPage = (kPageContentSize - 8) / 8;

SlotPage* slot_page(Page page) { return reinterpret_cast<SlotPage*>(page_contents(page)); }

Buffer read_slot_page(Relation index, BlockNumber block) {
    if (block == kMetaBlock || block >= RelationGetNumberOfBlocks(index))
        ereport(ERROR,
                (errcode(ERRCODE_INDEX_CORRUPTED),
                 errmsg("index \"%s\" has a bad free slot link to block %u", RelationGetRelationName(index), block),
                 errhint("Please REINDEX it.")));
    Buffer buffer = ReadBuffer(index, block);
    LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
    check_page(index, block, BufferGetPage(buffer), PageType::SlotList);
    if (slot_page(BufferGetPage(buffer))->count > kSlotsPerPage)
        ereport(ERROR,
                (errcode(ERRCODE_INDEX_CORRUPTED),
                 errmsg("index \"%s\" has a bad free slot count at block %u", RelationGetRelationName(index), block),
                 errhint("Please REINDEX it.")));
    return buffer;
}

// Turns a SlotList page into a free page (the caller logs it with `xlog`).
void free_page(GenericXLogState* xlog, Buffer buffer) {
    init_page(GenericXLogRegisterBuffer(xlog, buffer, GENERIC_XLOG_FULL_IMAGE), PageType::Free);
}

// Frees every page of a stack of an older generation; returns with the
// metapage's stack empty and of the current generation. meta_buffer is
// locked exclusively.
void drop_stale_stack(Relation index, Buffer meta_buffer) {
    const VtreeMeta* m = page_meta(BufferGetPage(meta_buffer));
    BlockNumber block = m->free_slots_head;
    BlockNumber hops = 0;
    const BlockNumber nblocks = RelationGetNumberOfBlocks(index);
    std::vector<BlockNumber> freed;
    while (block != InvalidBlockNumber && block != 0 && hops++ < nblocks) {
        Buffer buffer = read_slot_page(index, block);
        const BlockNumber next = page_opaque(BufferGetPage(buffer))->next;
        GenericXLogState* xlog = GenericXLogStart(index);
        free_page(xlog, buffer);
        GenericXLogFinish(xlog);
        UnlockReleaseBuffer(buffer);
        freed.push_back(block);
        block = next;
    }
    GenericXLogState* xlog = GenericXLogStart(index);
    VtreeMeta* meta = page_meta(GenericXLogRegisterBuffer(xlog, meta_buffer, 0));
    meta->free_slots_head = InvalidBlockNumber;
    meta->free_slots_generation = meta->sidecar_generation;
    GenericXLogFinish(xlog);
    for (BlockNumber b : freed) RecordFreeIndexPage(index, b);
}

bool stack_is_current(const VtreeMeta* m) {
    return m->free_slots_generation == m->sidecar_generation && m->free_slots_head != 0;
}

}  // namespace

void push_free_slots(Relation index, const std::vector<uint64>& slots) {
    if (slots.empty()) return;
    Buffer meta_buffer = ReadBuffer(index, kMetaBlock);
    LockBuffer(meta_buffer, BUFFER_LOCK_EXCLUSIVE);
    check_page(index, kMetaBlock, BufferGetPage(meta_buffer), PageType::Meta);
    if (!stack_is_current(page_meta(BufferGetPage(meta_buffer)))) drop_stale_stack(index, meta_buffer);
    std::size_t done = 0;
    while (done < slots.size()) {
        const BlockNumber head = page_meta(BufferGetPage(meta_buffer))->free_slots_head;
        Buffer buffer = head == InvalidBlockNumber ? InvalidBuffer : read_slot_page(index, head);
        if (buffer != InvalidBuffer && slot_page(BufferGetPage(buffer))->count == kSlotsPerPage) {
            UnlockReleaseBuffer(buffer);
            buffer = InvalidBuffer;
        }
        GenericXLogState* xlog = GenericXLogStart(index);
        Page page = nullptr;
        if (buffer == InvalidBuffer) {
            // A new top page, above the full one.
            buffer = new_buffer(index);
            page = GenericXLogRegisterBuffer(xlog, buffer, GENERIC_XLOG_FULL_IMAGE);
            init_page(page, PageType::SlotList);
            page_opaque(page)->next = head;
            page_meta(GenericXLogRegisterBuffer(xlog, meta_buffer, 0))->free_slots_head = BufferGetBlockNumber(buffer);
        } else {
            page = GenericXLogRegisterBuffer(xlog, buffer, 0);
        }
        SlotPage* sp = slot_page(page);
        while (done < slots.size() && sp->count < kSlotsPerPage) sp->slots[sp->count++] = slots[done++];
        GenericXLogFinish(xlog);
        UnlockReleaseBuffer(buffer);
    }
    UnlockReleaseBuffer(meta_buffer);
}

uint64 pop_free_slot(Relation index) {
    // A look under a share lock first: most inserts find no stack.
    Buffer meta_buffer = ReadBuffer(index, kMetaBlock);
    LockBuffer(meta_buffer, BUFFER_LOCK_SHARE);
    check_page(index, kMetaBlock, BufferGetPage(meta_buffer), PageType::Meta);
    const VtreeMeta* m = page_meta(BufferGetPage(meta_buffer));
    const bool any = stack_is_current(m) && m->free_slots_head != InvalidBlockNumber;
    LockBuffer(meta_buffer, BUFFER_LOCK_UNLOCK);
    if (!any) {
        ReleaseBuffer(meta_buffer);
        return kNoLocator;
    }
    // The metapage page lock the caller holds keeps every other pusher and
    // popper out, so what we saw still holds.
    LockBuffer(meta_buffer, BUFFER_LOCK_EXCLUSIVE);
    uint64 slot = kNoLocator;
    for (;;) {
        const BlockNumber head = page_meta(BufferGetPage(meta_buffer))->free_slots_head;
        if (head == InvalidBlockNumber) break;
        Buffer buffer = read_slot_page(index, head);
        GenericXLogState* xlog = GenericXLogStart(index);
        if (slot_page(BufferGetPage(buffer))->count == 0) {
            // An empty top page: the page below becomes the top, this one is freed.
            page_meta(GenericXLogRegisterBuffer(xlog, meta_buffer, 0))->free_slots_head =
                page_opaque(BufferGetPage(buffer))->next;
            free_page(xlog, buffer);
            GenericXLogFinish(xlog);
            UnlockReleaseBuffer(buffer);
            RecordFreeIndexPage(index, head);
            continue;
        }
        SlotPage* sp = slot_page(GenericXLogRegisterBuffer(xlog, buffer, 0));
        slot = sp->slots[--sp->count];
        GenericXLogFinish(xlog);
        UnlockReleaseBuffer(buffer);
        break;
    }
    UnlockReleaseBuffer(meta_buffer);
    return slot;
}

std::vector<uint64> list_free_slots(Relation index) {
    std::vector<uint64> slots;
    VtreeMeta meta;
    read_meta(index, &meta);
    if (!stack_is_current(&meta)) return slots;
    BlockNumber block = meta.free_slots_head;
    BlockNumber hops = 0;
    const BlockNumber nblocks = RelationGetNumberOfBlocks(index);
    while (block != InvalidBlockNumber && hops++ < nblocks) {
        Buffer buffer = read_slot_page(index, block);
        const SlotPage* sp = slot_page(BufferGetPage(buffer));
        slots.insert(slots.end(), sp->slots, sp->slots + sp->count);
        block = page_opaque(BufferGetPage(buffer))->next;
        UnlockReleaseBuffer(buffer);
    }
    return slots;
}

}  // namespace pg
}  // namespace vectordb
