// IEEE 754 half precision (binary16), the element type of `halfvec`: exact
// conversion to float, rounding conversion from float, and the distance
// kernels over half arrays.
//
// Conversions use F16C (8 elements per instruction) when the CPU has it and
// the active kernel ISA is not scalar (distance.h's VECTORDB_FORCE_ISA lowers
// both), a bit-exact scalar version otherwise: float to half rounds to
// nearest, ties to even; values beyond the half range become infinities and
// NaN stays NaN, exactly as F16C does. Distances convert blocks of elements
// to float and run the float kernels of distance.h on them, summing the
// blocks in double.
#pragma once

#include "core/common.h"

#include <cstdint>

namespace vectordb {

float half_to_float(std::uint16_t h);
std::uint16_t float_to_half(float f);  // round to nearest even; beyond +-65504 rounds to infinity
bool half_is_nan(std::uint16_t h);
bool half_is_inf(std::uint16_t h);

// Bulk conversions (F16C when available).
void halves_to_floats(const std::uint16_t* in, float* out, std::size_t n);
void floats_to_halves(const float* in, std::uint16_t* out, std::size_t n);
// Whether the bulk conversions use F16C.
bool half_conversions_use_f16c();

// Distances between half arrays (same contracts as distance.h's float versions).
float half_l2_squared_distance(const std::uint16_t* a, const std::uint16_t* b, std::size_t n);
float half_inner_product(const std::uint16_t* a, const std::uint16_t* b, std::size_t n);
float half_l1_distance(const std::uint16_t* a, const std::uint16_t* b, std::size_t n);
double half_cosine_distance(const std::uint16_t* a, const std::uint16_t* b, std::size_t n);

// The scalar conversions, whatever the CPU (for tests).
void halves_to_floats_scalar(const std::uint16_t* in, float* out, std::size_t n);
void floats_to_halves_scalar(const float* in, std::uint16_t* out, std::size_t n);

}  // namespace vectordb
