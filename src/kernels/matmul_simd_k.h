// Q4_K / Q5_K / Q6_K weights x Q8_K-quantized activations. Each weight super-block (256) is
// decoded to KRegs: unsigned codes u in [0, 63] as kSteps vectors, a float scale per group of
// 16 (gs, with the super-block d folded in) and a "min" term, so that
//   w_e = gs[g] * u_e - kmin * m16[g]          (g = e / 16)
// Q4_K/Q5_K: gs[g] = d * sc[g / 2], kmin = dmin, m16[g] = m[g / 2].
// Q6_K:      gs[g] = d * scales[g], kmin = 32 * d, m16[g] = scales[g] (the -32 offset).
// For a token with codes q, scale dx and group sums bsums:
//   sum_e w_e x_e = dx * (sum_steps gs(lane) . dot(u, q) - kmin * sum_g m16[g] * bsums[g])
// where dot() gives one i32 per 4 codes and gs(lane) is gs permuted to the lanes (Dec::group).
// The min sum is one i16 madd per super-block.
//
// On AVX-512 a step is 64 codes. Q4_K's 64 bytes of nibbles hold elements [0,32)+[64,96) in
// the low nibbles and [32,64)+[96,128) in the high ones, so its activations are stored in
// that order (ActFormat::Q8_K_Nib) instead of shuffling weights. Q6_K's order is natural.
//
// Decode (few tokens) decodes each super-block in registers right before use (AVX-512: the
// integer-sum kernel of matmul_simd_k_gemv.h instead of the float steps below); prefill
// decodes a tile's rows once per token chunk into a thread-local buffer (KDec) reused by every
// tile (AVX2; AVX-512 prefill uses the lane-order kernel of matmul_simd_klanes.h instead).
#pragma once
#include "kernels/matmul_simd_k_decode.h"
#include "kernels/matmul_simd_k_gemv.h"
#include "kernels/matmul_simd_k_pairs.h"

namespace frugal::kernels {
namespace {

// One super-block of R decoded rows against T tokens, into acc.
template <class Map, int R, int T>
inline void superblock(const KRegs* const w[R], const ActQ8 x[T], int64_t sb, VQ::F acc[R][T]) {
  VQ::F dx[T];
#pragma GCC unroll 8
  for (int j = 0; j < T; ++j) dx[j] = VQ::set1(x[j].d[sb]);
  VQ::G gs[R];
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i)
    gs[i] = T == 1 ? VQ::mul_g(w[i]->gs, dx[0]) : w[i]->gs;  // fold dx once
#pragma GCC unroll 8
  for (int k = 0; k < kSteps; ++k) {
    VQ::F s[R];
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) s[i] = VQ::template lane_scales<Map>(gs[i], k);
#pragma GCC unroll 8
    for (int j = 0; j < T; ++j) {
      VQ::I q = VQ::load(x[j].qs + kQKK * sb + VQ::kStep * k);
#pragma GCC unroll 8
      for (int i = 0; i < R; ++i) {
        VQ::F sc = T == 1 ? s[i] : VQ::mul(s[i], dx[j]);
        acc[i][j] = VQ::fma(VQ::cvt_dot(w[i]->u[k], q), sc, acc[i][j]);
      }
    }
  }
#pragma GCC unroll 8
  for (int j = 0; j < T; ++j) {
    __m256i bs = load256(static_cast<const int16_t*>(x[j].sum) + 16 * sb);
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) {
      __m256 m = _mm256_cvtepi32_ps(_mm256_madd_epi16(bs, w[i]->m16));
      acc[i][j] = VQ::fnma(VQ::widen(m), VQ::mul(VQ::set1(w[i]->kmin), dx[j]), acc[i][j]);
    }
  }
}

template <int R, int T>
inline void store_tile(const GemmArgs& a, VQ::F acc[R][T], int64_t r, int64_t t) {
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < T; ++j) put(a, t + j, r + i, VQ::sum(acc[i][j]));
}

