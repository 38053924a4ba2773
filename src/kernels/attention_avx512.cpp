// AVX-512 attention: 16-wide dot products over head_dim, each cached key and value row read
// once for the whole head group. A row of another type than F32 is converted once into a
// small fp32 buffer that every head of the group then reads from L1.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/attention.h"
#include "core/half.h"
#include "kernels/quant_blocks.h"

namespace frugal::kernels {

namespace {
inline float dot16(const float* a, const float* b, int64_t n) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
  }
  for (; i + 16 <= n; i += 16) acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
  if (i < n) {
    __mmask16 m = __mmask16((1u << (n - i)) - 1);
    acc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), acc1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

inline void axpy16(float p, const float* x, float* y, int64_t n) {
  const __m512 vp = _mm512_set1_ps(p);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_fmadd_ps(vp, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
  if (i < n) {
    __mmask16 m = __mmask16((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(vp, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
  }
}
}  // namespace

namespace {
// n values of a cached row of type t to fp32 (n a multiple of 16; of 32 for Q8_0).
void row_to_f32(DType t, const uint8_t* src, float* dst, int64_t n) {
  switch (t) {
    case DType::F16:
      for (int64_t i = 0; i < n; i += 16)
        _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + 2 * i))));
      return;
    case DType::BF16:
      for (int64_t i = 0; i < n; i += 16) {
        const __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + 2 * i)));
        _mm512_storeu_ps(dst + i, _mm512_castsi512_ps(_mm512_slli_epi32(w, 16)));
      }
      return;
    case DType::Q8_0: {
      const auto* b = reinterpret_cast<const BlockQ8_0*>(src);
      for (int64_t i = 0; i < n; i += 32, ++b) {
        const __m512 d = _mm512_set1_ps(fp16_to_fp32(b->d));
        const __m128i* q = reinterpret_cast<const __m128i*>(b->qs);
        _mm512_storeu_ps(dst + i, _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(q)))));
        _mm512_storeu_ps(dst + i + 16, _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(q + 1)))));
      }
      return;
    }
    default: std::memcpy(dst, src, size_t(n) * sizeof(float));
  }
}
}  // namespace

