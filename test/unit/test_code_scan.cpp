// Unit tests for the code-scan kernels (code_scan.h): every implementation the
// CPU offers agrees with a plain reference on random codes of many lengths.
#include "core/code_scan.h"
#include "core/random.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace vectordb {
namespace {

uint32_t reference_popcount(uint64_t x) {
    uint32_t n = 0;
    for (; x; x &= x - 1) n++;
    return n;
}

struct Codes {
    std::size_t count, words;
    std::vector<std::vector<uint64_t>> plain;
    std::vector<uint64_t> blocks;
};

Codes random_codes(std::size_t count, std::size_t words, uint64_t seed) {
    SplitMix64 rng(seed);
    Codes c{count, words, {}, std::vector<uint64_t>(code_blocks(count) * kCodeBlock * words, 0)};
    for (std::size_t i = 0; i < count; i++) {
        std::vector<uint64_t> code(words);
        for (auto& w : code) w = rng.next();
        store_code(c.blocks.data(), i, words, code.data());
        c.plain.push_back(code);
    }
    return c;
}

TEST(CodeScan, StoreAndLoadRoundTrip) {
    const Codes c = random_codes(21, 3, 7);
    std::vector<uint64_t> back(3);
    for (std::size_t i = 0; i < c.count; i++) {
        load_code(c.blocks.data(), i, 3, back.data());
        EXPECT_EQ(back, c.plain[i]);
    }
}

TEST(CodeScan, EveryImplementationMatchesReference) {
    const detail::CodeScanKernels* impls[4];
    const std::size_t n_impls = detail::code_scan_implementations(impls, 4);
    ASSERT_GE(n_impls, 1u);
    SplitMix64 rng(99);
    for (std::size_t words : {1u, 2u, 3u, 12u, 16u, 250u}) {
        for (std::size_t count : {1u, 7u, 8u, 9u, 64u, 1000u}) {
            const Codes c = random_codes(count, words, words * 1000 + count);
            std::vector<uint64_t> planes(kQueryBits * words);
            for (auto& p : planes) p = rng.next();
            std::vector<uint64_t> query(words);
            for (auto& q : query) q = rng.next();
            const std::size_t blocks = code_blocks(count);
            for (std::size_t m = 0; m < n_impls; m++) {
                SCOPED_TRACE(std::string(impls[m]->name) + " words=" + std::to_string(words) +
                             " count=" + std::to_string(count));
                std::vector<uint32_t> weighted(blocks * kCodeBlock), hamming(blocks * kCodeBlock);
                impls[m]->weighted_popcount(c.blocks.data(), blocks, words, planes.data(), weighted.data());
                impls[m]->hamming(c.blocks.data(), blocks, words, query.data(), hamming.data());
                for (std::size_t i = 0; i < count; i++) {
                    uint32_t want_w = 0, want_h = 0;
                    for (std::size_t w = 0; w < words; w++) {
                        for (int p = 0; p < kQueryBits; p++)
                            want_w += reference_popcount(c.plain[i][w] & planes[p * words + w]) << p;
                        want_h += reference_popcount(c.plain[i][w] ^ query[w]);
                    }
                    ASSERT_EQ(weighted[i], want_w) << "code " << i;
                    ASSERT_EQ(hamming[i], want_h) << "code " << i;
                }
            }
        }
    }
}

TEST(CodeScan, QuantizeQueryMatchesReferenceOnEveryImplementation) {
    const detail::CodeScanKernels* impls[4];
    const std::size_t n_impls = detail::code_scan_implementations(impls, 4);
    SplitMix64 rng(5);
    for (std::size_t words : {1u, 3u, 12u}) {
        std::vector<float> x(words * 64);
        for (auto& v : x) v = static_cast<float>(rng.uniform() * 4.0 - 1.0);
        x[3] = -1.0f;  // the low end maps to level 0
        x[7] = 3.0f;   // the high end to level 15
        const float low = -1.0f, inv_delta = 15.0f / 4.0f;
        for (std::size_t m = 0; m < n_impls; m++) {
            SCOPED_TRACE(impls[m]->name);
            std::vector<uint64_t> planes(kQueryBits * words, ~0ull);
            impls[m]->quantize(x.data(), words, low, inv_delta, planes.data());
            for (std::size_t i = 0; i < x.size(); i++) {
                const auto want = std::min(static_cast<uint32_t>((x[i] - low) * inv_delta + 0.5f), 15u);
                ASSERT_EQ(query_level(x[i], low, inv_delta), want) << "coordinate " << i;
                uint32_t got = 0;
                for (int p = 0; p < kQueryBits; p++) got |= ((planes[p * words + i / 64] >> (i % 64)) & 1u) << p;
                ASSERT_EQ(got, want) << "coordinate " << i;
            }
        }
    }
}

TEST(CodeScan, DispatchUsesBestImplementation) {
    const detail::CodeScanKernels* impls[4];
    const std::size_t n = detail::code_scan_implementations(impls, 4);
    EXPECT_STREQ(code_scan_isa(), impls[n - 1]->name);
}

}  // namespace
}  // namespace vectordb
