// Causal attention for one query position and one KV head group. GQA shares a KV head among
// n_q query heads: processing the group together reads each cached key and value row once
// for all of them. The cache is fp32 so that the F32 path stays within 1e-4 of the references.
#pragma once
#include <cstdint>

namespace frugal::kernels {

struct AttendArgs {
  const float* q;       // [n_q, head_dim], contiguous
  int64_t n_q;
  const float* k = nullptr;  // key j at k + j * k_stride (first head_dim values)
  int64_t k_stride;
  const float* v = nullptr;  // value j at v + j * v_stride (first head_dim_v values)
  int64_t v_stride;
  // A paged cache instead (k, v unused): key j at k_pages[j >> page_shift] + (j mod page) *
  // k_stride, likewise values. Rows within a page are contiguous; pages are anywhere.
  const float* const* k_pages = nullptr;
  const float* const* v_pages = nullptr;
  int page_shift = 0;
  const float* key(int64_t j) const {
    return k_pages ? k_pages[j >> page_shift] + (j & ((int64_t(1) << page_shift) - 1)) * k_stride : k + j * k_stride;
  }
  const float* value(int64_t j) const {
    return v_pages ? v_pages[j >> page_shift] + (j & ((int64_t(1) << page_shift) - 1)) * v_stride : v + j * v_stride;
  }
  int64_t n_kv;         // keys 0..n_kv-1 are visible (causal mask applied by the caller)
  int64_t head_dim, head_dim_v;
  float scale;          // softmax scale
  float* out;           // [n_q, head_dim_v]
  float* scratch;       // [n_q * n_kv]
};

// Turns each of the n_q rows of raw scores s[h * n_kv + j] into probabilities (fp32 exp,
// double sum) and zeroes the n_q output rows; shared by the SIMD kernels, whose work is in
// the dot products around it.
void softmax_rows_zero_out(const AttendArgs& a);

// Uses the ISA the kernels dispatcher chose; attend_ref is the scalar twin tests compare with.
void attend(const AttendArgs& a);
void attend_ref(const AttendArgs& a);

void attend_avx2(const AttendArgs& a);
void attend_avx512(const AttendArgs& a);

}  // namespace frugal::kernels
