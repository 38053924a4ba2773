#include "kernels/ops.h"

#include <cmath>

#include "kernels/matmul.h"

namespace frugal::kernels {

void rms_norm(const float* x, const float* w, float* y, int64_t n_rows, int64_t n, float eps) {
  for (int64_t r = 0; r < n_rows; ++r) {
    const float* xr = x + r * n;
    float* yr = y + r * n;
    // Sum of squares in double: the fp32 references agree to 1e-6 and this removes one
    // source of drift on wide rows.
    double ss = 0;
    for (int64_t i = 0; i < n; ++i) ss += double(xr[i]) * xr[i];
    float scale = float(1.0 / std::sqrt(ss / double(n) + double(eps)));
    for (int64_t i = 0; i < n; ++i) yr[i] = xr[i] * scale * w[i];
  }
}

void silu_mul(const float* gate, const float* up, float* out, int64_t n) {
  if (active_isa() == Isa::Avx512) return silu_mul_avx512(gate, up, out, n);
  silu_mul_ref(gate, up, out, n);
}

void silu_mul_ref(const float* gate, const float* up, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    float g = gate[i];
    out[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

double exp_weights(const float* x, int64_t n, float mx, float inv_t, float* out) {
  if (active_isa() == Isa::Avx512) return exp_weights_avx512(x, n, mx, inv_t, out);
  return exp_weights_ref(x, n, mx, inv_t, out);
}

double exp_weights_ref(const float* x, int64_t n, float mx, float inv_t, float* out) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float e = std::exp((x[i] - mx) * inv_t);
    if (out) out[i] = e;
    sum += e;
  }
  return sum;
}

void softmax(float* x, int64_t n) {
  float mx = -INFINITY;
  for (int64_t i = 0; i < n; ++i) mx = x[i] > mx ? x[i] : mx;
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - mx);
    sum += x[i];
  }
  float inv = float(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void add_inplace(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

void rope_table(int64_t pos, int64_t n_rot, const float* inv_freq, float mscale, float* c, float* s) {
  for (int64_t i = 0; i < n_rot / 2; ++i) {
    double theta = double(pos) * double(inv_freq[i]);
    c[i] = float(std::cos(theta)) * mscale;
    s[i] = float(std::sin(theta)) * mscale;
  }
}

void rope_cached(float* x, int64_t n_rot, const float* c, const float* s, RopeLayout layout) {
  const int64_t half = n_rot / 2;
  if (layout == RopeLayout::NeoX) {
    for (int64_t i = 0; i < half; ++i) {
      float x0 = x[i], x1 = x[i + half];
      x[i] = x0 * c[i] - x1 * s[i];
      x[i + half] = x0 * s[i] + x1 * c[i];
    }
  } else {
    for (int64_t i = 0; i < half; ++i) {
      float x0 = x[2 * i], x1 = x[2 * i + 1];
      x[2 * i] = x0 * c[i] - x1 * s[i];
      x[2 * i + 1] = x0 * s[i] + x1 * c[i];
    }
  }
}

}  // namespace frugal::kernels
