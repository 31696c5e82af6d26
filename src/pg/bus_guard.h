// Reading a memory-mapped file that someone may truncate underneath us: a
// read past the new end raises SIGBUS, which would kill the backend (and make
// the postmaster restart every session). copy_guarded() turns that into a
// false return, so the scan can fall back to the heap.
#pragma once

#include <cstddef>

namespace vectordb {
namespace pg {

// Copies each part in turn under one guard (a record's tag, values and
// checksum: one signal-handler set-up instead of three); false if any source
// faulted (SIGBUS or SIGSEGV on the mapping).
struct GuardedCopy {
    void* dest;
    const void* src;
    std::size_t n;
};
bool copy_guarded(const GuardedCopy* parts, std::size_t count);

}  // namespace pg
}  // namespace vectordb
