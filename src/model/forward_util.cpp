#include "model/forward_util.h"

#include "kernels/ops.h"

namespace frugal {

int64_t output_rows(const Batch& batch, const float* x, int64_t n_embd, const std::vector<float>& norm, float eps,
                    std::vector<float>& rows) {
  const int64_t T = int64_t(batch.size()), E = n_embd;
  int64_t n_out = 0;
  grow(rows, size_t(T * E));
  for (int64_t t = 0; t < T; ++t)
    if (batch.logits[size_t(t)]) kernels::rms_norm(x + t * E, norm.data(), rows.data() + (n_out++) * E, 1, E, eps);
  return n_out;
}

void output_logits(const Batch& batch, const float* x, int64_t n_embd, const std::vector<float>& norm, float eps,
                   const kernels::WeightView& out, std::vector<float>& rows, float* logits, ThreadPool& pool) {
  const int64_t n_out = output_rows(batch, x, n_embd, norm, eps, rows);
  if (n_out) kernels::matmul(out, rows.data(), n_embd, n_out, logits, out.n_rows, pool);
}

}  // namespace frugal
