// DeepSeekMoE's differentiable pieces. Which experts a token uses is decided outside the tape
// (by the engine's own moe_route, so training and inference route identically); what is
// differentiated is how the chosen experts' outputs are weighted.
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "train/ops.h"

namespace frugal::train {

Id moe_gate(Tape& t, Id scores, std::shared_ptr<const std::vector<int32_t>> ids, int64_t k, bool norm, float scale) {
  const int64_t T = t.rows(scores), N = t.cols(scores);
  if (int64_t(ids->size()) != T * k) fail("internal: moe_gate: %zu ids for %lld tokens x %lld", ids->size(), (long long)T, (long long)k);
  const Id w = t.op(T, k, {scores});
  const float* s = t.val(scores);
  float* vw = t.val(w);
  for (int64_t r = 0; r < T; ++r) {
    float sum = 0;
    for (int64_t j = 0; j < k; ++j) sum += vw[r * k + j] = s[r * N + (*ids)[size_t(r * k + j)]];
    const float f = (norm ? 1.f / sum : 1.f) * scale;
    for (int64_t j = 0; j < k; ++j) vw[r * k + j] *= f;
  }
  t.set_backward(w, [&t, scores, w, ids, T, N, k, norm, scale] {
    float* ds = t.grad(scores);
    if (!ds) return;
    const float *s = t.val(scores), *g = t.grad(w);
    for (int64_t r = 0; r < T; ++r) {
      const int32_t* id = ids->data() + r * k;
      if (!norm) {
        for (int64_t j = 0; j < k; ++j) ds[r * N + id[j]] += scale * g[r * k + j];
        continue;
      }
      // w_j = c s_j / S, S = sum of the selected s: dw_j/ds_m = c (δ_jm / S - s_j / S²).
      float S = 0, gs = 0;
      for (int64_t j = 0; j < k; ++j) S += s[r * N + id[j]];
      for (int64_t j = 0; j < k; ++j) gs += g[r * k + j] * s[r * N + id[j]];
      for (int64_t m = 0; m < k; ++m) ds[r * N + id[m]] += scale / S * (g[r * k + m] - gs / S);
    }
  });
  return w;
}

Id moe_combine(Tape& t, Id base, const std::vector<Id>& y, std::shared_ptr<const std::vector<std::vector<int32_t>>> rows_of,
               Id weights, int64_t k) {
  const int64_t T = t.rows(weights);
  int64_t E = base >= 0 ? t.cols(base) : -1;
  for (Id e : y)
    if (e >= 0) E = t.cols(e);
  if (E < 0) fail("internal: moe_combine: nothing to combine");
  if (y.size() != rows_of->size()) fail("internal: moe_combine: %zu outputs for %zu experts", y.size(), rows_of->size());
  std::vector<Id> inputs{weights};
  if (base >= 0) inputs.push_back(base);
  for (Id e : y)
    if (e >= 0) inputs.push_back(e);
  const Id out = t.op(T, E, inputs);
  float* vo = t.val(out);
  if (base >= 0) std::memcpy(vo, t.val(base), size_t(T * E) * 4);
  else std::memset(vo, 0, size_t(T * E) * 4);
  const float* vw = t.val(weights);
  // Experts in order, rows in order: a fixed summation order per token.
  for (size_t e = 0; e < y.size(); ++e) {
    if (y[e] < 0) continue;
    const float* ye = t.val(y[e]);
    const auto& rows = (*rows_of)[e];
    for (size_t i = 0; i < rows.size(); ++i) {
      const float wt = vw[rows[i]];
      float* o = vo + (rows[i] / k) * E;
      for (int64_t c = 0; c < E; ++c) o[c] += wt * ye[int64_t(i) * E + c];
    }
  }
  t.set_backward(out, [&t, base, y, rows_of, weights, k, T, E, out] {
    const float* dout = t.grad(out);
    if (float* db = base >= 0 ? t.grad(base) : nullptr)
      for (int64_t i = 0; i < T * E; ++i) db[i] += dout[i];
    float* dw = t.grad(weights);
    const float* vw = t.val(weights);
    for (size_t e = 0; e < y.size(); ++e) {
      if (y[e] < 0) continue;
      const float* ye = t.val(y[e]);
      float* dy = t.grad(y[e]);
      const auto& rows = (*rows_of)[e];
      for (size_t i = 0; i < rows.size(); ++i) {
        const float* g = dout + (rows[i] / k) * E;
        if (dy)
          for (int64_t c = 0; c < E; ++c) dy[int64_t(i) * E + c] += vw[rows[i]] * g[c];
        if (dw) {
          float d = 0;
          for (int64_t c = 0; c < E; ++c) d += g[c] * ye[int64_t(i) * E + c];
          dw[rows[i]] += d;
        }
      }
    }
  });
  return out;
}

Id balance_loss(Tape& t, Id scores, std::shared_ptr<const std::vector<int32_t>> ids, int64_t k,
                std::shared_ptr<const Segments> seg, float alpha) {
  const int64_t N = t.cols(scores);
  const Id out = t.op(1, 1, {scores});
  // f[seq][i] (fraction of the sequence's choices, scaled by N / k) is a constant of the loss.
  auto f = std::make_shared<std::vector<float>>(size_t(seg->n_seq() * N), 0.f);
  const float* s = t.val(scores);
  double loss = 0;
  for (int64_t q = 0; q < seg->n_seq(); ++q) {
    const int64_t t0 = seg->start[size_t(q)], t1 = seg->start[size_t(q) + 1], L = t1 - t0;
    float* fq = f->data() + q * N;
    for (int64_t r = t0; r < t1; ++r)
      for (int64_t j = 0; j < k; ++j) fq[(*ids)[size_t(r * k + j)]] += float(N) / float(k * L);
    for (int64_t r = t0; r < t1; ++r) {
      float S = 0;
      for (int64_t i = 0; i < N; ++i) S += s[r * N + i];
      for (int64_t i = 0; i < N; ++i) loss += double(alpha) * fq[i] * s[r * N + i] / S / double(L);
    }
  }
  t.val(out)[0] = float(loss);
  t.set_backward(out, [&t, scores, out, seg, f, alpha, N] {
    float* ds = t.grad(scores);
    if (!ds) return;
    const float g = t.grad(out)[0], *s = t.val(scores);
    for (int64_t q = 0; q < seg->n_seq(); ++q) {
      const int64_t t0 = seg->start[size_t(q)], t1 = seg->start[size_t(q) + 1], L = t1 - t0;
      const float* fq = f->data() + q * N;
      for (int64_t r = t0; r < t1; ++r) {
        // d/ds_m of sum_i c_i s_i / S with c_i = alpha f_i / L: (c_m - sum_i c_i s_i / S) / S.
        float S = 0, cs = 0;
        for (int64_t i = 0; i < N; ++i) S += s[r * N + i];
        for (int64_t i = 0; i < N; ++i) cs += alpha * fq[i] / float(L) * s[r * N + i];
        for (int64_t m = 0; m < N; ++m) ds[r * N + m] += g * (alpha * fq[m] / float(L) - cs / S) / S;
      }
    }
  });
  return out;
}

}  // namespace frugal::train
