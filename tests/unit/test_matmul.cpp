// matmul() on every ISA this CPU has, for every weight type and awkward shapes, against
// matmul_ref (f64 accumulation on dequantized weights). Tolerances come from the data:
//  - f32 paths (float weights, and the scalar set for every type): the worst-case bound of
//    recursive f32 summation, n_cols * u * sum|w x|  (u = 2^-24);
//  - activation-quantized paths: sum|w| * (step of x's quantization block) / 2, plus the
//    same f32 term and a few u of sum|w x| for the scale products.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "core/half.h"
#include "kernels/matmul.h"
#include "kernels/quant.h"

using namespace frugal;
using namespace frugal::kernels;

namespace {

constexpr double kU = 1.0 / (1 << 24);  // unit roundoff of f32

const DType kTypes[] = {DType::F32,  DType::F16,  DType::BF16, DType::Q4_0, DType::Q5_0,
                        DType::Q8_0, DType::Q4_K, DType::Q5_K, DType::Q6_K};

bool is_float(DType t) { return t == DType::F32 || t == DType::F16 || t == DType::BF16; }

struct Problem {
  DType type;
  int64_t n_rows, n_cols, n_tok, ldx, ldy;
  std::vector<uint8_t> w;
  std::vector<float> x;
  WeightView view() const { return {type, n_rows, n_cols, w.data()}; }
};

Problem make_problem(DType t, int64_t rows, int64_t cols, int64_t tok, uint32_t seed) {
  Problem p{t, rows, cols, tok, cols + 3, rows + 2, {}, {}};
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> row(static_cast<size_t>(cols));
  size_t rb = row_bytes(t, cols);
  p.w.resize(rb * size_t(rows));
  for (int64_t r = 0; r < rows; ++r) {
    for (auto& v : row) v = nd(rng);
    quantize_row(t, row.data(), p.w.data() + size_t(r) * rb, cols);
  }
  p.x.assign(size_t(p.ldx * tok), 0.0f);
  for (int64_t i = 0; i < tok; ++i)
    for (int64_t k = 0; k < cols; ++k)
      p.x[size_t(i * p.ldx + k)] = nd(rng) * (k % 7 == 0 ? 4.0f : 1.0f);
  return p;
}

bool is_k(DType t) { return t == DType::Q4_K || t == DType::Q5_K || t == DType::Q6_K; }

// From this many tokens the AVX-512 K-quant prefill rounds each weight super-block to int8
// (matmul_simd_kr16.h's kR16MinTokens).
constexpr int64_t kR16Tokens = 96;
bool requantized(const Problem& p, Isa isa) {
  return isa == Isa::Avx512 && is_k(p.type) && p.n_tok >= kR16Tokens;
}

// Per-output error bound for the ISA's path, from the dequantized weights and x.
std::vector<double> bounds(const Problem& p, Isa isa) {
  bool act_quant = isa != Isa::Scalar && !is_float(p.type);
  const bool w8 = requantized(p, isa);
  int64_t blk = is_k(p.type) ? 256 : 32;
  std::vector<double> b(size_t(p.n_tok * p.n_rows));
  std::vector<float> w(static_cast<size_t>(p.n_cols));
  size_t rb = row_bytes(p.type, p.n_cols);
  for (int64_t r = 0; r < p.n_rows; ++r) {
    dequantize_row(p.type, p.w.data() + size_t(r) * rb, w.data(), p.n_cols);
    for (int64_t t = 0; t < p.n_tok; ++t) {
      const float* x = p.x.data() + t * p.ldx;
      double abs_wx = 0, quant = 0;
      for (int64_t k0 = 0; k0 < p.n_cols; k0 += blk) {
        double amax = 0, sw = 0, wmax = 0, sx = 0;
        for (int64_t k = k0; k < k0 + blk && k < p.n_cols; ++k) {
          amax = std::max(amax, double(std::fabs(x[k])));
          wmax = std::max(wmax, double(std::fabs(w[size_t(k)])));
          sw += std::fabs(w[size_t(k)]);
          sx += std::fabs(x[k]);
          abs_wx += std::fabs(double(w[size_t(k)]) * x[k]);
        }
        // Half a step, plus for Q8_0 blocks the f16 rounding of the step (|code| <= 127).
        quant += sw * amax / 127 * (0.5 + (blk == 32 ? 127.0 / 2048 : 0.0));
        // The weights' own rounding to int8 (half a step of wmax / 127), against x and its
        // quantization error.
        if (w8) quant += (sx + double(blk) * amax / 254) * wmax / 254;
      }
      double e = double(p.n_cols + 8) * kU * (abs_wx + (act_quant ? quant : 0));
      if (act_quant) e += quant + 8 * kU * abs_wx;
      b[size_t(t * p.n_rows + r)] = e;
    }
  }
  return b;
}

std::vector<Isa> isas() {
  std::vector<Isa> v;
  for (int i = 0; i <= int(detected_isa()); ++i) v.push_back(Isa(i));
  return v;
}

void check(const Problem& p, Isa isa, ThreadPool& pool) {
  std::vector<float> ref(size_t(p.ldy * p.n_tok), 0.0f), got(size_t(p.ldy * p.n_tok), -7.0f);
  matmul_ref(p.view(), p.x.data(), p.ldx, p.n_tok, ref.data(), p.ldy);
  set_isa(isa);
  matmul(p.view(), p.x.data(), p.ldx, p.n_tok, got.data(), p.ldy, pool);
  auto b = bounds(p, isa);
  for (int64_t t = 0; t < p.n_tok; ++t) {
    for (int64_t r = 0; r < p.n_rows; ++r) {
      size_t i = size_t(t * p.ldy + r);
      ASSERT_LE(std::fabs(double(got[i]) - ref[i]), b[size_t(t * p.n_rows + r)])
          << isa_name(isa) << " " << dtype_name(p.type) << " rows " << p.n_rows << " cols "
          << p.n_cols << " tok " << p.n_tok << " at t=" << t << " r=" << r << " ref " << ref[i]
          << " got " << got[i];
    }
    for (int64_t r = p.n_rows; r < p.ldy; ++r)
      ASSERT_EQ(got[size_t(t * p.ldy + r)], -7.0f) << "wrote past the row";
  }
}

std::vector<int64_t> col_sizes(DType t) {
  if (is_float(t)) return {1, 7, 33, 100, 256};
  if (dtype_traits(t).block_size == 32) return {32, 96, 288};
  return {256, 768};
}

TEST(Matmul, AllIsasTypesAndShapesMatchReference) {
  ThreadPool pool(2);
  uint32_t seed = 1;
  for (Isa isa : isas()) {
    for (DType t : kTypes) {
      for (int64_t cols : col_sizes(t)) {
        for (int64_t rows : {1, 5, 13, 67}) {
          for (int64_t tok : {1, 2, 3, 5, 17, 64, 70, 97}) {
            auto p = make_problem(t, rows, cols, tok, seed++);
            check(p, isa, pool);
            if (HasFatalFailure()) return;
          }
        }
      }
    }
  }
  set_isa(detected_isa());
}

// The integer paths must compute exactly sum w * x_hat, where x_hat is x after the activation
// quantization they use (per block: d = amax / 127, f16-rounded for Q8_0, codes
// round(x * 127 / amax)); emulating it
// here leaves only the f32 summation term, so a wrong scale, offset or min correction in one
// chunk cannot hide inside the activation-rounding allowance of the test above.
TEST(Matmul, IntegerPathsExactOnQuantizedActivations) {
  ThreadPool pool(2);
  for (Isa isa : isas()) {
    if (isa == Isa::Scalar) continue;
    for (DType t : kTypes) {
      if (is_float(t)) continue;
      int64_t blk = dtype_traits(t).block_size == 256 ? 256 : 32;
      // 2-16 tokens take the AVX-512 K-quant pair kernel (odd counts: a zero twin), 9-16 Q8_0's
      // lane kernels, 17 and 33 every type's (lane-order activations), 97 Q8_0's
      // 16-row kernel (K-quants there round their weights: the next test).
      for (int64_t tok : {1, 2, 3, 4, 6, 7, 8, 9, 15, 16, 17, 33, 97}) {
        auto p = make_problem(t, 9, 512, tok, 1234 + uint32_t(tok));
        if (requantized(p, isa)) continue;
        for (int64_t i = 0; i < tok; ++i) {
          for (int64_t k0 = 0; k0 < p.n_cols; k0 += blk) {
            float* x = p.x.data() + i * p.ldx + k0;
            float amax = 0;
            for (int64_t k = 0; k < blk; ++k) amax = std::max(amax, std::fabs(x[k]));
            float id = 127.0f / amax, d = amax / 127.0f;
            if (blk == 32) d = fp16_to_fp32(fp32_to_fp16(d));  // Q8_0 keeps an f16 scale
            for (int64_t k = 0; k < blk; ++k) x[k] = std::nearbyint(x[k] * id) * d;
          }
        }
        std::vector<float> ref(size_t(p.ldy * tok)), got(size_t(p.ldy * tok));
        matmul_ref(p.view(), p.x.data(), p.ldx, tok, ref.data(), p.ldy);
        set_isa(isa);
        matmul(p.view(), p.x.data(), p.ldx, tok, got.data(), p.ldy, pool);
        auto b = bounds(p, Isa::Scalar);  // the f32 summation bound only
        for (int64_t i = 0; i < tok; ++i)
          for (int64_t r = 0; r < p.n_rows; ++r)
            ASSERT_LE(std::fabs(double(got[size_t(i * p.ldy + r)]) - ref[size_t(i * p.ldy + r)]),
                      2 * b[size_t(i * p.n_rows + r)])
                << isa_name(isa) << " " << dtype_name(t) << " tok " << i << " row " << r;
      }
    }
  }
  set_isa(detected_isa());
}

// The requantized prefill (AVX-512, K-quants, >= kR16Tokens tokens) computes exactly
// sum w8 * x_hat: weights rounded per super-block to round(w * 127 / wmax) * wmax / 127 and
// activations as above. Emulating both leaves the f32 term (and 1e-4 of a step: with these
// seeds no dequantized value lands on the other side of a rounding tie). Row counts
// leave partial 16-row blocks; 97 and 131 tokens leave partial token tiles.
TEST(Matmul, RequantizedPrefillExactOnRoundedWeights) {
  if (detected_isa() != Isa::Avx512) GTEST_SKIP() << "no AVX-512 on this CPU";
  ThreadPool pool(2);
  set_isa(Isa::Avx512);
  for (DType t : {DType::Q4_K, DType::Q5_K, DType::Q6_K}) {
    for (int64_t rows : {5, 16, 20, 45}) {
      for (int64_t tok : {kR16Tokens, int64_t(131)}) {
        auto p = make_problem(t, rows, 768, tok, 555 + uint32_t(rows + tok));
        for (int64_t i = 0; i < tok; ++i)
          for (int64_t k0 = 0; k0 < p.n_cols; k0 += 256) {
            float* x = p.x.data() + i * p.ldx + k0;
            float amax = 0;
            for (int64_t k = 0; k < 256; ++k) amax = std::max(amax, std::fabs(x[k]));
            const float id = 127.0f / amax, d = amax / 127.0f;
            for (int64_t k = 0; k < 256; ++k) x[k] = std::nearbyint(x[k] * id) * d;
          }
        // The rounded weights as F32 rows, multiplied by the reference.
        std::vector<float> w8(size_t(rows * p.n_cols)), row(size_t(p.n_cols));
        std::vector<double> step(size_t(rows * p.n_cols / 256));
        const size_t rb = row_bytes(t, p.n_cols);
        for (int64_t r = 0; r < rows; ++r) {
          dequantize_row(t, p.w.data() + size_t(r) * rb, row.data(), p.n_cols);
          for (int64_t k0 = 0; k0 < p.n_cols; k0 += 256) {
            float m = 0;
            for (int64_t k = k0; k < k0 + 256; ++k) m = std::max(m, std::fabs(row[size_t(k)]));
            const float inv = m > 0 ? 127.0f / m : 0.0f;
            step[size_t(r * p.n_cols / 256 + k0 / 256)] = m / 127.0;
            for (int64_t k = k0; k < k0 + 256; ++k)
              w8[size_t(r * p.n_cols + k)] = std::nearbyint(row[size_t(k)] * inv) * (m / 127.0f);
          }
        }
        std::vector<float> ref(size_t(p.ldy * tok)), got(size_t(p.ldy * tok), -7.0f);
        const WeightView wf{DType::F32, rows, p.n_cols, w8.data()};
        matmul_ref(wf, p.x.data(), p.ldx, tok, ref.data(), p.ldy);
        matmul(p.view(), p.x.data(), p.ldx, tok, got.data(), p.ldy, pool);
        auto b = bounds(p, Isa::Scalar);  // the f32 summation bound only
        for (int64_t i = 0; i < tok; ++i) {
          double xmax = 0;
          for (int64_t k = 0; k < p.n_cols; ++k) xmax = std::max(xmax, double(std::fabs(p.x[size_t(i * p.ldx + k)])));
          for (int64_t r = 0; r < rows; ++r) {
            double smax = 0;
            for (int64_t u = 0; u < p.n_cols / 256; ++u) smax = std::max(smax, step[size_t(r * p.n_cols / 256 + u)]);
            ASSERT_LE(std::fabs(double(got[size_t(i * p.ldy + r)]) - ref[size_t(i * p.ldy + r)]),
                      2 * b[size_t(i * rows + r)] + 1e-4 * smax * xmax)
                << dtype_name(t) << " rows " << rows << " tok " << tok << " at t=" << i << " r=" << r;
          }
          for (int64_t r = rows; r < p.ldy; ++r) ASSERT_EQ(got[size_t(i * p.ldy + r)], -7.0f) << "wrote past the row";
        }
      }
    }
  }
  set_isa(detected_isa());
}

// Wide rows with few tokens: on AVX-512, Q4_K/Q5_K/Q6_K are computed in column passes of 2048
// that add into y once the tokens' codes pass kChunkMinCodes (8 tokens x 4608 does); every other
// type goes through the same shapes unsplit, and a float width with a tail checks the masked
// last vector.
TEST(Matmul, WideRowsInColumnPasses) {
  ThreadPool pool(2);
  for (Isa isa : isas()) {
    for (DType t : kTypes) {
      int64_t cols = is_float(t) ? 4096 + 37 : 4608;
      // 2-16 tokens: the AVX-512 K-quant pair kernel in passes; 21: the K-quant prefill in
      // column slabs of 12 super-blocks.
      for (int64_t tok : {1, 2, 5, 8, 9, 16, 21}) {
        check(make_problem(t, 7, cols, tok, 77 + uint32_t(tok)), isa, pool);
        if (HasFatalFailure()) return;
      }
    }
  }
  set_isa(detected_isa());
}

TEST(Matmul, ZeroActivationsAndWeights) {
  ThreadPool pool(1);
  for (Isa isa : isas()) {
    for (DType t : kTypes) {
      auto p = make_problem(t, 6, 256, 3, 99);
      std::fill(p.x.begin(), p.x.begin() + p.ldx, 0.0f);                 // token 0 all zero
      std::fill(p.w.begin(), p.w.begin() + long(row_bytes(t, 256)), 0);  // row 0 all zero
      check(p, isa, pool);
      std::vector<float> y(size_t(p.ldy * p.n_tok));
      matmul(p.view(), p.x.data(), p.ldx, p.n_tok, y.data(), p.ldy, pool);
      for (int64_t r = 0; r < p.n_rows; ++r) EXPECT_EQ(y[size_t(r)], 0.0f) << dtype_name(t);
      for (int64_t i = 0; i < p.n_tok; ++i) EXPECT_EQ(y[size_t(i * p.ldy)], 0.0f) << dtype_name(t);
    }
  }
  set_isa(detected_isa());
}

// Rows are split across threads in whole tiles and each row's arithmetic does not depend on
// which thread runs it, so 1 and 2 threads must agree bit for bit.
TEST(Matmul, ThreadCountDoesNotChangeResults) {
  ThreadPool one(1), two(2);
  for (Isa isa : isas()) {
    set_isa(isa);
    for (DType t : kTypes) {
      for (int64_t tok : {1, 9}) {
        auto p = make_problem(t, 261, 4608, tok, 7);  // wide enough for column passes
        std::vector<float> a(size_t(p.ldy * tok)), b(size_t(p.ldy * tok));
        matmul(p.view(), p.x.data(), p.ldx, tok, a.data(), p.ldy, one);
        matmul(p.view(), p.x.data(), p.ldx, tok, b.data(), p.ldy, two);
        for (int64_t i = 0; i < tok; ++i)
          for (int64_t r = 0; r < p.n_rows; ++r)
            ASSERT_EQ(a[size_t(i * p.ldy + r)], b[size_t(i * p.ldy + r)])
                << isa_name(isa) << " " << dtype_name(t);
      }
    }
  }
  set_isa(detected_isa());
}

TEST(Matmul, SetIsaClampsToDetected) {
  set_isa(Isa::Avx512);
  EXPECT_LE(int(active_isa()), int(detected_isa()));
  set_isa(Isa::Scalar);
  EXPECT_EQ(active_isa(), Isa::Scalar);
  set_isa(detected_isa());
  EXPECT_EQ(active_isa(), detected_isa());
}

}  // namespace

