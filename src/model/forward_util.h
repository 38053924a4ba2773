// Small pieces every architecture's forward pass uses: grow-only activation buffers, weight
// sizes for the roofline, and the output head over the rows a batch asks logits for.
#pragma once
#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
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

}  // namespace frugal
