// AVX-512 K-quant decode (1..8 tokens): integer sums per super-block, one float FMA per
// super-block and token. The weights are read once, so this path must keep up with DRAM.
//
// Per 64-code step k, vpdpbusd gives 16 i32 lanes of 4-code dots p_k. |p_k| <= 4 * 63 * 127 =
// 32004 (Q6_K; Q5_K 15748, Q4_K 7620), so packs(p_0, p_1) to i16 is exact and one vpmaddwd /
// vpdpwssd with the sub-block scales as i16 words (s01, s23: the word layout of the packs)
// sums the super-block in i32. The mins meet the activation group sums once per super-block.
// Then per token: acc += float(isum) * (d * dx), one FMA chain link per super-block.
//
// Measured (bench_matmul gemv, one thread, DRAM-resident weights): the float-per-step kernel
// (KernelKFused) chained 5 dependent FMAs per super-block, ~20 cycles: Q4_K 23 GB/s, Q5_K
// 20 GB/s, Q6_K 28 GB/s. This one: 29.5 / 29 / 31 GB/s before the prefetch below (from L2 it
// computes Q4_K at ~45 GB/s, Q6_K ~58 GB/s), 38-40 / - / 43 GB/s with it.
#pragma once
#if defined(__AVX512F__)
#include "kernels/matmul_simd_k_decode.h"

namespace frugal::kernels {
namespace {

// One super-block of one row, ready for integer dots against kAct-ordered activations.
struct KInt {
  __m512i u[4];      // unsigned codes, step k against activation codes [64k, 64k + 64)
  __m512i s01, s23;  // i16 scales in the word order of packs(p0, p1) / packs(p2, p3)
  __m256i mw;        // i16 per activation group of 16, multiplying the group sums
  __m128 dd;         // [d, dmin]: factors of the scale sum and of the min sum
};

// sum over the super-block of scale * dot(u, q) for codes q, as 16 i32 lanes.
inline __m512i k_dots(const KInt& w, const int8_t* q) {
  __m512i p[4];
#pragma GCC unroll 4
  for (int k = 0; k < 4; ++k)
    p[k] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w.u[k], _mm512_loadu_si512(q + 64 * k));
  __m512i s = _mm512_madd_epi16(_mm512_packs_epi32(p[0], p[1]), w.s01);
  return _mm512_dpwssd_epi32(s, _mm512_packs_epi32(p[2], p[3]), w.s23);
}

// Q4_K / Q5_K header: the 16 bytes d, dmin, scales[12] -> bytes [sc0..sc7, m0..m7]
// (unpacking rule in quant_blocks.h), in 8 vector ops instead of a scalar round trip.
inline __m128i k4_scale_bytes(__m128i x) {
  const __m128i a =
      _mm_shuffle_epi8(x, _mm_setr_epi8(4, 5, 6, 7, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15));
  const __m128i b =
      _mm_shuffle_epi8(x, _mm_setr_epi8(-1, -1, -1, -1, 4, 5, 6, 7, -1, -1, -1, -1, 8, 9, 10, 11));
  const __m128i lo = _mm_or_si128(
      _mm_and_si128(a, _mm_setr_epi8(63, 63, 63, 63, 15, 15, 15, 15, 63, 63, 63, 63, 0, 0, 0, 0)),
      _mm_and_si128(_mm_srli_epi16(a, 4),
                    _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 15, 15, 15, 15)));
  const __m128i top = _mm_and_si128(
      _mm_srli_epi16(b, 2), _mm_setr_epi8(0, 0, 0, 0, 48, 48, 48, 48, 0, 0, 0, 0, 48, 48, 48, 48));
  return _mm_or_si128(lo, top);
}

