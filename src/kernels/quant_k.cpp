// Scalar reference conversions for the K-quants (layouts in quant_blocks.h).
//
// Encoder: each sub-block's (scale, min) or scale is chosen by a small search over the inverse
// scale followed by a least-squares refit of the codes, keeping the candidate with the lowest
// squared error; the per-sub-block values are then quantized to 6 bits (Q4_K/Q5_K) or int8
// (Q6_K) against an f16 super-block scale, and the codes are recomputed with the rounded
// scales so the stored encoding is self-consistent. Not bit-identical to llama.cpp's encoder.
#include <cmath>
#include <cstring>

#include "core/half.h"
#include "kernels/quant_impl.h"

namespace frugal::kernels::detail {
namespace {

inline int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

// Fits x[0..n) ~ a * l - mn with l in [0, nmax], a >= 0, mn >= 0. Returns a, sets *mn.
float fit_scale_min(const float* x, int n, int nmax, float* mn) {
  float lo = x[0], hi = x[0];
  for (int i = 1; i < n; ++i) lo = std::fmin(lo, x[i]), hi = std::fmax(hi, x[i]);
  if (lo > 0) lo = 0;
  if (hi <= lo) {
    *mn = -lo;
    return 0;
  }
  float best_err = INFINITY, best_a = (hi - lo) / float(nmax), best_mn = -lo;
  for (int step = -10; step <= 10; ++step) {
    float iscale = (float(nmax) + 0.1f * float(step)) / (hi - lo);
    double sl = 0, sl2 = 0, sx = 0, slx = 0;
    int l[32];
    for (int i = 0; i < n; ++i) {
      l[i] = clampi(round_int(iscale * (x[i] - lo)), 0, nmax);
      sl += l[i], sl2 += double(l[i]) * l[i], sx += x[i], slx += double(l[i]) * x[i];
    }
    double det = n * sl2 - sl * sl;
    if (det <= 0) continue;
    double a = (n * slx - sl * sx) / det, b = (sl2 * sx - sl * slx) / det;
    if (b > 0) b = 0, a = slx / sl2;
    if (a <= 0) continue;
    float err = 0;
    for (int i = 0; i < n; ++i) {
      float e = float(a) * float(l[i]) + float(b) - x[i];
      err += e * e;
    }
    if (err < best_err) best_err = err, best_a = float(a), best_mn = float(-b);
  }
  *mn = best_mn;
  return best_a;
}

// Fits x[0..16) ~ a * l with l in [-32, 31]. Returns a (may be negative).
float fit_scale_sym(const float* x, int n) {
  float amax = 0, max = 0;
  for (int i = 0; i < n; ++i)
    if (std::fabs(x[i]) > amax) amax = std::fabs(x[i]), max = x[i];
  if (amax == 0) return 0;
  float best_err = INFINITY, best_a = max / -32.0f;
  for (int step = -6; step <= 6; ++step) {
    float iscale = -(32.0f + 0.25f * float(step)) / max;
    double slx = 0, sl2 = 0;
    int l[16];
    for (int i = 0; i < n; ++i) {
      l[i] = clampi(round_int(iscale * x[i]), -32, 31);
      slx += double(l[i]) * x[i], sl2 += double(l[i]) * l[i];
    }
    if (sl2 == 0) continue;
    float a = float(slx / sl2), err = 0;
    for (int i = 0; i < n; ++i) {
      float e = a * float(l[i]) - x[i];
      err += e * e;
    }
    if (err < best_err) best_err = err, best_a = a;
  }
  return best_a;
}

// Shared by Q4_K and Q5_K: fills d, dmin, scales and the codes q[256] in [0, nmax].
void encode_k_asym(const float* x, int nmax, uint16_t* d16, uint16_t* dmin16, uint8_t scales[12],
                   uint8_t q[256]) {
  float a[8], mn[8], amax = 0, mmax = 0;
  for (int s = 0; s < 8; ++s) {
    a[s] = fit_scale_min(x + 32 * s, 32, nmax, &mn[s]);
    amax = std::fmax(amax, a[s]);
    mmax = std::fmax(mmax, mn[s]);
  }
  *d16 = fp32_to_fp16(amax / 63.0f);
  *dmin16 = fp32_to_fp16(mmax / 63.0f);
  float d = fp16_to_fp32(*d16), dmin = fp16_to_fp32(*dmin16);
  uint8_t sc[8], m[8];
  for (int s = 0; s < 8; ++s) {
    sc[s] = uint8_t(d > 0 ? clampi(round_int(a[s] / d), 0, 63) : 0);
    m[s] = uint8_t(dmin > 0 ? clampi(round_int(mn[s] / dmin), 0, 63) : 0);
  }
  pack_scale_min_k4(sc, m, scales);
  for (int s = 0; s < 8; ++s) {
    float step = d * float(sc[s]), off = dmin * float(m[s]);
    for (int i = 0; i < 32; ++i) {
      int v = step > 0 ? round_int((x[32 * s + i] + off) / step) : 0;
      q[32 * s + i] = uint8_t(clampi(v, 0, nmax));
    }
  }
}

}  // namespace

namespace {
// Q4_K and Q5_K share the super-block: 8 sub-blocks of 32 with 6-bit scales and mins, codes as
// nibbles; Q5_K adds a fifth bit per code from qh (bit 2c / 2c + 1 of qh[l]), absent for Q4_K.
void dequantize_k4_superblock(float d, float dmin, const uint8_t* scales, const uint8_t* qs, const uint8_t* qh,
                              float* y) {
  for (int c = 0; c < 4; ++c) {
    uint8_t sc0, m0, sc1, m1;
    unpack_scale_min_k4(scales, 2 * c, &sc0, &m0);
    unpack_scale_min_k4(scales, 2 * c + 1, &sc1, &m1);
    const uint8_t* q = qs + 32 * c;
    for (int l = 0; l < 32; ++l) {
      int q0 = q[l] & 15, q1 = q[l] >> 4;
      if (qh) {
        q0 |= ((qh[l] >> (2 * c)) & 1) << 4;
        q1 |= ((qh[l] >> (2 * c + 1)) & 1) << 4;
      }
      y[64 * c + l] = d * float(sc0) * float(q0) - dmin * float(m0);
      y[64 * c + 32 + l] = d * float(sc1) * float(q1) - dmin * float(m1);
    }
  }
}
}  // namespace

void dequantize_q4_k(const BlockQ4_K* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kQKK; ++i, y += kQKK)
    dequantize_k4_superblock(fp16_to_fp32(b[i].d), fp16_to_fp32(b[i].dmin), b[i].scales, b[i].qs, nullptr, y);
}

