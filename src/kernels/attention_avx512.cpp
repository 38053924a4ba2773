// AVX-512 attention: 16-wide dot products over head_dim, each cached key and value row read
// once for the whole head group.
#include <immintrin.h>

#include "kernels/attention.h"

namespace frugal::kernels {

namespace {
inline float dot16(const float* a, const float* b, int64_t n) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
  }
  for (; i + 16 <= n; i += 16) acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
  if (i < n) {
    __mmask16 m = __mmask16((1u << (n - i)) - 1);
    acc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), acc1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

inline void axpy16(float p, const float* x, float* y, int64_t n) {
  const __m512 vp = _mm512_set1_ps(p);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_fmadd_ps(vp, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
  if (i < n) {
    __mmask16 m = __mmask16((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(vp, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
  }
}
}  // namespace

void attend_avx512(const AttendArgs& a) {
  for (int64_t j = 0; j < a.n_kv; ++j) {
    const float* k = a.key(j);
    for (int64_t h = 0; h < a.n_q; ++h) a.scratch[h * a.n_kv + j] = dot16(a.q + h * a.head_dim, k, a.head_dim) * a.scale;
  }
  softmax_rows_zero_out(a);
  for (int64_t j = 0; j < a.n_kv; ++j) {
    const float* v = a.value(j);
    for (int64_t h = 0; h < a.n_q; ++h) axpy16(a.scratch[h * a.n_kv + j], v, a.out + h * a.head_dim_v, a.head_dim_v);
  }
}

}  // namespace frugal::kernels
