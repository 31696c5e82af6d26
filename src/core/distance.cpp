// Run-time dispatch of the distance kernels, plus the portable scalar kernels.
// This file is compiled without ISA flags: it must run on any x86-64 CPU.
#include "core/distance.h"

#include "core/distance_isa.h"
#include "core/errors.h"

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

namespace vectordb {

// ---- scalar kernels ---------------------------------------------------------
//
// Accuracy choice: float arithmetic with 8 independent partial sums combined
// pairwise. Each partial sum sees only n/8 terms, so rounding error stays far
// below what the callers care about, while the independent chains let the CPU
// (and the compiler's SSE2 vectoriser) overlap the additions.

namespace {

constexpr std::size_t kScalarLanes = 8;

// Pairwise sum of the partials: a shorter rounding chain than a linear sum.
float sum_lanes(const float* s) { return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])); }

// One accumulation step per kernel; `acc` is a partial sum.
struct L2Step {
    static float step(float acc, float x, float y) {
        const float d = x - y;
        return acc + d * d;
    }
};
struct DotStep {
    static float step(float acc, float x, float y) { return acc + x * y; }
};
struct L1Step {
    static float step(float acc, float x, float y) { return acc + std::fabs(x - y); }
};

// Sums Op::step over both arrays, element i going to partial sum i % 8.
template <typename Op>
float scalar_reduce(const float* a, const float* b, std::size_t n) {
    float s[kScalarLanes] = {};
    std::size_t i = 0;
    for (; i + kScalarLanes <= n; i += kScalarLanes)
        for (std::size_t j = 0; j < kScalarLanes; ++j) s[j] = Op::step(s[j], a[i + j], b[i + j]);
    for (std::size_t j = 0; i < n; ++i, ++j) s[j] = Op::step(s[j], a[i], b[i]);
    return sum_lanes(s);
}

// Scalar sum (a-b)^2.
float l2_squared_scalar(const float* a, const float* b, std::size_t n) { return scalar_reduce<L2Step>(a, b, n); }

// Scalar sum a*b.
float inner_product_scalar(const float* a, const float* b, std::size_t n) { return scalar_reduce<DotStep>(a, b, n); }

// Scalar sum |a-b|.
float l1_scalar(const float* a, const float* b, std::size_t n) { return scalar_reduce<L1Step>(a, b, n); }

// Scalar sum a*a (same loads for both operands; the compiler merges them).
float squared_norm_scalar(const float* a, std::size_t n) { return scalar_reduce<DotStep>(a, a, n); }

// Scalar one-pass dot product and both squared norms. Three separate lane
// loops (not one loop updating three arrays) let GCC keep the 24 partial sums
// in SSE registers instead of on the stack.
void dot_and_norms_scalar(const float* a, const float* b, std::size_t n, float* dot, float* norm_a_sq,
                          float* norm_b_sq) {
    float d[kScalarLanes] = {}, na[kScalarLanes] = {}, nb[kScalarLanes] = {};
    std::size_t i = 0;
    for (; i + kScalarLanes <= n; i += kScalarLanes) {
        for (std::size_t j = 0; j < kScalarLanes; ++j) d[j] += a[i + j] * b[i + j];
        for (std::size_t j = 0; j < kScalarLanes; ++j) na[j] += a[i + j] * a[i + j];
        for (std::size_t j = 0; j < kScalarLanes; ++j) nb[j] += b[i + j] * b[i + j];
    }
    for (std::size_t j = 0; i < n; ++i, ++j) {
        d[j] += a[i] * b[i];
        na[j] += a[i] * a[i];
        nb[j] += b[i] * b[i];
    }
    *dot = sum_lanes(d);
    *norm_a_sq = sum_lanes(na);
    *norm_b_sq = sum_lanes(nb);
}

// Scalar all-pairs inner products: one pair at a time, each summed as
// inner_product_scalar sums it.
void inner_products_scalar(const float* const* rows, std::size_t row_count, const float* columns,
                           std::size_t column_count, std::size_t n, float* out) {
    for (std::size_t i = 0; i < row_count; ++i)
        for (std::size_t j = 0; j < column_count; ++j)
            out[i * column_count + j] = inner_product_scalar(rows[i], columns + j * n, n);
}

}  // namespace

