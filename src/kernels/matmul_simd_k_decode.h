// K-quant super-block decoders: ggml's block (quant_blocks.h) -> KRegs (matmul_simd_kregs.h),
// codes as unsigned bytes in the order of the activations they meet (Map, kAct).
#pragma once
#include "kernels/matmul_simd_kregs.h"

namespace frugal::kernels {
namespace {

#if defined(__AVX512F__)
// Bit `shift` (per 256-bit half: lo_shift / hi_shift) of each byte of qh32 (broadcast to both
// halves), moved to bit 4; `mask` keeps 1 or 2 bits.
inline __m512i high_bits(__m512i qh2, int lo_shift, int hi_shift, int mask) {
  __m512i cnt =
      _mm512_inserti64x4(_mm512_set1_epi16(short(lo_shift)), _mm256_set1_epi16(short(hi_shift)), 1);
  return _mm512_slli_epi16(
      _mm512_and_si512(_mm512_srlv_epi16(qh2, cnt), _mm512_set1_epi8(char(mask))), 4);
}
#endif

// kChunkCols: column pass width for KernelKFused with 2..8 tokens (gemm_few_tokens); 0 = none.
// KernelKFused serves only AVX2 decode, where passes measured slower; AVX-512 decode uses
// KernelKGemv (matmul_simd_k_gemv.h), which sets its own.
struct DecQ4_K {
  using Block = BlockQ4_K;
  static constexpr int64_t kChunkCols = 0;
#if defined(__AVX512F__)
  using Map = NibbleOrder;
  static constexpr ActFormat kAct = ActFormat::Q8_K_Nib;
  static void decode(const Block* b, KRegs* o) {
    decode_k4_header(b, o);
    const __m512i lo = _mm512_set1_epi8(15);
    for (int h = 0; h < 2; ++h) {
      __m512i v = _mm512_loadu_si512(b->qs + 64 * h);
      o->u[2 * h] = _mm512_and_si512(v, lo);
      o->u[2 * h + 1] = _mm512_and_si512(_mm512_srli_epi16(v, 4), lo);
    }
  }
#else
  using Map = NaturalOrder;
  static constexpr ActFormat kAct = ActFormat::Q8_K;
  static void decode(const Block* b, KRegs* o) {
    decode_k4_header(b, o);
    const __m256i lo = _mm256_set1_epi8(15);
    for (int c = 0; c < 4; ++c) {
      __m256i v = load256(b->qs + 32 * c);
      o->u[2 * c] = _mm256_and_si256(v, lo);
      o->u[2 * c + 1] = _mm256_and_si256(_mm256_srli_epi16(v, 4), lo);
    }
  }
#endif
};

struct DecQ5_K {
  using Block = BlockQ5_K;
  static constexpr int64_t kChunkCols = 0;
#if defined(__AVX512F__)
  using Map = NibbleOrder;
  static constexpr ActFormat kAct = ActFormat::Q8_K_Nib;
  // u[2h] holds sub-blocks 4h and 4h + 2 (low nibbles), u[2h + 1] sub-blocks 4h + 1 and
  // 4h + 3 (high nibbles); sub-block s's fifth bit is bit s of qh[l].
  static void decode(const Block* b, KRegs* o) {
    decode_k4_header(b, o);
    const __m512i lo = _mm512_set1_epi8(15);
    __m512i qh2 = _mm512_broadcast_i64x4(load256(b->qh));
    for (int h = 0; h < 2; ++h) {
      __m512i v = _mm512_loadu_si512(b->qs + 64 * h);
      o->u[2 * h] = _mm512_or_si512(_mm512_and_si512(v, lo), high_bits(qh2, 4 * h, 4 * h + 2, 1));
      o->u[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(v, 4), lo),
                                        high_bits(qh2, 4 * h + 1, 4 * h + 3, 1));
    }
  }
#else
  using Map = NaturalOrder;
  static constexpr ActFormat kAct = ActFormat::Q8_K;
  static void decode(const Block* b, KRegs* o) {
    decode_k4_header(b, o);
    const __m256i lo = _mm256_set1_epi8(15), one = _mm256_set1_epi8(1);
    __m256i qh = load256(b->qh);
    for (int c = 0; c < 4; ++c) {
      __m256i v = load256(b->qs + 32 * c);
      // Bit 2c / 2c+1 of each qh byte, moved to bit 4 (16-bit shifts are safe: masked to bit 0).
      __m256i h0 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c), one), 4);
      __m256i h1 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c + 1), one), 4);
      o->u[2 * c] = _mm256_or_si256(_mm256_and_si256(v, lo), h0);
      o->u[2 * c + 1] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v, 4), lo), h1);
    }
  }
#endif
};

struct DecQ6_K {
  using Block = BlockQ6_K;
  static constexpr int64_t kChunkCols = 0;
  using Map = NaturalOrder;
  static constexpr ActFormat kAct = ActFormat::Q8_K;
  static void decode(const Block* b, KRegs* o) {
    float d = f16(b->d);
    __m128i s = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b->scales));
    set_groups<true>(o, s, s, d);
    o->kmin = 32.0f * d;
#if defined(__AVX512F__)
    // Half h: ql[64h, +64) low nibbles are codes 128h + [0, 64) with qh bits 0-1 / 2-3 (per
    // 32), high nibbles codes 128h + [64, 128) with qh bits 4-5 / 6-7.
    const __m512i lo = _mm512_set1_epi8(15);
    for (int h = 0; h < 2; ++h) {
      __m512i l = _mm512_loadu_si512(b->ql + 64 * h);
      __m512i qh2 = _mm512_broadcast_i64x4(load256(b->qh + 32 * h));
      o->u[2 * h] = _mm512_or_si512(_mm512_and_si512(l, lo), high_bits(qh2, 0, 2, 3));
      o->u[2 * h + 1] =
          _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), lo), high_bits(qh2, 4, 6, 3));
    }
#else
    const __m256i lo = _mm256_set1_epi8(15), two = _mm256_set1_epi8(3);
    for (int h = 0; h < 2; ++h) {
      __m256i l0 = load256(b->ql + 64 * h), l1 = load256(b->ql + 64 * h + 32),
              qh = load256(b->qh + 32 * h);
      auto hi = [&](int k) {
        return _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * k), two), 4);
      };
      o->u[4 * h] = _mm256_or_si256(_mm256_and_si256(l0, lo), hi(0));
      o->u[4 * h + 1] = _mm256_or_si256(_mm256_and_si256(l1, lo), hi(1));
      o->u[4 * h + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), lo), hi(2));
      o->u[4 * h + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), lo), hi(3));
    }
#endif
  }
};

}  // namespace
}  // namespace frugal::kernels
