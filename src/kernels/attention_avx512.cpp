// AVX-512 attention: 16-wide dot products over head_dim, each cached key and value row read
// once for the whole head group. A row of another type than F32 is converted once into a
// small fp32 buffer that every head of the group then reads from L1.
#include <immintrin.h>

#include <cstring>

#include "kernels/attention.h"
#include "core/half.h"
#include "kernels/quant_blocks.h"

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

namespace {
// n values of a cached row of type t to fp32 (n a multiple of 16; of 32 for Q8_0).
void row_to_f32(DType t, const uint8_t* src, float* dst, int64_t n) {
  switch (t) {
    case DType::F16:
      for (int64_t i = 0; i < n; i += 16)
        _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + 2 * i))));
      return;
    case DType::BF16:
      for (int64_t i = 0; i < n; i += 16) {
        const __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + 2 * i)));
        _mm512_storeu_ps(dst + i, _mm512_castsi512_ps(_mm512_slli_epi32(w, 16)));
      }
      return;
    case DType::Q8_0: {
      const auto* b = reinterpret_cast<const BlockQ8_0*>(src);
      for (int64_t i = 0; i < n; i += 32, ++b) {
        const __m512 d = _mm512_set1_ps(fp16_to_fp32(b->d));
        const __m128i* q = reinterpret_cast<const __m128i*>(b->qs);
        _mm512_storeu_ps(dst + i, _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(q)))));
        _mm512_storeu_ps(dst + i + 16, _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(q + 1)))));
      }
      return;
    }
    default: std::memcpy(dst, src, size_t(n) * sizeof(float));
  }
}
}  // namespace

void attend_avx512(const AttendArgs& a) {
  const bool f32 = a.kv_type == DType::F32;
  // Heads are at most a few KB wide (576 floats for MLA's latent row).
  alignas(64) float row[1024];
  if (!f32 && (a.head_dim > 1024 || a.head_dim_v > 1024 || a.head_dim % 16 || a.head_dim_v % 16)) return attend_ref(a);
  for (int64_t j = 0; j < a.n_kv; ++j) {
    const float* k = reinterpret_cast<const float*>(a.key(j));
    if (!f32) row_to_f32(a.kv_type, a.key(j), row, a.head_dim), k = row;
    for (int64_t h = 0; h < a.n_q; ++h) a.scratch[h * a.n_kv + j] = dot16(a.q + h * a.head_dim, k, a.head_dim) * a.scale;
  }
  softmax_rows_zero_out(a);
  for (int64_t j = 0; j < a.n_kv; ++j) {
    const float* v = reinterpret_cast<const float*>(a.value(j));
    if (!f32) row_to_f32(a.kv_type, a.value(j), row, a.head_dim_v), v = row;
    for (int64_t h = 0; h < a.n_q; ++h) axpy16(a.scratch[h * a.n_kv + j], v, a.out + h * a.head_dim_v, a.head_dim_v);
  }
}

}  // namespace frugal::kernels
