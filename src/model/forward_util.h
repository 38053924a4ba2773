// Small pieces every architecture's forward pass uses: grow-only activation buffers, weight
// sizes for the roofline, and the output head over the rows a batch asks logits for.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/attention.h"
#include "kernels/matmul.h"
#include "model/batch.h"

namespace frugal {

// Activations grow to the largest batch seen and are never shrunk: no allocation in steady state.
inline void grow(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}

inline size_t view_bytes(const kernels::WeightView& w) { return size_t(w.n_rows) * row_bytes(w.type, w.n_cols); }

// logits[n_outputs, n_vocab] = out · rms_norm(x[t]) for the batch rows whose logits are asked
// for, in batch order: only those rows go through the (large) output projection. `rows` is the
// caller's scratch for the normalized rows.
void output_logits(const Batch& batch, const float* x, int64_t n_embd, const std::vector<float>& norm, float eps,
                   const kernels::WeightView& out, std::vector<float>& rows, float* logits, ThreadPool& pool);
// Its first half: rows[n_outputs, n_embd] = rms_norm(x[t]) for those rows; returns n_outputs.
int64_t output_rows(const Batch& batch, const float* x, int64_t n_embd, const std::vector<float>& norm, float eps,
                    std::vector<float>& rows);

// Decode attention split over the context (kernels::n_segments), as every architecture's
// attention does it: items (tokens, or runs of positions) go in groups whose segments' outputs
// stay within kMaxFloats; within a group, segments are numbered item by item.
class SegmentGroups {
 public:
  static constexpr int64_t kMaxFloats = int64_t(4) << 20;
  // Calls attend(g0, g1) for consecutive groups of items [0, n); item i has segs(i) segments
  // of `floats` output floats each.
  template <class Segs, class F>
  void for_each_group(int64_t n, int64_t floats, Segs segs, F attend) {
    for (int64_t g0 = 0; g0 < n;) {
      first_.clear();
      int64_t total = 0, g1 = g0;
      for (; g1 < n; ++g1) {
        const int64_t s = segs(g1);
        if (g1 > g0 && (total + s) * floats > kMaxFloats) break;
        first_.push_back(total);
        total += s;
      }
      first_.push_back(total);
      attend(g0, g1);
      g0 = g1;
    }
  }
  // Of the current group (items numbered from its first):
  int64_t total() const { return first_.back(); }
  int64_t first(int64_t i) const { return first_[size_t(i)]; }
  int64_t count(int64_t i) const { return first_[size_t(i) + 1] - first_[size_t(i)]; }
  int64_t item_of(int64_t seg) const {
    return int64_t(std::upper_bound(first_.begin(), first_.end(), seg) - first_.begin()) - 1;
  }
  // Merges each split item's segments (outs: [segment][n_q][dv], lses: [segment][n_q]) into
  // out_of(i); items of one segment were written in place.
  template <class Out>
  void merge(const float* outs, const float* lses, int64_t n_q, int64_t dv, Out out_of, ThreadPool& pool) const {
    const int64_t n = int64_t(first_.size()) - 1;
    if (total() == n) return;  // every item whole
    pool.parallel_for(n, 1, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i)
        if (count(i) > 1)
          kernels::merge_segments(outs + first(i) * n_q * dv, lses + first(i) * n_q, count(i), n_q, dv, out_of(i));
    });
  }

 private:
  std::vector<int64_t> first_;  // per item its first segment, then the total
};

}  // namespace frugal