// matmul_multi over jobs of different types (different activation formats, byte-based thread
// split crossing job boundaries) must give exactly what separate matmul() calls give.
TEST(MatmulMulti, SameAsSeparateCalls) {
  std::mt19937 rng(11);
  std::normal_distribution<float> nd(0.f, 1.f);
  const int64_t n_cols = 512;
  const frugal::DType types[] = {frugal::DType::Q4_K, frugal::DType::Q6_K, frugal::DType::Q8_0, frugal::DType::F16};
  const int64_t rows[] = {67, 13, 130, 5};
  std::vector<std::vector<uint8_t>> w(4);
  std::vector<frugal::kernels::MatmulJob> jobs(4);
  std::vector<std::vector<float>> y_multi(4), y_single(4);
  for (int j = 0; j < 4; ++j) {
    w[j].resize(frugal::row_bytes(types[j], n_cols) * size_t(rows[j]));
    std::vector<float> row(static_cast<size_t>(n_cols));
    for (int64_t r = 0; r < rows[j]; ++r) {
      for (auto& v : row) v = nd(rng);
      frugal::kernels::quantize_row(types[j], row.data(), w[j].data() + size_t(r) * frugal::row_bytes(types[j], n_cols), n_cols);
    }
  }
  // Shared input, then per-job inputs (MoE experts): jobs 1 and 3 bring their own x, job 2
  // shares job 1's (same pointer, different format), job 0 uses the shared one.
  for (bool own_inputs : {false, true})
    for (int64_t n_tok : {1, 3, 9}) {
      std::vector<float> x(size_t(n_tok * n_cols)), x1(size_t(n_tok * (n_cols + 7))), x3(size_t(n_tok * n_cols));
      for (auto* v : {&x, &x1, &x3})
        for (auto& e : *v) e = nd(rng);
      frugal::ThreadPool pool(2);
      for (int j = 0; j < 4; ++j) {
        y_multi[j].assign(size_t(n_tok * rows[j]), 0.f);
        y_single[j].assign(size_t(n_tok * rows[j]), 1.f);
        jobs[j] = {{types[j], rows[j], n_cols, w[j].data()}, y_multi[j].data(), rows[j]};
        const float* in = x.data();
        int64_t ld = n_cols;
        if (own_inputs && (j == 1 || j == 2)) in = x1.data(), ld = n_cols + 7;
        if (own_inputs && j == 3) in = x3.data();
        if (in != x.data()) jobs[j].x = in, jobs[j].ldx = ld;
        frugal::kernels::matmul(jobs[j].w, in, ld, n_tok, y_single[j].data(), rows[j], pool);
      }
      frugal::kernels::matmul_multi(jobs.data(), 4, x.data(), n_cols, n_tok, pool);
      for (int j = 0; j < 4; ++j)
        EXPECT_EQ(y_multi[j], y_single[j]) << "job " << j << " n_tok " << n_tok << " own inputs " << own_inputs;
    }
}
