// Per-row operations against plain double-precision definitions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "kernels/matmul.h"
#include "kernels/ops.h"

using namespace frugal::kernels;

namespace {
std::vector<float> randn(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> v(n);
  for (auto& x : v) x = nd(rng);
  return v;
}
}  // namespace

TEST(Ops, RmsNormMatchesDefinition) {
  const int64_t n = 1536;
  auto x = randn(2 * n, 1), w = randn(n, 2);
  std::vector<float> y(2 * n);
  rms_norm(x.data(), w.data(), y.data(), 2, n, 1e-6f);
  for (int r = 0; r < 2; ++r) {
    double ss = 0;
    for (int64_t i = 0; i < n; ++i) ss += double(x[r * n + i]) * x[r * n + i];
    const double s = 1.0 / std::sqrt(ss / n + 1e-6);
    for (int64_t i = 0; i < n; ++i)
      ASSERT_NEAR(y[r * n + i], x[r * n + i] * s * w[i], 4e-7 * std::fabs(x[r * n + i] * s * w[i]) + 1e-30);
  }
}

// Both layouts rotate pairs by pos * inv_freq[i]: NeoX pairs (i, i + d/2), normal (2i, 2i + 1).
// Only the first n_rot dims move.
TEST(Ops, RopeLayoutsRotateTheRightPairs) {
  const int64_t hd = 64, n_rot = 32, pos = 12345;
  std::vector<float> inv(n_rot / 2);
  for (int64_t i = 0; i < n_rot / 2; ++i) inv[i] = float(std::pow(10000.0, -2.0 * double(i) / double(n_rot)));
  for (RopeLayout layout : {RopeLayout::NeoX, RopeLayout::Normal}) {
    auto x = randn(hd, 3), y = x;
    std::vector<float> c(n_rot / 2), s(n_rot / 2);
    rope_table(pos, n_rot, inv.data(), 1.0f, c.data(), s.data());
    rope_cached(y.data(), n_rot, c.data(), s.data(), layout);
    for (int64_t i = 0; i < n_rot / 2; ++i) {
      const int64_t a = layout == RopeLayout::NeoX ? i : 2 * i, b = layout == RopeLayout::NeoX ? i + n_rot / 2 : 2 * i + 1;
      const double th = double(pos) * double(inv[i]);
      const double ya = x[a] * std::cos(th) - x[b] * std::sin(th), yb = x[a] * std::sin(th) + x[b] * std::cos(th);
      // The angle is exact in double; cos/sin are rounded to float: |error| <= 2 ulp * |x|.
      const double tol = 4 * 6e-8 * (std::fabs(x[a]) + std::fabs(x[b]));
      ASSERT_NEAR(y[a], ya, tol);
      ASSERT_NEAR(y[b], yb, tol);
    }
    for (int64_t i = n_rot; i < hd; ++i) ASSERT_EQ(y[i], x[i]);
  }
}

TEST(Ops, SoftmaxAndSiluMul) {
  auto x = randn(1000, 4);
  x[7] = 80.f;  // large values must not overflow
  auto p = x;
  softmax(p.data(), 1000);
  double sum = 0, mx = 80;
  for (int i = 0; i < 1000; ++i) sum += p[i];
  EXPECT_NEAR(sum, 1.0, 1e-5);
  double z = 0;
  for (int i = 0; i < 1000; ++i) z += std::exp(double(x[i]) - mx);
  for (int i = 0; i < 1000; ++i) ASSERT_NEAR(p[i], std::exp(double(x[i]) - mx) / z, 1e-6 * p[i] + 1e-12);

  auto g = randn(257, 5), u = randn(257, 6);
  std::vector<float> o(257);
  silu_mul(g.data(), u.data(), o.data(), 257);
  for (int i = 0; i < 257; ++i) ASSERT_NEAR(o[i], g[i] / (1 + std::exp(-double(g[i]))) * u[i], 1e-6 * std::fabs(o[i]) + 1e-7);
}

