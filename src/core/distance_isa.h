// Internal to the distance kernels: the per-ISA tables, each defined in the
// file compiled with that ISA's flags. Only distance.cpp may use them, and
// only after checking isa_supported().
#pragma once

#include "core/common.h"
#include "core/distance.h"

namespace vectordb {
namespace detail {

extern const DistanceKernels kScalarKernels;  // distance.cpp
extern const DistanceKernels kAvx2Kernels;    // distance_avx2.cpp
extern const DistanceKernels kAvx512Kernels;  // distance_avx512.cpp

}  // namespace detail
}  // namespace vectordb
