// Every attention kernel against its scalar twin, over odd shapes.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/attention.h"
#include "kernels/matmul.h"

using namespace frugal::kernels;

namespace {
struct Case {
  int64_t n_q, n_kv, hd, hdv;
};
}  // namespace

TEST(Attention, SimdMatchesReference) {
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.f, 1.f);
  const Case cases[] = {{1, 1, 16, 16}, {6, 37, 128, 128}, {4, 300, 64, 64}, {3, 5, 24, 40}, {8, 129, 192, 128}, {2, 17, 7, 9}};
  for (Isa isa : {Isa::Avx2, Isa::Avx512}) {
    if (int(isa) > int(detected_isa())) continue;
    for (const auto& c : cases) {
      const int64_t ks = c.hd + 3, vs = c.hdv + 5;  // strided rows, as in the cache
      std::vector<float> q(size_t(c.n_q * c.hd)), k(size_t(c.n_kv * ks)), v(size_t(c.n_kv * vs));
      for (auto& x : q) x = nd(rng);
      for (auto& x : k) x = nd(rng);
      for (auto& x : v) x = nd(rng);
      std::vector<float> o_ref(size_t(c.n_q * c.hdv)), o(size_t(c.n_q * c.hdv)), sc(size_t(c.n_q * c.n_kv));
      AttendArgs a{q.data(), c.n_q, k.data(), ks, v.data(), vs, c.n_kv, c.hd, c.hdv, 1.0f / std::sqrt(float(c.hd)),
                   o_ref.data(), sc.data()};
      attend_ref(a);
      a.out = o.data();
      if (isa == Isa::Avx512) attend_avx512(a); else attend_avx2(a);
      // Scores differ by summation order: |Δs| <= hd * eps * Σ|q||k| * scale; the output is a
      // convex combination of values, so its error is bounded by max|v| * Σ|Δp| <= max|v| * 2 * max|Δs|.
      float qmax = 0, kmax = 0, vmax = 0;
      for (auto x : q) qmax = std::max(qmax, std::fabs(x));
      for (auto x : k) kmax = std::max(kmax, std::fabs(x));
      for (auto x : v) vmax = std::max(vmax, std::fabs(x));
      const float eps = 1.2e-7f;
      const float ds = float(c.hd) * eps * float(c.hd) * qmax * kmax * a.scale;
      const float tol = vmax * (2 * ds + float(c.n_kv + c.hdv) * eps) * 4;
      for (size_t i = 0; i < o.size(); ++i)
        ASSERT_NEAR(o[i], o_ref[i], tol) << isa_name(isa) << " n_q=" << c.n_q << " n_kv=" << c.n_kv << " i=" << i;
    }
  }
}
