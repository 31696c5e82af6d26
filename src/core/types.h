// Small types shared across the core: metrics, a read-only matrix view and
// the cancellation hook long operations call between their steps.
#pragma once

#include "core/common.h"

#include <functional>

namespace vectordb {

// Distance the index orders by. Cosine is served as L2 over unit vectors.
enum class Metric { L2, InnerProduct, Cosine };

// A row-major matrix owned by someone else: rows x dim floats, contiguous.
struct MatrixView {
    const float* data = nullptr;
    std::size_t rows = 0;
    std::size_t dim = 0;

    const float* row(std::size_t i) const { return data + i * dim; }
};

// Called on the calling thread (never from a worker thread) between steps of a
// long operation, e.g. after each k-means iteration. It may throw to cancel the
// operation; callers of the core must then see every resource released.
using StepCallback = std::function<void()>;

}  // namespace vectordb
