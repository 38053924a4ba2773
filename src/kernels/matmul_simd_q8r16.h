// AVX-512 prefill for Q8_0 with many tokens: 16 rows interleaved, exact.
//
// The lane kernel (matmul_simd_q32lanes.h) converts and scales once per (row, token, 16
// blocks); here i32 lane i of every vpdpbusd belongs to row i (as in matmul_simd_kr16.h), so a
// (16 rows, token, block of 32) is 8 vpdpbusd plus one convert, one scale product and one FMA
// for all 16 rows. Q8_0's codes are already 8-bit with one scale per block, so nothing is
// rounded again: the sums are the same integers as every other Q8_0 kernel's.
//
// Activations are Q8_0_Lanes (units of 16 blocks; dword 16k + l of a unit is dword k of block
// l). Weights are stored per unit as natural dword n = 8l + k of 16 rows, as w + 128; the init
// -128 * (block sum of q) takes the offset back out.
#pragma once
#include "kernels/matmul_simd_kr16.h"
#include "kernels/matmul_simd_q32lanes.h"

#if defined(__AVX512F__)
namespace frugal::kernels {
namespace {

struct alignas(64) Q8R16Unit {
  uint8_t w[128][64];  // dword 8l + k of block l, rows 0..15
  float d[16][16];     // block l's scale, rows 0..15
};

// Rows [r, r + n) (n <= 16; missing rows and blocks past the row's end are zero weights).
inline void decode_q8r16(const GemmArgs& a, int64_t r, int n, int64_t nu, uint32_t* rows_tmp,
                         Q8R16Unit* out) {
  const int64_t nb = a.n_cols / kQK, row_dw = nu * 128;
  const __m256i flip = _mm256_set1_epi8(-128);
  for (int i = 0; i < 16; ++i) {
    uint32_t* dst = rows_tmp + size_t(i) * size_t(row_dw);
    const auto* b = reinterpret_cast<const BlockQ8_0*>(a.w + size_t(r + i) * a.w_stride);
    for (int64_t l = 0; l < nu * 16; ++l) {
      const bool live = i < n && l < nb;
      const __m256i q = live ? _mm256_xor_si256(load256(b[l].qs), flip) : flip;
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 8 * l), q);
      out[l / 16].d[l % 16][i] = live ? f16(b[l].d) : 0.0f;
    }
  }
  for (int64_t u = 0; u < nu; ++u)
    for (int g = 0; g < 8; ++g)  // dwords 16g..16g+15 of every row -> vectors 16g..16g+15
      transpose16(rows_tmp + 128 * u + 16 * g, row_dw, out[u].w[16 * g], 64);
}

template <int RV, int T>
inline void tile_q8r16(const GemmArgs& a, const Q8R16Unit* const* blk, int64_t nu, int64_t t,
                       int64_t r, int64_t r_end) {
  const int32_t* q[T];
  const float* dx[T];
  const int32_t* sum[T];
  __m512 acc[RV][T];
  start_tile<RV, T>(a, t, q, dx, sum, acc);
  for (int64_t u = 0; u < nu; ++u) {
    for (int l = 0; l < 16; ++l) {
      const int64_t blkno = 16 * u + l;
      __m512i v[RV][T];
#pragma GCC unroll 8
      for (int j = 0; j < T; ++j) {
        const __m512i c = _mm512_set1_epi32(-128 * sum[j][blkno]);
#pragma GCC unroll 8
        for (int b = 0; b < RV; ++b) v[b][j] = c;
      }
#pragma GCC unroll 8
      for (int k = 0; k < 8; ++k) {
        __m512i w[RV];
#pragma GCC unroll 8
        for (int b = 0; b < RV; ++b) w[b] = _mm512_load_si512(blk[b][u].w[8 * l + k]);
#pragma GCC unroll 8
        for (int j = 0; j < T; ++j) {
          const __m512i x = _mm512_set1_epi32(q[j][128 * u + 16 * k + l]);
#pragma GCC unroll 8
          for (int b = 0; b < RV; ++b) v[b][j] = _mm512_dpbusd_epi32(v[b][j], w[b], x);
        }
      }
#pragma GCC unroll 8
      for (int b = 0; b < RV; ++b) {
        const __m512 d = _mm512_load_ps(blk[b][u].d[l]);
#pragma GCC unroll 8
        for (int j = 0; j < T; ++j)
          acc[b][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(v[b][j]), _mm512_mul_ps(d, _mm512_set1_ps(dx[j][blkno])),
                                      acc[b][j]);
      }
    }
  }
  store_acc<RV, T>(a, t, r, r_end, acc);
}

struct Q8R16 {
  using Unit = Q8R16Unit;
  const GemmArgs& a;
  int64_t nu;
  uint32_t* rows_tmp;
  void decode(int64_t rb, int n, Unit* out) const { decode_q8r16(a, rb, n, nu, rows_tmp, out); }
  template <int RV, int T>
  void tile(const Unit* const* blk, int64_t t, int64_t r, int64_t r_end) const {
    tile_q8r16<RV, T>(a, blk, nu, t, r, r_end);
  }
};

inline void gemm_q8r16(const GemmArgs& a, int64_t r0, int64_t r1) {
  const int64_t nu = (a.n_cols / kQK + 15) / 16;
  gemm_rows16(a, r0, r1, nu, Q8R16{a, nu, grow_buffer<uint32_t, 24>(size_t(16 * nu * 128))});
}

template <int R, int T>
void gemm_q8_0_prefill(const GemmArgs& a, int64_t r0, int64_t r1) {
  if (a.n_tok >= kR16MinTokens && a.k0 == 0 && !a.accumulate)
    gemm_q8r16(a, r0, r1);
  else
    gemm_q32_lanes<DecQ8_0, R, T>(a, r0, r1);
}

}  // namespace
}  // namespace frugal::kernels
#endif
