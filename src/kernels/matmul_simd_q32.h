// Q4_0 / Q5_0 / Q8_0 weights x Q8_0-quantized activations (include via matmul_simd_common.h's
// users only). Per block of 32: the weight codes are decoded once to 32 unsigned bytes u with
// w = (u - off) * dw, then for each token
//   sum_j w_j x_j = dw * dx * (sum_j u_j q_j - off * sum_j q_j)
// The correction -off * sum(q) (sum precomputed with the activations) is put in lane 0 of the
// integer accumulator before the u8 x s8 dot, so it costs no extra vector op per token.
// Q8_0 on AVX2 cannot use u = w + 128 (maddubs' i16 pairs would overflow), so it uses the
// sign trick instead: |w| x (q * sign(w)).
#pragma once
#include <cstring>

#include "kernels/matmul_simd_common.h"
#include "kernels/quant_blocks.h"

namespace frugal::kernels {
namespace {

struct DecQ4_0 {
  using Block = BlockQ4_0;
  static constexpr int kOffset = 8;
  static __m256i codes(const Block* b) { return nibbles_32(b->qs); }
};

struct DecQ5_0 {
  using Block = BlockQ5_0;
  static constexpr int kOffset = 16;
  static __m256i codes(const Block* b) {
    uint32_t qh;
    std::memcpy(&qh, b->qh, 4);
#if defined(__AVX512BW__)
    __m256i hi = _mm256_maskz_mov_epi8(__mmask32(qh), _mm256_set1_epi8(16));
#else
    // Byte j gets byte j / 8 of qh, then bit j % 8 of it becomes 0x10.
    const __m256i spread =
        _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
    const __m256i bit = _mm256_set1_epi64x(int64_t(0x8040201008040201));
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32(int32_t(qh)), spread);
    __m256i hi =
        _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit), _mm256_set1_epi8(16));
#endif
    return _mm256_or_si256(nibbles_32(b->qs), hi);
  }
};

struct DecQ8_0 {
  using Block = BlockQ8_0;
#if defined(__AVX512VNNI__)
  static constexpr int kOffset = 128;  // u = w + 128 = w ^ 0x80; vpdpbusd has no i16 stage
  static __m256i codes(const Block* b) {
    return _mm256_xor_si256(load256(b->qs), _mm256_set1_epi8(-128));
  }
#else
  static constexpr int kOffset = 0;  // sign trick in dot()
  static __m256i codes(const Block* b) { return load256(b->qs); }
#endif
};

template <class D>
struct KernelQ32 {
  using Block = typename D::Block;
  static constexpr int64_t kChunkCols = 0;  // column passes measured slower (gemm_few_tokens)
  static size_t col_bytes(int64_t k) { return size_t(k / kQK) * sizeof(Block); }

  // Integer dot of one weight block (decoded codes) with one activation block.
  static __m256i dot(__m256i corr, __m256i u, __m256i q) {
    if constexpr (D::kOffset == 0) {
      return dot_u8s8(_mm256_setzero_si256(), _mm256_sign_epi8(u, u), _mm256_sign_epi8(q, u));
    } else {
      return dot_u8s8(corr, u, q);
    }
  }

  template <int R, int T>
  static void tile(const GemmArgs& a, int64_t r, int64_t t) {
    const int64_t nb = a.n_cols / kQK;
    const Block* w[R];
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i)
      w[i] = reinterpret_cast<const Block*>(a.w + size_t(r + i) * a.w_stride);
    ActQ8 x[T];
#pragma GCC unroll 8
    for (int j = 0; j < T; ++j) x[j] = act_row(a, t + j);
    __m256 acc[R][T];
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i)
#pragma GCC unroll 8
      for (int j = 0; j < T; ++j) acc[i][j] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
      __m256i u[R];
      __m256 dw[R];
#pragma GCC unroll 8
      for (int i = 0; i < R; ++i) {
        u[i] = D::codes(w[i] + b);
        dw[i] = _mm256_set1_ps(f16(w[i][b].d));
      }
#pragma GCC unroll 8
      for (int j = 0; j < T; ++j) {
        __m256i q = load256(x[j].qs + kQK * b);
        int32_t s = static_cast<const int32_t*>(x[j].sum)[b];
        __m256i corr = _mm256_zextsi128_si256(_mm_cvtsi32_si128(-D::kOffset * s));
        __m256 dx = _mm256_set1_ps(x[j].d[b]);
#pragma GCC unroll 8
        for (int i = 0; i < R; ++i) {
          __m256 p = _mm256_cvtepi32_ps(dot(corr, u[i], q));
          acc[i][j] = _mm256_fmadd_ps(p, _mm256_mul_ps(dw[i], dx), acc[i][j]);
        }
      }
    }
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i)
#pragma GCC unroll 8
      for (int j = 0; j < T; ++j) put(a, t + j, r + i, hsum256(acc[i][j]));
  }
};

}  // namespace
}  // namespace frugal::kernels
