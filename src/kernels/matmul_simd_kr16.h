// AVX-512 prefill for Q4_K / Q5_K / Q6_K with many tokens: weights requantized per token
// batch to 8 bits, 16 rows interleaved.
//
// Why. The lane kernel (matmul_simd_klanes.h) keeps each K-quant group's scale in an i32 lane
// and must convert, scale and add once per (row, token, super-block): 4 vpdpbusd carry 4 more
// vector ops on the same two ports, so it cannot pass ~55 % of the vpdpbusd peak. Here each
// super-block of a row is dequantized (d * sc * q - dmin * m, exactly as the reference) and
// rounded once to int8 with one scale per row and super-block (amax / 127), and 16 rows are
// stored interleaved: vector m of a unit holds lane-order dword m of rows 0..15, so i32 lane
// i of every vpdpbusd belongs to row i. A (16 rows, token, super-block) then costs 64 vpdpbusd
// plus one convert, one multiply and one FMA for all 16 rows.
//
// The price is one more rounding of each weight: at most half a step of amax / 127 of its
// super-block, ~8x finer than Q4_K's own step (tests/unit/test_matmul.cpp bounds it; the
// golden tests keep their limits). ik_llama.cpp's prefill makes the same trade (K-quants
// repacked to 8-bit rows at run time). It is used from kR16MinTokens tokens on, where the
// decode (~1/8 of the time at 512 tokens) is amortized: in bench_matmul it is 1.2-1.3x the
// lane kernel at 128 tokens and 0.65-0.95x at 32-64 (a MoE expert's share of a prefill).
// Fewer tokens keep the exact kernels, and so does FRUGAL_PREFILL=lanes.
//
// Weights are offset to unsigned (w + 128) for vpdpbusd's u8 side; the activations' signed
// codes stay as they are and each token's unit pays -128 * sum(q) once (the v init).
#pragma once
#include "kernels/matmul_simd_klanes.h"

#if defined(__AVX512F__)
namespace frugal::kernels {
namespace {

constexpr int64_t kR16MinTokens = 96;

// One super-block of 16 rows: w[m] = lane-order dword m of rows 0..15 (u8 codes, +128), and
// each row's scale.
struct alignas(64) R16Unit {
  uint8_t w[64][64];
  float d[16];
};

// Rounds one decoded super-block (LaneDec: lane-order codes, group scales and mins) to int8 +
// 128, written as 64 dwords in lane order (row-major, for the transpose), and returns its scale.
inline float requant_unit(const LaneDec<4>& dec, uint32_t* out) {
  __m512 v[16];
  const __m512 sc = _mm512_load_ps(dec.sc), mf = _mm512_load_ps(dec.mf);
  __m512 amax = _mm512_setzero_ps();
  const __m512i lo8 = _mm512_set1_epi32(0xff);
#pragma GCC unroll 4
  for (int s = 0; s < 4; ++s) {
    const __m512i q = _mm512_load_si512(dec.u + 64 * s);
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
      const __m512i b = _mm512_and_si512(_mm512_srli_epi32(q, 8 * c), lo8);
      v[4 * s + c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(b), sc, mf);
      amax = _mm512_max_ps(amax, _mm512_abs_ps(v[4 * s + c]));
    }
  }
  const float m = _mm512_reduce_max_ps(amax);
  const __m512 inv = _mm512_set1_ps(m > 0 ? 127.0f / m : 0.0f);
  const __m512i off = _mm512_set1_epi32(128);
#pragma GCC unroll 4
  for (int s = 0; s < 4; ++s) {
    __m512i packed = _mm512_setzero_si512();
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
      const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(v[4 * s + c], inv)), off);
      packed = _mm512_or_si512(packed, _mm512_slli_epi32(q, 8 * c));
    }
    _mm512_storeu_si512(out + 16 * s, packed);
  }
  return m / 127.0f;
}

// 16 x 16 dword transpose: out row m (of 16 dwords, at out + m * 16 stride 64 bytes apart)
// takes dword m of each input row.
inline void transpose16(const uint32_t* in, int64_t in_stride, uint8_t* out, int64_t out_stride) {
  __m512i r[16], t[16];
  for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_si512(in + i * in_stride);
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
    r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
    r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
    r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
  }
  // r[4g + k], 128-bit lane L: column 4L + k of rows 4g..4g+3. Output column 4L + k gathers
  // lane L of r[k], r[4 + k], r[8 + k], r[12 + k].
  for (int k = 0; k < 4; ++k) {
    const __m512i a0 = _mm512_shuffle_i32x4(r[k], r[4 + k], 0x88), a1 = _mm512_shuffle_i32x4(r[k], r[4 + k], 0xdd);
    const __m512i b0 = _mm512_shuffle_i32x4(r[8 + k], r[12 + k], 0x88),
                  b1 = _mm512_shuffle_i32x4(r[8 + k], r[12 + k], 0xdd);
    _mm512_store_si512(out + (0 + k) * out_stride, _mm512_shuffle_i32x4(a0, b0, 0x88));
    _mm512_store_si512(out + (8 + k) * out_stride, _mm512_shuffle_i32x4(a0, b0, 0xdd));
    _mm512_store_si512(out + (4 + k) * out_stride, _mm512_shuffle_i32x4(a1, b1, 0x88));
    _mm512_store_si512(out + (12 + k) * out_stride, _mm512_shuffle_i32x4(a1, b1, 0xdd));
  }
}

