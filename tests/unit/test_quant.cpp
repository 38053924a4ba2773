// Block formats: sizes, round trips with error bounds derived from each block's own scales,
// and the layouts checked against tensors llama.cpp quantized (tests/data/golden/gguf), whose
// F32 originals are in the matching *-f32.gguf.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/half.h"
#include "gguf_mini.h"
#include "kernels/quant.h"
#include "kernels/quant_blocks.h"

using namespace frugal;
using namespace frugal::kernels;

namespace {

constexpr float kF16Eps = 1.0f / 2048;  // half the f16 ulp at 1: relative rounding of a scale

std::vector<float> gaussian(int64_t n, uint32_t seed, float sigma = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, sigma);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = nd(rng);
  return v;
}

std::vector<float> round_trip(DType t, const std::vector<float>& x, std::vector<uint8_t>* bytes) {
  int64_t n = int64_t(x.size());
  bytes->assign(row_bytes(t, n), 0);
  quantize_row(t, x.data(), bytes->data(), n);
  std::vector<float> y(x.size());
  dequantize_row(t, bytes->data(), y.data(), n);
  return y;
}

// Quantization step of each element (the spacing of representable values around it).
std::vector<float> element_steps(DType t, const uint8_t* p, int64_t n) {
  std::vector<float> s(static_cast<size_t>(n));
  int64_t nb = n / dtype_traits(t).block_size;
  for (int64_t b = 0; b < nb; ++b) {
    for (int j = 0; j < 256; ++j) {
      float step = 0;
      int64_t e = 0;
      if (t == DType::Q4_0 || t == DType::Q5_0 || t == DType::Q8_0) {
        if (j >= 32) break;
        size_t bs = dtype_traits(t).type_size;
        uint16_t d;
        std::memcpy(&d, p + b * bs, 2);
        step = std::fabs(fp16_to_fp32(d)), e = b * 32 + j;
      } else if (t == DType::Q4_K || t == DType::Q5_K) {
        const uint8_t* blk = p + b * dtype_traits(t).type_size;
        uint16_t d;
        std::memcpy(&d, blk, 2);
        uint8_t sc, m;
        unpack_scale_min_k4(blk + 4, j / 32, &sc, &m);
        step = fp16_to_fp32(d) * sc, e = b * 256 + j;
      } else if (t == DType::Q6_K) {
        auto blk = reinterpret_cast<const BlockQ6_K*>(p) + b;
        step = std::fabs(fp16_to_fp32(blk->d) * blk->scales[j / 16]), e = b * 256 + j;
      }
      s[size_t(e)] = step;
    }
  }
  return s;
}

TEST(Quant, BlockSizesMatchDtypeTable) {
  EXPECT_EQ(sizeof(BlockQ4_0), dtype_traits(DType::Q4_0).type_size);
  EXPECT_EQ(sizeof(BlockQ5_0), dtype_traits(DType::Q5_0).type_size);
  EXPECT_EQ(sizeof(BlockQ8_0), dtype_traits(DType::Q8_0).type_size);
  EXPECT_EQ(sizeof(BlockQ4_K), dtype_traits(DType::Q4_K).type_size);
  EXPECT_EQ(sizeof(BlockQ5_K), dtype_traits(DType::Q5_K).type_size);
  EXPECT_EQ(sizeof(BlockQ6_K), dtype_traits(DType::Q6_K).type_size);
  EXPECT_EQ(sizeof(BlockQ8_K), dtype_traits(DType::Q8_K).type_size);
}

TEST(Quant, ScaleMinPackingRoundTrips) {
  uint8_t sc[8], m[8], packed[12];
  for (int trial = 0; trial < 64; ++trial) {
    for (int s = 0; s < 8; ++s)
      sc[s] = uint8_t((trial * 7 + s * 13) & 63), m[s] = uint8_t((trial * 11 + s * 5 + 1) & 63);
    pack_scale_min_k4(sc, m, packed);
    for (int s = 0; s < 8; ++s) {
      uint8_t a, b;
      unpack_scale_min_k4(packed, s, &a, &b);
      EXPECT_EQ(a, sc[s]);
      EXPECT_EQ(b, m[s]);
    }
  }
}

TEST(Quant, FloatTypesRoundTrip) {
  auto x = gaussian(1000, 1);
  std::vector<uint8_t> bytes;
  EXPECT_EQ(round_trip(DType::F32, x, &bytes), x);
  auto h = round_trip(DType::F16, x, &bytes);
  auto b = round_trip(DType::BF16, x, &bytes);
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::fabs(x[i]) < 6.2e-5f) continue;  // f16 subnormal range: absolute, not relative, error
    EXPECT_LE(std::fabs(h[i] - x[i]), std::fabs(x[i]) * kF16Eps) << i;
    EXPECT_LE(std::fabs(b[i] - x[i]), std::fabs(x[i]) / 256) << i;
  }
}

