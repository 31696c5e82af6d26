// Unit tests of half precision (src/core/half.h): the scalar conversions
// against exact definitions over every half, F16C against scalar, and the
// half distances against double-precision references.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "core/half.h"

namespace vectordb {
namespace {

// The value of half h from its definition, in double.
double half_value(std::uint16_t h) {
    const int sign = (h & 0x8000) ? -1 : 1;
    const int exponent = (h >> 10) & 0x1f;
    const int mantissa = h & 0x3ff;
    if (exponent == 0) return sign * std::ldexp(mantissa, -24);
    if (exponent == 31) return mantissa ? std::numeric_limits<double>::quiet_NaN() : sign * HUGE_VAL;
    return sign * std::ldexp(1024 + mantissa, exponent - 25);
}

std::uint32_t bits(float f) {
    std::uint32_t x;
    std::memcpy(&x, &f, 4);
    return x;
}

TEST(Half, EveryHalfConvertsToItsExactValueAndBack) {
    for (std::uint32_t h = 0; h <= 0xffff; h++) {
        const auto half = static_cast<std::uint16_t>(h);
        const float f = half_to_float(half);
        const double want = half_value(half);
        if (std::isnan(want)) {
            EXPECT_TRUE(std::isnan(f)) << std::hex << h;
            EXPECT_TRUE(half_is_nan(half));
            continue;
        }
        ASSERT_EQ(static_cast<double>(f), want) << std::hex << h;
        ASSERT_EQ(float_to_half(f), half) << std::hex << h;
        EXPECT_EQ(half_is_inf(half), std::isinf(want));
    }
}

// Rounding: to nearest, ties to even, beyond the range to infinity.
TEST(Half, FloatsRoundToNearestEven) {
    EXPECT_EQ(float_to_half(65504.0f), 0x7bff);
    EXPECT_EQ(float_to_half(65519.99f), 0x7bff);
    EXPECT_EQ(float_to_half(65520.0f), 0x7c00);  // the tie above the largest half goes to infinity
    EXPECT_EQ(float_to_half(-1e6f), 0xfc00);
    EXPECT_EQ(float_to_half(1.0f + 1.0f / 2048), 0x3c00);          // tie: to the even 1.0
    EXPECT_EQ(float_to_half(1.0f + 3.0f / 2048), 0x3c02);          // tie: to the even 1 + 2/1024
    EXPECT_EQ(float_to_half(1.0f + 1.0f / 2048 + 1e-6f), 0x3c01);  // above the tie
    EXPECT_EQ(float_to_half(std::ldexp(1.0f, -25)), 0x0000);       // tie between 0 and the least subnormal
    EXPECT_EQ(float_to_half(std::ldexp(1.5f, -25)), 0x0001);
    EXPECT_EQ(float_to_half(std::ldexp(1.0f, -30)), 0x0000);
    EXPECT_EQ(float_to_half(-0.0f), 0x8000);
    // Every float rounds to one of the two nearest halves, the nearer one.
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> u(-70000.0f, 70000.0f);
    for (int i = 0; i < 200000; i++) {
        const float f = i % 2 ? u(rng) : u(rng) * 1e-6f;
        const std::uint16_t h = float_to_half(f);
        const double got = half_value(h);
        if (std::isinf(got)) {
            EXPECT_GE(std::fabs(f), 65520.0f);
            continue;
        }
        const std::uint16_t other =
            static_cast<std::uint16_t>(got > f ? h - 1 : h + 1);  // the neighbour on f's other side
        if ((h & 0x7fff) == 0 || (other & 0x7c00) == 0x7c00) continue;
        ASSERT_LE(std::fabs(got - f), std::fabs(half_value(other) - f)) << f;
    }
}

TEST(Half, F16cAgreesWithScalarBitForBit) {
    if (!half_conversions_use_f16c()) GTEST_SKIP() << "no F16C on this CPU (or a scalar ISA forced)";
    std::vector<std::uint16_t> halves(0x10000);
    for (std::uint32_t h = 0; h <= 0xffff; h++) halves[h] = static_cast<std::uint16_t>(h);
    std::vector<float> fast(halves.size()), slow(halves.size());
    halves_to_floats(halves.data(), fast.data(), halves.size());
    halves_to_floats_scalar(halves.data(), slow.data(), halves.size());
    for (std::size_t i = 0; i < halves.size(); i++) ASSERT_EQ(bits(fast[i]), bits(slow[i])) << std::hex << i;
    std::mt19937 rng(11);
    std::vector<float> floats;
    for (int i = 0; i < 100003; i++) {
        std::uint32_t x = rng();
        float f;
        std::memcpy(&f, &x, 4);
        floats.push_back(f);
    }
    for (float f : {65504.0f, 65520.0f, 1.0f + 1.0f / 2048, std::ldexp(1.0f, -25), -0.0f}) floats.push_back(f);
    std::vector<std::uint16_t> a(floats.size()), b(floats.size());
    floats_to_halves(floats.data(), a.data(), floats.size());
    floats_to_halves_scalar(floats.data(), b.data(), floats.size());
    for (std::size_t i = 0; i < floats.size(); i++) ASSERT_EQ(a[i], b[i]) << floats[i];
}

TEST(Half, DistancesMatchDoubleReferences) {
    std::mt19937 rng(3);
    std::normal_distribution<float> g(0.0f, 1.0f);
    for (std::size_t n : {1, 7, 8, 255, 256, 257, 1000, 3072}) {
        std::vector<float> fa(n), fb(n);
        for (std::size_t i = 0; i < n; i++) {
            fa[i] = g(rng);
            fb[i] = g(rng);
        }
        std::vector<std::uint16_t> a(n), b(n);
        floats_to_halves(fa.data(), a.data(), n);
        floats_to_halves(fb.data(), b.data(), n);
        double l2 = 0, ip = 0, l1 = 0, na = 0, nb = 0;
        for (std::size_t i = 0; i < n; i++) {
            const double x = half_value(a[i]), y = half_value(b[i]);
            l2 += (x - y) * (x - y);
            ip += x * y;
            l1 += std::fabs(x - y);
            na += x * x;
            nb += y * y;
        }
        const double tol = 1e-5 * (1 + n);
        EXPECT_NEAR(half_l2_squared_distance(a.data(), b.data(), n), l2, tol * (1 + l2)) << n;
        EXPECT_NEAR(half_inner_product(a.data(), b.data(), n), ip, tol * (1 + std::fabs(ip))) << n;
        EXPECT_NEAR(half_l1_distance(a.data(), b.data(), n), l1, tol * (1 + l1)) << n;
        EXPECT_NEAR(half_cosine_distance(a.data(), b.data(), n), 1 - ip / std::sqrt(na * nb), 1e-5) << n;
    }
    const std::uint16_t zero[2] = {0, 0}, one[2] = {0x3c00, 0};
    EXPECT_TRUE(std::isnan(half_cosine_distance(zero, one, 2)));
}

}  // namespace
}  // namespace vectordb
