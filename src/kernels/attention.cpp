#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/matmul.h"
#include "kernels/matmul_kernels.h"
#include "kernels/quant.h"

namespace frugal::kernels {

void round_query_q8_0(const float* q, int64_t n_q, int64_t head_dim, float* out) {
  const ActLayout l = act_layout(ActFormat::Q8_0, head_dim);
  thread_local std::vector<uint8_t> act;
  act.resize(l.stride);
  const auto* qs = reinterpret_cast<const int8_t*>(act.data() + l.qs_off);
  const auto* d = reinterpret_cast<const float*>(act.data() + l.d_off);
  for (int64_t h = 0; h < n_q; ++h) {
    quantize_act_row_ref(ActFormat::Q8_0, q + h * head_dim, head_dim, act.data());
    for (int64_t i = 0; i < head_dim; ++i) out[h * head_dim + i] = d[i / 32] * float(qs[i]);
  }
}

const float* scored_queries(const AttendArgs& a) {
  if (a.kv_type != DType::Q8_0) return a.q;
  thread_local std::vector<float> rounded;
  rounded.resize(size_t(a.n_q * a.head_dim));
  round_query_q8_0(a.q, a.n_q, a.head_dim, rounded.data());
  return rounded.data();
}

void attend_ref(const AttendArgs& a) {
  if (a.n_tok > 1) return for_each_position(a, attend_ref);
  std::vector<float> kf(size_t(a.head_dim)), vf(size_t(a.head_dim_v));
  const float* queries = scored_queries(a);
  for (int64_t h = 0; h < a.n_q; ++h) {
    const float* q = queries + h * a.head_dim;
    float* s = a.scratch + h * a.n_kv;
    float mx = -INFINITY;
    for (int64_t j = 0; j < a.n_kv; ++j) {
      dequantize_row(a.kv_type, a.key(j), kf.data(), a.head_dim);
      const float* k = kf.data();
      float d = 0;
      for (int64_t i = 0; i < a.head_dim; ++i) d += q[i] * k[i];
      s[j] = d * a.scale;
      mx = s[j] > mx ? s[j] : mx;
    }
    double sum = 0;
    for (int64_t j = 0; j < a.n_kv; ++j) sum += s[j] = std::exp(s[j] - mx);
    const float inv = float(1.0 / sum);
    if (a.lse) a.lse[h] = mx + float(std::log(sum));
    float* o = a.out + h * a.head_dim_v;
    for (int64_t i = 0; i < a.head_dim_v; ++i) o[i] = 0;
    for (int64_t j = 0; j < a.n_kv; ++j) {
      dequantize_row(a.kv_type, a.value(j), vf.data(), a.head_dim_v);
      const float* v = vf.data();
      const float p = s[j] * inv;
      for (int64_t i = 0; i < a.head_dim_v; ++i) o[i] += p * v[i];
    }
  }
}

void softmax_rows_zero_out(const AttendArgs& a) {
  for (int64_t h = 0; h < a.n_q; ++h) {
    float* s = a.scratch + h * a.n_kv;
    float mx = -INFINITY;
    for (int64_t j = 0; j < a.n_kv; ++j) mx = s[j] > mx ? s[j] : mx;
    double sum = 0;
    for (int64_t j = 0; j < a.n_kv; ++j) sum += s[j] = std::exp(s[j] - mx);
    const float inv = float(1.0 / sum);
    if (a.lse) a.lse[h] = mx + float(std::log(sum));
    for (int64_t j = 0; j < a.n_kv; ++j) s[j] *= inv;
    float* o = a.out + h * a.head_dim_v;
    for (int64_t i = 0; i < a.head_dim_v; ++i) o[i] = 0;
  }
}

void merge_segments(const float* outs, const float* lses, int64_t n_seg, int64_t n_q, int64_t dv, float* out) {
  for (int64_t h = 0; h < n_q; ++h) {
    float mx = -INFINITY;
    for (int64_t s = 0; s < n_seg; ++s) mx = std::max(mx, lses[s * n_q + h]);
    float* o = out + h * dv;
    std::fill_n(o, dv, 0.0f);
    double total = 0;
    for (int64_t s = 0; s < n_seg; ++s) {
      const float w = std::exp(lses[s * n_q + h] - mx);
      total += w;
      const float* x = outs + (s * n_q + h) * dv;
      for (int64_t i = 0; i < dv; ++i) o[i] += w * x[i];
    }
    const float inv = float(1.0 / total);
    for (int64_t i = 0; i < dv; ++i) o[i] *= inv;
  }
}

void attend(const AttendArgs& a) {
  switch (active_isa()) {
    case Isa::Avx512: return attend_avx512(a);
    case Isa::Avx2: return attend_avx2(a);
    default: return attend_ref(a);
  }
}

}  // namespace frugal::kernels
