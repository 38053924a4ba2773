// Every SGEMM path (scalar tile, AVX2, AVX-512; one and two threads) against the double-
// accumulating reference, over all four transposes, ragged edges, strides and alpha/beta.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/matmul.h"
#include "kernels/sgemm.h"

using namespace frugal;
using namespace frugal::kernels;

namespace {

struct Shape {
  int64_t M, N, K;
};

void check(Isa isa, ThreadPool& pool, const Shape& s, bool ta, bool tb, float alpha, float beta, std::mt19937& rng) {
  std::normal_distribution<float> nd(0.f, 1.f);
  const int64_t lda = (ta ? s.M : s.K) + 3, ldb = (tb ? s.K : s.N) + 1, ldc = s.N + 2;
  std::vector<float> A(size_t((ta ? s.K : s.M) * lda)), B(size_t((tb ? s.N : s.K) * ldb)), C(size_t(s.M * ldc));
  for (auto& x : A) x = nd(rng);
  for (auto& x : B) x = nd(rng);
  for (auto& x : C) x = nd(rng);
  std::vector<float> R = C;
  set_isa(isa);
  sgemm(ta, tb, s.M, s.N, s.K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc, pool);
  sgemm_ref(ta, tb, s.M, s.N, s.K, alpha, A.data(), lda, B.data(), ldb, beta, R.data(), ldc);
  // fp32 sums of K products of unit normals: error grows like sqrt(K) * eps.
  const float tol = 1e-5f * std::sqrt(float(s.K) + 1.f) * 8.f * (std::fabs(alpha) + 1.f);
  for (int64_t i = 0; i < s.M; ++i)
    for (int64_t j = 0; j < ldc; ++j) {
      const size_t at = size_t(i * ldc + j);
      if (j >= s.N) {
        ASSERT_EQ(C[at], R[at]) << "wrote outside C at " << i << "," << j;
        continue;
      }
      ASSERT_NEAR(C[at], R[at], tol)
          << isa_name(isa) << " M" << s.M << " N" << s.N << " K" << s.K << " ta" << ta << " tb" << tb << " at " << i
          << "," << j;
    }
}

}  // namespace

TEST(Sgemm, EveryPathMatchesReference) {
  std::mt19937 rng(11);
  const Shape shapes[] = {{1, 1, 1}, {7, 5, 3}, {8, 32, 256}, {9, 33, 257}, {37, 70, 300}, {130, 9, 64}, {5, 300, 40},
                          {64, 1100, 17}, {200, 48, 600}, {3, 3, 0}};
  ThreadPool one(1), two(2);
  for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
    if (int(isa) > int(detected_isa())) continue;
    for (const auto& s : shapes)
      for (int t = 0; t < 4; ++t) {
        check(isa, one, s, t & 1, t & 2, 1.f, 0.f, rng);
        check(isa, two, s, t & 1, t & 2, 0.5f, 1.f, rng);
        check(isa, two, s, t & 1, t & 2, -2.f, 0.25f, rng);
      }
  }
  set_isa(detected_isa());
}

TEST(Sgemm, BetaZeroIgnoresGarbageInC) {
  ThreadPool pool(2);
  std::vector<float> A(12, 1.f), B(12, 1.f), C(9, std::nanf(""));
  sgemm(false, false, 3, 3, 4, 1.f, A.data(), 4, B.data(), 3, 0.f, C.data(), 3, pool);
  for (float c : C) EXPECT_EQ(c, 4.f);
}

TEST(Sgemm, PeakProbeIsPositiveWhenSimdExists) {
  ThreadPool pool(1);
  if (detected_isa() == Isa::Scalar) GTEST_SKIP();
  double g = fma_peak_gflops(pool, 0.05);
  EXPECT_GT(g, 1.0);
  EXPECT_LT(g, 1e5);
}
