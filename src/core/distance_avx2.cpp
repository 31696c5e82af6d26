// AVX2 + FMA distance kernels. Compiled with -mavx2 -mfma and only called after
// isa_supported(KernelIsa::Avx2) said yes.
//
// Everything here has internal linkage and no standard-library function is
// used: an inline function emitted in this file could otherwise be merged by
// the linker with the generic copy, and then AVX2 code would run on any CPU.
#if !defined(__AVX2__) || !defined(__FMA__)
#error "distance_avx2.cpp must be compiled with -mavx2 -mfma"
#endif

#include "core/distance_isa.h"

#include <immintrin.h>

namespace vectordb {
namespace {

constexpr std::size_t kWidth = 8;            // floats per __m256
constexpr std::size_t kUnroll = 4 * kWidth;  // 4 independent accumulators

// Sliding window: loading 8 ints at kTailMask + 8 - r enables the first r lanes.
alignas(32) const std::int32_t kTailMask[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

// Mask for a tail of r (1..7) elements; maskload never touches disabled lanes.
__m256i tail_mask(std::size_t r) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kTailMask + kWidth - r));
}

// Sum of the 8 lanes.
float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// Per-kernel accumulation step. Each maps zero inputs to a zero contribution,
// so masked-off tail lanes (loaded as 0) need no special handling.
struct L2Step {
    static __m256 step(__m256 acc, __m256 x, __m256 y) {
        const __m256 d = _mm256_sub_ps(x, y);
        return _mm256_fmadd_ps(d, d, acc);
    }
};
struct DotStep {
    static __m256 step(__m256 acc, __m256 x, __m256 y) { return _mm256_fmadd_ps(x, y, acc); }
};
struct L1Step {
    static __m256 step(__m256 acc, __m256 x, __m256 y) {
        // |d|: clear the sign bit.
        const __m256 abs_d = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), _mm256_sub_ps(x, y));
        return _mm256_add_ps(acc, abs_d);
    }
};

// Sums Op::step over a and b: 32 floats per iteration in 4 accumulators (hides
// FMA latency), then 8 at a time, then one masked load for the last 1..7.
template <typename Op>
float reduce(const float* a, const float* b, std::size_t n) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    __m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
    std::size_t i = 0;
    for (; i + kUnroll <= n; i += kUnroll) {
        acc0 = Op::step(acc0, _mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        acc1 = Op::step(acc1, _mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
        acc2 = Op::step(acc2, _mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16));
        acc3 = Op::step(acc3, _mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24));
    }
    for (; i + kWidth <= n; i += kWidth) acc0 = Op::step(acc0, _mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    if (i < n) {
        const __m256i m = tail_mask(n - i);
        acc1 = Op::step(acc1, _mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m));
    }
    return hsum(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
}

// AVX2 sum (a-b)^2.
float l2_squared_avx2(const float* a, const float* b, std::size_t n) { return reduce<L2Step>(a, b, n); }

// AVX2 sum a*b.
float inner_product_avx2(const float* a, const float* b, std::size_t n) { return reduce<DotStep>(a, b, n); }

// AVX2 sum |a-b|.
float l1_avx2(const float* a, const float* b, std::size_t n) { return reduce<L1Step>(a, b, n); }

// AVX2 sum a*a (its own loop: one load per element instead of two).
float squared_norm_avx2(const float* a, std::size_t n) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    __m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
    std::size_t i = 0;
    for (; i + kUnroll <= n; i += kUnroll) {
        const __m256 x0 = _mm256_loadu_ps(a + i), x1 = _mm256_loadu_ps(a + i + 8);
        const __m256 x2 = _mm256_loadu_ps(a + i + 16), x3 = _mm256_loadu_ps(a + i + 24);
        acc0 = _mm256_fmadd_ps(x0, x0, acc0);
        acc1 = _mm256_fmadd_ps(x1, x1, acc1);
        acc2 = _mm256_fmadd_ps(x2, x2, acc2);
        acc3 = _mm256_fmadd_ps(x3, x3, acc3);
    }
    for (; i + kWidth <= n; i += kWidth) {
        const __m256 x = _mm256_loadu_ps(a + i);
        acc0 = _mm256_fmadd_ps(x, x, acc0);
    }
    if (i < n) {
        const __m256 x = _mm256_maskload_ps(a + i, tail_mask(n - i));
        acc1 = _mm256_fmadd_ps(x, x, acc1);
    }
    return hsum(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
}

// The three running sums of dot_and_norms. Named accumulators rather than
// arrays: GCC -O2 does not unroll a loop over an array of vectors and would
// keep the array on the stack.
struct Sums {
    __m256 dot, norm_a, norm_b;
};

// Adds x*y, x*x and y*y to the three sums.
Sums accumulate(Sums s, __m256 x, __m256 y) {
    return {_mm256_fmadd_ps(x, y, s.dot), _mm256_fmadd_ps(x, x, s.norm_a), _mm256_fmadd_ps(y, y, s.norm_b)};
}

// Lane-wise sum of two accumulator sets.
Sums add(Sums s, Sums t) {
    return {_mm256_add_ps(s.dot, t.dot), _mm256_add_ps(s.norm_a, t.norm_a), _mm256_add_ps(s.norm_b, t.norm_b)};
}

