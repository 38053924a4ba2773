// AVX-512 twins of ops.cpp's element-wise loops that the compiler cannot vectorize by itself
// (a libm call per element). The scalar versions stay the reference (tests/unit/test_ops.cpp).
// GCC 12 warns through _mm512_undefined_*() inside its own reduce intrinsics (the false
// positive matmul_avx512.cpp explains).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

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

// Below -87.3 exp_avx512 clamps (it would return ~1e-38 for -inf); those lanes are set to 0
// so a masked logit (-inf) keeps probability 0 exactly. The sum is kept in double, as the
// scalar loop's: 150k float weights summed in float would lose ~1e-3 of the total.
double exp_weights_avx512(const float* x, int64_t n, float mx, float inv_t, float* out) {
  const __m512 vmx = _mm512_set1_ps(mx), vt = _mm512_set1_ps(inv_t), lo = _mm512_set1_ps(-87.3f);
  __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 k = n - i >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n - i)) - 1);
    const __m512 a = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), vmx), vt);
    const __m512 e = _mm512_maskz_mov_ps(k & _mm512_cmp_ps_mask(a, lo, _CMP_GE_OQ), exp_avx512(a));
    if (out) _mm512_mask_storeu_ps(out + i, k, e);
    s0 = _mm512_add_pd(s0, _mm512_cvtps_pd(_mm512_extractf32x8_ps(e, 0)));
    s1 = _mm512_add_pd(s1, _mm512_cvtps_pd(_mm512_extractf32x8_ps(e, 1)));
  }
  return _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
}

}  // namespace frugal::kernels
