// AVX-512 K-quant matmul for 2..kPairMaxTokens tokens (a decode step of several sequences),
// tokens taken in pairs.
//
// Why. The one-token kernel (matmul_simd_k_gemv.h) spends ~15 vector ops per token and
// super-block besides the 4 vpdpbusd: the scale sum (packs, vpmaddwd), then per token the
// factors d * dx and dmin * dx (a broadcast, a multiply, a permute), the min sum (load,
// vpmaddwd, convert, FMA) and the main convert and FMA; with 4-token tiles the super-block's
// decode is paid twice for 8 tokens. This machine issues ~2 of those 512-bit ops a cycle, so
// an 8-token step ran at ~25 % of the vpdpbusd peak.
//
// Here packs(p_j, p_j1) takes the same step of two tokens, so every vpmaddwd / vpdpwssd and
// every float op serves two tokens: 128-bit lane L of the packed words holds lane L of both,
// which the nibble order puts in one sub-block (L < 2: the step's low sub-block, else its
// high one), so the step's scale vector S_k repeats one scale per 128-bit lane (an unpack of
// the one-token kernel's s01 / s23). The i32 sums come out in the dword order [j, j, j1, j1]
// per 128-bit lane; each token pair's dx and group sums are laid out once per call in that
// order (PairAct), so the min sum is one vpmaddwd for both tokens, and the float work is one
// convert, multiply and FMA per pair (two for the mins of Q4_K / Q5_K). A super-block is
// decoded once for all tokens. Odd counts run their last token against a zero twin (dx = 0)
// whose output is dropped.
//
// Measured (bench_matmul, 2 threads, alternating with the kernels it replaced): 8 tokens Q4_K
// 1.35-1.5x and Q6_K 1.2-1.45x the one-token kernel's 4-token tiles; 16 tokens 1.4-1.6x the
// lane kernels on 1536 columns but 0.85-0.9x on 8960 (column passes, narrower or none were
// slower still): ~1.25x on a 1.5B model's mix of shapes, so pairs run up to 16 tokens.
#pragma once
#if defined(__AVX512F__)
#include "kernels/matmul_simd_k_gemv.h"