// AVX2 one-pass dot product and both squared norms: 4 x 3 accumulators plus
// the two loaded vectors fit in the 16 ymm registers.
void dot_and_norms_avx2(const float* a, const float* b, std::size_t n, float* dot, float* norm_a_sq, float* norm_b_sq) {
    const __m256 zero = _mm256_setzero_ps();
    Sums s0{zero, zero, zero}, s1 = s0, s2 = s0, s3 = s0;
    std::size_t i = 0;
    for (; i + kUnroll <= n; i += kUnroll) {
        s0 = accumulate(s0, _mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        s1 = accumulate(s1, _mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
        s2 = accumulate(s2, _mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16));
        s3 = accumulate(s3, _mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24));
    }
    for (; i + kWidth <= n; i += kWidth) s0 = accumulate(s0, _mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    if (i < n) {
        const __m256i m = tail_mask(n - i);
        s1 = accumulate(s1, _mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m));
    }
    const Sums total = add(add(s0, s1), add(s2, s3));
    *dot = hsum(total.dot);
    *norm_a_sq = hsum(total.norm_a);
    *norm_b_sq = hsum(total.norm_b);
}

// ---- all-pairs inner products ----------------------------------------------
//
// Every pair is summed in one accumulator, 8 floats at a time in order, then a
// masked tail, then hsum: the same steps in the 2x4 tile and the single-pair
// path, so a pair's value does not depend on its neighbours.

// One pair.
float dot_pair(const float* a, const float* b, std::size_t n) {
    __m256 acc = _mm256_setzero_ps();
    std::size_t i = 0;
    for (; i + kWidth <= n; i += kWidth) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
    if (i < n) {
        const __m256i m = tail_mask(n - i);
        acc = _mm256_fmadd_ps(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m), acc);
    }
    return hsum(acc);
}

// Two rows against four columns: 6 loads feed 8 FMAs; 8 accumulators and the
// 6 loaded vectors fit in the 16 ymm registers.
#define VDB_TILE_STEP(LOAD)                                                                      \
    {                                                                                            \
        const __m256 x0 = LOAD(r0 + i), x1 = LOAD(r1 + i);                                       \
        const __m256 y0 = LOAD(c0 + i), y1 = LOAD(c1 + i), y2 = LOAD(c2 + i), y3 = LOAD(c3 + i); \
        a00 = _mm256_fmadd_ps(x0, y0, a00), a01 = _mm256_fmadd_ps(x0, y1, a01);                  \
        a02 = _mm256_fmadd_ps(x0, y2, a02), a03 = _mm256_fmadd_ps(x0, y3, a03);                  \
        a10 = _mm256_fmadd_ps(x1, y0, a10), a11 = _mm256_fmadd_ps(x1, y1, a11);                  \
        a12 = _mm256_fmadd_ps(x1, y2, a12), a13 = _mm256_fmadd_ps(x1, y3, a13);                  \
    }
#define VDB_FULL_LOAD(p) _mm256_loadu_ps(p)
#define VDB_TAIL_LOAD(p) _mm256_maskload_ps(p, m)

void dot_tile_2x4(const float* const* rows, const float* columns, std::size_t n, float* out, std::size_t out_stride) {
    const float *r0 = rows[0], *r1 = rows[1];
    const float *c0 = columns, *c1 = columns + n, *c2 = columns + 2 * n, *c3 = columns + 3 * n;
    __m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    std::size_t i = 0;
    for (; i + kWidth <= n; i += kWidth) VDB_TILE_STEP(VDB_FULL_LOAD)
    if (i < n) {
        const __m256i m = tail_mask(n - i);
        VDB_TILE_STEP(VDB_TAIL_LOAD)
    }
    float* o0 = out;
    float* o1 = out + out_stride;
    o0[0] = hsum(a00), o0[1] = hsum(a01), o0[2] = hsum(a02), o0[3] = hsum(a03);
    o1[0] = hsum(a10), o1[1] = hsum(a11), o1[2] = hsum(a12), o1[3] = hsum(a13);
}
#undef VDB_TILE_STEP
#undef VDB_FULL_LOAD
#undef VDB_TAIL_LOAD

// All pairs: four columns at a time against every two-row tile; the leftover
// rows and columns one pair at a time.
void inner_products_avx2(const float* const* rows, std::size_t row_count, const float* columns,
                         std::size_t column_count, std::size_t n, float* out) {
    const std::size_t full_rows = row_count - row_count % 2, full_columns = column_count - column_count % 4;
    for (std::size_t j = 0; j < full_columns; j += 4)
        for (std::size_t i = 0; i < full_rows; i += 2)
            dot_tile_2x4(rows + i, columns + j * n, n, out + i * column_count + j, column_count);
    for (std::size_t i = 0; i < row_count; ++i) {
        const std::size_t first = i < full_rows ? full_columns : 0;
        for (std::size_t j = first; j < column_count; ++j)
            out[i * column_count + j] = dot_pair(rows[i], columns + j * n, n);
    }
}

}  // namespace

namespace detail {
extern const DistanceKernels kAvx2Kernels = {
    l2_squared_avx2, inner_product_avx2, l1_avx2, squared_norm_avx2, dot_and_norms_avx2, inner_products_avx2,
};
}  // namespace detail

}  // namespace vectordb