// Every element within half a step of its block, plus what the f16 rounding of the scale can
// add (|code| * |d - d16|); the _0 formats also clip the top code (largest magnitude maps to
// -zero, so +zero*d rounds one step past the top), hence one extra step at the clip.
void check_round_trip(DType t, int64_t n, float sigma) {
  auto x = gaussian(n, uint32_t(int(t) * 31 + 7), sigma);
  std::vector<uint8_t> bytes;
  auto y = round_trip(t, x, &bytes);
  auto step = element_steps(t, bytes.data(), n);
  int max_code = t == DType::Q8_0 ? 127 : t == DType::Q4_0 ? 8 : t == DType::Q5_0 ? 16 : 63;
  double err2 = 0, noise2 = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    float e = std::fabs(y[i] - x[i]);
    float bound = step[i] * (0.5f + float(max_code) * kF16Eps);
    bool top_clip = (t == DType::Q4_0 || t == DType::Q5_0) && e > bound;
    if (top_clip) bound += step[i];
    // K-quants: the least-squares refit may move the range so that extreme values clip.
    if (t == DType::Q4_K || t == DType::Q5_K || t == DType::Q6_K) bound = step[i] * 1.5f;
    EXPECT_LE(e, bound) << dtype_name(t) << " element " << i << " x=" << x[i] << " y=" << y[i];
    err2 += double(e) * e;
    noise2 += double(step[i]) * step[i] / 12;  // uniform rounding noise
  }
  // Mean squared error near the uniform-rounding value (a bad encoder or layout is far off).
  EXPECT_LE(err2, 1.3 * noise2) << dtype_name(t);
}

TEST(Quant, RoundTripBoundsQ4_0) { check_round_trip(DType::Q4_0, 32 * 40, 1.0f); }
TEST(Quant, RoundTripBoundsQ5_0) { check_round_trip(DType::Q5_0, 32 * 40, 0.3f); }
TEST(Quant, RoundTripBoundsQ8_0) { check_round_trip(DType::Q8_0, 32 * 40, 2.0f); }
TEST(Quant, RoundTripBoundsQ4_K) { check_round_trip(DType::Q4_K, 256 * 8, 1.0f); }
TEST(Quant, RoundTripBoundsQ5_K) { check_round_trip(DType::Q5_K, 256 * 8, 0.05f); }
TEST(Quant, RoundTripBoundsQ6_K) { check_round_trip(DType::Q6_K, 256 * 8, 3.0f); }

TEST(Quant, Q8_KBlockSumsAndScale) {
  auto x = gaussian(512, 5);
  std::vector<BlockQ8_K> b(2);
  quantize_row(DType::Q8_K, x.data(), b.data(), 512);
  std::vector<float> y(512);
  dequantize_row(DType::Q8_K, b.data(), y.data(), 512);
  for (int i = 0; i < 2; ++i) {
    for (int g = 0; g < 16; ++g) {
      int s = 0;
      for (int j = 0; j < 16; ++j) s += b[size_t(i)].qs[16 * g + j];
      EXPECT_EQ(s, b[size_t(i)].bsums[g]);
    }
    for (int j = 0; j < 256; ++j)
      EXPECT_LE(std::fabs(y[size_t(256 * i + j)] - x[size_t(256 * i + j)]),
                b[size_t(i)].d * 0.5f * (1 + 1e-5f));
  }
}

TEST(Quant, AllZeroBlocksStayZero) {
  std::vector<float> x(256, 0.0f);
  for (DType t : {DType::Q4_0, DType::Q5_0, DType::Q8_0, DType::Q4_K, DType::Q5_K, DType::Q6_K,
                  DType::Q8_K}) {
    std::vector<uint8_t> bytes;
    auto y = round_trip(t, x, &bytes);
    for (float v : y) EXPECT_EQ(v, 0.0f) << dtype_name(t);
  }
}

TEST(Quant, MatmulTypes) {
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q4_0, DType::Q5_0, DType::Q8_0,
                  DType::Q4_K, DType::Q5_K, DType::Q6_K})
    EXPECT_TRUE(is_matmul_type(t)) << dtype_name(t);
  EXPECT_FALSE(is_matmul_type(DType::Q8_K));
  EXPECT_FALSE(is_matmul_type(DType::Q4_1));
}

}  // namespace

