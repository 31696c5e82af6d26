// Seeded test data shared by the unit tests.
#pragma once

#include "core/random.h"

#include <cmath>
#include <vector>

namespace vectordb {
namespace testing_data {

// One standard normal draw (Box-Muller), from rng.
inline float standard_normal(SplitMix64& rng) {
    const double u1 = rng.uniform() + 1e-12, u2 = rng.uniform();
    return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
}

// n values drawn from N(0, scale^2).
inline std::vector<float> gaussian(std::size_t n, uint64_t seed, float scale = 1.0f) {
    SplitMix64 rng(seed);
    std::vector<float> v(n);
    for (auto& x : v) x = scale * standard_normal(rng);
    return v;
}

}  // namespace testing_data
}  // namespace vectordb
