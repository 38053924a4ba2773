// Activation quantization for the integer matmul paths (layout in matmul_kernels.h). Shared by
// every ISA so that all kernel sets see bit-identical activations; it costs O(n_tok * n_cols),
// small next to the O(n_tok * n_cols * n_rows) product.
#include <cmath>
#include <utility>

#include "core/half.h"
#include "kernels/matmul.h"
#include "kernels/matmul_kernels.h"

namespace frugal::kernels {

namespace {
constexpr size_t align64(size_t v) { return (v + 63) & ~size_t(63); }

// Codes for one block of n floats; returns the scale. Symmetric, amax / 127.
inline float quantize_block(const float* x, int n, int8_t* q) {
  float amax = 0;
  // A plain compare instead of std::fmax, which is a libm call under IEEE NaN rules.
  for (int j = 0; j < n; ++j) {
    float a = std::fabs(x[j]);
    amax = a > amax ? a : amax;
  }
  float id = amax > 0 ? 127.0f / amax : 0.0f;
  // Adding 1.5 * 2^23 rounds to nearest-even in the float unit (|x * id| <= 127), and
  // vectorizes with baseline SSE2, unlike a libm call.
  for (int j = 0; j < n; ++j) q[j] = int8_t(int((x[j] * id + 12582912.0f) - 12582912.0f));
  return amax / 127.0f;
}
}  // namespace

ActLayout act_layout(ActFormat f, int64_t n_cols) {
  ActLayout l;
  size_t n = size_t(n_cols);
  if (f == ActFormat::F32) return l;
  if (f == ActFormat::Q8_0_Lanes) n = (n + 511) / 512 * 512;  // whole units, zero-padded
  const bool q8_0 = f == ActFormat::Q8_0 || f == ActFormat::Q8_0_Lanes;
  size_t block = q8_0 ? 32 : 256;  // Q8_K, Q8_K_Nib, Q8_K_Lanes
  l.block = int64_t(block);
  l.group = q8_0 ? 32 : f == ActFormat::Q8_K_Lanes ? 256 : 16;
  l.sum_size = q8_0 ? 4 : f == ActFormat::Q8_K_Lanes ? 128 : 2;
  l.qs_off = 0;
  l.d_off = align64(n);
  l.sum_off = l.d_off + align64(n / block * 4);
  l.stride = l.sum_off + align64(n / size_t(l.group) * l.sum_size);
  return l;
}

void act_codes_to_lanes(ActFormat f, int8_t* qs, int64_t n_cols) {
  const int64_t unit = f == ActFormat::Q8_0_Lanes ? 512 : 256, steps = unit / 64;
  uint32_t nat[128];
  for (int64_t u0 = 0; u0 < n_cols; u0 += unit) {
    auto* w = reinterpret_cast<uint32_t*>(qs + u0);  // 64-byte aligned: dword access is fine
    for (int64_t i = 0; i < unit / 4; ++i) nat[i] = w[i];
    // Dword l of step k is dword k of group l (a group spans `steps` dwords).
    for (int64_t k = 0; k < steps; ++k)
      for (int64_t l = 0; l < 16; ++l) w[16 * k + l] = nat[steps * l + k];
  }
}

void quantize_act_row(ActFormat f, const float* x, int64_t n_cols, uint8_t* dst) {
  if (f != ActFormat::F32 && active_isa() == Isa::Avx512) return quantize_act_row_avx512(f, x, n_cols, dst);
  quantize_act_row_ref(f, x, n_cols, dst);
}

void quantize_act_row_ref(ActFormat f, const float* x, int64_t n_cols, uint8_t* dst) {
  ActLayout l = act_layout(f, n_cols);
  auto qs = reinterpret_cast<int8_t*>(dst + l.qs_off);
  auto d = reinterpret_cast<float*>(dst + l.d_off);
  if (f == ActFormat::Q8_0 || f == ActFormat::Q8_0_Lanes) {
    auto s = reinterpret_cast<int32_t*>(dst + l.sum_off);
    for (int64_t b = 0; b < n_cols / 32; ++b) {
      // ggml's Q8_0 stores the scale as f16 (codes use the exact amax / 127); rounding it the
      // same way keeps our Q8_0-path logits within float noise of llama.cpp's.
      d[b] = fp16_to_fp32(fp32_to_fp16(quantize_block(x + 32 * b, 32, qs + 32 * b)));
      int32_t sum = 0;
      for (int j = 0; j < 32; ++j) sum += qs[32 * b + j];
      s[b] = sum;
    }
    if (f == ActFormat::Q8_0_Lanes) {
      const int64_t padded = (n_cols + 511) / 512 * 512;
      for (int64_t k = n_cols; k < padded; ++k) qs[k] = 0;
      for (int64_t b = n_cols / 32; b < padded / 32; ++b) d[b] = 0, s[b] = 0;
      act_codes_to_lanes(f, qs, n_cols);
    }
  } else if (f == ActFormat::Q8_K_Lanes) {
    for (int64_t b = 0; b < n_cols / 256; ++b) {
      d[b] = quantize_block(x + 256 * b, 256, qs + 256 * b);
      auto si = reinterpret_cast<int32_t*>(dst + l.sum_off + 128 * size_t(b));
      auto sf = reinterpret_cast<float*>(si + 16);
      for (int g = 0; g < 16; ++g) {
        int sum = 0;
        for (int j = 0; j < 16; ++j) sum += qs[256 * b + 16 * g + j];
        si[g] = sum;
        sf[g] = float(sum) * d[b];
      }
    }
    act_codes_to_lanes(f, qs, n_cols);
  } else if (f != ActFormat::F32) {
    auto s = reinterpret_cast<int16_t*>(dst + l.sum_off);
    for (int64_t b = 0; b < n_cols / 256; ++b)
      d[b] = quantize_block(x + 256 * b, 256, qs + 256 * b);
    for (int64_t g = 0; g < n_cols / 16; ++g) {
      int sum = 0;
      for (int j = 0; j < 16; ++j) sum += qs[16 * g + j];
      s[g] = int16_t(sum);
    }
    if (f == ActFormat::Q8_K_Nib) {
      for (int64_t h = 0; h < n_cols / 128; ++h) {  // swap the 2nd and 3rd 32 of each 128
        int8_t* p = qs + 128 * h;
        for (int j = 0; j < 32; ++j) std::swap(p[32 + j], p[64 + j]);
      }
    }
  }
}

}  // namespace frugal::kernels