namespace detail {
extern const DistanceKernels kScalarKernels = {
    l2_squared_scalar,   inner_product_scalar, l1_scalar,
    squared_norm_scalar, dot_and_norms_scalar, inner_products_scalar,
};
}  // namespace detail

// ---- ISA selection ----------------------------------------------------------

bool isa_supported(KernelIsa isa) {
    // Idempotent; needed in case we run before libgcc's own constructor did.
    __builtin_cpu_init();
    switch (isa) {
        case KernelIsa::Scalar:
            return true;
        case KernelIsa::Avx2:
            // libgcc also checks (XGETBV) that the OS saves the YMM/ZMM state.
            return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        case KernelIsa::Avx512:
            return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                   __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
    }
    return false;
}

const char* isa_name(KernelIsa isa) {
    switch (isa) {
        case KernelIsa::Scalar:
            return "scalar";
        case KernelIsa::Avx2:
            return "avx2";
        case KernelIsa::Avx512:
            return "avx512";
    }
    return "unknown";
}

namespace {

// ASCII case-insensitive equality (no locale: the backend's locale is not ours).
bool equals_ignore_case(const char* s, const char* lower) {
    for (; *s != '\0' && *lower != '\0'; ++s, ++lower) {
        char c = *s;
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != *lower) return false;
    }
    return *s == '\0' && *lower == '\0';
}

// Best supported ISA, capped by VECTORDB_FORCE_ISA when that names a known ISA.
KernelIsa choose_isa() {
    KernelIsa wanted = KernelIsa::Avx512;
    if (const char* env = std::getenv("VECTORDB_FORCE_ISA")) {
        if (equals_ignore_case(env, "scalar"))
            wanted = KernelIsa::Scalar;
        else if (equals_ignore_case(env, "avx2"))
            wanted = KernelIsa::Avx2;
        // "avx512" or anything unknown: no cap.
    }
    // Walk down from the cap to the first ISA this CPU runs (Scalar always does).
    for (int i = static_cast<int>(wanted); i > 0; --i)
        if (isa_supported(static_cast<KernelIsa>(i))) return static_cast<KernelIsa>(i);
    return KernelIsa::Scalar;
}

}  // namespace

KernelIsa active_isa() {
    static const KernelIsa isa = choose_isa();  // thread-safe, runs once
    return isa;
}

const DistanceKernels& kernels_for(KernelIsa isa) {
    const DistanceKernels* table = nullptr;
    switch (isa) {
        case KernelIsa::Scalar:
            table = &detail::kScalarKernels;
            break;
        case KernelIsa::Avx2:
            table = &detail::kAvx2Kernels;
            break;
        case KernelIsa::Avx512:
            table = &detail::kAvx512Kernels;
            break;
    }
    if (table == nullptr) throw InvalidArgument("unknown kernel ISA " + std::to_string(static_cast<int>(isa)));
    if (!isa_supported(isa))
        throw InvalidArgument(std::string("this CPU does not support the ") + isa_name(isa) + " distance kernels");
    return *table;
}

// ---- dispatch ---------------------------------------------------------------
//
// g_active starts out pointing at a table of resolver stubs. The first call of
// any kernel resolves the real table, stores it, and forwards; later calls are
// a pointer load plus one indirect call. Both tables are constant-initialised,
// so this works even from other files' static constructors, and a race between
// threads only stores the same pointer twice (relaxed is enough: the pointee
// is immutable static data).

