// Scalar reference conversions: the plain float types and the 32-weight _0 formats here, the
// K-quants in quant_k.cpp. Encoders follow the formats' usual rules: the _0 formats map the
// value of largest magnitude to the end of the code range (so Q4_0's -8 is used), Q8_0 is
// symmetric (amax / 127). Q8_0 rounds against the f16-rounded scale so |err| <= d / 2.
#include "kernels/quant.h"

#include <cmath>
#include <cstring>

#include "core/half.h"
#include "kernels/quant_impl.h"

namespace frugal::kernels {
namespace detail {

void dequantize_q4_0(const BlockQ4_0* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK; ++i, y += kQK) {
    float d = fp16_to_fp32(b[i].d);
    for (int j = 0; j < 16; ++j) {
      y[j] = float((b[i].qs[j] & 15) - 8) * d;
      y[j + 16] = float((b[i].qs[j] >> 4) - 8) * d;
    }
  }
}

void dequantize_q5_0(const BlockQ5_0* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK; ++i, y += kQK) {
    float d = fp16_to_fp32(b[i].d);
    uint32_t qh;
    std::memcpy(&qh, b[i].qh, 4);
    for (int j = 0; j < 16; ++j) {
      int lo = (b[i].qs[j] & 15) | int((qh >> j) & 1) << 4;
      int hi = (b[i].qs[j] >> 4) | int((qh >> (j + 16)) & 1) << 4;
      y[j] = float(lo - 16) * d;
      y[j + 16] = float(hi - 16) * d;
    }
  }
}

void dequantize_q8_0(const BlockQ8_0* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kQK; ++i, y += kQK) {
    float d = fp16_to_fp32(b[i].d);
    for (int j = 0; j < kQK; ++j) y[j] = float(b[i].qs[j]) * d;
  }
}

namespace {
// The element of largest magnitude, with its sign (0 for an all-zero block).
float signed_absmax(const float* x, int n) {
  float amax = 0, max = 0;
  for (int j = 0; j < n; ++j) {
    if (std::fabs(x[j]) > amax) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

// Codes 0..nmax-1 with zero at `zero`: the largest-magnitude value maps to code 0 (-zero * d).
void quantize_offset_block(const float* x, int zero, int nmax, uint16_t* d16, int* q) {
  float d = signed_absmax(x, kQK) / float(-zero);
  *d16 = fp32_to_fp16(d);
  float id = d != 0 ? 1.0f / d : 0.0f;
  for (int j = 0; j < kQK; ++j) {
    int v = round_int(x[j] * id) + zero;
    q[j] = v < 0 ? 0 : v > nmax - 1 ? nmax - 1 : v;
  }
}
}  // namespace

void quantize_q4_0(const float* x, BlockQ4_0* b, int64_t n) {
  int q[kQK];
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    quantize_offset_block(x, 8, 16, &b[i].d, q);
    for (int j = 0; j < 16; ++j) b[i].qs[j] = uint8_t(q[j] | q[j + 16] << 4);
  }
}

void quantize_q5_0(const float* x, BlockQ5_0* b, int64_t n) {
  int q[kQK];
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    quantize_offset_block(x, 16, 32, &b[i].d, q);
    uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
      b[i].qs[j] = uint8_t((q[j] & 15) | (q[j + 16] & 15) << 4);
      qh |= uint32_t(q[j] >> 4) << j | uint32_t(q[j + 16] >> 4) << (j + 16);
    }
    std::memcpy(b[i].qh, &qh, 4);
  }
}

void quantize_q8_0(const float* x, BlockQ8_0* b, int64_t n) {
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    float amax = 0;
    for (int j = 0; j < kQK; ++j) amax = std::fmax(amax, std::fabs(x[j]));
    b[i].d = fp32_to_fp16(amax / 127.0f);
    float d = fp16_to_fp32(b[i].d);
    float id = d != 0 ? 1.0f / d : 0.0f;
    for (int j = 0; j < kQK; ++j) {
      int v = round_int(x[j] * id);
      b[i].qs[j] = int8_t(v < -127 ? -127 : v > 127 ? 127 : v);
    }
  }
}

}  // namespace detail

using namespace detail;

void dequantize_row(DType t, const void* src, float* dst, int64_t n) {
  switch (t) {
    case DType::F32: std::memcpy(dst, src, size_t(n) * 4); return;
    case DType::F16: {
      auto s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_fp32(s[i]);
      return;
    }
    case DType::BF16: {
      auto s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_fp32(s[i]);
      return;
    }
    case DType::Q4_0: dequantize_q4_0(static_cast<const BlockQ4_0*>(src), dst, n); return;
    case DType::Q5_0: dequantize_q5_0(static_cast<const BlockQ5_0*>(src), dst, n); return;
    case DType::Q8_0: dequantize_q8_0(static_cast<const BlockQ8_0*>(src), dst, n); return;
    case DType::Q4_K: dequantize_q4_k(static_cast<const BlockQ4_K*>(src), dst, n); return;
    case DType::Q5_K: dequantize_q5_k(static_cast<const BlockQ5_K*>(src), dst, n); return;
    case DType::Q6_K: dequantize_q6_k(static_cast<const BlockQ6_K*>(src), dst, n); return;
    case DType::Q8_K: dequantize_q8_k(static_cast<const BlockQ8_K*>(src), dst, n); return;
    default: std::memset(dst, 0, size_t(n) * 4); return;  // callers check is_matmul_type first
  }
}

void quantize_row(DType t, const float* src, void* dst, int64_t n) {
  switch (t) {
    case DType::F32: std::memcpy(dst, src, size_t(n) * 4); return;
    case DType::F16: {
      auto d = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = fp32_to_fp16(src[i]);
      return;
    }
    case DType::BF16: {
      auto d = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = fp32_to_bf16(src[i]);
      return;
    }
    case DType::Q4_0: quantize_q4_0(src, static_cast<BlockQ4_0*>(dst), n); return;
    case DType::Q5_0: quantize_q5_0(src, static_cast<BlockQ5_0*>(dst), n); return;
    case DType::Q8_0: quantize_q8_0(src, static_cast<BlockQ8_0*>(dst), n); return;
    case DType::Q4_K: quantize_q4_k(src, static_cast<BlockQ4_K*>(dst), n); return;
    case DType::Q5_K: quantize_q5_k(src, static_cast<BlockQ5_K*>(dst), n); return;
    case DType::Q6_K: quantize_q6_k(src, static_cast<BlockQ6_K*>(dst), n); return;
    case DType::Q8_K: quantize_q8_k(src, static_cast<BlockQ8_K*>(dst), n); return;
    default: return;
  }
}

bool is_matmul_type(DType t) {
  switch (t) {
    case DType::F32:
    case DType::F16:
    case DType::BF16:
    case DType::Q4_0:
    case DType::Q5_0:
    case DType::Q8_0:
    case DType::Q4_K:
    case DType::Q5_K:
    case DType::Q6_K: return true;
    default: return false;
  }
}

}  // namespace frugal::kernels
