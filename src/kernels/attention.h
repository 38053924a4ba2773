// Causal attention for one KV head group and n_tok consecutive query positions of one
// sequence (decode: one; prefill: a run of the prompt). GQA shares a KV head among n_q query
// heads, and the positions of a run share their keys: processing them together reads and
// converts each cached key and value row once for all of them. Cached rows are F32, F16,
// BF16 or Q8_0 (kv_type); the math is fp32, except that over a Q8_0 cache the queries are
// rounded to Q8_0 as well (round_query_q8_0), as llama.cpp rounds activations for Q8_0
// weights: scores are then integer dot products per 32-value block (AVX-512 VNNI).
#pragma once
#include <cstdint>

#include "core/dtype.h"

namespace frugal::kernels {

struct AttendArgs {
  const float* q;       // [n_q, head_dim], contiguous
  int64_t n_q;
  DType kv_type = DType::F32;  // of the cached rows; Q8_0 needs head_dim and head_dim_v % 32 == 0
  const void* k = nullptr;  // key j at k + j * k_stride bytes (its first head_dim values)
  int64_t k_stride;         // bytes from one cached row to the next
  const void* v = nullptr;  // value j at v + j * v_stride bytes (first head_dim_v values)
  int64_t v_stride;
  // A paged cache instead (k, v unused): key j at k_pages[j >> page_shift] + (j mod page) *
  // k_stride, likewise values. Rows within a page are contiguous; pages are anywhere.
  const void* const* k_pages = nullptr;
  const void* const* v_pages = nullptr;
  int page_shift = 0;
  const uint8_t* key(int64_t j) const {
    return k_pages ? static_cast<const uint8_t*>(k_pages[j >> page_shift]) + (j & ((int64_t(1) << page_shift) - 1)) * k_stride
                   : static_cast<const uint8_t*>(k) + j * k_stride;
  }
  const uint8_t* value(int64_t j) const {
    return v_pages ? static_cast<const uint8_t*>(v_pages[j >> page_shift]) + (j & ((int64_t(1) << page_shift) - 1)) * v_stride
                   : static_cast<const uint8_t*>(v) + j * v_stride;
  }
  int64_t n_kv;         // the last position sees keys 0..n_kv-1; position i of n_tok sees n_kv - (n_tok - 1 - i)
  int64_t head_dim, head_dim_v;
  float scale;          // softmax scale
  float* out;           // [n_q, head_dim_v] per position
  float* scratch;       // [n_tok * n_q * n_kv]
  int64_t n_tok = 1;    // positions; position i's queries at q + i * q_tok_stride, its output at out + i * out_tok_stride
  int64_t q_tok_stride = 0, out_tok_stride = 0;  // in floats
  // One segment of a longer context (n_tok 1 only): when set, lse[h] receives max + log(sum of
  // exp) of head h's scores over these n_kv keys, so that segments attended apart merge into
  // the attention over all of them (merge_segments).
  float* lse = nullptr;
};

// Decode split over the context (flash-decoding): a query over n_kv keys as segments of
// kSegmentKeys keys (a multiple of the cache's 16-position blocks), each attended on its own
// with its lse, then merged. The count depends on n_kv alone, so a result never depends on
// how many threads computed it.
constexpr int64_t kSegmentKeys = 1024;
inline int64_t n_segments(int64_t n_kv) { return (n_kv + kSegmentKeys - 1) / kSegmentKeys; }

// out[h] = sum_s w_s * outs[s][h] / sum_s w_s with w_s = exp(lses[s][h] - max_s lses[s][h]):
// the softmax over the union of the segments' keys, from each segment's normalized output.
// outs: [n_seg][n_q][dv]; lses: [n_seg][n_q]; out: [n_q][dv].
void merge_segments(const float* outs, const float* lses, int64_t n_seg, int64_t n_q, int64_t dv, float* out);

// Calls f once per position with a one-position AttendArgs (the kernels without a
// multi-position path, and the scalar twin).
template <class F>
void for_each_position(const AttendArgs& a, F&& f) {
  if (a.n_tok <= 1) return f(a);
  for (int64_t i = 0; i < a.n_tok; ++i) {
    AttendArgs b = a;
    b.n_tok = 1;
    b.q = a.q + i * a.q_tok_stride;
    b.out = a.out + i * a.out_tok_stride;
    b.n_kv = a.n_kv - (a.n_tok - 1 - i);
    f(b);
  }
}

// Turns each of the n_q rows of raw scores s[h * n_kv + j] into probabilities (fp32 exp,
// double sum) and zeroes the n_q output rows; shared by the SIMD kernels, whose work is in
// the dot products around it.
void softmax_rows_zero_out(const AttendArgs& a);

// Each of the n_q query rows (head_dim values, a multiple of 32) rounded to Q8_0 as the
// matmuls round their activations (quantize_act_row_ref, ActFormat::Q8_0), back as floats into
// out: what every kernel and the scalar twin score against a Q8_0 cache. A block's product
// sums are exact integers either way (32 * 127 * 127 < 2^24), so kernels differ only in how
// they round the sum over blocks.
void round_query_q8_0(const float* q, int64_t n_q, int64_t head_dim, float* out);
// The queries a one-position pass scores: a.q, or over a Q8_0 cache its rows rounded as above
// (into a per-thread buffer, valid until the thread's next call).
const float* scored_queries(const AttendArgs& a);

// Uses the ISA the kernels dispatcher chose; attend_ref is the scalar twin tests compare with
// (it converts each row with dequantize_row, the format's reference).
void attend(const AttendArgs& a);
void attend_ref(const AttendArgs& a);

void attend_avx2(const AttendArgs& a);
void attend_avx512(const AttendArgs& a);

}  // namespace frugal::kernels
