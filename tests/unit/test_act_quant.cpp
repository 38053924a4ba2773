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
  for (ActFormat f : {ActFormat::Q8_0, ActFormat::Q8_K, ActFormat::Q8_K_Nib, ActFormat::Q8_K_Lanes,
                      ActFormat::Q8_0_Lanes}) {
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
      // Compare the defined regions only (padding between arrays is not written); Q8_0_Lanes
      // defines its zero padding up to whole units of 512.
      const int64_t nc = f == ActFormat::Q8_0_Lanes ? (n + 511) / 512 * 512 : n;
      const size_t n_d = size_t(nc / l.block), n_s = size_t(nc / l.group);
      EXPECT_EQ(0, std::memcmp(a.data() + l.qs_off, b.data() + l.qs_off, size_t(nc))) << "codes, n=" << n;
      EXPECT_EQ(0, std::memcmp(a.data() + l.d_off, b.data() + l.d_off, n_d * 4)) << "scales, n=" << n;
      EXPECT_EQ(0, std::memcmp(a.data() + l.sum_off, b.data() + l.sum_off, n_s * l.sum_size)) << "sums, n=" << n;
    }
  }
}

// The _Lanes formats against their definition (matmul_kernels.h), built from the natural
// formats: byte 64k + 4l + c of a unit is natural code G * l + 4k + c (G = 16 for Q8_K_Lanes,
// 32 for Q8_0_Lanes); Q8_K_Lanes sums are the 16 group sums and those times d; Q8_0_Lanes
// pads its last unit with zeros.
TEST(ActQuant, LaneFormatsAreTheNaturalCodesReordered) {
  std::mt19937 rng(9);
  std::normal_distribution<float> nd(0.f, 1.f);
  for (int64_t n : {256, 768, 1536}) {
    std::vector<float> x(static_cast<size_t>(n));
    for (auto& v : x) v = nd(rng);
    for (bool k : {true, false}) {
      const ActFormat nat = k ? ActFormat::Q8_K : ActFormat::Q8_0;
      const ActFormat lan = k ? ActFormat::Q8_K_Lanes : ActFormat::Q8_0_Lanes;
      const ActLayout ln = act_layout(nat, n), ll = act_layout(lan, n);
      std::vector<uint8_t> a(ln.stride), b(ll.stride, 0xee);
      quantize_act_row_ref(nat, x.data(), n, a.data());
      quantize_act_row(lan, x.data(), n, b.data());
      const auto* qa = reinterpret_cast<const int8_t*>(a.data() + ln.qs_off);
      const auto* qb = reinterpret_cast<const int8_t*>(b.data() + ll.qs_off);
      const int64_t unit = k ? 256 : 512, g = unit / 16, padded = (n + unit - 1) / unit * unit;
      for (int64_t u0 = 0; u0 < padded; u0 += unit)
        for (int64_t kk = 0; kk < unit / 64; ++kk)
          for (int64_t l = 0; l < 16; ++l)
            for (int64_t c = 0; c < 4; ++c) {
              const int64_t src = u0 + g * l + 4 * kk + c;
              ASSERT_EQ(qb[u0 + 64 * kk + 4 * l + c], src < n ? qa[src] : 0)
                  << (k ? "Q8_K" : "Q8_0") << " n=" << n << " unit " << u0 << " step " << kk << " lane " << l;
            }
      const auto* da = reinterpret_cast<const float*>(a.data() + ln.d_off);
      const auto* db = reinterpret_cast<const float*>(b.data() + ll.d_off);
      for (int64_t i = 0; i < padded / ll.block; ++i) EXPECT_EQ(db[i], i < n / ln.block ? da[i] : 0.f);
      if (k) {
        const auto* sa = reinterpret_cast<const int16_t*>(a.data() + ln.sum_off);
        for (int64_t sb = 0; sb < n / 256; ++sb) {
          const auto* si = reinterpret_cast<const int32_t*>(b.data() + ll.sum_off + 128 * size_t(sb));
          const auto* sf = reinterpret_cast<const float*>(si + 16);
          for (int gi = 0; gi < 16; ++gi) {
            EXPECT_EQ(si[gi], sa[16 * sb + gi]);
            EXPECT_EQ(sf[gi], float(sa[16 * sb + gi]) * da[sb]);
          }
        }
      } else {
        const auto* sa = reinterpret_cast<const int32_t*>(a.data() + ln.sum_off);
        const auto* sb = reinterpret_cast<const int32_t*>(b.data() + ll.sum_off);
        for (int64_t i = 0; i < padded / 32; ++i) EXPECT_EQ(sb[i], i < n / 32 ? sa[i] : 0);
      }
    }
  }
}
