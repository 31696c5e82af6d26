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

void weighted_popcount_avx512(const uint64_t* blocks, std::size_t nblocks, std::size_t words, const uint64_t* planes,
                              uint32_t* out) {
    for (std::size_t b = 0; b < nblocks; b++) {
        const uint64_t* block = blocks + b * words * kCodeBlock;
        __m512i acc0 = _mm512_setzero_si512(), acc1 = _mm512_setzero_si512();
        __m512i acc2 = _mm512_setzero_si512(), acc3 = _mm512_setzero_si512();
        for (std::size_t w = 0; w < words; w++) {
            const __m512i codes = _mm512_loadu_si512(block + w * kCodeBlock);
            const long long* p = reinterpret_cast<const long long*>(planes);
            acc0 = _mm512_add_epi64(acc0, _mm512_popcnt_epi64(_mm512_and_si512(codes, _mm512_set1_epi64(p[w]))));
            acc1 =
                _mm512_add_epi64(acc1, _mm512_popcnt_epi64(_mm512_and_si512(codes, _mm512_set1_epi64(p[words + w]))));
            acc2 = _mm512_add_epi64(acc2,
                                    _mm512_popcnt_epi64(_mm512_and_si512(codes, _mm512_set1_epi64(p[2 * words + w]))));
            acc3 = _mm512_add_epi64(acc3,
                                    _mm512_popcnt_epi64(_mm512_and_si512(codes, _mm512_set1_epi64(p[3 * words + w]))));
        }
        // total = acc0 + 2 acc1 + 4 acc2 + 8 acc3, then narrow the 8 lanes to uint32.
        // (maskz forms with a full mask: GCC 12 warns about the unmasked ones' undefined source.)
        const __m512i total = _mm512_add_epi64(
            _mm512_add_epi64(acc0, _mm512_maskz_slli_epi64(0xFF, acc1, 1)),
            _mm512_add_epi64(_mm512_maskz_slli_epi64(0xFF, acc2, 2), _mm512_maskz_slli_epi64(0xFF, acc3, 3)));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + b * kCodeBlock), _mm512_maskz_cvtepi64_epi32(0xFF, total));
    }
}

void hamming_avx512(const uint64_t* blocks, std::size_t nblocks, std::size_t words, const uint64_t* query,
                    uint32_t* out) {
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

// 16 levels per step; bit p of the 16 levels comes out as one 16-bit mask.
void quantize_query_avx512(const float* x, std::size_t words, float low, float inv_delta, uint64_t* planes) {
    const __m512 vlow = _mm512_set1_ps(low), vinv = _mm512_set1_ps(inv_delta), half = _mm512_set1_ps(0.5f);
    const __m512i top = _mm512_set1_epi32((1 << kQueryBits) - 1);
    for (std::size_t w = 0; w < words; w++) {
        uint64_t plane[kQueryBits] = {};
        for (std::size_t q = 0; q < 4; q++) {
            const __m512 v = _mm512_loadu_ps(x + w * 64 + q * 16);
            // mul then add, not fmadd: the same roundings as the scalar version, so same levels.
            const __m512 scaled = _mm512_add_ps(_mm512_mul_ps(_mm512_sub_ps(v, vlow), vinv), half);
            const __m512i level = _mm512_maskz_min_epu32(0xFFFF, _mm512_maskz_cvttps_epu32(0xFFFF, scaled), top);
            for (int p = 0; p < kQueryBits; p++) {
                const __mmask16 bits = _mm512_test_epi32_mask(level, _mm512_set1_epi32(1 << p));
                plane[p] |= static_cast<uint64_t>(bits) << (q * 16);
            }
        }
        for (int p = 0; p < kQueryBits; p++) planes[p * words + w] = plane[p];
    }
}

}  // namespace

extern const CodeScanKernels kAvx512CodeScan = {"avx512", weighted_popcount_avx512, hamming_avx512,
                                                quantize_query_avx512};

}  // namespace detail
}  // namespace vectordb
