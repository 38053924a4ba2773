// Causal attention over packed sequences, one work item per (sequence, key/value head): the
// query heads of a GQA group write only their own rows of dq and share dk/dv, so items never
// race. Scores are formed per item as a [L, L] product (L <= the longest sequence, a few
// hundred tokens here); only the log-sum-exp per (token, head) is kept for the backward.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "kernels/sgemm.h"
#include "train/ops.h"
#include "train/ops_util.h"

namespace frugal::train {

namespace {

struct AttnShape {
  int64_t H, Hk, dk, dv, T;
  float scale;
};

// Runs fn(seq, kv_head, scratch) over every item, items taken in order by whichever thread is
// free (results do not depend on which thread ran an item).
template <class F>
void for_items(ThreadPool& pool, const Segments& seg, int64_t Hk, int64_t scratch_floats, F&& fn) {
  const int64_t n = seg.n_seq() * Hk;
  std::atomic<int64_t> next{0};
  pool.run([&](int, int) {
    thread_local std::vector<float> buf;
    if (int64_t(buf.size()) < scratch_floats) buf.resize(size_t(scratch_floats));
    for (int64_t i; (i = next.fetch_add(1)) < n;) fn(i / Hk, i % Hk, buf.data());
  });
}

// P = softmax(scale q kᵀ) with causal mask for the L rows of one head; writes lse.
void probs(const AttnShape& s, const float* q, const float* k, int64_t L, float* P, float* lse_col, int64_t lse_stride) {
  kernels::sgemm(false, true, L, L, s.dk, s.scale, q, s.H * s.dk, k, s.Hk * s.dk, 0.f, P, L, serial_pool());
  for (int64_t i = 0; i < L; ++i) {
    float* p = P + i * L;
    float m = p[0];
    for (int64_t j = 1; j <= i; ++j) m = std::max(m, p[j]);
    float sum = 0;
    for (int64_t j = 0; j <= i; ++j) sum += p[j] = std::exp(p[j] - m);
    const float inv = 1.f / sum;
    for (int64_t j = 0; j <= i; ++j) p[j] *= inv;
    std::fill(p + i + 1, p + L, 0.f);
    if (lse_col) lse_col[i * lse_stride] = m + std::log(sum);
  }
}

// Recomputes P from the saved log-sum-exp (bit-identical to the forward's normalisation is not
// needed: the gradient only has to be the derivative of the forward to fp32 accuracy).
void probs_from_lse(const AttnShape& s, const float* q, const float* k, int64_t L, float* P, const float* lse_col,
                    int64_t lse_stride) {
  kernels::sgemm(false, true, L, L, s.dk, s.scale, q, s.H * s.dk, k, s.Hk * s.dk, 0.f, P, L, serial_pool());
  for (int64_t i = 0; i < L; ++i) {
    float* p = P + i * L;
    const float l = lse_col[i * lse_stride];
    for (int64_t j = 0; j <= i; ++j) p[j] = std::exp(p[j] - l);
    std::fill(p + i + 1, p + L, 0.f);
  }
}

}  // namespace

Id attention(Tape& t, Id q, Id k, Id v, int64_t n_head, int64_t n_head_kv, int64_t dk, int64_t dv,
             std::shared_ptr<const Segments> seg, float scale) {
  const int64_t T = t.rows(q);
  if (n_head % n_head_kv || t.cols(q) != n_head * dk || t.cols(k) != n_head_kv * dk || t.cols(v) != n_head_kv * dv ||
      t.rows(k) != T || t.rows(v) != T || seg->n_tok() != T)
    fail("internal: attention: shape mismatch");
  const AttnShape s{n_head, n_head_kv, dk, dv, T, scale};
  const int64_t group = n_head / n_head_kv, Lmax = seg->max_len();
  const Id o = t.op(T, n_head * dv, {q, k, v});
  float* lse = t.scratch(T * n_head);  // [T, H]
  const float *vq = t.val(q), *vk = t.val(k), *vv = t.val(v);
  float* vo = t.val(o);
  for_items(t.pool(), *seg, n_head_kv, Lmax * Lmax, [&](int64_t sq, int64_t kh, float* P) {
    const int64_t t0 = seg->start[size_t(sq)], L = seg->start[size_t(sq) + 1] - t0;
    for (int64_t h = kh * group; h < (kh + 1) * group; ++h) {
      probs(s, vq + t0 * n_head * dk + h * dk, vk + t0 * n_head_kv * dk + kh * dk, L, P, lse + t0 * n_head + h, n_head);
      kernels::sgemm(false, false, L, dv, L, 1.f, P, L, vv + t0 * n_head_kv * dv + kh * dv, n_head_kv * dv, 0.f,
                     vo + t0 * n_head * dv + h * dv, n_head * dv, serial_pool());
    }
  });
  t.set_backward(o, [&t, q, k, v, o, s, seg, lse, group, Lmax] {
    const float *vq = t.val(q), *vk = t.val(k), *vv = t.val(v), *vo = t.val(o), *dO = t.grad(o);
    float *dq = t.grad(q), *dk = t.grad(k), *dvv = t.grad(v);
    const int64_t H = s.H, Hk = s.Hk, Dk = s.dk, Dv = s.dv;
    for_items(t.pool(), *seg, Hk, 2 * Lmax * Lmax + Lmax, [&](int64_t sq, int64_t kh, float* buf) {
      const int64_t t0 = seg->start[size_t(sq)], L = seg->start[size_t(sq) + 1] - t0;
      float *P = buf, *dP = buf + Lmax * Lmax, *D = buf + 2 * Lmax * Lmax;
      const float* kk = vk + t0 * Hk * Dk + kh * Dk;
      const float* vvh = vv + t0 * Hk * Dv + kh * Dv;
      for (int64_t h = kh * group; h < (kh + 1) * group; ++h) {
        const float* qh = vq + t0 * H * Dk + h * Dk;
        const float* doh = dO + t0 * H * Dv + h * Dv;
        const float* oh = vo + t0 * H * Dv + h * Dv;
        probs_from_lse(s, qh, kk, L, P, lse + t0 * H + h, H);
        if (dvv)  // dV += Pᵀ dO
          kernels::sgemm(true, false, L, Dv, L, 1.f, P, L, doh, H * Dv, 1.f, dvv + t0 * Hk * Dv + kh * Dv, Hk * Dv,
                         serial_pool());
        if (!dq && !dk) continue;
        // dP = dO Vᵀ; dS = P ∘ (dP - rowsum(dO ∘ O))
        kernels::sgemm(false, true, L, L, Dv, 1.f, doh, H * Dv, vvh, Hk * Dv, 0.f, dP, L, serial_pool());
        for (int64_t i = 0; i < L; ++i) {
          float d = 0;
          for (int64_t c = 0; c < Dv; ++c) d += doh[i * H * Dv + c] * oh[i * H * Dv + c];
          D[i] = d;
        }
        for (int64_t i = 0; i < L; ++i)
          for (int64_t j = 0; j < L; ++j) dP[i * L + j] = j <= i ? P[i * L + j] * (dP[i * L + j] - D[i]) : 0.f;
        if (dq)
          kernels::sgemm(false, false, L, Dk, L, s.scale, dP, L, kk, Hk * Dk, 1.f, dq + t0 * H * Dk + h * Dk, H * Dk,
                         serial_pool());
        if (dk)
          kernels::sgemm(true, false, L, Dk, L, s.scale, dP, L, qh, H * Dk, 1.f, dk + t0 * Hk * Dk + kh * Dk, Hk * Dk,
                         serial_pool());
      }
    });
  });
  return o;
}

}  // namespace frugal::train