// s01 / s23 / mw from [sc0..sc7, m0..m7]. In nibble order step 2h + n holds sub-block 4h + n
// in its low 256 bits and 4h + n + 2 in its high ones, so 128-bit lane j of packs(p_2h,
// p_2h+1) holds words [4 x sub-block 4h + 2(j/2), 4 x sub-block 4h + 2(j/2) + 1]. The group
// sums are in natural order: group pair i (one vpmaddwd dword) is sub-block i.
// hdr: the block's first 16 bytes (d and dmin are its first two halves).
inline void k4_set_scales(__m128i hdr, KInt* o) {
  const char z = -1;
  const __m512i b = _mm512_broadcast_i32x4(k4_scale_bytes(hdr));
  const __m256i bm = _mm512_castsi512_si256(b);
  constexpr char m0 = 8;  // the mins' bytes
#define FRUGAL_W4(i) z, i, z, i, z, i, z, i
  o->s01 = _mm512_shuffle_epi8(
      b, _mm512_set_epi8(FRUGAL_W4(3), FRUGAL_W4(2), FRUGAL_W4(3), FRUGAL_W4(2), FRUGAL_W4(1),
                         FRUGAL_W4(0), FRUGAL_W4(1), FRUGAL_W4(0)));
  o->s23 = _mm512_shuffle_epi8(
      b, _mm512_set_epi8(FRUGAL_W4(7), FRUGAL_W4(6), FRUGAL_W4(7), FRUGAL_W4(6), FRUGAL_W4(5),
                         FRUGAL_W4(4), FRUGAL_W4(5), FRUGAL_W4(4)));
#undef FRUGAL_W4
#define FRUGAL_W2(i) z, m0 + i, z, m0 + i
  o->mw = _mm256_shuffle_epi8(
      bm, _mm256_set_epi8(FRUGAL_W2(7), FRUGAL_W2(6), FRUGAL_W2(5), FRUGAL_W2(4), FRUGAL_W2(3),
                          FRUGAL_W2(2), FRUGAL_W2(1), FRUGAL_W2(0)));
#undef FRUGAL_W2
  o->dd = _mm_cvtph_ps(hdr);  // [d, dmin, unused, unused]
}

// Per type: decode() one block to KInt; kChunkCols, the column pass width once the tokens'
// activations outgrow L1 (gemm_few_tokens); kSeparateMins, whether the mins need their own
// float factor (dmin).
struct GemvQ4_K {
  using Dec = DecQ4_K;
  static constexpr int64_t kChunkCols = 2048;
  static constexpr bool kSeparateMins = true;
  static void decode(const BlockQ4_K* b, KInt* o) {
    k4_set_scales(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b)), o);
    const __m512i lo = _mm512_set1_epi8(15);
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      __m512i v = _mm512_loadu_si512(b->qs + 64 * h);
      asm("" : "+v"(v));  // one load: GCC would fold it into both uses (2 line-split loads)
      o->u[2 * h] = _mm512_and_si512(v, lo);
      o->u[2 * h + 1] = _mm512_and_si512(_mm512_srli_epi16(v, 4), lo);
    }
  }
};

struct GemvQ5_K {
  using Dec = DecQ5_K;
  static constexpr int64_t kChunkCols = 2048;
  static constexpr bool kSeparateMins = true;
  static void decode(const BlockQ5_K* b, KInt* o) {
    k4_set_scales(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b)), o);
    const __m512i lo = _mm512_set1_epi8(15);
    const __m512i qh2 = _mm512_broadcast_i64x4(load256(b->qh));
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {  // fifth bits as in DecQ5_K
      __m512i v = _mm512_loadu_si512(b->qs + 64 * h);
      asm("" : "+v"(v));  // one load, as in GemvQ4_K
      o->u[2 * h] = _mm512_or_si512(_mm512_and_si512(v, lo), high_bits(qh2, 4 * h, 4 * h + 2, 1));
      o->u[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(v, 4), lo),
                                        high_bits(qh2, 4 * h + 1, 4 * h + 3, 1));
    }
  }
};

// Q6_K: w = d * sc * (u - 32), so the "min" is 32 * sc with the same factor d: mw = -32 * sc
// joins the scale sum in i32 (|32 * sc * bsum| < 2^23) and dd = [d, 0].
struct GemvQ6_K {
  using Dec = DecQ6_K;
  static constexpr int64_t kChunkCols = 2048;
  static constexpr bool kSeparateMins = false;
  static void decode(const BlockQ6_K* b, KInt* o) {
    const __m256i s16 =
        _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b->scales)));
    // Natural order: lane j of packs(p_2h, p_2h+1) holds groups 8h + j and 8h + 4 + j.
    const __m512i s = _mm512_castsi256_si512(s16);
#define FRUGAL_G(j, g)                                                                     \
  (g) + 4 + (j), (g) + 4 + (j), (g) + 4 + (j), (g) + 4 + (j), (g) + (j), (g) + (j), (g) + (j), \
      (g) + (j)
    o->s01 = _mm512_permutexvar_epi16(
        _mm512_set_epi16(FRUGAL_G(3, 0), FRUGAL_G(2, 0), FRUGAL_G(1, 0), FRUGAL_G(0, 0)), s);
    o->s23 = _mm512_permutexvar_epi16(
        _mm512_set_epi16(FRUGAL_G(3, 8), FRUGAL_G(2, 8), FRUGAL_G(1, 8), FRUGAL_G(0, 8)), s);
