// AVX-512 SGEMM: an 8 x 32 register tile (16 zmm accumulators), enough independent FMA
// chains to cover two FMA ports' latency.
#include <immintrin.h>

#include "kernels/sgemm_isa.h"
#include "kernels/sgemm_impl.h"

namespace frugal::kernels {

namespace {

constexpr int kMR = 8, kNR = 32;

void kernel_8x32(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int m, int n) {
  __m512 acc[kMR][2];
  for (int i = 0; i < kMR; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    const __m512 b0 = _mm512_loadu_ps(b + k * kNR), b1 = _mm512_loadu_ps(b + k * kNR + 16);
    const float* ak = a + k * kMR;
#pragma GCC unroll 8
    for (int i = 0; i < kMR; ++i) {
      const __m512 ai = _mm512_set1_ps(ak[i]);
      acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
    }
  }
  if (m == kMR && n == kNR) {
    for (int i = 0; i < kMR; ++i) {
      float* ci = c + i * ldc;
      _mm512_storeu_ps(ci, _mm512_add_ps(_mm512_loadu_ps(ci), acc[i][0]));
      _mm512_storeu_ps(ci + 16, _mm512_add_ps(_mm512_loadu_ps(ci + 16), acc[i][1]));
    }
    return;
  }
  alignas(64) float tile[kMR * kNR];
  for (int i = 0; i < kMR; ++i) {
    _mm512_store_ps(tile + i * kNR, acc[i][0]);
    _mm512_store_ps(tile + i * kNR + 16, acc[i][1]);
  }
  sgemm_detail::add_partial<kNR>(tile, c, ldc, m, n);
}

}  // namespace

void sgemm_avx512(const sgemm_detail::Args& g, ThreadPool& pool) {
  sgemm_detail::run<kMR, kNR>(g, pool, kernel_8x32);
}

// 16 independent chains per thread: more than latency x ports, so the loop is throughput-bound.
double fma_loop_avx512(int64_t iters) {
  __m512 acc[16];
  for (int i = 0; i < 16; ++i) acc[i] = _mm512_set1_ps(float(i) * 1e-3f);
  const __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
  }
  __m512 s = acc[0];
  for (int i = 1; i < 16; ++i) s = _mm512_add_ps(s, acc[i]);
  return double(_mm512_reduce_add_ps(s));
}

}  // namespace frugal::kernels