namespace {
// out[j] = the sum of v[j]'s 16 lanes, for 16 vectors at once: a transpose-and-add tree of 30
// shuffles and adds instead of 16 separate horizontal reductions.
inline __m512 sum16x16(const __m512* v) {
  __m512 a[8], b[4];
  for (int i = 0; i < 8; ++i)  // per 128-bit lane: [v0_0+v0_2, v1_0+v1_2, v0_1+v0_3, v1_1+v1_3]
    a[i] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]), _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]));
  for (int i = 0; i < 4; ++i)  // per 128-bit lane L: the lane's sums of four vectors
    b[i] = _mm512_add_ps(_mm512_shuffle_ps(a[2 * i], a[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm512_shuffle_ps(a[2 * i], a[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  const __m512 d0 = _mm512_add_ps(_mm512_shuffle_f32x4(b[0], b[1], 0x44), _mm512_shuffle_f32x4(b[0], b[1], 0xEE));
  const __m512 d1 = _mm512_add_ps(_mm512_shuffle_f32x4(b[2], b[3], 0x44), _mm512_shuffle_f32x4(b[2], b[3], 0xEE));
  return _mm512_add_ps(_mm512_shuffle_f32x4(d0, d1, 0x88), _mm512_shuffle_f32x4(d0, d1, 0xDD));
}

// e^x for x <= 0 (scores minus their maximum): Cody-Waite range reduction and Cephes' expf
// polynomial, relative error ~2e-7; below -87 it flushes towards 0 as expf does.
inline __m512 exp_neg(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.33654f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

inline __mmask16 first(int64_t n) { return n >= 16 ? __mmask16(0xffff) : __mmask16((1u << n) - 1); }

// Rows of 16k floats (head dims that are multiples of 16, up to 1024), the decode hot path:
// scores 16 keys at a time per head (sum16x16), a vectorized softmax, and values 4 keys at a
// time per head, so each output row is loaded and stored once per 4 keys. The probabilities
// are left unnormalized and each output row is scaled by 1/sum at the end.
void attend_tiled(const AttendArgs& a) {
  const int64_t hd = a.head_dim, hdv = a.head_dim_v, n_kv = a.n_kv;
  const bool f32 = a.kv_type == DType::F32;
  alignas(64) float tile[16 * 1024];
  const float* kp[16];
  for (int64_t j0 = 0; j0 < n_kv; j0 += 16) {
    const int64_t nt = std::min<int64_t>(16, n_kv - j0);
    for (int64_t r = 0; r < 16; ++r) {
      if (r >= nt) {
        kp[r] = kp[0];  // a stand-in whose score the masked store drops
      } else if (f32) {
        kp[r] = reinterpret_cast<const float*>(a.key(j0 + r));
      } else {
        row_to_f32(a.kv_type, a.key(j0 + r), tile + r * hd, hd);
        kp[r] = tile + r * hd;
      }
    }
    for (int64_t h = 0; h < a.n_q; ++h) {
      const float* q = a.q + h * hd;
      __m512 acc[16];
      for (auto& x : acc) x = _mm512_setzero_ps();
      for (int64_t d = 0; d < hd; d += 16) {
        const __m512 qv = _mm512_loadu_ps(q + d);
        for (int r = 0; r < 16; ++r) acc[r] = _mm512_fmadd_ps(qv, _mm512_loadu_ps(kp[r] + d), acc[r]);
      }
      _mm512_mask_storeu_ps(a.scratch + h * n_kv + j0, first(nt), _mm512_mul_ps(sum16x16(acc), _mm512_set1_ps(a.scale)));
    }
  }
  float inv[1024];
  const int64_t n_h = a.n_q;
  for (int64_t h = 0; h < n_h; ++h) {
    float* s = a.scratch + h * n_kv;
    __m512 mx = _mm512_set1_ps(-INFINITY);
    for (int64_t j = 0; j < n_kv; j += 16) mx = _mm512_max_ps(mx, _mm512_mask_loadu_ps(mx, first(n_kv - j), s + j));
    const __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
    __m512 sum = _mm512_setzero_ps();
    for (int64_t j = 0; j < n_kv; j += 16) {
      const __mmask16 k = first(n_kv - j);
      const __m512 e = _mm512_maskz_mov_ps(k, exp_neg(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, s + j), m)));
      _mm512_mask_storeu_ps(s + j, k, e);
      sum = _mm512_add_ps(sum, e);
    }
    inv[h] = float(1.0 / double(_mm512_reduce_add_ps(sum)));
    float* o = a.out + h * hdv;
    for (int64_t d = 0; d < hdv; d += 16) _mm512_storeu_ps(o + d, _mm512_setzero_ps());
  }
  const float* vp[4];
  for (int64_t j0 = 0; j0 < n_kv; j0 += 4) {
    const int64_t nt = std::min<int64_t>(4, n_kv - j0);
    for (int64_t r = 0; r < 4; ++r) {
      if (r >= nt) {
        vp[r] = vp[0];  // weighted by 0 below
      } else if (f32) {
        vp[r] = reinterpret_cast<const float*>(a.value(j0 + r));
      } else {
        row_to_f32(a.kv_type, a.value(j0 + r), tile + r * hdv, hdv);
        vp[r] = tile + r * hdv;
      }
    }
    for (int64_t h = 0; h < n_h; ++h) {
      const float* s = a.scratch + h * n_kv + j0;
      const __m512 p0 = _mm512_set1_ps(s[0]), p1 = _mm512_set1_ps(nt > 1 ? s[1] : 0.f);
      const __m512 p2 = _mm512_set1_ps(nt > 2 ? s[2] : 0.f), p3 = _mm512_set1_ps(nt > 3 ? s[3] : 0.f);
      float* o = a.out + h * hdv;
      for (int64_t d = 0; d < hdv; d += 16) {
        __m512 acc = _mm512_loadu_ps(o + d);
        acc = _mm512_fmadd_ps(p0, _mm512_loadu_ps(vp[0] + d), acc);
        acc = _mm512_fmadd_ps(p1, _mm512_loadu_ps(vp[1] + d), acc);
        acc = _mm512_fmadd_ps(p2, _mm512_loadu_ps(vp[2] + d), acc);
        acc = _mm512_fmadd_ps(p3, _mm512_loadu_ps(vp[3] + d), acc);
        _mm512_storeu_ps(o + d, acc);
      }
    }
  }
  for (int64_t h = 0; h < n_h; ++h) {
    float* o = a.out + h * hdv;
    const __m512 iv = _mm512_set1_ps(inv[h]);
    for (int64_t d = 0; d < hdv; d += 16) _mm512_storeu_ps(o + d, _mm512_mul_ps(iv, _mm512_loadu_ps(o + d)));
  }
}
}  // namespace

void attend_avx512(const AttendArgs& a) {
  if (a.head_dim % 16 == 0 && a.head_dim_v % 16 == 0 && a.head_dim <= 1024 && a.head_dim_v <= 1024 && a.n_q <= 1024)
    return attend_tiled(a);
  // Other shapes (odd test heads): one key at a time.
  if (a.kv_type != DType::F32) return attend_ref(a);  // typed caches have 32k-wide heads (KvCache)
  for (int64_t j = 0; j < a.n_kv; ++j) {
    const float* k = reinterpret_cast<const float*>(a.key(j));
    for (int64_t h = 0; h < a.n_q; ++h) a.scratch[h * a.n_kv + j] = dot16(a.q + h * a.head_dim, k, a.head_dim) * a.scale;
  }
  softmax_rows_zero_out(a);
  for (int64_t j = 0; j < a.n_kv; ++j) {
    const float* v = reinterpret_cast<const float*>(a.value(j));
    for (int64_t h = 0; h < a.n_q; ++h) axpy16(a.scratch[h * a.n_kv + j], v, a.out + h * a.head_dim_v, a.head_dim_v);
  }
}

}  // namespace frugal::kernels
