// The AVX-512 activation quantizer must be bit-identical to the scalar one: every kernel set
// reads the same activations, which is what makes the ISAs agree to float noise.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "kernels/matmul.h"
#include "kernels/matmul_kernels.h"

using namespace frugal::kernels;

TEST(ActQuant, Avx512MatchesReferenceBitForBit) {
  if (detected_isa() < Isa::Avx512) GTEST_SKIP() << "no AVX-512 on this CPU";
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0.f, 1.f);
  for (ActFormat f : {ActFormat::Q8_0, ActFormat::Q8_K, ActFormat::Q8_K_Nib}) {
    for (int64_t n : {256, 512, 1536, 8960 / 256 * 256}) {
      std::vector<float> x(static_cast<size_t>(n));
      for (auto& v : x) v = nd(rng) * (rng() % 4 == 0 ? 100.f : 1.f);
      // Edge cases: an all-zero block, exact ties at half a step, and the extremes.
      for (int j = 0; j < 32; ++j) x[size_t(j)] = 0;
      for (int j = 32; j < 64; ++j) x[size_t(j)] = float(j - 48) * 0.5f;  // amax 8: steps of 8/127
      x[64] = -1e30f;
      x[65] = 1e-30f;
      const ActLayout l = act_layout(f, n);
      std::vector<uint8_t> a(l.stride), b(l.stride);
      quantize_act_row_ref(f, x.data(), n, a.data());
      quantize_act_row_avx512(f, x.data(), n, b.data());
      // Compare the defined regions only (padding between arrays is not written).
      const size_t n_d = size_t(n / l.block), n_s = size_t(n / l.group);
      EXPECT_EQ(0, std::memcmp(a.data() + l.qs_off, b.data() + l.qs_off, size_t(n))) << "codes, n=" << n;
      EXPECT_EQ(0, std::memcmp(a.data() + l.d_off, b.data() + l.d_off, n_d * 4)) << "scales, n=" << n;
      EXPECT_EQ(0, std::memcmp(a.data() + l.sum_off, b.data() + l.sum_off, n_s * l.sum_size)) << "sums, n=" << n;
    }
  }
}