#undef FRUGAL_G
    o->mw = _mm256_mullo_epi16(s16, _mm256_set1_epi16(-32));
    o->dd = _mm_cvtph_ps(_mm_cvtsi32_si128(b->d));
    // Half h: ql low nibbles + qh bits 0-1 (first 32) / 2-3 (second 32) are codes
    // 128h + [0, 64); high nibbles + bits 4-5 / 6-7 codes 128h + [64, 128). Each code is
    // (nibble & 15) | (qh bits at 4-5): one variable shift, one and, one ternary-logic op.
    const __m512i lo = _mm512_set1_epi8(15), hi2 = _mm512_set1_epi8(0x30);
    const __m512i shl = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
    const __m512i shr = _mm512_inserti64x4(_mm512_set1_epi16(0), _mm256_set1_epi16(2), 1);
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      __m512i l = _mm512_loadu_si512(b->ql + 64 * h);
      asm("" : "+v"(l));  // one load, as in GemvQ4_K
      const __m512i qh2 = _mm512_broadcast_i64x4(load256(b->qh + 32 * h));
      const __m512i h0 = _mm512_and_si512(_mm512_sllv_epi16(qh2, shl), hi2);
      const __m512i h1 = _mm512_and_si512(_mm512_srlv_epi16(qh2, shr), hi2);
      o->u[2 * h] = _mm512_ternarylogic_epi32(l, h0, lo, 0xEC);  // (l & lo) | h0
      o->u[2 * h + 1] = _mm512_ternarylogic_epi32(_mm512_srli_epi16(l, 4), h1, lo, 0xEC);
    }
  }
};

template <class D>
struct GemvFor;
template <>
struct GemvFor<DecQ4_K> {
  using type = GemvQ4_K;
};
template <>
struct GemvFor<DecQ5_K> {
  using type = GemvQ5_K;
};
template <>
struct GemvFor<DecQ6_K> {
  using type = GemvQ6_K;
};

// Whole rows (one pass) are prefetched kPfAhead bytes ahead (matmul_simd_common.h). Column
// passes (several tokens, wide rows) read each row in pieces, a pattern the hardware
// prefetcher does not follow: there the same piece kPfRows rows ahead. Measured on 4 tokens x
// 8960 columns: Q4_K 8.6 -> 14 GB/s, Q6_K 6.7 -> 15-19 GB/s (with passes of 2048 columns, new
// for Q6_K); 1, 2 and 8 rows ahead were slower than 4.
constexpr size_t kPfRows = 4;

template <class G>
struct KernelKGemv {
  using Block = typename G::Dec::Block;
  static constexpr int64_t kChunkCols = G::kChunkCols;
  static size_t col_bytes(int64_t k) { return size_t(k / kQKK) * sizeof(Block); }
  template <int R, int T>
  static void tile(const GemmArgs& a, int64_t r, int64_t t) {
    static_assert(R == 1, "decode walks one row at a time (gemm_few_tokens)");
    const Block* w = reinterpret_cast<const Block*>(a.w + size_t(r) * a.w_stride);
    ActQ8 x[T];
    for (int j = 0; j < T; ++j) x[j] = act_row(a, t + j);
    __m512 acc[T];
    __m256 accm[T];
    for (int j = 0; j < T; ++j) acc[j] = _mm512_setzero_ps(), accm[j] = _mm256_setzero_ps();
    const int64_t nsb = a.n_cols / kQKK;
    const bool passes = a.w_stride > col_bytes(a.n_cols);
    const size_t pf = passes ? kPfRows * a.w_stride : kPfAhead;
    for (int64_t sb = 0; sb < nsb; ++sb) {
      KInt k;
      prefetch_lines(reinterpret_cast<const char*>(w + sb) + pf, sizeof(Block));
      G::decode(w + sb, &k);
#pragma GCC unroll 8
      for (int j = 0; j < T; ++j) {
        __m512i is = k_dots(k, x[j].qs + kQKK * sb);
        const __m256i bs = load256(static_cast<const int16_t*>(x[j].sum) + 16 * sb);
        const __m128 f = _mm_mul_ps(k.dd, _mm_set1_ps(x[j].d[sb]));
        if constexpr (G::kSeparateMins) {
          const __m256 m = _mm256_cvtepi32_ps(_mm256_madd_epi16(bs, k.mw));
          accm[j] = _mm256_fmadd_ps(m, _mm256_permutevar8x32_ps(_mm256_castps128_ps256(f),
                                                                _mm256_set1_epi32(1)),
                                    accm[j]);
        } else {
          is = _mm512_dpwssd_epi32(is, _mm512_zextsi256_si512(bs), _mm512_zextsi256_si512(k.mw));
        }
        acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is), _mm512_broadcastss_ps(f), acc[j]);
      }
    }
    for (int j = 0; j < T; ++j) put(a, t + j, r, _mm512_reduce_add_ps(acc[j]) - hsum256(accm[j]));
  }
};

}  // namespace
}  // namespace frugal::kernels
#endif
