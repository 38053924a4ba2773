// AVX2 attention: the AVX-512 file's structure with 8-wide vectors (see attention_avx512.cpp).
#include <immintrin.h>

#include <cstring>

#include "kernels/attention.h"
#include "kernels/quant_blocks.h"

namespace frugal::kernels {

namespace {
inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
inline float dot8(const float* a, const float* b, int64_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
  float s = hsum8(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}
inline void axpy8(float p, const float* x, float* y, int64_t n) {
  const __m256 vp = _mm256_set1_ps(p);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(vp, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] += p * x[i];
}
}  // namespace

namespace {
// n values of a cached row of type t to fp32 (n a multiple of 8; of 32 for Q8_0).
void row_to_f32(DType t, const uint8_t* src, float* dst, int64_t n) {
  switch (t) {
    case DType::F16:
      for (int64_t i = 0; i < n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * i))));
      return;
    case DType::BF16:
      for (int64_t i = 0; i < n; i += 8) {
        const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * i)));
        _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(w, 16)));
      }
      return;
    case DType::Q8_0: {
      const auto* b = reinterpret_cast<const BlockQ8_0*>(src);
      for (int64_t i = 0; i < n; i += 32, ++b) {
        const __m256 d = _mm256_set1_ps(_cvtsh_ss(b->d));  // F16C: the portable fp16_to_fp32 branches
        for (int c = 0; c < 4; ++c) {
          const __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(b->qs + 8 * c));
          _mm256_storeu_ps(dst + i + 8 * c, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q))));
        }
      }
      return;
    }
    default: std::memcpy(dst, src, size_t(n) * sizeof(float));
  }
}
}  // namespace

void attend_avx2(const AttendArgs& a) {
  if (a.n_tok > 1) return for_each_position(a, attend_avx2);
  const bool f32 = a.kv_type == DType::F32;
  alignas(32) float row[1024];
  if (!f32 && (a.head_dim > 1024 || a.head_dim_v > 1024 || a.head_dim % 8 || a.head_dim_v % 8)) return attend_ref(a);
  const float* queries = scored_queries(a);
  for (int64_t j = 0; j < a.n_kv; ++j) {
    const float* k = reinterpret_cast<const float*>(a.key(j));
    if (!f32) row_to_f32(a.kv_type, a.key(j), row, a.head_dim), k = row;
    for (int64_t h = 0; h < a.n_q; ++h) a.scratch[h * a.n_kv + j] = dot8(queries + h * a.head_dim, k, a.head_dim) * a.scale;
  }
  softmax_rows_zero_out(a);
  for (int64_t j = 0; j < a.n_kv; ++j) {
    const float* v = reinterpret_cast<const float*>(a.value(j));
    if (!f32) row_to_f32(a.kv_type, a.value(j), row, a.head_dim_v), v = row;
    for (int64_t h = 0; h < a.n_q; ++h) axpy8(a.scratch[h * a.n_kv + j], v, a.out + h * a.head_dim_v, a.head_dim_v);
  }
}

}  // namespace frugal::kernels
