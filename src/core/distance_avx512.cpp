// AVX-512 distance kernels. Compiled with -mavx512f -mavx512bw -mavx512dq
// -mavx512vl (the build adds -mavx512vpopcntdq to every *_avx512.cpp; nothing
// here counts bits, so no VPOPCNTDQ instruction is emitted) and only called
// after isa_supported(KernelIsa::Avx512) said yes.
//
// Everything here has internal linkage and no standard-library function is
// used: an inline function emitted in this file could otherwise be merged by
// the linker with the generic copy, and then AVX-512 code would run on any CPU.
#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512DQ__) || !defined(__AVX512VL__)
#error "distance_avx512.cpp must be compiled with -mavx512f -mavx512bw -mavx512dq -mavx512vl"
#endif

#include "core/distance_isa.h"

#include <immintrin.h>

namespace vectordb {
namespace {

constexpr std::size_t kWidth = 16;           // floats per __m512
constexpr std::size_t kUnroll = 4 * kWidth;  // 4 independent accumulators

// Mask enabling the first r (1..15) lanes; masked-off lanes are neither read
// (no fault past the end of the array) nor nonzero.
__mmask16 tail_mask(std::size_t r) { return static_cast<__mmask16>((1u << r) - 1u); }

// Sum of the 16 lanes. Hand-written rather than _mm512_reduce_add_ps, whose
// GCC 12 expansion trips a false -Wuninitialized (via _mm256_undefined_pd).
float hsum(__m512 v) {
    const __m256 halves =
        _mm256_add_ps(_mm512_maskz_extractf32x8_ps(0xFF, v, 0), _mm512_maskz_extractf32x8_ps(0xFF, v, 1));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(halves), _mm256_extractf128_ps(halves, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// Per-kernel accumulation step. Each maps zero inputs to a zero contribution,
// so the zero-filled tail lanes need no special handling.
struct L2Step {
    static __m512 step(__m512 acc, __m512 x, __m512 y) {
        const __m512 d = _mm512_sub_ps(x, y);
        return _mm512_fmadd_ps(d, d, acc);
    }
};
struct DotStep {
    static __m512 step(__m512 acc, __m512 x, __m512 y) { return _mm512_fmadd_ps(x, y, acc); }
};
struct L1Step {
    static __m512 step(__m512 acc, __m512 x, __m512 y) {
        return _mm512_add_ps(acc, _mm512_abs_ps(_mm512_sub_ps(x, y)));
    }
};

// Sums Op::step over a and b: 64 floats per iteration in 4 accumulators (hides
// FMA latency), then 16 at a time, then one masked load for the last 1..15.
template <typename Op>
float reduce(const float* a, const float* b, std::size_t n) {
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    __m512 acc2 = _mm512_setzero_ps(), acc3 = _mm512_setzero_ps();
    std::size_t i = 0;
    for (; i + kUnroll <= n; i += kUnroll) {
        acc0 = Op::step(acc0, _mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
        acc1 = Op::step(acc1, _mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
        acc2 = Op::step(acc2, _mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32));
        acc3 = Op::step(acc3, _mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48));
    }
    for (; i + kWidth <= n; i += kWidth) acc0 = Op::step(acc0, _mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
    if (i < n) {
        const __mmask16 m = tail_mask(n - i);
        acc1 = Op::step(acc1, _mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i));
    }
    return hsum(_mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
}

// AVX-512 sum (a-b)^2.
float l2_squared_avx512(const float* a, const float* b, std::size_t n) { return reduce<L2Step>(a, b, n); }

// AVX-512 sum a*b.
float inner_product_avx512(const float* a, const float* b, std::size_t n) { return reduce<DotStep>(a, b, n); }

// AVX-512 sum |a-b|.
float l1_avx512(const float* a, const float* b, std::size_t n) { return reduce<L1Step>(a, b, n); }

// AVX-512 sum a*a (its own loop: one load per element instead of two).
float squared_norm_avx512(const float* a, std::size_t n) {
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    __m512 acc2 = _mm512_setzero_ps(), acc3 = _mm512_setzero_ps();
    std::size_t i = 0;
    for (; i + kUnroll <= n; i += kUnroll) {
        const __m512 x0 = _mm512_loadu_ps(a + i), x1 = _mm512_loadu_ps(a + i + 16);
        const __m512 x2 = _mm512_loadu_ps(a + i + 32), x3 = _mm512_loadu_ps(a + i + 48);
        acc0 = _mm512_fmadd_ps(x0, x0, acc0);
        acc1 = _mm512_fmadd_ps(x1, x1, acc1);
        acc2 = _mm512_fmadd_ps(x2, x2, acc2);
        acc3 = _mm512_fmadd_ps(x3, x3, acc3);
    }
    for (; i + kWidth <= n; i += kWidth) {
        const __m512 x = _mm512_loadu_ps(a + i);
        acc0 = _mm512_fmadd_ps(x, x, acc0);
    }
    if (i < n) {
        const __m512 x = _mm512_maskz_loadu_ps(tail_mask(n - i), a + i);
        acc1 = _mm512_fmadd_ps(x, x, acc1);
    }
    return hsum(_mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
}

// The three running sums of dot_and_norms. Named accumulators rather than
// arrays: GCC -O2 does not unroll a loop over an array of vectors and would
// keep the array on the stack.
struct Sums {
    __m512 dot, norm_a, norm_b;
};

// Adds x*y, x*x and y*y to the three sums.
Sums accumulate(Sums s, __m512 x, __m512 y) {
    return {_mm512_fmadd_ps(x, y, s.dot), _mm512_fmadd_ps(x, x, s.norm_a), _mm512_fmadd_ps(y, y, s.norm_b)};
}

// Lane-wise sum of two accumulator sets.
Sums add(Sums s, Sums t) {
    return {_mm512_add_ps(s.dot, t.dot), _mm512_add_ps(s.norm_a, t.norm_a), _mm512_add_ps(s.norm_b, t.norm_b)};
}

// AVX-512 one-pass dot product and both squared norms: 4 x 3 accumulators
// (32 zmm registers leave plenty of room for the loads).
void dot_and_norms_avx512(const float* a, const float* b, std::size_t n, float* dot, float* norm_a_sq,
                          float* norm_b_sq) {
    const __m512 zero = _mm512_setzero_ps();
    Sums s0{zero, zero, zero}, s1 = s0, s2 = s0, s3 = s0;
    std::size_t i = 0;
    for (; i + kUnroll <= n; i += kUnroll) {
        s0 = accumulate(s0, _mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
        s1 = accumulate(s1, _mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
        s2 = accumulate(s2, _mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32));
        s3 = accumulate(s3, _mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48));
    }
    for (; i + kWidth <= n; i += kWidth) s0 = accumulate(s0, _mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
    if (i < n) {
        const __mmask16 m = tail_mask(n - i);
        s1 = accumulate(s1, _mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i));
    }
    const Sums total = add(add(s0, s1), add(s2, s3));
    *dot = hsum(total.dot);
    *norm_a_sq = hsum(total.norm_a);
    *norm_b_sq = hsum(total.norm_b);
}

// ---- all-pairs inner products ----------------------------------------------
//
// Every pair is summed in one accumulator, 16 floats at a time in order, then
// a masked tail, then hsum: the same steps in the 4x4 tile and the single-pair
// path, so a pair's value does not depend on its neighbours.

// One pair.
float dot_pair(const float* a, const float* b, std::size_t n) {
    __m512 acc = _mm512_setzero_ps();
    std::size_t i = 0;
    for (; i + kWidth <= n; i += kWidth) acc = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc);
    if (i < n) {
        const __mmask16 m = tail_mask(n - i);
        acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), acc);
    }
    return hsum(acc);
}

// Four rows against four columns: 8 loads feed 16 FMAs, in 16 accumulators
// (named, not an array, so they stay in registers).
#define VDB_ROW_FMAS(r)                           \
    a##r##0 = _mm512_fmadd_ps(x##r, y0, a##r##0); \
    a##r##1 = _mm512_fmadd_ps(x##r, y1, a##r##1); \
    a##r##2 = _mm512_fmadd_ps(x##r, y2, a##r##2); \
    a##r##3 = _mm512_fmadd_ps(x##r, y3, a##r##3);
#define VDB_TILE_STEP(LOAD)                                                                      \
    {                                                                                            \
        const __m512 x0 = LOAD(r0 + i), x1 = LOAD(r1 + i), x2 = LOAD(r2 + i), x3 = LOAD(r3 + i); \
        const __m512 y0 = LOAD(c0 + i), y1 = LOAD(c1 + i), y2 = LOAD(c2 + i), y3 = LOAD(c3 + i); \
        VDB_ROW_FMAS(0) VDB_ROW_FMAS(1) VDB_ROW_FMAS(2) VDB_ROW_FMAS(3)                          \
    }
#define VDB_FULL_LOAD(p) _mm512_loadu_ps(p)
#define VDB_TAIL_LOAD(p) _mm512_maskz_loadu_ps(m, p)

void dot_tile_4x4(const float* const* rows, const float* columns, std::size_t n, float* out, std::size_t out_stride) {
    const float *r0 = rows[0], *r1 = rows[1], *r2 = rows[2], *r3 = rows[3];
    const float *c0 = columns, *c1 = columns + n, *c2 = columns + 2 * n, *c3 = columns + 3 * n;
    __m512 a00 = _mm512_setzero_ps(), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00,
           a20 = a00, a21 = a00, a22 = a00, a23 = a00, a30 = a00, a31 = a00, a32 = a00, a33 = a00;
    std::size_t i = 0;
    for (; i + kWidth <= n; i += kWidth) VDB_TILE_STEP(VDB_FULL_LOAD)
    if (i < n) {
        const __mmask16 m = tail_mask(n - i);
        VDB_TILE_STEP(VDB_TAIL_LOAD)
    }
    float* o0 = out;
    float* o1 = out + out_stride;
    float* o2 = out + 2 * out_stride;
    float* o3 = out + 3 * out_stride;
    o0[0] = hsum(a00), o0[1] = hsum(a01), o0[2] = hsum(a02), o0[3] = hsum(a03);
    o1[0] = hsum(a10), o1[1] = hsum(a11), o1[2] = hsum(a12), o1[3] = hsum(a13);
    o2[0] = hsum(a20), o2[1] = hsum(a21), o2[2] = hsum(a22), o2[3] = hsum(a23);
    o3[0] = hsum(a30), o3[1] = hsum(a31), o3[2] = hsum(a32), o3[3] = hsum(a33);
}
#undef VDB_ROW_FMAS
#undef VDB_TILE_STEP
#undef VDB_FULL_LOAD
#undef VDB_TAIL_LOAD

// All pairs: four columns at a time (they stay in L1) against every
// four-row tile; the leftover rows and columns one pair at a time.
void inner_products_avx512(const float* const* rows, std::size_t row_count, const float* columns,
                           std::size_t column_count, std::size_t n, float* out) {
    const std::size_t full_rows = row_count - row_count % 4, full_columns = column_count - column_count % 4;
    for (std::size_t j = 0; j < full_columns; j += 4)
        for (std::size_t i = 0; i < full_rows; i += 4)
            dot_tile_4x4(rows + i, columns + j * n, n, out + i * column_count + j, column_count);
    for (std::size_t i = 0; i < row_count; ++i) {
        const std::size_t first = i < full_rows ? full_columns : 0;
        for (std::size_t j = first; j < column_count; ++j)
            out[i * column_count + j] = dot_pair(rows[i], columns + j * n, n);
    }
}

}  // namespace

namespace detail {
extern const DistanceKernels kAvx512Kernels = {
    l2_squared_avx512,   inner_product_avx512, l1_avx512,
    squared_norm_avx512, dot_and_norms_avx512, inner_products_avx512,
};
}  // namespace detail

}  // namespace vectordb