// Kernel over weights decoded per super-block in registers (decode: rows read once).
template <class D>
struct KernelKFused {
  using Block = typename D::Block;
  static constexpr int64_t kChunkCols = D::kChunkCols;
  static size_t col_bytes(int64_t k) { return size_t(k / kQKK) * sizeof(Block); }
  template <int R, int T>
  static void tile(const GemmArgs& a, int64_t r, int64_t t) {
    const Block* w[R];
    for (int i = 0; i < R; ++i)
      w[i] = reinterpret_cast<const Block*>(a.w + size_t(r + i) * a.w_stride);
    ActQ8 x[T];
    for (int j = 0; j < T; ++j) x[j] = act_row(a, t + j);
    VQ::F acc[R][T];
    for (int i = 0; i < R; ++i)
      for (int j = 0; j < T; ++j) acc[i][j] = VQ::zero();
    for (int64_t sb = 0; sb < a.n_cols / kQKK; ++sb) {
      KRegs dec[R];
      const KRegs* dk[R];
#pragma GCC unroll 8
      for (int i = 0; i < R; ++i) D::decode(w[i] + sb, &dec[i]), dk[i] = &dec[i];
      superblock<typename D::Map, R, T>(dk, x, sb, acc);
    }
    store_tile<R, T>(a, acc, r, t);
  }
};

// Rows [r, r + R) already decoded: row i's super-blocks at rows[i * nsb ..].
template <class D, int R, int T>
void tile_decoded(const GemmArgs& a, const KDec* rows, int64_t r, int64_t t) {
  const int64_t nsb = a.n_cols / kQKK;
  ActQ8 x[T];
  for (int j = 0; j < T; ++j) x[j] = act_row(a, t + j);
  VQ::F acc[R][T];
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < T; ++j) acc[i][j] = VQ::zero();
  for (int64_t sb = 0; sb < nsb; ++sb) {
    KRegs dec[R];
    const KRegs* dk[R];
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) load_kdec(rows + i * nsb + sb, &dec[i]), dk[i] = &dec[i];
    superblock<typename D::Map, R, T>(dk, x, sb, acc);
  }
  store_tile<R, T>(a, acc, r, t);
}

// Decoded rows of the 64-code path.
inline KDec* kdec_buffer(size_t n) { return grow_buffer<KDec, 100>(n); }

template <class D, int R, int T>
void gemm_k_rows(const GemmArgs& a, const KDec* dec, int64_t r, int64_t t0, int64_t t1) {
  int64_t t = t0;
  for (; t + T <= t1; t += T) tile_decoded<D, R, T>(a, dec, r, t);
  for (; t < t1; ++t) tile_decoded<D, R, 1>(a, dec, r, t);
}

template <class D, int R, int T>
void gemm_k(const GemmArgs& a, int64_t r0, int64_t r1) {
#if defined(__AVX512F__)
  if (a.n_tok == 1) {
    gemm_few_tokens<KernelKGemv<typename GemvFor<D>::type>, T>(a, r0, r1);
    return;
  }
  if (a.n_tok <= kPairMaxTokens) {
    gemm_k_pairs<typename GemvFor<D>::type>(a, r0, r1);
    return;
  }
#else
  if (a.n_tok <= 2 * T) {
    gemm_tiled<KernelKFused<D>, R, T>(a, r0, r1);
    return;
  }
#endif
  const int64_t nsb = a.n_cols / kQKK;
  KDec* dec = kdec_buffer(size_t(R * nsb));
  for (int64_t t0 = 0; t0 < a.n_tok; t0 += kTokChunk) {
    int64_t t1 = a.n_tok < t0 + kTokChunk ? a.n_tok : t0 + kTokChunk;
    for (int64_t r = r0; r < r1; r += R) {
      int rows = int(r1 - r < R ? r1 - r : R);
      for (int i = 0; i < rows; ++i) {
        auto w = reinterpret_cast<const typename D::Block*>(a.w + size_t(r + i) * a.w_stride);
        for (int64_t sb = 0; sb < nsb; ++sb) {
          KRegs k;
          D::decode(w + sb, &k);
          store_kdec(k, dec + i * nsb + sb);
        }
      }
      if (rows == R) {
        gemm_k_rows<D, R, T>(a, dec, r, t0, t1);
      } else {
        for (int i = 0; i < rows; ++i) gemm_k_rows<D, 1, T>(a, dec + i * nsb, r + i, t0, t1);
      }
    }
  }
}

}  // namespace
}  // namespace frugal::kernels