// The AVX-512 SiLU against its scalar twin: normal values, the tails where e^-g overflows or
// vanishes, zeros, and lengths that end in a partial vector.
TEST(Ops, SiluMulAvx512MatchesScalar) {
  if (detected_isa() != Isa::Avx512) GTEST_SKIP() << "no AVX-512 on this CPU";
  for (int64_t n : {1, 15, 16, 17, 1000}) {
    auto g = randn(size_t(n), 7), u = randn(size_t(n), 8);
    for (int64_t i = 0; i < n; ++i) g[size_t(i)] *= 8.f;
    const float tails[] = {0.f, -0.f, -87.f, -88.5f, -89.f, -100.f, -1e30f, 88.f, 89.f, 1e30f, 20.f, -20.f};
    for (int64_t i = 0; i < n && i < 12; ++i) g[size_t(i)] = tails[i];
    std::vector<float> ref(static_cast<size_t>(n)), got(static_cast<size_t>(n) + 1, 42.f);
    silu_mul_ref(g.data(), u.data(), ref.data(), n);
    silu_mul_avx512(g.data(), u.data(), got.data(), n);
    for (int64_t i = 0; i < n; ++i)
      ASSERT_NEAR(got[size_t(i)], ref[size_t(i)], 1e-6 * std::fabs(ref[size_t(i)]) + 1e-37) << "n " << n << " g " << g[size_t(i)];
    EXPECT_EQ(got[size_t(n)], 42.f) << "wrote past the end";
  }
}

// The sampler's weights, AVX-512 against the scalar twin and against exp in double: ordinary
// logits at several temperatures, -inf (a masked token) exactly 0, far-below-max values that
// underflow, and lengths ending in a partial vector.
TEST(Ops, ExpWeightsMatchesScalarAndDouble) {
  for (int64_t n : {1, 15, 16, 17, 1000, 151936}) {
    auto x = randn(size_t(n), 9);
    for (int64_t i = 0; i < n; ++i) x[size_t(i)] *= 6.f;
    const float tails[] = {-INFINITY, -200.f, -87.f, -1e30f};
    for (int64_t i = 1; i < n && i < 5; ++i) x[size_t(i)] = tails[i - 1];
    float mx = -INFINITY;
    for (float v : x) mx = std::max(mx, v);
    for (float inv_t : {1.0f, 1.0f / 0.6f, 1.0f / 1.7f}) {
      std::vector<float> ref(static_cast<size_t>(n)), got(static_cast<size_t>(n) + 1, 42.f);
      const double s_ref = exp_weights_ref(x.data(), n, mx, inv_t, ref.data());
      double s_d = 0;
      for (int64_t i = 0; i < n; ++i) {
        const double a = (double(x[size_t(i)]) - mx) * inv_t, e = std::exp(a);
        s_d += e;
        // The argument is rounded to float first: its relative error 2^-24 scales by |a|.
        ASSERT_NEAR(ref[size_t(i)], e, (e > 0 ? (2e-7 + 1.2e-7 * std::fabs(a)) * e : 0) + 1e-37) << i;
      }
      EXPECT_NEAR(s_ref, s_d, 1e-6 * s_d);
      EXPECT_EQ(exp_weights(x.data(), n, mx, inv_t, nullptr), exp_weights(x.data(), n, mx, inv_t, got.data()));
      if (n > 1) EXPECT_EQ(got[1], 0.f) << "a masked logit must weigh exactly 0";
      if (detected_isa() != Isa::Avx512) continue;
      const double s_avx = exp_weights_avx512(x.data(), n, mx, inv_t, got.data());
      for (int64_t i = 0; i < n; ++i)
        ASSERT_NEAR(got[size_t(i)], ref[size_t(i)], 1e-6 * ref[size_t(i)] + 1e-37) << "n " << n << " x " << x[size_t(i)];
      EXPECT_EQ(got[size_t(n)], 42.f) << "wrote past the end";
      EXPECT_NEAR(s_avx, s_ref, 1e-6 * s_ref);
    }
  }
}
