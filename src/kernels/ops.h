// Element-wise and per-row operations of a transformer block, fp32. These are cheap next to
// matmul (O(n) per token vs O(n²)), so they are plain loops the compiler vectorizes.
// Shapes are written [rows, cols], row-major.
#pragma once
#include <cstdint>

namespace frugal::kernels {

// y[r] = x[r] / rms(x[r]) * w   for each of n_rows rows of n; y may alias x.
void rms_norm(const float* x, const float* w, float* y, int64_t n_rows, int64_t n, float eps);

// out[i] = silu(gate[i]) * up[i]
void silu_mul(const float* gate, const float* up, float* out, int64_t n);

// In-place softmax of x[0..n).
void softmax(float* x, int64_t n);

// y[i] += x[i]
void add_inplace(float* y, const float* x, int64_t n);

// Rotary position embedding on one head vector of `head_dim` values, rotating its first
// `n_rot` dims. `inv_freq` has n_rot/2 entries (theta^(-2i/n_rot) / freq_factor_i, with any
// YaRN/llama3 correction already applied); `mscale` multiplies cos/sin (YaRN attention factor).
// NeoX layout pairs (i, i + n_rot/2); the normal (GPT-J) layout pairs (2i, 2i+1).
enum class RopeLayout { Normal, NeoX };
void rope(float* x, int64_t head_dim, int64_t n_rot, int64_t pos, const float* inv_freq, float mscale,
          RopeLayout layout);

// Same rotation with cos/sin precomputed for one position: c[i], s[i] for i < n_rot/2
// (already multiplied by any attention factor). A forward pass computes them once per token
// and reuses them for every head of every layer.
void rope_cached(float* x, int64_t n_rot, const float* c, const float* s, RopeLayout layout);
// c[i] = cos(pos * inv_freq[i]) * mscale, s[i] likewise, for i < n_rot/2.
void rope_table(int64_t pos, int64_t n_rot, const float* inv_freq, float mscale, float* c, float* s);

// Dot product of two fp32 vectors (used by attention).
float dot_f32(const float* a, const float* b, int64_t n);
// y[i] += a * x[i]
void axpy_f32(float a, const float* x, float* y, int64_t n);

}  // namespace frugal::kernels
