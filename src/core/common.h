// Shared by every file in src/core: the core is pure C++17 and must never
// see a PostgreSQL header (their macros and longjmp-based errors would leak in).
// Glue files therefore include core headers before postgres.h.
#pragma once

#ifdef POSTGRES_H
#error "src/core must not include PostgreSQL headers; include core headers before postgres.h"
#endif

#include <cstddef>
#include <cstdint>

namespace vectordb {

// Starts loading `bytes` from p into the CPU's caches, one 64-byte line at a
// time (prefetches never fault: an unmapped address is skipped).
inline void prefetch_lines(const void* p, std::size_t bytes) {
    const char* c = static_cast<const char*>(p);
    for (std::size_t off = 0; off < bytes; off += 64) __builtin_prefetch(c + off);
}

}  // namespace vectordb