namespace {

float l2_squared_resolve(const float* a, const float* b, std::size_t n);
float inner_product_resolve(const float* a, const float* b, std::size_t n);
float l1_resolve(const float* a, const float* b, std::size_t n);
float squared_norm_resolve(const float* a, std::size_t n);
void dot_and_norms_resolve(const float* a, const float* b, std::size_t n, float* dot, float* norm_a_sq,
                           float* norm_b_sq);
void inner_products_resolve(const float* const* rows, std::size_t row_count, const float* columns,
                            std::size_t column_count, std::size_t n, float* out);

constexpr DistanceKernels kResolverKernels = {
    l2_squared_resolve,   inner_product_resolve, l1_resolve,
    squared_norm_resolve, dot_and_norms_resolve, inner_products_resolve,
};

std::atomic<const DistanceKernels*> g_active{&kResolverKernels};

// Installs and returns the active ISA's table.
const DistanceKernels& resolve_active() {
    const DistanceKernels* table = &kernels_for(active_isa());
    g_active.store(table, std::memory_order_relaxed);
    return *table;
}

// Resolver stubs: resolve once, then forward to the real kernel.
float l2_squared_resolve(const float* a, const float* b, std::size_t n) { return resolve_active().l2_squared(a, b, n); }
float inner_product_resolve(const float* a, const float* b, std::size_t n) {
    return resolve_active().inner_product(a, b, n);
}
float l1_resolve(const float* a, const float* b, std::size_t n) { return resolve_active().l1(a, b, n); }
float squared_norm_resolve(const float* a, std::size_t n) { return resolve_active().squared_norm(a, n); }
void dot_and_norms_resolve(const float* a, const float* b, std::size_t n, float* dot, float* norm_a_sq,
                           float* norm_b_sq) {
    resolve_active().dot_and_norms(a, b, n, dot, norm_a_sq, norm_b_sq);
}
void inner_products_resolve(const float* const* rows, std::size_t row_count, const float* columns,
                            std::size_t column_count, std::size_t n, float* out) {
    resolve_active().inner_products(rows, row_count, columns, column_count, n, out);
}

// The current table (resolver stubs until the first call).
inline const DistanceKernels& active() { return *g_active.load(std::memory_order_relaxed); }

}  // namespace

float l2_squared_distance(const float* a, const float* b, std::size_t n) { return active().l2_squared(a, b, n); }

float inner_product(const float* a, const float* b, std::size_t n) { return active().inner_product(a, b, n); }

float l1_distance(const float* a, const float* b, std::size_t n) { return active().l1(a, b, n); }

float squared_norm(const float* a, std::size_t n) { return active().squared_norm(a, n); }

float normalize(float* v, std::size_t n) {
    const float norm = std::sqrt(squared_norm(v, n));
    if (norm > 0.0f)
        for (std::size_t j = 0; j < n; j++) v[j] /= norm;
    return norm;
}

void dot_and_norms(const float* a, const float* b, std::size_t n, float* dot, float* norm_a_sq, float* norm_b_sq) {
    active().dot_and_norms(a, b, n, dot, norm_a_sq, norm_b_sq);
}

void inner_products(const float* const* rows, std::size_t row_count, const float* columns, std::size_t column_count,
                    std::size_t n, float* out) {
    active().inner_products(rows, row_count, columns, column_count, n, out);
}

double cosine_distance(const float* a, const float* b, std::size_t n) {
    float dot = 0.0f, norm_a_sq = 0.0f, norm_b_sq = 0.0f;
    active().dot_and_norms(a, b, n, &dot, &norm_a_sq, &norm_b_sq);
    // Double product: na * nb cannot overflow or lose bits (float^2 fits in 53 bits).
    return cosine_distance_from_sums(dot, norm_a_sq, norm_b_sq);
}

double cosine_distance_from_sums(double dot, double norm_a_sq, double norm_b_sq) {
    if (norm_a_sq == 0.0 || norm_b_sq == 0.0) return std::numeric_limits<double>::quiet_NaN();
    double similarity = dot / std::sqrt(norm_a_sq * norm_b_sq);
    // Rounding can push |similarity| just past 1; NaN (from NaN/inf inputs) passes through.
    if (similarity > 1.0)
        similarity = 1.0;
    else if (similarity < -1.0)
        similarity = -1.0;
    return 1.0 - similarity;
}

}  // namespace vectordb
