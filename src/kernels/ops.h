// Element-wise and per-row operations of a transformer block, fp32. These are cheap next to
// matmul (O(n) per token vs O(n²)), so they are plain loops the compiler vectorizes, except
// where a libm call per element stops it (silu_mul: an AVX-512 twin, dispatched here).
// Shapes are written [rows, cols], row-major.
#pragma once
#include <cstdint>

namespace frugal::kernels {

// y[r] = x[r] / rms(x[r]) * w   for each of n_rows rows of n; y may alias x.
void rms_norm(const float* x, const float* w, float* y, int64_t n_rows, int64_t n, float eps);

// out[i] = silu(gate[i]) * up[i]; out may alias gate or up. Vectorized on AVX-512 (a libm
// exp per element was ~6 % of a 1.5B model's prefill); silu_mul_ref is the scalar twin.
void silu_mul(const float* gate, const float* up, float* out, int64_t n);
void silu_mul_ref(const float* gate, const float* up, float* out, int64_t n);
void silu_mul_avx512(const float* gate, const float* up, float* out, int64_t n);

// Sampling weights: out[i] = e^((x[i] - mx) * inv_t) (with mx >= every x[i], so each is in
// [0, 1]; -inf gives exactly 0), and their sum in double. out may be null (the sum alone).
// A sampler over a 150k vocabulary with no top-k runs this once or twice per token and
// sequence: a libm exp in double per element was 1.4 ms a token, 12 % of an 8-stream server
// step. exp_weights_ref is the scalar twin.
double exp_weights(const float* x, int64_t n, float mx, float inv_t, float* out);
double exp_weights_ref(const float* x, int64_t n, float mx, float inv_t, float* out);
double exp_weights_avx512(const float* x, int64_t n, float mx, float inv_t, float* out);

// In-place softmax of x[0..n).
void softmax(float* x, int64_t n);

// y[i] += x[i]
void add_inplace(float* y, const float* x, int64_t n);

// Rotary position embedding. NeoX layout pairs (i, i + n_rot/2); the normal (GPT-J) layout
// pairs (2i, 2i+1).
enum class RopeLayout { Normal, NeoX };

// Rotates the first n_rot dims of one head vector with cos/sin precomputed for its position:
// c[i], s[i] for i < n_rot/2 (already multiplied by any attention factor). A forward pass
// computes them once per token and reuses them for every head of every layer.
void rope_cached(float* x, int64_t n_rot, const float* c, const float* s, RopeLayout layout);
// c[i] = cos(pos * inv_freq[i]) * mscale, s[i] likewise, for i < n_rot/2. `inv_freq` is
// theta^(-2i/n_rot) / freq_factor_i with any YaRN/llama3 correction already applied.
void rope_table(int64_t pos, int64_t n_rot, const float* inv_freq, float mscale, float* c, float* s);

}  // namespace frugal::kernels
