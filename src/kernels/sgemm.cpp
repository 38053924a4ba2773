// SGEMM dispatch, the portable path and the scalar reference, and the FMA peak probe.
#include "kernels/sgemm.h"

#include <atomic>
#include <algorithm>
#include <chrono>

#include "kernels/matmul.h"
#include "kernels/sgemm_isa.h"

namespace frugal::kernels {

namespace {

// Portable 4 x 4 tile: the compiler keeps it in registers on any target.
void kernel_4x4(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int m, int n) {
  float acc[16] = {};
  for (int64_t k = 0; k < kc; ++k)
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) acc[i * 4 + j] += a[k * 4 + i] * b[k * 4 + j];
  sgemm_detail::add_partial<4>(acc, c, ldc, m, n);
}

}  // namespace

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
           int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc, ThreadPool& pool) {
  if (M <= 0 || N <= 0) return;
  const sgemm_detail::Args g{trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc};
  switch (active_isa()) {
    case Isa::Avx512: return sgemm_avx512(g, pool);
    case Isa::Avx2: return sgemm_avx2(g, pool);
    default: return sgemm_detail::run<4, 4>(g, pool, kernel_4x4);
  }
}

void sgemm_ref(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
               int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  const sgemm_detail::Args g{trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc};
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double s = 0;
      for (int64_t k = 0; k < K; ++k) s += double(sgemm_detail::a_at(g, i, k)) * sgemm_detail::b_at(g, k, j);
      float& c = C[i * ldc + j];
      c = float(alpha * s + (beta == 0.f ? 0.0 : double(beta) * c));
    }
}

double fma_peak_gflops(ThreadPool& pool, double seconds) {
  const Isa isa = active_isa();
  if (isa == Isa::Scalar) return 0;
  const double flops_per_iter = isa == Isa::Avx512 ? 16 * 16 * 2 : 12 * 8 * 2;
  auto loop = [&](int64_t n) { return isa == Isa::Avx512 ? fma_loop_avx512(n) : fma_loop_avx2(n); };
  // Calibrate the iteration count on one thread, then run every thread at once.
  int64_t iters = 1 << 16;
  for (;;) {
    auto t0 = std::chrono::steady_clock::now();
    volatile double sink = loop(iters);
    (void)sink;
    double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (dt > seconds / 10 || iters > (int64_t(1) << 34)) {
      iters = int64_t(double(iters) * seconds / std::max(dt, 1e-9));
      break;
    }
    iters *= 4;
  }
  std::atomic<double> total{0};
  pool.run([&](int, int) {
    auto t0 = std::chrono::steady_clock::now();
    volatile double sink = loop(iters);
    (void)sink;
    double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double g = flops_per_iter * double(iters) / dt / 1e9;
    double cur = total.load();
    while (!total.compare_exchange_weak(cur, cur + g)) {
    }
  });
  return total.load();
}

}  // namespace frugal::kernels
