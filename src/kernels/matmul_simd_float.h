// F32 / F16 / BF16 weights x f32 activations, in f32 (F16 widened by vcvtph2ps, BF16 by a
// 16-bit shift): no activation rounding, so results keep f32 accuracy. Vector width is 16 on
// AVX-512, 8 on AVX2; the last n_cols % W columns go through a zero-padded partial load.
#pragma once
#include <cstring>

#include "kernels/matmul_simd_common.h"

namespace frugal::kernels {
namespace {

#if defined(__AVX512F__)
struct VF {
  using V = __m512;
  static constexpr int W = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static float sum(V v) { return _mm512_reduce_add_ps(v); }
  static __mmask16 mask(int n) { return __mmask16((1u << n) - 1); }
  static V f32(const float* p) { return _mm512_loadu_ps(p); }
  static V f32(const float* p, int n) { return _mm512_maskz_loadu_ps(mask(n), p); }
  static V f16(const uint16_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static V f16(const uint16_t* p, int n) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask(n), p));
  }
  static V bf16(__m256i h) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
  static V bf16(const uint16_t* p) {
    return bf16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static V bf16(const uint16_t* p, int n) { return bf16(_mm256_maskz_loadu_epi16(mask(n), p)); }
};
#else
struct VF {
  using V = __m256;
  static constexpr int W = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static float sum(V v) { return hsum256(v); }
  static V f32(const float* p) { return _mm256_loadu_ps(p); }
  static V f32(const float* p, int n) {
    float buf[8] = {};
    std::memcpy(buf, p, size_t(n) * 4);
    return _mm256_loadu_ps(buf);
  }
  static V f16(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static V f16(const uint16_t* p, int n) {
    uint16_t buf[8] = {};
    std::memcpy(buf, p, size_t(n) * 2);
    return f16(buf);
  }
  static V bf16(const uint16_t* p) {
    __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
  }
  static V bf16(const uint16_t* p, int n) {
    uint16_t buf[8] = {};
    std::memcpy(buf, p, size_t(n) * 2);
    return bf16(buf);
  }
};
#endif

struct LoadF32 {
  using E = float;
  static VF::V load(const E* p) { return VF::f32(p); }
  static VF::V load(const E* p, int n) { return VF::f32(p, n); }
};
struct LoadF16 {
  using E = uint16_t;
  static VF::V load(const E* p) { return VF::f16(p); }
  static VF::V load(const E* p, int n) { return VF::f16(p, n); }
};
struct LoadBF16 {
  using E = uint16_t;
  static VF::V load(const E* p) { return VF::bf16(p); }
  static VF::V load(const E* p, int n) { return VF::bf16(p, n); }
};

template <class L>
struct KernelFloat {
  using E = typename L::E;
  static constexpr int64_t kChunkCols = 0;  // column passes measured slower (gemm_few_tokens)
  static size_t col_bytes(int64_t k) { return size_t(k) * sizeof(E); }

  template <int R, int T>
  static void tile(const GemmArgs& a, int64_t r, int64_t t) {
    constexpr int W = VF::W;
    const E* w[R];
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) w[i] = reinterpret_cast<const E*>(a.w + size_t(r + i) * a.w_stride);
    const float* x[T];
#pragma GCC unroll 8
    for (int j = 0; j < T; ++j) x[j] = a.x + (t + j) * a.ldx;
    typename VF::V acc[R][T];
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i)
#pragma GCC unroll 8
      for (int j = 0; j < T; ++j) acc[i][j] = VF::zero();
    int64_t k = 0;
    for (; k + W <= a.n_cols; k += W) {
      // Decode streams one row at a time: prefetch ahead as the quantized kernels do.
      if constexpr (R == 1) {
        if ((k * int64_t(sizeof(E))) % 64 == 0) _mm_prefetch(reinterpret_cast<const char*>(w[0] + k) + kPfAhead, _MM_HINT_T1);
      }
      typename VF::V wv[R];
#pragma GCC unroll 8
      for (int i = 0; i < R; ++i) wv[i] = L::load(w[i] + k);
#pragma GCC unroll 8
      for (int j = 0; j < T; ++j) {
        typename VF::V xv = VF::f32(x[j] + k);
#pragma GCC unroll 8
        for (int i = 0; i < R; ++i) acc[i][j] = VF::fma(wv[i], xv, acc[i][j]);
      }
    }
    if (k < a.n_cols) {
      int n = int(a.n_cols - k);
      typename VF::V wv[R];
#pragma GCC unroll 8
      for (int i = 0; i < R; ++i) wv[i] = L::load(w[i] + k, n);
#pragma GCC unroll 8
      for (int j = 0; j < T; ++j) {
        typename VF::V xv = VF::f32(x[j] + k, n);
#pragma GCC unroll 8
        for (int i = 0; i < R; ++i) acc[i][j] = VF::fma(wv[i], xv, acc[i][j]);
      }
    }
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i)
#pragma GCC unroll 8
      for (int j = 0; j < T; ++j) put(a, t + j, r + i, VF::sum(acc[i][j]));
  }
};

}  // namespace
}  // namespace frugal::kernels
