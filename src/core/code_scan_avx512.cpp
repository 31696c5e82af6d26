// Code-scan kernels for AVX-512 with VPOPCNTDQ: one zmm register holds the same
// word of the 8 codes of a block, so each AND + VPOPCNTQ + ADD advances 8 codes
// at once and the 8 results come out in lanes, without horizontal sums.
// Internal linkage only (see code_scan_avx2.cpp).
#if !defined(__AVX512F__) || !defined(__AVX512VPOPCNTDQ__)
#error "code_scan_avx512.cpp must be compiled with -mavx512f -mavx512vpopcntdq"
#endif

#include "core/code_scan.h"

#include <immintrin.h>

namespace vectordb {
namespace detail {
namespace {

void weighted_popcount_avx512(const uint64_t* blocks, std::size_t nblocks, std::size_t words,
                              const uint64_t* planes, uint32_t* out) {
    for (std::size_t b = 0; b < nblocks; b++) {
        const uint64_t* block = blocks + b * words * kCodeBlock;
        __m512i acc0 = _mm512_setzero_si512(), acc1 = _mm512_setzero_si512();
        __m512i acc2 = _mm512_setzero_si512(), acc3 = _mm512_setzero_si512();
        for (std::size_t w = 0; w < words; w++) {
            const __m512i codes = _mm512_loadu_si512(block + w * kCodeBlock);
            const long long* p = reinterpret_cast<const long long*>(planes);
            acc0 = _mm512_add_epi64(acc0, _mm512_popcnt_epi64(_mm512_and_si512(codes, _mm512_set1_epi64(p[w]))));
            acc1 = _mm512_add_epi64(acc1, _mm512_popcnt_epi64(_mm512_and_si512(codes, _mm512_set1_epi64(p[words + w]))));
            acc2 = _mm512_add_epi64(acc2, _mm512_popcnt_epi64(_mm512_and_si512(codes, _mm512_set1_epi64(p[2 * words + w]))));
            acc3 = _mm512_add_epi64(acc3, _mm512_popcnt_epi64(_mm512_and_si512(codes, _mm512_set1_epi64(p[3 * words + w]))));
        }
        // total = acc0 + 2 acc1 + 4 acc2 + 8 acc3, then narrow the 8 lanes to uint32.
        // (maskz forms with a full mask: GCC 12 warns about the unmasked ones' undefined source.)
        const __m512i total = _mm512_add_epi64(
            _mm512_add_epi64(acc0, _mm512_maskz_slli_epi64(0xFF, acc1, 1)),
            _mm512_add_epi64(_mm512_maskz_slli_epi64(0xFF, acc2, 2), _mm512_maskz_slli_epi64(0xFF, acc3, 3)));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + b * kCodeBlock), _mm512_maskz_cvtepi64_epi32(0xFF, total));
    }
}

void hamming_avx512(const uint64_t* blocks, std::size_t nblocks, std::size_t words,
                    const uint64_t* query, uint32_t* out) {
    const long long* q = reinterpret_cast<const long long*>(query);
    for (std::size_t b = 0; b < nblocks; b++) {
        const uint64_t* block = blocks + b * words * kCodeBlock;
        __m512i acc = _mm512_setzero_si512();
        for (std::size_t w = 0; w < words; w++) {
            const __m512i codes = _mm512_loadu_si512(block + w * kCodeBlock);
            acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(_mm512_xor_si512(codes, _mm512_set1_epi64(q[w]))));
        }
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + b * kCodeBlock), _mm512_maskz_cvtepi64_epi32(0xFF, acc));
    }
}

}  // namespace

extern const CodeScanKernels kAvx512CodeScan = {"avx512", weighted_popcount_avx512, hamming_avx512};

}  // namespace detail
}  // namespace vectordb
