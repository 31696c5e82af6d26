// Randomised block Hadamard rotation (see rotation.h).
#include "core/rotation.h"

#include "core/errors.h"
#include "core/random.h"

#include <cmath>
#include <utility>

namespace vectordb {
namespace {

// In-place unnormalised Walsh-Hadamard transform of n = 2^m floats.
void walsh_hadamard(float* x, std::size_t n) {
    for (std::size_t half = 1; half < n; half *= 2) {
        for (std::size_t start = 0; start < n; start += 2 * half) {
            float* lo = x + start;
            float* hi = lo + half;
            for (std::size_t i = 0; i < half; i++) {
                const float a = lo[i];
                const float b = hi[i];
                lo[i] = a + b;
                hi[i] = a - b;
            }
        }
    }
}

}  // namespace

RandomRotation::RandomRotation(std::size_t dim, uint64_t seed, int rounds) : dim_(dim) {
    if (dim == 0) throw InvalidArgument("rotation dimension must be at least 1");
    if (rounds < 1) throw InvalidArgument("rotation needs at least one round");
    padded_ = (dim + 63) / 64 * 64;
    block_ = padded_ & (~padded_ + 1);  // lowest set bit: largest power of two dividing D

    SplitMix64 rng(seed);
    signs_.resize(static_cast<std::size_t>(rounds) * padded_);
    permutation_.resize(static_cast<std::size_t>(rounds) * padded_);
    for (int r = 0; r < rounds; r++) {
        float* signs = signs_.data() + static_cast<std::size_t>(r) * padded_;
        uint32_t* perm = permutation_.data() + static_cast<std::size_t>(r) * padded_;
        for (std::size_t i = 0; i < padded_; i++) {
            signs[i] = (rng.next() & 1) ? 1.0f : -1.0f;
            perm[i] = static_cast<uint32_t>(i);
        }
        for (std::size_t i = padded_ - 1; i > 0; i--) {  // Fisher-Yates
            std::swap(perm[i], perm[rng.next() % (i + 1)]);
        }
    }
}

void RandomRotation::apply(const float* in, float* out) const {
    std::vector<float> scratch(padded_);
    apply(in, out, scratch.data());
}

void RandomRotation::apply(const float* in, float* out, float* tmp) const {
    for (std::size_t i = 0; i < padded_; i++) out[i] = i < dim_ ? in[i] : 0.0f;
    const float scale = 1.0f / std::sqrt(static_cast<float>(block_));
    const std::size_t rounds = signs_.size() / padded_;
    for (std::size_t r = 0; r < rounds; r++) {
        const float* signs = signs_.data() + r * padded_;
        const uint32_t* perm = permutation_.data() + r * padded_;
        for (std::size_t i = 0; i < padded_; i++) tmp[i] = out[perm[i]] * signs[i];
        for (std::size_t b = 0; b < padded_; b += block_) walsh_hadamard(tmp + b, block_);
        for (std::size_t i = 0; i < padded_; i++) out[i] = tmp[i] * scale;
    }
}

}  // namespace vectordb