namespace frugal::kernels {
namespace {

constexpr int64_t kPairMaxTokens = 16;

// One token pair's activations for one super-block, in the dword order of the pair sums:
// dx = [dx_j, dx_j, dx_j1, dx_j1] per 128-bit lane; bs = group sums, 128-bit lane L holding
// groups 4L..4L+3 of token j, then of token j1.
struct alignas(64) PairAct {
  __m512 dx;
  __m512i bs;
};

// The step scales of a pair: S_k's 128-bit lane L is 8 copies of the scale of lane L of p_k.
// s01's lane L holds [4 x lane L of p_0's scale, 4 x p_1's] (likewise s23 for p_2, p_3).
struct PairScales {
  __m512i s[4];
  __m512i mw2;  // the group mins (or Q6_K's -32 * sc) as words in bs's order
  __m512 d, dmin;
  explicit PairScales(const KInt& k) {
    s[0] = _mm512_unpacklo_epi64(k.s01, k.s01);
    s[1] = _mm512_unpackhi_epi64(k.s01, k.s01);
    s[2] = _mm512_unpacklo_epi64(k.s23, k.s23);
    s[3] = _mm512_unpackhi_epi64(k.s23, k.s23);
    mw2 = _mm512_permutexvar_epi64(_mm512_set_epi64(3, 3, 2, 2, 1, 1, 0, 0), _mm512_zextsi256_si512(k.mw));
    d = _mm512_broadcastss_ps(k.dd);
    dmin = _mm512_permutexvar_ps(_mm512_set1_epi32(1), _mm512_castps128_ps512(k.dd));
  }
};

// Lays out tokens [2p, 2p + 1] for super-blocks [0, nsb) of the pass: out[p * nsb + sb].
inline void pair_acts(const GemmArgs& a, int64_t nsb, PairAct* out) {
  const int64_t n_pairs = (a.n_tok + 1) / 2;
  const __m512i bs_idx = _mm512_set_epi64(11, 3, 10, 2, 9, 1, 8, 0);
  for (int64_t p = 0; p < n_pairs; ++p) {
    const ActQ8 x0 = act_row(a, 2 * p);
    const bool twin = 2 * p + 1 < a.n_tok;
    const ActQ8 x1 = twin ? act_row(a, 2 * p + 1) : x0;
    for (int64_t sb = 0; sb < nsb; ++sb) {
      const __m512 d0 = _mm512_set1_ps(x0.d[sb]), d1 = twin ? _mm512_set1_ps(x1.d[sb]) : _mm512_setzero_ps();
      PairAct& o = out[p * nsb + sb];
      o.dx = _mm512_mask_blend_ps(0xCCCC, d0, d1);
      const __m256i b0 = load256(static_cast<const int16_t*>(x0.sum) + 16 * sb);
      const __m256i b1 = twin ? load256(static_cast<const int16_t*>(x1.sum) + 16 * sb) : _mm256_setzero_si256();
      o.bs = _mm512_permutex2var_epi64(_mm512_zextsi256_si512(b0), bs_idx, _mm512_zextsi256_si512(b1));
    }
  }
}

// Rows [r0, r1) x tokens [0, n_tok) (P = pairs, the last one maybe half) for one pass.
template <class G, int P>
void k_pairs_rows(const GemmArgs& a, const PairAct* act, int64_t r0, int64_t r1) {
  using Block = typename G::Dec::Block;
  const int64_t nsb = a.n_cols / kQKK;
  const bool passes = a.w_stride > size_t(nsb) * sizeof(Block);
  const size_t pf = passes ? kPfRows * a.w_stride : kPfAhead;
  const int8_t* q[2 * P];
  for (int j = 0; j < 2 * P; ++j) q[j] = act_row(a, j < a.n_tok ? j : j - 1).qs;
  for (int64_t r = r0; r < r1; ++r) {
    const Block* w = reinterpret_cast<const Block*>(a.w + size_t(r) * a.w_stride);
    __m512 acc[P];
    for (int p = 0; p < P; ++p) acc[p] = _mm512_setzero_ps();
    for (int64_t sb = 0; sb < nsb; ++sb) {
      KInt k;
      prefetch_lines(reinterpret_cast<const char*>(w + sb) + pf, sizeof(Block));
      G::decode(w + sb, &k);
      const PairScales s(k);
#pragma GCC unroll 8
      for (int p = 0; p < P; ++p) {
        const int8_t* q0 = q[2 * p] + kQKK * sb;
        const int8_t* q1 = q[2 * p + 1] + kQKK * sb;
        const PairAct& x = act[p * nsb + sb];
        __m512i is = _mm512_setzero_si512();
#pragma GCC unroll 4
        for (int st = 0; st < 4; ++st) {
          const __m512i p0 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), k.u[st], _mm512_loadu_si512(q0 + 64 * st));
          const __m512i p1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), k.u[st], _mm512_loadu_si512(q1 + 64 * st));
          is = _mm512_dpwssd_epi32(is, _mm512_packs_epi32(p0, p1), s.s[st]);
        }
        if constexpr (G::kSeparateMins) {
          const __m512 m = _mm512_cvtepi32_ps(_mm512_madd_epi16(x.bs, s.mw2));
          acc[p] = _mm512_fnmadd_ps(m, _mm512_mul_ps(x.dx, s.dmin), acc[p]);
        } else {
          is = _mm512_dpwssd_epi32(is, x.bs, s.mw2);
        }
        acc[p] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is), _mm512_mul_ps(x.dx, s.d), acc[p]);
      }
    }
    // [j, j, j1, j1] per 128-bit lane -> the two tokens' sums.
#pragma GCC unroll 8
    for (int p = 0; p < P; ++p) {
      const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(acc[p]), _mm512_extractf32x8_ps(acc[p], 1));
      __m128 v = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
      v = _mm_hadd_ps(v, v);  // [j, j1, j, j1]
      put(a, 2 * p, r, _mm_cvtss_f32(v));
      if (2 * p + 1 < a.n_tok) put(a, 2 * p + 1, r, _mm_cvtss_f32(_mm_movehdup_ps(v)));
    }
  }
}

// 2..kPairMaxTokens tokens, in the column passes of gemm_few_tokens (column_passes), each
// pass's pair layout built once per thread.
template <class G>
void gemm_k_pairs(const GemmArgs& a, int64_t r0, int64_t r1) {
  const int64_t n_pairs = (a.n_tok + 1) / 2;
  column_passes(a, G::kChunkCols, KernelKGemv<G>::col_bytes, [&](const GemmArgs& b) {
    PairAct* act = grow_buffer<PairAct, 102>(size_t(n_pairs * (b.n_cols / kQKK)));
    pair_acts(b, b.n_cols / kQKK, act);
    switch (n_pairs) {
      case 1: k_pairs_rows<G, 1>(b, act, r0, r1); break;
      case 2: k_pairs_rows<G, 2>(b, act, r0, r1); break;
      case 3: k_pairs_rows<G, 3>(b, act, r0, r1); break;
      case 4: k_pairs_rows<G, 4>(b, act, r0, r1); break;
      case 5: k_pairs_rows<G, 5>(b, act, r0, r1); break;
      case 6: k_pairs_rows<G, 6>(b, act, r0, r1); break;
      case 7: k_pairs_rows<G, 7>(b, act, r0, r1); break;
      default: k_pairs_rows<G, 8>(b, act, r0, r1); break;
    }
  });
}

}  // namespace
}  // namespace frugal::kernels
#endif
