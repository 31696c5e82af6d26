// A seeded random orthogonal transform used by the RaBitQ quantizer: it spreads
// every vector's energy evenly over the coordinates so that one sign bit per
// coordinate carries about the same information everywhere.
#pragma once

#include "core/common.h"

#include <vector>

namespace vectordb {

// Rounds of (random sign flip, random permutation, block-wise normalised
// Walsh-Hadamard transform) over R^D, where D is the input dimension rounded up
// to a multiple of 64 (one code word) and the Hadamard blocks are the largest
// power of two dividing D. Each step is orthogonal, so the whole is; the
// permutations mix coordinates across blocks. Cost O(D log D) per vector.
class RandomRotation {
public:
    RandomRotation() = default;
    RandomRotation(std::size_t dim, uint64_t seed, int rounds = 4);

    std::size_t input_dim() const { return dim_; }
    std::size_t output_dim() const { return padded_; }

    // out[0 .. output_dim) = P * (in zero-padded to output_dim). in != out.
    void apply(const float* in, float* out) const;
    // The same with the caller's working space (output_dim floats), which
    // allocates nothing: for loops inside a parallel region.
    void apply(const float* in, float* out, float* scratch) const;

private:
    std::size_t dim_ = 0;
    std::size_t padded_ = 0;
    std::size_t block_ = 0;
    std::vector<float> signs_;           // rounds x padded_, each +1 or -1
    std::vector<uint32_t> permutation_;  // rounds x padded_
};

}  // namespace vectordb
