// Register-level pieces of the K-quant kernels (see matmul_simd_k.h for the math): the vector
// traits VQ (512-bit steps of 64 codes on AVX-512, 256-bit steps of 32 on AVX2), the lane ->
// group maps, and KRegs / KDec, one decoded super-block in registers / in memory.
#pragma once
#include <cstring>

#include "kernels/matmul_simd_common.h"
#include "kernels/quant_blocks.h"

namespace frugal::kernels {
namespace {

#if defined(__AVX512F__)
struct VQ {
  using I = __m512i;
  using F = __m512;
  using G = __m512;  // the 16 group scales
  static constexpr int kStep = 64;
  static I load(const void* p) { return _mm512_loadu_si512(p); }
  static void store(void* p, I v) { _mm512_store_si512(p, v); }
  static F cvt_dot(I u, I q) {
    return _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(_mm512_setzero_si512(), u, q));
  }
  static F zero() { return _mm512_setzero_ps(); }
  static F set1(float v) { return _mm512_set1_ps(v); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F fma(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static F fnma(F a, F b, F c) { return _mm512_fnmadd_ps(a, b, c); }
  static F widen(__m256 v) { return _mm512_zextps256_ps512(v); }
  static float sum(F v) { return _mm512_reduce_add_ps(v); }
  static G load_g(const float* p) { return _mm512_load_ps(p); }
  static void store_g(float* p, G g) { _mm512_store_ps(p, g); }
  static G mul_g(G g, F s) { return _mm512_mul_ps(g, s); }
  static G make_g(__m256 lo, __m256 hi) {
    return _mm512_insertf32x8(_mm512_castps256_ps512(lo), hi, 1);
  }
  // Lane l of step k takes group Map::group(k, l).
  template <class Map>
  static F lane_scales(G g, int k) {
    alignas(64) static const int32_t idx[4][16] = {
#define FRUGAL_ROW(k)                                                          \
  {Map::group(k, 0),  Map::group(k, 1),  Map::group(k, 2),  Map::group(k, 3),  \
   Map::group(k, 4),  Map::group(k, 5),  Map::group(k, 6),  Map::group(k, 7),  \
   Map::group(k, 8),  Map::group(k, 9),  Map::group(k, 10), Map::group(k, 11), \
   Map::group(k, 12), Map::group(k, 13), Map::group(k, 14), Map::group(k, 15)}
        FRUGAL_ROW(0), FRUGAL_ROW(1), FRUGAL_ROW(2), FRUGAL_ROW(3)};
#undef FRUGAL_ROW
    return _mm512_permutexvar_ps(_mm512_load_si512(idx[k]), g);
  }
};
#else
struct VQ {
  using I = __m256i;
  using F = __m256;
  struct G {
    __m256 h[2];
  };
  static constexpr int kStep = 32;
  static I load(const void* p) { return load256(p); }
  static void store(void* p, I v) { _mm256_store_si256(static_cast<__m256i*>(p), v); }
  static F cvt_dot(I u, I q) { return _mm256_cvtepi32_ps(dot_u8s8(_mm256_setzero_si256(), u, q)); }
  static F zero() { return _mm256_setzero_ps(); }
  static F set1(float v) { return _mm256_set1_ps(v); }
  static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F fma(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static F fnma(F a, F b, F c) { return _mm256_fnmadd_ps(a, b, c); }
  static F widen(__m256 v) { return v; }
  static float sum(F v) { return hsum256(v); }
  static G load_g(const float* p) { return {{_mm256_load_ps(p), _mm256_load_ps(p + 8)}}; }
  static void store_g(float* p, G g) { _mm256_store_ps(p, g.h[0]), _mm256_store_ps(p + 8, g.h[1]); }
  static G mul_g(G g, F s) { return {{_mm256_mul_ps(g.h[0], s), _mm256_mul_ps(g.h[1], s)}}; }
  static G make_g(__m256 lo, __m256 hi) { return {{lo, hi}}; }
  // Natural order only: lane l of step k covers codes 32k + 4l: group 2k + l / 4.
  template <class Map>
  static F lane_scales(G g, int k) {
    const __m256i idx = _mm256_set_epi32(1, 1, 1, 1, 0, 0, 0, 0);
    return _mm256_permutevar8x32_ps(g.h[k / 4],
                                    _mm256_add_epi32(idx, _mm256_set1_epi32(2 * (k % 4))));
  }
};
#endif

constexpr int kSteps = kQKK / VQ::kStep;

// Lane -> group maps for AVX-512 steps (4 lanes per group of 16 codes); dword(k, l) is the
// natural index (codes / 4) of the 4 codes in lane l of step k.
struct NaturalOrder {
  static constexpr int group(int k, int l) { return 4 * k + l / 4; }
  static constexpr int dword(int k, int l) { return 16 * k + l; }
};
struct NibbleOrder {  // step k: [32 codes of sub-block a | 32 of sub-block a + 2], see above
  static constexpr int group(int k, int l) {
    return 8 * (k / 2) + 2 * (k % 2) + (l / 4) % 2 + 4 * (l / 8);
  }
  static constexpr int dword(int k, int l) { return 32 * (k / 2) + 8 * (k % 2) + l + 8 * (l / 8); }
};

// One decoded super-block, in registers.
struct KRegs {
  VQ::I u[kSteps];
  VQ::G gs;
  __m256i m16;
  float kmin;
};

// A decoded super-block in memory (prefill buffer).
struct alignas(64) KDec {
  uint8_t u[256];
  float gs[16];
  int16_t m16[16];
  float kmin;
};

inline void store_kdec(const KRegs& r, KDec* o) {
  for (int k = 0; k < kSteps; ++k) VQ::store(o->u + VQ::kStep * k, r.u[k]);
  VQ::store_g(o->gs, r.gs);
  _mm256_store_si256(reinterpret_cast<__m256i*>(o->m16), r.m16);
  o->kmin = r.kmin;
}

inline void load_kdec(const KDec* o, KRegs* r) {
  for (int k = 0; k < kSteps; ++k) r->u[k] = VQ::load(o->u + VQ::kStep * k);
  r->gs = VQ::load_g(o->gs);
  r->m16 = _mm256_load_si256(reinterpret_cast<const __m256i*>(o->m16));
  r->kmin = o->kmin;
}

// gs = d * scales16 (as floats), m16 from 16 bytes; unsigned or signed bytes.
template <bool Signed>
inline void set_groups(KRegs* o, __m128i scales16, __m128i mins16, float d) {
  __m256i lo = Signed ? _mm256_cvtepi8_epi32(scales16) : _mm256_cvtepu8_epi32(scales16);
  __m256i hi = Signed ? _mm256_cvtepi8_epi32(_mm_srli_si128(scales16, 8))
                      : _mm256_cvtepu8_epi32(_mm_srli_si128(scales16, 8));
  __m256 dv = _mm256_set1_ps(d);
  o->gs = VQ::make_g(_mm256_mul_ps(_mm256_cvtepi32_ps(lo), dv),
                     _mm256_mul_ps(_mm256_cvtepi32_ps(hi), dv));
  o->m16 = Signed ? _mm256_cvtepi8_epi16(mins16) : _mm256_cvtepu8_epi16(mins16);
}

// Q4_K/Q5_K scales: the 12 bytes as three u32 words give sc/m of sub-blocks 0-3 directly and
// of 4-7 from the low/high nibbles of word 2 plus the top 2 bits of words 0/1 (see
// quant_blocks.h). Each sub-block of 32 is two groups of 16, hence the byte duplication.
template <class Block>
inline void decode_k4_header(const Block* b, KRegs* o) {
  uint32_t a[3];
  std::memcpy(a, b->scales, 12);
  uint32_t sc_lo = a[0] & 0x3f3f3f3f, m_lo = a[1] & 0x3f3f3f3f;
  uint32_t sc_hi = (a[2] & 0x0f0f0f0f) | ((a[0] >> 6) & 0x03030303) << 4;
  uint32_t m_hi = ((a[2] >> 4) & 0x0f0f0f0f) | ((a[1] >> 6) & 0x03030303) << 4;
  __m128i sc = _mm_cvtsi64_si128(int64_t(uint64_t(sc_hi) << 32 | sc_lo));
  __m128i m = _mm_cvtsi64_si128(int64_t(uint64_t(m_hi) << 32 | m_lo));
  set_groups<false>(o, _mm_unpacklo_epi8(sc, sc), _mm_unpacklo_epi8(m, m), f16(b->d));
  o->kmin = f16(b->dmin);
}

}  // namespace
}  // namespace frugal::kernels
