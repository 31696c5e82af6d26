// Distances between bit strings (PostgreSQL's `bit`, as pgvector measures
// them): Hamming, the number of differing bits, and Jaccard, 1 - |a & b| /
// |a | b| (1 when a & b is empty, as in pgvector).
#pragma once

#include "core/common.h"

#include <cstdint>

namespace vectordb {

std::uint64_t hamming_bits(const std::uint8_t* a, const std::uint8_t* b, std::size_t bytes);
double jaccard_bits(const std::uint8_t* a, const std::uint8_t* b, std::size_t bytes);

}  // namespace vectordb
