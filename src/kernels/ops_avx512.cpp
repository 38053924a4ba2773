// AVX-512 twins of ops.cpp's element-wise loops that the compiler cannot vectorize by itself
// (a libm call per element). The scalar versions stay the reference (tests/unit/test_ops.cpp).
#include <immintrin.h>

#include "kernels/exp_avx512.h"
#include "kernels/ops.h"

namespace frugal::kernels {

// silu(g) * u = g / (1 + e^-g) * u. For g < -88.7, e^-g is +inf and the quotient -0, as in
// the scalar loop.
void silu_mul_avx512(const float* gate, const float* up, float* out, int64_t n) {
  const __m512 one = _mm512_set1_ps(1.0f);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 k = n - i >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n - i)) - 1);
    const __m512 g = _mm512_maskz_loadu_ps(k, gate + i);
    const __m512 e = exp_avx512(_mm512_sub_ps(_mm512_setzero_ps(), g));
    const __m512 s = _mm512_div_ps(g, _mm512_add_ps(one, e));
    _mm512_mask_storeu_ps(out + i, k, _mm512_mul_ps(s, _mm512_maskz_loadu_ps(k, up + i)));
  }
}

}  // namespace frugal::kernels
