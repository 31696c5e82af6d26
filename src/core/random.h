// Small, portable random number generation for the core. Results must not
// depend on the standard library's distribution implementations, so seeded
// outputs (rotations, samples) are identical on every platform.
#pragma once

#include "core/common.h"

namespace vectordb {

// SplitMix64: a fast 64-bit generator, also used to derive independent streams.
class SplitMix64 {
public:
    explicit SplitMix64(uint64_t seed) : state_(seed) {}

    uint64_t next() {
        uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }

    // Uniform double in [0, 1).
    double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }

private:
    uint64_t state_;
};

}  // namespace vectordb
