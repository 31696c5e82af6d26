// Bit string distances (see bits.h): 64 bits at a time, then the tail bytes.
#include "core/bits.h"

#include <cstring>

namespace vectordb {
namespace {

// Calls f(x, y) for 64-bit words of a and b, then for each remaining byte (as a word).
template <class F>
void over_words(const std::uint8_t* a, const std::uint8_t* b, std::size_t bytes, F&& f) {
    std::size_t i = 0;
    for (; i + 8 <= bytes; i += 8) {
        std::uint64_t x, y;
        std::memcpy(&x, a + i, 8);
        std::memcpy(&y, b + i, 8);
        f(x, y);
    }
    for (; i < bytes; i++) f(std::uint64_t{a[i]}, std::uint64_t{b[i]});
}

}  // namespace

std::uint64_t hamming_bits(const std::uint8_t* a, const std::uint8_t* b, std::size_t bytes) {
    std::uint64_t distance = 0;
    over_words(a, b, bytes, [&](std::uint64_t x, std::uint64_t y) { distance += __builtin_popcountll(x ^ y); });
    return distance;
}

double jaccard_bits(const std::uint8_t* a, const std::uint8_t* b, std::size_t bytes) {
    std::uint64_t both = 0, in_a = 0, in_b = 0;
    over_words(a, b, bytes, [&](std::uint64_t x, std::uint64_t y) {
        both += __builtin_popcountll(x & y);
        in_a += __builtin_popcountll(x);
        in_b += __builtin_popcountll(y);
    });
    if (both == 0) return 1.0;
    return 1.0 - static_cast<double>(both) / static_cast<double>(in_a + in_b - both);
}

}  // namespace vectordb
