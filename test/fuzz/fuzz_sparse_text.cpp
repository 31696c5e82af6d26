// libFuzzer target: the sparsevec text parser and index check (the input
// function of the type). Any input must either parse into sorted, distinct,
// in-range indices of non-zero values or throw one of the core's documented
// errors; a crash, a sanitizer report or another exception is a finding.
#include "core/errors.h"
#include "core/sparse_vector.h"

#include <cstdint>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);  // stops at an embedded NUL, as C strings do
    try {
        const std::size_t capacity = vectordb::sparse_text_capacity(text.c_str());
        std::vector<vectordb::SparseElement> out(capacity);
        int32_t dim = 0;
        const int n = vectordb::parse_sparse_text(text.c_str(), out.data(), capacity, &dim);
        if (n < 0 || static_cast<std::size_t>(n) > capacity || dim < 1 || dim > vectordb::kSparseMaxDimensions)
            __builtin_trap();
        vectordb::sparse_sort_elements(out.data(), static_cast<std::size_t>(n), dim);
        for (int i = 0; i < n; i++) {
            if (out[i].value == 0.0f || out[i].index < 0 || out[i].index >= dim) __builtin_trap();
            if (i > 0 && out[i].index <= out[i - 1].index) __builtin_trap();
        }
    } catch (const vectordb::Error&) {
        // Bad input is reported, never crashed on.
    }
    return 0;
}
