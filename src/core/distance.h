// Distance kernels over float32 arrays, with one implementation per instruction
// set (scalar, AVX2+FMA, AVX-512) picked at run time from what the CPU offers.
//
// The free functions go through a table of function pointers that is resolved
// on first use, so each call costs one indirect call. kernels_for() gives a
// specific ISA's table (for tests and benchmarks).
//
// Accuracy: every kernel sums in float with several independent partial sums
// (scalar: 8, AVX2: 4 x 8 lanes, AVX-512: 4 x 16 lanes), which keeps each
// partial chain short; results of different ISAs may differ in the last bits.
// All pointers may be unaligned; no kernel reads past a[n-1] / b[n-1].
#pragma once

#include "core/common.h"

namespace vectordb {

// sum (a[i] - b[i])^2
float l2_squared_distance(const float* a, const float* b, std::size_t n);
// sum a[i] * b[i]
float inner_product(const float* a, const float* b, std::size_t n);
// sum |a[i] - b[i]|
float l1_distance(const float* a, const float* b, std::size_t n);
// sum a[i]^2
float squared_norm(const float* a, std::size_t n);
// Scales v to unit length (a zero vector stays as it is); returns its former length.
float normalize(float* v, std::size_t n);
// One pass computing sum a*b, sum a*a and sum b*b (what cosine needs).
void dot_and_norms(const float* a, const float* b, std::size_t n, float* dot, float* norm_a_sq, float* norm_b_sq);
// 1 - dot / sqrt(|a|^2 |b|^2), computed in double from the float sums with the
// similarity clamped to [-1, 1]; NaN if either vector has norm 0.
double cosine_distance(const float* a, const float* b, std::size_t n);
// The same from the three sums: NaN if a norm is 0, the similarity clamped to [-1, 1].
double cosine_distance_from_sums(double dot, double norm_a_sq, double norm_b_sq);

// Every inner product of `row_count` rows (pointers to n floats each) with
// `column_count` contiguous vectors of n floats (columns[j * n ...]):
// out[i * column_count + j] = <rows[i], column j>. The kernels work on small
// tiles of rows x columns so each load feeds several products (k-means
// assignment against hundreds of centroids is bound by this). Each pair is
// summed in the same order whatever tile it falls in, so a pair's value does
// not depend on how the caller groups rows; it may differ in the last bits
// from inner_product(), which sums in a different order.
void inner_products(const float* const* rows, std::size_t row_count, const float* columns, std::size_t column_count,
                    std::size_t n, float* out);

// Instruction sets with a kernel implementation, in increasing order of width.
enum class KernelIsa { Scalar, Avx2, Avx512 };

// The ISA the free functions use: the best one the CPU supports, decided once.
// The environment variable VECTORDB_FORCE_ISA=scalar|avx2|avx512 (read at that
// moment) may lower it, never raise it; an unknown value is ignored.
KernelIsa active_isa();
// Whether this CPU (and OS) can run the kernels of `isa`. Avx2 needs AVX2+FMA;
// Avx512 needs AVX-512 F, BW, DQ and VL.
bool isa_supported(KernelIsa isa);
// "scalar", "avx2" or "avx512" ("unknown" for a value outside the enum).
const char* isa_name(KernelIsa isa);

// One ISA's implementations; same contracts as the free functions above.
struct DistanceKernels {
    float (*l2_squared)(const float*, const float*, std::size_t);
    float (*inner_product)(const float*, const float*, std::size_t);
    float (*l1)(const float*, const float*, std::size_t);
    float (*squared_norm)(const float*, std::size_t);
    void (*dot_and_norms)(const float*, const float*, std::size_t, float*, float*, float*);
    void (*inner_products)(const float* const*, std::size_t, const float*, std::size_t, std::size_t, float*);
};

// The kernel table of `isa`; throws InvalidArgument if the CPU lacks it.
const DistanceKernels& kernels_for(KernelIsa isa);

}  // namespace vectordb
