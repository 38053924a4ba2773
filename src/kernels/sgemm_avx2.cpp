// AVX2 SGEMM: a 6 x 16 register tile (12 ymm accumulators of the 16).
#include <immintrin.h>

#include "kernels/sgemm_isa.h"
#include "kernels/sgemm_impl.h"

namespace frugal::kernels {

namespace {

constexpr int kMR = 6, kNR = 16;

void kernel_6x16(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int m, int n) {
  __m256 acc[kMR][2];
  for (int i = 0; i < kMR; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_loadu_ps(b + k * kNR), b1 = _mm256_loadu_ps(b + k * kNR + 8);
    const float* ak = a + k * kMR;
#pragma GCC unroll 6
    for (int i = 0; i < kMR; ++i) {
      const __m256 ai = _mm256_broadcast_ss(ak + i);
      acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
    }
  }
  if (m == kMR && n == kNR) {
    for (int i = 0; i < kMR; ++i) {
      float* ci = c + i * ldc;
      _mm256_storeu_ps(ci, _mm256_add_ps(_mm256_loadu_ps(ci), acc[i][0]));
      _mm256_storeu_ps(ci + 8, _mm256_add_ps(_mm256_loadu_ps(ci + 8), acc[i][1]));
    }
    return;
  }
  alignas(32) float tile[kMR * kNR];
  for (int i = 0; i < kMR; ++i) {
    _mm256_store_ps(tile + i * kNR, acc[i][0]);
    _mm256_store_ps(tile + i * kNR + 8, acc[i][1]);
  }
  sgemm_detail::add_partial<kNR>(tile, c, ldc, m, n);
}

}  // namespace

void sgemm_avx2(const sgemm_detail::Args& g, ThreadPool& pool) {
  sgemm_detail::run<kMR, kNR>(g, pool, kernel_6x16);
}

double fma_loop_avx2(int64_t iters) {
  __m256 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(float(i) * 1e-3f);
  const __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], x, y);
  }
  __m256 s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, acc[i]);
  alignas(32) float v[8];
  _mm256_store_ps(v, s);
  double r = 0;
  for (float f : v) r += f;
  return r;
}

}  // namespace frugal::kernels
