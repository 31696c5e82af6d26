// The monotonic clock as a plain integer, for timestamps kept in atomics and
// in structs shared with PostgreSQL code (the sidecar's residency check, the
// tree cache's quiet time).
#pragma once

#include "core/common.h"

#include <chrono>

namespace vectordb {

// Nanoseconds on std::chrono::steady_clock (never 0 in practice: its epoch is boot).
inline std::int64_t steady_nanoseconds() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

}  // namespace vectordb