namespace {

struct GoldenStats {
  int tensors = 0;
  double max_ratio = 0;         // max over elements of |deq - f32| / step
  double err2 = 0, noise2 = 0;  // squared error vs uniform-rounding noise (step^2 / 12)
  double ours_err2 = 0;         // our encoder's squared error on the same F32 weights
};

// Dequantizes every tensor of type `want` in the quantized file and compares it with the F32
// original, per element against its own block's step.
GoldenStats compare_golden(const std::string& model, const std::string& quant, DType want) {
  std::string dir = std::string(FRUGAL_TEST_DATA) + "/golden/gguf/";
  auto qf = gguf_mini::load(dir + model + "-" + quant + ".gguf");
  auto ff = gguf_mini::load(dir + model + "-f32.gguf");
  GoldenStats st;
  for (auto& [name, t] : qf.tensors) {
    if (t.type != uint32_t(want)) continue;
    auto it = ff.tensors.find(name);
    if (it == ff.tensors.end() || it->second.type != 0) continue;
    ++st.tensors;
    int64_t n = t.ne[0], rows = t.rows();
    size_t rb = row_bytes(want, n);
    std::vector<float> y(static_cast<size_t>(n)), mine(static_cast<size_t>(n));
    std::vector<uint8_t> requant(rb);
    for (int64_t r = 0; r < rows; ++r) {
      const uint8_t* src = t.data + size_t(r) * rb;
      const float* x = reinterpret_cast<const float*>(it->second.data) + r * n;
      dequantize_row(want, src, y.data(), n);
      auto step = element_steps(want, src, n);
      quantize_row(want, x, requant.data(), n);
      dequantize_row(want, requant.data(), mine.data(), n);
      for (int64_t k = 0; k < n; ++k) {
        double e = std::fabs(double(y[size_t(k)]) - x[k]), s = step[size_t(k)];
        if (s > 0)
          st.max_ratio = std::max(st.max_ratio, e / s);
        else
          EXPECT_LE(e, 1e-30) << name << " zero step but error";
        st.err2 += e * e;
        st.noise2 += s * s / 12;
        double m = double(mine[size_t(k)]) - x[k];
        st.ours_err2 += m * m;
      }
    }
  }
  return st;
}

void report(const char* what, const GoldenStats& s) {
  std::printf("%-28s tensors %2d  max|err|/step %.3f  mse/(step^2/12) %.3f  ours/theirs mse %.3f\n",
              what, s.tensors, s.max_ratio, s.err2 / s.noise2, s.ours_err2 / s.err2);
}

}  // namespace

// llama.cpp's Q8_0: d = amax / 127, codes round(x / d), d stored as f16. So every element is
// within half a step plus |code| <= 127 times the f16 rounding of d.
TEST(QuantGolden, Q8_0MatchesF32) {
  for (const char* m : {"llama3-mini", "qwen2-mini", "qwen3-mini", "v2lite-mini", "v3-mini"}) {
    auto s = compare_golden(m, "q8_0", DType::Q8_0);
    report((std::string(m) + " Q8_0").c_str(), s);
    EXPECT_GT(s.tensors, 0) << m;
    EXPECT_LE(s.max_ratio, 0.5 + 127 * kF16Eps) << m;
    EXPECT_LE(s.ours_err2, s.err2 * 1.01) << m;  // same rule, so the same error
  }
}

// Q4_K_M files mix Q4_K, Q6_K (and Q5_0 / Q8_0 where rows are not 256-aligned). llama.cpp's
// K-quant encoder minimises a weighted error, so an extreme element may clip by up to about a
// step; a wrong bit layout would put errors at many steps. The mean squared error must be near
// uniform rounding noise, and our encoder must do about as well as llama.cpp's.
TEST(QuantGolden, KQuantsMatchF32) {
  int checked = 0;
  for (const char* m : {"llama3-mini", "qwen2-mini", "qwen3-mini"}) {
    for (DType t : {DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::Q5_0, DType::Q8_0, DType::Q4_0}) {
      auto s = compare_golden(m, "q4_k_m", t);
      if (s.tensors == 0) continue;
      ++checked;
      report((std::string(m) + " " + dtype_name(t)).c_str(), s);
      EXPECT_LE(s.max_ratio, 1.5) << m << " " << dtype_name(t);
      EXPECT_LE(s.err2, 1.3 * s.noise2) << m << " " << dtype_name(t);
      EXPECT_LE(s.ours_err2, 1.25 * s.err2) << m << " " << dtype_name(t);
    }
  }
  EXPECT_GE(checked, 3);
}
