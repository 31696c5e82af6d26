// libFuzzer target: the vector text parser (the input function of the type).
// Any input must either parse or throw one of the core's documented errors;
// a crash, a sanitizer report or another exception is a finding.
#include "core/errors.h"
#include "core/vector_text.h"

#include <cstdint>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);  // stops at an embedded NUL, as C strings do
    const std::size_t capacity = vectordb::vector_text_capacity(text.c_str());
    std::vector<float> out(capacity);
    try {
        const int dim = vectordb::parse_vector_text(text.c_str(), out.data(), capacity);
        if (dim < 1 || static_cast<std::size_t>(dim) > capacity || dim > vectordb::kMaxDimensions) __builtin_trap();
    } catch (const vectordb::Error&) {
        // Bad input is reported, never crashed on.
    }
    return 0;
}
