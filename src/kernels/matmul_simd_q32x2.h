// AVX-512 form of matmul_simd_q32.h: two blocks of 32 per 512-bit step, so each vpdpbusd,
// convert, scale and FMA covers 64 weights (half the instructions per weight of the 256-bit
// form, which is what bounds Q4_0 / Q5_0 decode with several tokens). Same math: lanes 0-7
// belong to block b, lanes 8-15 to block b + 1; each block's offset correction -off * sum(q)
// sits in its first lane, and the scale vector is [dw_b * dx_b] x 8 ++ [dw_b1 * dx_b1] x 8.
// An odd last block goes through the 256-bit kernel's arithmetic.
#pragma once
#include "kernels/matmul_simd_q32.h"

#if defined(__AVX512F__)
namespace frugal::kernels {
namespace {

// 64 unsigned codes of blocks b and b + 1, in element order.
template <class D>
struct Codes2;

template <>
struct Codes2<DecQ4_0> {
  static __m512i get(const BlockQ4_0* b) {
    __m256i q = _mm256_set_m128i(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b[1].qs)),
                                 _mm_loadu_si128(reinterpret_cast<const __m128i*>(b[0].qs)));
    // [qs0, qs1, qs0 >> 4, qs1 >> 4] -> [qs0, qs0 >> 4, qs1, qs1 >> 4] (128-bit lanes)
    __m512i t = _mm512_inserti64x4(_mm512_castsi256_si512(q), _mm256_srli_epi16(q, 4), 1);
    return _mm512_and_si512(_mm512_shuffle_i64x2(t, t, _MM_SHUFFLE(3, 1, 2, 0)),
                            _mm512_set1_epi8(15));
  }
};

template <>
struct Codes2<DecQ5_0> {
  static __m512i get(const BlockQ5_0* b) {
    uint32_t h0, h1;
    std::memcpy(&h0, b[0].qh, 4);
    std::memcpy(&h1, b[1].qh, 4);
    __m256i q = _mm256_set_m128i(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b[1].qs)),
                                 _mm_loadu_si128(reinterpret_cast<const __m128i*>(b[0].qs)));
    __m512i t = _mm512_inserti64x4(_mm512_castsi256_si512(q), _mm256_srli_epi16(q, 4), 1);
    __m512i lo =
        _mm512_and_si512(_mm512_shuffle_i64x2(t, t, _MM_SHUFFLE(3, 1, 2, 0)), _mm512_set1_epi8(15));
    return _mm512_or_si512(
        lo, _mm512_maskz_mov_epi8(__mmask64(uint64_t(h1) << 32 | h0), _mm512_set1_epi8(16)));
  }
};

template <>
struct Codes2<DecQ8_0> {
  static __m512i get(const BlockQ8_0* b) {
    __m512i v = _mm512_inserti64x4(_mm512_castsi256_si512(load256(b[0].qs)), load256(b[1].qs), 1);
    return _mm512_xor_si512(v, _mm512_set1_epi8(-128));
  }
};

// [a] x 8 ++ [b] x 8
inline __m512 halves(float a, float b) {
  return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_set1_ps(a)), _mm256_set1_ps(b), 1);
}

template <class D>
struct KernelQ32x2 {
  using Block = typename D::Block;
  static constexpr int64_t kChunkCols = 0;  // column passes measured slower (gemm_few_tokens)
  static size_t col_bytes(int64_t k) { return size_t(k / kQK) * sizeof(Block); }

  template <int R, int T>
  static void tile(const GemmArgs& a, int64_t r, int64_t t) {
    const int64_t nb = a.n_cols / kQK;
    const Block* w[R];
    for (int i = 0; i < R; ++i)
      w[i] = reinterpret_cast<const Block*>(a.w + size_t(r + i) * a.w_stride);
    ActQ8 x[T];
    for (int j = 0; j < T; ++j) x[j] = act_row(a, t + j);
    __m512 acc[R][T];
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i)
#pragma GCC unroll 8
      for (int j = 0; j < T; ++j) acc[i][j] = _mm512_setzero_ps();
    constexpr int kShift = D::kOffset == 8 ? 3 : D::kOffset == 16 ? 4 : 7;
    static_assert(1 << kShift == D::kOffset);
    const __m512i dup = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2) {
      // Decode (one row): Q8_0 30 -> 38 GB/s, Q4_0 / Q5_0 (compute-bound) unchanged.
      if constexpr (R == 1)
        prefetch_lines(reinterpret_cast<const char*>(w[0] + b) + kPfAhead, 2 * sizeof(Block));
      __m512i u[R];
      __m512 dw[R];
#pragma GCC unroll 8
      for (int i = 0; i < R; ++i) {
        u[i] = Codes2<D>::get(w[i] + b);
        dw[i] = halves(f16(w[i][b].d), f16(w[i][b + 1].d));
      }
#pragma GCC unroll 8
      for (int j = 0; j < T; ++j) {
        __m512i q = _mm512_loadu_si512(x[j].qs + kQK * b);
        // sums of blocks b, b + 1 into lanes 0 and 8 (others zero), times -off (a power of 2).
        // A 64-bit load + permute: vpexpandd from memory is microcoded on AMD.
        __m512i s2 = _mm512_maskz_permutexvar_epi32(
            0x0101, dup,
            _mm512_castsi128_si512(_mm_loadl_epi64(
                reinterpret_cast<const __m128i*>(static_cast<const int32_t*>(x[j].sum) + b))));
        __m512i corr = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(s2, kShift));
        __m512 dx = _mm512_permutexvar_ps(dup, _mm512_castps128_ps512(_mm_castpd_ps(_mm_load_sd(
                                                   reinterpret_cast<const double*>(x[j].d + b)))));
#pragma GCC unroll 8
        for (int i = 0; i < R; ++i) {
          __m512 p = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(corr, u[i], q));
          acc[i][j] = _mm512_fmadd_ps(p, _mm512_mul_ps(dw[i], dx), acc[i][j]);
        }
      }
    }
    if (b < nb) {  // odd last block: lanes 0-7 only
#pragma GCC unroll 8
      for (int j = 0; j < T; ++j) {
        __m256i q = load256(x[j].qs + kQK * b);
        int32_t s = static_cast<const int32_t*>(x[j].sum)[b];
        __m256i corr = _mm256_zextsi128_si256(_mm_cvtsi32_si128(-D::kOffset * s));
#pragma GCC unroll 8
        for (int i = 0; i < R; ++i) {
          __m256 p = _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(corr, D::codes(w[i] + b), q));
          __m256 sc = _mm256_set1_ps(f16(w[i][b].d) * x[j].d[b]);
          acc[i][j] =
              _mm512_fmadd_ps(_mm512_zextps256_ps512(p), _mm512_zextps256_ps512(sc), acc[i][j]);
        }
      }
    }
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i)
#pragma GCC unroll 8
      for (int j = 0; j < T; ++j) put(a, t + j, r + i, _mm512_reduce_add_ps(acc[i][j]));
  }
};

}  // namespace
}  // namespace frugal::kernels
#endif