// Rows [r, r + n) (n <= 16; missing rows are zero weights) requantized into nu units.
template <class D>
void decode_r16(const GemmArgs& a, int64_t r, int n, int64_t nu, LaneDec<4>* scratch,
                uint32_t* rows_tmp, R16Unit* out) {
  for (int i = 0; i < 16; ++i) {
    uint32_t* dst = rows_tmp + size_t(i) * size_t(nu) * 64;
    if (i >= n) {
      for (int64_t u = 0; u < nu; ++u) {
        for (int m = 0; m < 64; ++m) dst[64 * u + m] = 0x80808080u;
        out[u].d[i] = 0.0f;
      }
      continue;
    }
    LanesK<D>::decode_row(a.w + size_t(r + i) * a.w_stride, a.n_cols, scratch);
    for (int64_t u = 0; u < nu; ++u) out[u].d[i] = requant_unit(scratch[u], dst + 64 * u);
  }
  const int64_t row_stride = nu * 64;  // dwords
  for (int64_t u = 0; u < nu; ++u)
    for (int b = 0; b < 4; ++b)  // dwords 16b..16b+15 of every row -> vectors 16b..16b+15
      transpose16(rows_tmp + 64 * u + 16 * b, row_stride, out[u].w[16 * b], 64);
}

// Writes y's rows [r, r_end) for T tokens from RV vectors of 16. (Column slabs that keep a
// slab's weights in L1 and add into y were measured slower, 0.75-0.9x, at 1536 and 8960
// columns: the tiles' weights stream from L2 fast enough.)
template <int RV, int T>
inline void store_acc(const GemmArgs& a, int64_t t, int64_t r, int64_t r_end, const __m512 acc[RV][T]) {
#pragma GCC unroll 8
  for (int b = 0; b < RV; ++b) {
    const int64_t rb = r + 16 * b;
    if (rb >= r_end) break;
    const __mmask16 k = r_end - rb >= 16 ? __mmask16(0xffff) : __mmask16((1u << (r_end - rb)) - 1);
#pragma GCC unroll 8
    for (int j = 0; j < T; ++j) _mm512_mask_storeu_ps(a.y + (t + j) * a.ldy + rb, k, acc[b][j]);
  }
}

// A 16-row tile's start: token j's codes, scales and sums, and zeroed accumulators.
template <int RV, int T>
inline void start_tile(const GemmArgs& a, int64_t t, const int32_t* q[T], const float* dx[T], const int32_t* sum[T],
                       __m512 acc[RV][T]) {
#pragma GCC unroll 8
  for (int j = 0; j < T; ++j) {
    const uint8_t* base = a.act + size_t(t + j) * a.lay.stride;
    q[j] = reinterpret_cast<const int32_t*>(base + a.lay.qs_off);
    dx[j] = reinterpret_cast<const float*>(base + a.lay.d_off);
    sum[j] = reinterpret_cast<const int32_t*>(base + a.lay.sum_off);
  }
#pragma GCC unroll 8
  for (int b = 0; b < RV; ++b)
#pragma GCC unroll 8
    for (int j = 0; j < T; ++j) acc[b][j] = _mm512_setzero_ps();
}

