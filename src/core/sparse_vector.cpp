// Sparse vector parser and distances (see sparse_vector.h). The parser accepts
// what pgvector's sparsevec_in accepts: white space anywhere between tokens,
// indices as C integers, values as C floats read in the "C" locale.
#include "core/sparse_vector.h"

#include "core/errors.h"
#include "core/text_scan.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <string>

namespace vectordb {
namespace {

[[noreturn]] void syntax_error(const char* text, const char* detail = "") {
    throw InvalidTextRepresentation(std::string("invalid input syntax for type sparsevec: \"") + text + "\"", detail);
}

// strtol's value clamped to the int range, as the messages that follow need.
long read_integer(const char* p, char** end, long low) {
    errno = 0;
    const long value = std::strtol(p, end, 10);
    return std::min(std::max(value, low), static_cast<long>(INT_MAX));
}

}  // namespace

std::size_t sparse_text_capacity(const char* text) {
    std::size_t elements = 1;
    for (const char* p = text; *p != '\0'; ++p)
        if (*p == ',') ++elements;
    if (elements > static_cast<std::size_t>(kSparseMaxNonZero))
        throw LimitExceeded("sparsevec cannot have more than " + std::to_string(kSparseMaxNonZero) +
                            " non-zero elements");
    return elements;
}

int parse_sparse_text(const char* text, SparseElement* out, std::size_t capacity, int32_t* dim) {
    const char* p = skip_text_space(text);
    if (*p != '{') syntax_error(text, "Vector contents must start with \"{\".");
    p = skip_text_space(p + 1);
    std::size_t kept = 0, read = 0;
    if (*p == '}') {
        ++p;
    } else {
        for (;;) {
            if (read++ >= capacity) throw InvalidArgument("sparsevec parse buffer too small");
            p = skip_text_space(p);
            if (*p == '\0') syntax_error(text);
            char* end = nullptr;
            const long index = read_integer(p, &end, static_cast<long>(INT_MIN) + 1);
            if (end == p) syntax_error(text);
            p = skip_text_space(end);
            if (*p != ':') syntax_error(text);
            p = skip_text_space(p + 1);
            errno = 0;
            const float value = strtof_c_locale(p, &end);
            if (end == p) syntax_error(text);
            if (errno == ERANGE && (value == 0.0f || std::isinf(value)))
                throw NumericOutOfRange("\"" + std::string(p, static_cast<std::size_t>(end - p)) +
                                        "\" is out of range for type sparsevec");
            if (std::isnan(value)) throw DataError("NaN not allowed in sparsevec");
            if (std::isinf(value)) throw DataError("infinite value not allowed in sparsevec");
            if (value != 0.0f) out[kept++] = {static_cast<int32_t>(index - 1), value};  // text counts from 1
            p = skip_text_space(end);
            if (*p == ',') {
                ++p;
                continue;
            }
            if (*p == '}') {
                ++p;
                break;
            }
            syntax_error(text);
        }
    }
    p = skip_text_space(p);
    if (*p != '/') syntax_error(text, "Unexpected end of input.");
    p = skip_text_space(p + 1);
    char* end = nullptr;
    const long dims = read_integer(p, &end, INT_MIN);
    if (end == p) syntax_error(text);
    p = skip_text_space(end);
    if (*p != '\0') syntax_error(text, "Junk after closing.");
    if (dims < 1) throw DataError("sparsevec must have at least 1 dimension");
    if (dims > kSparseMaxDimensions)
        throw LimitExceeded("sparsevec cannot have more than " + std::to_string(kSparseMaxDimensions) + " dimensions");
    *dim = static_cast<int32_t>(dims);
    return static_cast<int>(kept);
}

void sparse_sort_elements(SparseElement* elements, std::size_t n, int32_t dim) {
    std::sort(elements, elements + n, [](const SparseElement& a, const SparseElement& b) { return a.index < b.index; });
    for (std::size_t i = 0; i < n; i++) {
        if (elements[i].index < 0 || elements[i].index >= dim) throw DataError("sparsevec index out of bounds");
        if (i > 0 && elements[i].index == elements[i - 1].index)
            throw DataError("sparsevec indices must not contain duplicates");
    }
}

void sparse_check_index(const int32_t* indices, std::size_t i, int32_t dim) {
    if (indices[i] < 0 || indices[i] >= dim) throw DataError("sparsevec index out of bounds");
    if (i > 0 && indices[i] < indices[i - 1]) throw DataError("sparsevec indices must be in ascending order");
    if (i > 0 && indices[i] == indices[i - 1]) throw DataError("sparsevec indices must not contain duplicates");
}

void sparse_check_indices(const int32_t* indices, std::size_t n, int32_t dim) {
    for (std::size_t i = 0; i < n; i++) sparse_check_index(indices, i, dim);
}

namespace {

// Calls both(x, y) for an index in both vectors, only_a(x) / only_b(y) for
// one in a single vector, in increasing index order.
template <class Both, class OnlyA, class OnlyB>
void merge_indices(const SparseView& a, const SparseView& b, Both both, OnlyA only_a, OnlyB only_b) {
    int32_t i = 0, j = 0;
    while (i < a.nnz && j < b.nnz) {
        if (a.indices[i] == b.indices[j]) {
            both(a.values[i++], b.values[j++]);
        } else if (a.indices[i] < b.indices[j]) {
            only_a(a.values[i++]);
        } else {
            only_b(b.values[j++]);
        }
    }
    for (; i < a.nnz; i++) only_a(a.values[i]);
    for (; j < b.nnz; j++) only_b(b.values[j]);
}

}  // namespace

float sparse_l2_squared(const SparseView& a, const SparseView& b) {
    float sum = 0.0f;
    merge_indices(
        a, b,
        [&](float x, float y) {
            const float d = x - y;
            sum += d * d;
        },
        [&](float x) { sum += x * x; }, [&](float y) { sum += y * y; });
    return sum;
}

float sparse_inner_product(const SparseView& a, const SparseView& b) {
    float sum = 0.0f;
    merge_indices(
        a, b, [&](float x, float y) { sum += x * y; }, [](float) {}, [](float) {});
    return sum;
}

float sparse_l1(const SparseView& a, const SparseView& b) {
    float sum = 0.0f;
    merge_indices(
        a, b, [&](float x, float y) { sum += std::fabs(x - y); }, [&](float x) { sum += std::fabs(x); },
        [&](float y) { sum += std::fabs(y); });
    return sum;
}

float sparse_squared_norm(const SparseView& a) {
    float sum = 0.0f;
    for (int32_t i = 0; i < a.nnz; i++) sum += a.values[i] * a.values[i];
    return sum;
}

double sparse_cosine_distance(const SparseView& a, const SparseView& b) {
    double similarity = sparse_inner_product(a, b);
    // sqrt of the product, not the product of square roots: one rounding.
    similarity /= std::sqrt(static_cast<double>(sparse_squared_norm(a)) * static_cast<double>(sparse_squared_norm(b)));
    if (similarity > 1.0) similarity = 1.0;
    if (similarity < -1.0) similarity = -1.0;
    return 1.0 - similarity;
}

int sparse_compare(const SparseView& a, const SparseView& b) {
    const int32_t common = std::min(a.dim, b.dim);
    int32_t i = 0, j = 0;
    for (;;) {
        // The next dimension, below the common length, where either has an element.
        const int32_t ai = i < a.nnz ? a.indices[i] : INT_MAX;
        const int32_t bj = j < b.nnz ? b.indices[j] : INT_MAX;
        const int32_t at = std::min(ai, bj);
        if (at >= common) break;
        const float x = ai == at ? a.values[i++] : 0.0f;
        const float y = bj == at ? b.values[j++] : 0.0f;
        if (x < y) return -1;
        if (x > y) return 1;
    }
    if (a.dim != b.dim) return a.dim < b.dim ? -1 : 1;
    return 0;
}

}  // namespace vectordb