void dequantize_q5_k(const BlockQ5_K* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kQKK; ++i, y += kQKK)
    dequantize_k4_superblock(fp16_to_fp32(b[i].d), fp16_to_fp32(b[i].dmin), b[i].scales, b[i].qs, b[i].qh, y);
}

void dequantize_q6_k(const BlockQ6_K* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kQKK; ++i, y += kQKK) {
    float d = fp16_to_fp32(b[i].d);
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = b[i].ql + 64 * h;
      const uint8_t* qh = b[i].qh + 32 * h;
      for (int k = 0; k < 4; ++k) {
        for (int l = 0; l < 32; ++l) {
          int e = 128 * h + 32 * k + l;
          int lo = ql[l + 32 * (k & 1)];
          lo = k < 2 ? lo & 15 : lo >> 4;
          int q = lo | ((qh[l] >> (2 * k)) & 3) << 4;
          y[e] = d * float(b[i].scales[e / 16]) * float(q - 32);
        }
      }
    }
  }
}

void dequantize_q8_k(const BlockQ8_K* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kQKK; ++i, y += kQKK)
    for (int j = 0; j < kQKK; ++j) y[j] = b[i].d * float(b[i].qs[j]);
}

void quantize_q4_k(const float* x, BlockQ4_K* b, int64_t n) {
  uint8_t q[256];
  for (int64_t i = 0; i < n / kQKK; ++i, x += kQKK) {
    encode_k_asym(x, 15, &b[i].d, &b[i].dmin, b[i].scales, q);
    for (int c = 0; c < 4; ++c)
      for (int l = 0; l < 32; ++l)
        b[i].qs[32 * c + l] = uint8_t(q[64 * c + l] | q[64 * c + 32 + l] << 4);
  }
}

void quantize_q5_k(const float* x, BlockQ5_K* b, int64_t n) {
  uint8_t q[256];
  for (int64_t i = 0; i < n / kQKK; ++i, x += kQKK) {
    encode_k_asym(x, 31, &b[i].d, &b[i].dmin, b[i].scales, q);
    std::memset(b[i].qh, 0, sizeof b[i].qh);
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l) {
        int q0 = q[64 * c + l], q1 = q[64 * c + 32 + l];
        b[i].qs[32 * c + l] = uint8_t((q0 & 15) | (q1 & 15) << 4);
        b[i].qh[l] |= uint8_t((q0 >> 4) << (2 * c) | (q1 >> 4) << (2 * c + 1));
      }
    }
  }
}

void quantize_q6_k(const float* x, BlockQ6_K* b, int64_t n) {
  for (int64_t i = 0; i < n / kQKK; ++i, x += kQKK) {
    float a[16], amax = 0;
    for (int g = 0; g < 16; ++g) {
      a[g] = fit_scale_sym(x + 16 * g, 16);
      amax = std::fmax(amax, std::fabs(a[g]));
    }
    b[i].d = fp32_to_fp16(amax / 127.0f);
    float d = fp16_to_fp32(b[i].d);
    for (int g = 0; g < 16; ++g)
      b[i].scales[g] = int8_t(d > 0 ? clampi(round_int(a[g] / d), -127, 127) : 0);
    std::memset(b[i].ql, 0, sizeof b[i].ql);
    std::memset(b[i].qh, 0, sizeof b[i].qh);
    for (int e = 0; e < kQKK; ++e) {
      float step = d * float(b[i].scales[e / 16]);
      int q = clampi(step != 0 ? round_int(x[e] / step) : 0, -32, 31) + 32;
      int h = e / 128, k = (e % 128) / 32, l = e % 32;
      uint8_t& lo = b[i].ql[64 * h + l + 32 * (k & 1)];
      lo = uint8_t(lo | (k < 2 ? q & 15 : (q & 15) << 4));
      b[i].qh[32 * h + l] = uint8_t(b[i].qh[32 * h + l] | (q >> 4) << (2 * k));
    }
  }
}

void quantize_q8_k(const float* x, BlockQ8_K* b, int64_t n) {
  for (int64_t i = 0; i < n / kQKK; ++i, x += kQKK) {
    float amax = 0;
    for (int j = 0; j < kQKK; ++j) amax = std::fmax(amax, std::fabs(x[j]));
    b[i].d = amax / 127.0f;
    float id = amax > 0 ? 127.0f / amax : 0.0f;
    for (int g = 0; g < 16; ++g) {
      int sum = 0;
      for (int j = 16 * g; j < 16 * g + 16; ++j) {
        b[i].qs[j] = int8_t(clampi(round_int(x[j] * id), -127, 127));
        sum += b[i].qs[j];
      }
      b[i].bsums[g] = int16_t(sum);
    }
  }
}

}  // namespace frugal::kernels::detail
