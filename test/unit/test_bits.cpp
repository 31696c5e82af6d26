// Unit tests of the bit string distances (src/core/bits.h) against bit-by-bit counts.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "core/bits.h"

namespace vectordb {
namespace {

TEST(Bits, HammingAndJaccardMatchBitByBitCounts) {
    std::mt19937 rng(5);
    for (std::size_t bytes : {1, 7, 8, 9, 15, 16, 17, 100, 1000}) {
        for (int trial = 0; trial < 20; trial++) {
            std::vector<std::uint8_t> a(bytes), b(bytes);
            for (std::size_t i = 0; i < bytes; i++) {
                a[i] = static_cast<std::uint8_t>(rng() & (trial % 3 ? 0xff : 0x11));
                b[i] = static_cast<std::uint8_t>(rng());
            }
            std::uint64_t differ = 0, both = 0, either = 0;
            for (std::size_t i = 0; i < bytes * 8; i++) {
                const bool x = a[i / 8] >> (i % 8) & 1, y = b[i / 8] >> (i % 8) & 1;
                differ += x != y;
                both += x && y;
                either += x || y;
            }
            EXPECT_EQ(hamming_bits(a.data(), b.data(), bytes), differ) << bytes;
            EXPECT_DOUBLE_EQ(jaccard_bits(a.data(), b.data(), bytes),
                             both == 0 ? 1.0 : 1.0 - static_cast<double>(both) / static_cast<double>(either))
                << bytes;
        }
    }
    const std::uint8_t zero[3] = {0, 0, 0}, ones[3] = {0xff, 0xff, 0xff};
    EXPECT_EQ(jaccard_bits(zero, zero, 3), 1.0);  // pgvector's convention for empty sets
    EXPECT_EQ(jaccard_bits(ones, ones, 3), 0.0);
    EXPECT_EQ(hamming_bits(zero, ones, 3), 24u);
}

}  // namespace
}  // namespace vectordb
