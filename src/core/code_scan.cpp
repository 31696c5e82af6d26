// Dispatch and portable scalar versions of the code-scan kernels (code_scan.h).
#include "core/code_scan.h"

#include <algorithm>
#include <cstring>

namespace vectordb {
namespace detail {
namespace {

// Bit-trick popcount: the generic build may not assume the POPCNT instruction.
inline uint32_t popcount64(uint64_t x) {
    x = x - ((x >> 1) & 0x5555555555555555ull);
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0Full;
    return static_cast<uint32_t>((x * 0x0101010101010101ull) >> 56);
}

void weighted_popcount_scalar(const uint64_t* blocks, std::size_t nblocks, std::size_t words, const uint64_t* planes,
                              uint32_t* out) {
    for (std::size_t b = 0; b < nblocks; b++) {
        const uint64_t* block = blocks + b * words * kCodeBlock;
        for (std::size_t j = 0; j < kCodeBlock; j++) {
            uint32_t total = 0;
            for (std::size_t w = 0; w < words; w++) {
                const uint64_t c = block[w * kCodeBlock + j];
                for (int p = 0; p < kQueryBits; p++) total += popcount64(c & planes[p * words + w]) << p;
            }
            out[b * kCodeBlock + j] = total;
        }
    }
}

void hamming_scalar(const uint64_t* blocks, std::size_t nblocks, std::size_t words, const uint64_t* query,
                    uint32_t* out) {
    for (std::size_t b = 0; b < nblocks; b++) {
        const uint64_t* block = blocks + b * words * kCodeBlock;
        for (std::size_t j = 0; j < kCodeBlock; j++) {
            uint32_t total = 0;
            for (std::size_t w = 0; w < words; w++) total += popcount64(block[w * kCodeBlock + j] ^ query[w]);
            out[b * kCodeBlock + j] = total;
        }
    }
}

bool supports_avx2() {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");
}

bool supports_avx512() {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq");
}

const CodeScanKernels& best_kernels() {
    static const CodeScanKernels* best = supports_avx512() ? &kAvx512CodeScan
                                         : supports_avx2() ? &kAvx2CodeScan
                                                           : &kScalarCodeScan;
    return *best;
}

}  // namespace

void quantize_query_scalar(const float* x, std::size_t words, float low, float inv_delta, uint64_t* planes) {
    for (std::size_t w = 0; w < words; w++) {
        uint64_t plane[kQueryBits] = {};
        for (std::size_t b = 0; b < 64; b++) {
            const uint32_t level = query_level(x[w * 64 + b], low, inv_delta);
            for (int p = 0; p < kQueryBits; p++) plane[p] |= static_cast<uint64_t>((level >> p) & 1u) << b;
        }
        for (int p = 0; p < kQueryBits; p++) planes[p * words + w] = plane[p];
    }
}

extern const CodeScanKernels kScalarCodeScan = {"scalar", weighted_popcount_scalar, hamming_scalar,
                                                quantize_query_scalar};

std::size_t code_scan_implementations(const CodeScanKernels** out, std::size_t max) {
    std::size_t n = 0;
    if (n < max) out[n++] = &kScalarCodeScan;
    if (n < max && supports_avx2()) out[n++] = &kAvx2CodeScan;
    if (n < max && supports_avx512()) out[n++] = &kAvx512CodeScan;
    return n;
}

}  // namespace detail

void store_code(uint64_t* blocks, std::size_t index, std::size_t words, const uint64_t* code) {
    uint64_t* block = blocks + (index / kCodeBlock) * words * kCodeBlock;
    for (std::size_t w = 0; w < words; w++) block[w * kCodeBlock + index % kCodeBlock] = code[w];
}

void load_code(const uint64_t* blocks, std::size_t index, std::size_t words, uint64_t* code) {
    const uint64_t* block = blocks + (index / kCodeBlock) * words * kCodeBlock;
    for (std::size_t w = 0; w < words; w++) code[w] = block[w * kCodeBlock + index % kCodeBlock];
}

void scan_weighted_popcount(const uint64_t* blocks, std::size_t nblocks, std::size_t words, const uint64_t* planes,
                            uint32_t* out) {
    detail::best_kernels().weighted_popcount(blocks, nblocks, words, planes, out);
}

void scan_hamming(const uint64_t* blocks, std::size_t nblocks, std::size_t words, const uint64_t* query,
                  uint32_t* out) {
    detail::best_kernels().hamming(blocks, nblocks, words, query, out);
}

void quantize_query(const float* x, std::size_t words, float low, float inv_delta, uint64_t* planes) {
    detail::best_kernels().quantize(x, words, low, inv_delta, planes);
}

const char* code_scan_isa() { return detail::best_kernels().name; }

}  // namespace vectordb