// RV blocks of 16 rows x T tokens over all units.
template <int RV, int T>
inline void tile_r16(const GemmArgs& a, const R16Unit* const* blk, int64_t nu, const int32_t* corr,
                     int64_t t, int64_t r, int64_t r_end) {
  const int32_t* q[T];
  const float* dx[T];
  const int32_t* sum[T];
  __m512 acc[RV][T];
  start_tile<RV, T>(a, t, q, dx, sum, acc);
  for (int64_t u = 0; u < nu; ++u) {
    __m512i v[RV][T];
#pragma GCC unroll 8
    for (int j = 0; j < T; ++j) {
      const __m512i c = _mm512_set1_epi32(corr[(t + j) * nu + u]);
#pragma GCC unroll 8
      for (int b = 0; b < RV; ++b) v[b][j] = c;
    }
    const int32_t* qu[T];
#pragma GCC unroll 8
    for (int j = 0; j < T; ++j) qu[j] = q[j] + 64 * u;
#pragma GCC unroll 4
    for (int m = 0; m < 64; ++m) {
      __m512i w[RV];
#pragma GCC unroll 8
      for (int b = 0; b < RV; ++b) w[b] = _mm512_load_si512(blk[b][u].w[m]);
#pragma GCC unroll 8
      for (int j = 0; j < T; ++j) {
        const __m512i x = _mm512_set1_epi32(qu[j][m]);
#pragma GCC unroll 8
        for (int b = 0; b < RV; ++b) v[b][j] = _mm512_dpbusd_epi32(v[b][j], w[b], x);
      }
    }
#pragma GCC unroll 8
    for (int b = 0; b < RV; ++b) {
      const __m512 d = _mm512_load_ps(blk[b][u].d);
#pragma GCC unroll 8
      for (int j = 0; j < T; ++j)
        acc[b][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(v[b][j]), _mm512_mul_ps(d, _mm512_set1_ps(dx[j][u])),
                                    acc[b][j]);
    }
  }
  store_acc<RV, T>(a, t, r, r_end, acc);
}

// The loop both 16-row kernels share: per 2 x 16 rows (a range's last 16 or fewer as one
// block, not beside a block of zero rows), decode once for all tokens, then tiles of 4 tokens.
// P gives Unit, decode(first row, rows, Unit* out) and tile<RV, T>(blocks, t, r, r_end).
template <class P>
void gemm_rows16(const GemmArgs& a, int64_t r0, int64_t r1, int64_t nu, const P& p) {
  constexpr int RV = 2, T = 4;
  using Unit = typename P::Unit;
  Unit* dec = grow_buffer<Unit, 23>(size_t(RV * nu));
  for (int64_t r = r0; r < r1; r += 16 * RV) {
    const int rv = r1 - r > 16 ? RV : 1;
    const Unit* blk[RV];
    for (int b = 0; b < rv; ++b) {
      const int64_t rb = r + 16 * b;
      p.decode(rb, int(r1 - rb < 16 ? r1 - rb : 16), dec + b * nu);
      blk[b] = dec + b * nu;
    }
    int64_t t = 0;
    if (rv == RV) {
      for (; t + T <= a.n_tok; t += T) p.template tile<RV, T>(blk, t, r, r1);
      for (; t < a.n_tok; ++t) p.template tile<RV, 1>(blk, t, r, r1);
    } else {
      for (; t + T <= a.n_tok; t += T) p.template tile<1, T>(blk, t, r, r1);
      for (; t < a.n_tok; ++t) p.template tile<1, 1>(blk, t, r, r1);
    }
  }
}

template <class D>
struct KR16 {
  using Unit = R16Unit;
  const GemmArgs& a;
  int64_t nu;
  const int32_t* corr;
  LaneDec<4>* scratch;
  uint32_t* rows_tmp;
  void decode(int64_t rb, int n, Unit* out) const { decode_r16<D>(a, rb, n, nu, scratch, rows_tmp, out); }
  template <int RV, int T>
  void tile(const Unit* const* blk, int64_t t, int64_t r, int64_t r_end) const {
    tile_r16<RV, T>(a, blk, nu, corr, t, r, r_end);
  }
};

template <class D>
void gemm_r16(const GemmArgs& a, int64_t r0, int64_t r1) {
  const int64_t nu = a.n_cols / kQKK;
  // -128 * (sum of a token's codes) per unit: the offset of the unsigned weights.
  int32_t* corr = grow_buffer<int32_t, 20>(size_t(a.n_tok * nu));
  for (int64_t t = 0; t < a.n_tok; ++t) {
    const int32_t* s = reinterpret_cast<const int32_t*>(a.act + size_t(t) * a.lay.stride + a.lay.sum_off);
    for (int64_t u = 0; u < nu; ++u)
      corr[t * nu + u] = -128 * _mm512_reduce_add_epi32(_mm512_load_si512(s + 32 * u));
  }
  const KR16<D> p{a, nu, corr, grow_buffer<LaneDec<4>, 21>(size_t(nu)), grow_buffer<uint32_t, 22>(size_t(16 * nu * 64))};
  gemm_rows16(a, r0, r1, nu, p);
}

template <class D, int R, int T>
void gemm_k_prefill(const GemmArgs& a, int64_t r0, int64_t r1) {
  if (a.n_tok >= kR16MinTokens && a.n_cols % kQKK == 0 && a.k0 == 0 && !a.accumulate)
    gemm_r16<D>(a, r0, r1);
  else
    gemm_k_lanes<D, R, T>(a, r0, r1);
}

}  // namespace
}  // namespace frugal::kernels
#endif
