// Code-scan kernels for CPUs with AVX2 (and so POPCNT): the hardware popcount
// on each 64-bit word; the block layout keeps the 8 codes' loads sequential.
// Everything has internal linkage so no AVX2-compiled inline function can be
// picked by the linker for generic code.
#if !defined(__AVX2__) || !defined(__POPCNT__)
#error "code_scan_avx2.cpp must be compiled with -mavx2"
#endif

#include "core/code_scan.h"

#include <immintrin.h>

namespace vectordb {
namespace detail {
namespace {

void weighted_popcount_avx2(const uint64_t* blocks, std::size_t nblocks, std::size_t words, const uint64_t* planes,
                            uint32_t* out) {
    for (std::size_t b = 0; b < nblocks; b++) {
        const uint64_t* block = blocks + b * words * kCodeBlock;
        uint64_t acc[kCodeBlock] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (std::size_t w = 0; w < words; w++) {
            const uint64_t p0 = planes[w], p1 = planes[words + w];
            const uint64_t p2 = planes[2 * words + w], p3 = planes[3 * words + w];
            const uint64_t* codes = block + w * kCodeBlock;
            for (std::size_t j = 0; j < kCodeBlock; j++) {
                const uint64_t c = codes[j];
                acc[j] += _mm_popcnt_u64(c & p0) + (_mm_popcnt_u64(c & p1) << 1) + (_mm_popcnt_u64(c & p2) << 2) +
                          (_mm_popcnt_u64(c & p3) << 3);
            }
        }
        for (std::size_t j = 0; j < kCodeBlock; j++) out[b * kCodeBlock + j] = static_cast<uint32_t>(acc[j]);
    }
}

void hamming_avx2(const uint64_t* blocks, std::size_t nblocks, std::size_t words, const uint64_t* query,
                  uint32_t* out) {
    for (std::size_t b = 0; b < nblocks; b++) {
        const uint64_t* block = blocks + b * words * kCodeBlock;
        uint64_t acc[kCodeBlock] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (std::size_t w = 0; w < words; w++) {
            const uint64_t q = query[w];
            const uint64_t* codes = block + w * kCodeBlock;
            for (std::size_t j = 0; j < kCodeBlock; j++) acc[j] += _mm_popcnt_u64(codes[j] ^ q);
        }
        for (std::size_t j = 0; j < kCodeBlock; j++) out[b * kCodeBlock + j] = static_cast<uint32_t>(acc[j]);
    }
}

}  // namespace

extern const CodeScanKernels kAvx2CodeScan = {"avx2", weighted_popcount_avx2, hamming_avx2, quantize_query_scalar};

}  // namespace detail
}  // namespace vectordb
