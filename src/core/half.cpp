// Half precision conversions and distances (see half.h).
#include "core/half.h"

#include "core/distance.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace vectordb {
namespace detail {
void halves_to_floats_f16c(const std::uint16_t* in, float* out, std::size_t n);
void floats_to_halves_f16c(const float* in, std::uint16_t* out, std::size_t n);
}  // namespace detail

namespace {

std::uint32_t bits_of(float f) {
    std::uint32_t x;
    std::memcpy(&x, &f, sizeof x);
    return x;
}

float float_of(std::uint32_t x) {
    float f;
    std::memcpy(&f, &x, sizeof f);
    return f;
}

bool use_f16c() {
    static const bool use = active_isa() != KernelIsa::Scalar && __builtin_cpu_supports("f16c");
    return use;
}

// Elements converted to float per block of a distance computation (on the stack).
constexpr std::size_t kBlock = 256;

// Runs f(float_a, float_b, count) over blocks of the two half arrays.
template <class F>
void over_blocks(const std::uint16_t* a, const std::uint16_t* b, std::size_t n, F&& f) {
    float fa[kBlock], fb[kBlock];
    for (std::size_t at = 0; at < n; at += kBlock) {
        const std::size_t count = std::min(kBlock, n - at);
        halves_to_floats(a + at, fa, count);
        halves_to_floats(b + at, fb, count);
        f(fa, fb, count);
    }
}

}  // namespace

float half_to_float(std::uint16_t h) {
    const std::uint32_t sign = std::uint32_t{h & 0x8000u} << 16;
    const std::uint32_t exponent = (h >> 10) & 0x1f;
    const std::uint32_t mantissa = h & 0x3ff;
    if (exponent == 0) {
        // Zero or subnormal: mantissa x 2^-24, exact in float.
        const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
        return sign ? -magnitude : magnitude;
    }
    if (exponent == 31)  // infinity, or NaN made quiet (as F16C does)
        return float_of(sign | 0x7f800000u | (mantissa ? 0x400000u : 0u) | (mantissa << 13));
    return float_of(sign | ((exponent + 127 - 15) << 23) | (mantissa << 13));
}

std::uint16_t float_to_half(float f) {
    const std::uint32_t x = bits_of(f);
    const auto sign = static_cast<std::uint16_t>((x >> 16) & 0x8000u);
    const std::uint32_t magnitude = x & 0x7fffffffu;
    if (magnitude >= 0x7f800000u) {
        if (magnitude == 0x7f800000u) return static_cast<std::uint16_t>(sign | 0x7c00u);
        // NaN: quiet, with the payload's top bits (as F16C).
        return static_cast<std::uint16_t>(sign | 0x7e00u | ((magnitude >> 13) & 0x3ffu));
    }
    if (magnitude >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // >= 65520: infinity
    if (magnitude < 0x38800000u) {
        // Below the smallest normal half (2^-14): a multiple of 2^-24, rounded
        // to nearest even (nearbyint in the default rounding mode); 1024
        // multiples make the smallest normal, which the bits then say.
        const float units = std::nearbyint(float_of(magnitude) * 16777216.0f);
        return static_cast<std::uint16_t>(sign | static_cast<std::uint16_t>(units));
    }
    std::uint32_t half = ((((magnitude >> 23) - 127 + 15) << 10) | ((magnitude & 0x7fffffu) >> 13));
    const std::uint32_t rest = magnitude & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) half++;  // a carry may step into the exponent
    return static_cast<std::uint16_t>(sign | half);
}

bool half_is_nan(std::uint16_t h) { return (h & 0x7c00u) == 0x7c00u && (h & 0x3ffu) != 0; }
bool half_is_inf(std::uint16_t h) { return (h & 0x7fffu) == 0x7c00u; }

void halves_to_floats_scalar(const std::uint16_t* in, float* out, std::size_t n) {
    for (std::size_t i = 0; i < n; i++) out[i] = half_to_float(in[i]);
}

void floats_to_halves_scalar(const float* in, std::uint16_t* out, std::size_t n) {
    for (std::size_t i = 0; i < n; i++) out[i] = float_to_half(in[i]);
}

bool half_conversions_use_f16c() { return use_f16c(); }

void halves_to_floats(const std::uint16_t* in, float* out, std::size_t n) {
    if (use_f16c())
        detail::halves_to_floats_f16c(in, out, n);
    else
        halves_to_floats_scalar(in, out, n);
}

void floats_to_halves(const float* in, std::uint16_t* out, std::size_t n) {
    if (use_f16c())
        detail::floats_to_halves_f16c(in, out, n);
    else
        floats_to_halves_scalar(in, out, n);
}

float half_l2_squared_distance(const std::uint16_t* a, const std::uint16_t* b, std::size_t n) {
    double sum = 0;
    over_blocks(a, b, n, [&](const float* x, const float* y, std::size_t c) { sum += l2_squared_distance(x, y, c); });
    return static_cast<float>(sum);
}

float half_inner_product(const std::uint16_t* a, const std::uint16_t* b, std::size_t n) {
    double sum = 0;
    over_blocks(a, b, n, [&](const float* x, const float* y, std::size_t c) { sum += inner_product(x, y, c); });
    return static_cast<float>(sum);
}

float half_l1_distance(const std::uint16_t* a, const std::uint16_t* b, std::size_t n) {
    double sum = 0;
    over_blocks(a, b, n, [&](const float* x, const float* y, std::size_t c) { sum += l1_distance(x, y, c); });
    return static_cast<float>(sum);
}

double half_cosine_distance(const std::uint16_t* a, const std::uint16_t* b, std::size_t n) {
    double dot = 0, norm_a = 0, norm_b = 0;
    over_blocks(a, b, n, [&](const float* x, const float* y, std::size_t c) {
        float d = 0, na = 0, nb = 0;
        dot_and_norms(x, y, c, &d, &na, &nb);
        dot += d;
        norm_a += na;
        norm_b += nb;
    });
    return cosine_distance_from_sums(dot, norm_a, norm_b);
}

}  // namespace vectordb
