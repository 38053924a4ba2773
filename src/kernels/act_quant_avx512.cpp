// AVX-512 activation quantization, bit-identical to quantize_act_row_ref: the same amax, the
// same scale 127 / amax computed in scalar float, and vcvtps2dq's default round-to-nearest-even,
// which is what the reference's add-and-subtract-1.5*2^23 trick computes. Decode calls this
// once per matmul on one thread while the others wait, so its speed shows in tokens/s.
#include <immintrin.h>

#include "core/half.h"
#include "kernels/matmul_kernels.h"

namespace frugal::kernels {

namespace {
inline float amax_of(const float* x, int n) {
  __m512 m = _mm512_setzero_ps();
  for (int j = 0; j < n; j += 16) m = _mm512_max_ps(m, _mm512_abs_ps(_mm512_loadu_ps(x + j)));
  return _mm512_reduce_max_ps(m);
}

// Codes of 16 values at scale id, as int32 lanes.
inline __m512i codes16(const float* x, float id) {
  return _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x), _mm512_set1_ps(id)));
}
}  // namespace

void quantize_act_row_avx512(ActFormat f, const float* x, int64_t n_cols, uint8_t* dst) {
  const ActLayout l = act_layout(f, n_cols);
  auto qs = reinterpret_cast<int8_t*>(dst + l.qs_off);
  auto d = reinterpret_cast<float*>(dst + l.d_off);
  if (f == ActFormat::Q8_0 || f == ActFormat::Q8_0_Lanes) {
    auto s = reinterpret_cast<int32_t*>(dst + l.sum_off);
    for (int64_t b = 0; b < n_cols / 32; ++b) {
      const float* xb = x + 32 * b;
      const float amax = amax_of(xb, 32);
      const float id = amax > 0 ? 127.0f / amax : 0.0f;
      __m512i c0 = codes16(xb, id), c1 = codes16(xb + 16, id);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(qs + 32 * b), _mm512_cvtsepi32_epi8(c0));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(qs + 32 * b + 16), _mm512_cvtsepi32_epi8(c1));
      s[b] = _mm512_reduce_add_epi32(_mm512_add_epi32(c0, c1));
      d[b] = fp16_to_fp32(fp32_to_fp16(amax / 127.0f));
    }
    if (f == ActFormat::Q8_0_Lanes) {
      const int64_t padded = (n_cols + 511) / 512 * 512;
      for (int64_t k = n_cols; k < padded; ++k) qs[k] = 0;
      for (int64_t b = n_cols / 32; b < padded / 32; ++b) d[b] = 0, s[b] = 0;
      act_codes_to_lanes(f, qs, n_cols);
    }
    return;
  }
  if (f == ActFormat::Q8_K_Lanes) {
    for (int64_t b = 0; b < n_cols / 256; ++b) {
      const float* xb = x + 256 * b;
      const float amax = amax_of(xb, 256);
      const float id = amax > 0 ? 127.0f / amax : 0.0f;
      const float db = amax / 127.0f;
      auto si = reinterpret_cast<int32_t*>(dst + l.sum_off + 128 * size_t(b));
      __m512i sums = _mm512_setzero_si512();
      for (int g = 0; g < 16; ++g) {
        __m512i c = codes16(xb + 16 * g, id);
        sums = _mm512_mask_mov_epi32(sums, __mmask16(1u << g),
                                     _mm512_set1_epi32(_mm512_reduce_add_epi32(c)));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(qs + 256 * b + 16 * g),
                         _mm512_cvtsepi32_epi8(c));
      }
      _mm512_storeu_si512(si, sums);
      _mm512_storeu_ps(si + 16, _mm512_mul_ps(_mm512_cvtepi32_ps(sums), _mm512_set1_ps(db)));
      d[b] = db;
    }
    act_codes_to_lanes(f, qs, n_cols);
    return;
  }
  // Q8_K and Q8_K_Nib: super-blocks of 256, sums per 16. Q8_K_Nib stores the 32-code pieces of
  // each 128 in the order 0, 2, 1, 3 (the nibble order of the Q4_K/Q5_K kernels).
  auto s = reinterpret_cast<int16_t*>(dst + l.sum_off);
  const bool nib = f == ActFormat::Q8_K_Nib;
  for (int64_t b = 0; b < n_cols / 256; ++b) {
    const float* xb = x + 256 * b;
    const float amax = amax_of(xb, 256);
    const float id = amax > 0 ? 127.0f / amax : 0.0f;
    for (int g = 0; g < 16; ++g) {
      __m512i c = codes16(xb + 16 * g, id);
      s[16 * b + g] = int16_t(_mm512_reduce_add_epi32(c));
      int piece = g / 2, in128 = piece % 4;
      int dst_piece = nib && (in128 == 1 || in128 == 2) ? piece + (in128 == 1 ? 1 : -1) : piece;
      _mm_storeu_si128(reinterpret_cast<__m128i*>(qs + 256 * b + 32 * dst_piece + 16 * (g % 2)),
                       _mm512_cvtsepi32_epi8(c));
    }
    d[b] = amax / 127.0f;
  }
}

}  // namespace frugal::kernels
