// F16C conversions between half and float arrays (compiled with the AVX2
// flags, which include -mf16c; called only when the CPU has F16C).
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

namespace vectordb {
namespace detail {

void halves_to_floats_f16c(const std::uint16_t* in, float* out, std::size_t n) {
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i))));
    for (; i < n; i++) out[i] = _cvtsh_ss(in[i]);
}

void floats_to_halves_f16c(const float* in, std::uint16_t* out, std::size_t n) {
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) out[i] = _cvtss_sh(in[i], _MM_FROUND_TO_NEAREST_INT);
}

}  // namespace detail
}  // namespace vectordb
