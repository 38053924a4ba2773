#include "train/ops.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "kernels/sgemm.h"
#include "train/ops_util.h"

namespace frugal::train {

int64_t Segments::max_len() const {
  int64_t m = 0;
  for (size_t i = 1; i < start.size(); ++i) m = std::max(m, start[i] - start[i - 1]);
  return m;
}

RopeTable make_rope_table(const std::vector<int32_t>& pos, int64_t n_rot, double theta) {
  RopeTable r;
  r.half = n_rot / 2;
  std::vector<float> inv(size_t(r.half));
  for (int64_t i = 0; i < r.half; ++i) inv[size_t(i)] = float(std::pow(theta, -2.0 * double(i) / double(n_rot)));
  r.cos.resize(pos.size() * size_t(r.half));
  r.sin.resize(pos.size() * size_t(r.half));
  for (size_t t = 0; t < pos.size(); ++t)
    for (int64_t i = 0; i < r.half; ++i) {
      // As the engine's kernels::rope_table: the angle in double from an fp32 frequency.
      const double a = double(pos[t]) * double(inv[size_t(i)]);
      r.cos[t * size_t(r.half) + size_t(i)] = float(std::cos(a));
      r.sin[t * size_t(r.half) + size_t(i)] = float(std::sin(a));
    }
  return r;
}

namespace {
std::atomic<uint64_t> g_linear_flops{0}, g_linear_ns{0};

// Runs one linear matmul of 2·a·b·c flops, adding it to the totals.
template <class F>
void timed(int64_t a, int64_t b, int64_t c, F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
  g_linear_flops.fetch_add(uint64_t(2 * a * b * c), std::memory_order_relaxed);
  g_linear_ns.fetch_add(uint64_t(ns), std::memory_order_relaxed);
}
}  // namespace

MatmulTotals linear_totals() {
  return {double(g_linear_flops.load()), double(g_linear_ns.load()) * 1e-9};
}

Id linear(Tape& t, Id x, Id w) {
  const int64_t T = t.rows(x), in = t.cols(x), out = t.rows(w);
  if (t.cols(w) != in) fail("internal: linear: x has %lld columns, w %lld", (long long)in, (long long)t.cols(w));
  const Id y = t.op(T, out, {x, w});
  timed(T, out, in, [&] { kernels::sgemm(false, true, T, out, in, 1.f, t.val(x), in, t.val(w), in, 0.f, t.val(y), out, t.pool()); });
  t.set_backward(y, [&t, x, w, y, T, in, out] {
    const float* dy = t.grad(y);
    if (float* dx = t.grad(x))
      timed(T, in, out, [&] { kernels::sgemm(false, false, T, in, out, 1.f, dy, out, t.val(w), in, 1.f, dx, in, t.pool()); });
    if (float* dw = t.grad(w))
      timed(out, in, T, [&] { kernels::sgemm(true, false, out, in, T, 1.f, dy, out, t.val(x), in, 1.f, dw, in, t.pool()); });
  });
  return y;
}

Id add(Tape& t, Id a, Id b) {
  const int64_t n = t.size(a);
  if (t.size(b) != n) fail("internal: add: sizes differ");
  const Id y = t.op(t.rows(a), t.cols(a), {a, b});
  float *ya = t.val(y);
  const float *va = t.val(a), *vb = t.val(b);
  for_range(t.pool(), n, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) ya[i] = va[i] + vb[i];
  });
  t.set_backward(y, [&t, a, b, y, n] {
    const float* dy = t.grad(y);
    for (Id in : {a, b})
      if (float* d = t.grad(in))
        for_range(t.pool(), n, [&](int64_t i0, int64_t i1) {
          for (int64_t i = i0; i < i1; ++i) d[i] += dy[i];
        });
  });
  return y;
}

Id add_bias(Tape& t, Id x, Id b) {
  const int64_t T = t.rows(x), C = t.cols(x);
  if (t.size(b) != C) fail("internal: add_bias: bias has %lld values for %lld columns", (long long)t.size(b), (long long)C);
  const Id y = t.op(T, C, {x, b});
  const float *vx = t.val(x), *vb = t.val(b);
  float* vy = t.val(y);
  for (int64_t r = 0; r < T; ++r)
    for (int64_t c = 0; c < C; ++c) vy[r * C + c] = vx[r * C + c] + vb[c];
  t.set_backward(y, [&t, x, b, y, T, C] {
    const float* dy = t.grad(y);
    if (float* dx = t.grad(x))
      for (int64_t i = 0; i < T * C; ++i) dx[i] += dy[i];
    if (float* db = t.grad(b))
      for (int64_t r = 0; r < T; ++r)
        for (int64_t c = 0; c < C; ++c) db[c] += dy[r * C + c];
  });
  return y;
}

Id scale(Tape& t, Id x, float s) {
  const int64_t n = t.size(x);
  const Id y = t.op(t.rows(x), t.cols(x), {x});
  for (int64_t i = 0; i < n; ++i) t.val(y)[i] = t.val(x)[i] * s;
  t.set_backward(y, [&t, x, y, n, s] {
    if (float* dx = t.grad(x))
      for (int64_t i = 0; i < n; ++i) dx[i] += s * t.grad(y)[i];
  });
  return y;
}

Id rms_norm(Tape& t, Id x, Id w, float eps) {
  const int64_t T = t.rows(x), C = t.cols(x);
  if (t.size(w) != C) fail("internal: rms_norm: weight has %lld values for %lld columns", (long long)t.size(w), (long long)C);
  const Id y = t.op(T, C, {x, w});
  float* rstd = t.scratch(T);
  const float *vx = t.val(x), *vw = t.val(w);
  float* vy = t.val(y);
  for_range(t.pool(), T, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = vx + r * C;
      // As kernels::rms_norm (the engine's): the sum of squares in double.
      double ss = 0;
      for (int64_t c = 0; c < C; ++c) ss += double(xr[c]) * xr[c];
      const float s = float(1.0 / std::sqrt(ss / double(C) + double(eps)));
      rstd[r] = s;
      for (int64_t c = 0; c < C; ++c) vy[r * C + c] = xr[c] * s * vw[c];
    }
  });
  t.set_backward(y, [&t, x, w, y, T, C, rstd] {
    const float *dy = t.grad(y), *vx = t.val(x), *vw = t.val(w);
    if (float* dx = t.grad(x))
      for_range(t.pool(), T, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          const float *xr = vx + r * C, *g = dy + r * C;
          const float s = rstd[r];
          // y = x s w with s = (mean x² + eps)^-1/2: dx = s (g w) - s³ x mean(g w x).
          double dot = 0;
          for (int64_t c = 0; c < C; ++c) dot += double(g[c]) * vw[c] * xr[c];
          const float k = float(dot / double(C)) * s * s * s;
          for (int64_t c = 0; c < C; ++c) dx[r * C + c] += s * g[c] * vw[c] - k * xr[c];
        }
      });
    if (float* dw = t.grad(w))
      reduce_rows(t.pool(), T, C, dw, [&](int64_t r0, int64_t r1, float* acc) {
        for (int64_t r = r0; r < r1; ++r)
          for (int64_t c = 0; c < C; ++c) acc[c] += dy[r * C + c] * vx[r * C + c] * rstd[r];
      });
  });
  return y;
}

Id swiglu(Tape& t, Id g, Id u) {
  const int64_t n = t.size(g);
  if (t.size(u) != n) fail("internal: swiglu: sizes differ");
  const Id y = t.op(t.rows(g), t.cols(g), {g, u});
  const float *vg = t.val(g), *vu = t.val(u);
  float* vy = t.val(y);
  for_range(t.pool(), n, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) vy[i] = vg[i] / (1.f + std::exp(-vg[i])) * vu[i];
  });
  t.set_backward(y, [&t, g, u, y, n] {
    const float *dy = t.grad(y), *vg = t.val(g), *vu = t.val(u);
    float *dg = t.grad(g), *du = t.grad(u);
    for_range(t.pool(), n, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        const float s = 1.f / (1.f + std::exp(-vg[i]));
        if (dg) dg[i] += dy[i] * vu[i] * s * (1.f + vg[i] * (1.f - s));
        if (du) du[i] += dy[i] * vg[i] * s;
      }
    });
  });
  return y;
}

Id sigmoid(Tape& t, Id x) {
  const int64_t n = t.size(x);
  const Id y = t.op(t.rows(x), t.cols(x), {x});
  for (int64_t i = 0; i < n; ++i) t.val(y)[i] = 1.f / (1.f + std::exp(-t.val(x)[i]));
  t.set_backward(y, [&t, x, y, n] {
    if (float* dx = t.grad(x))
      for (int64_t i = 0; i < n; ++i) {
        const float s = t.val(y)[i];
        dx[i] += t.grad(y)[i] * s * (1.f - s);
      }
  });
  return y;
}

Id concat_cols(Tape& t, Id a, Id b) {
  const int64_t T = t.rows(a), ca = t.cols(a), cb = t.cols(b);
  if (t.rows(b) != T) fail("internal: concat_cols: rows differ");
  const Id y = t.op(T, ca + cb, {a, b});
  for (int64_t r = 0; r < T; ++r) {
    std::memcpy(t.val(y) + r * (ca + cb), t.val(a) + r * ca, size_t(ca) * 4);
    std::memcpy(t.val(y) + r * (ca + cb) + ca, t.val(b) + r * cb, size_t(cb) * 4);
  }
  t.set_backward(y, [&t, a, b, y, T, ca, cb] {
    const float* dy = t.grad(y);
    if (float* da = t.grad(a))
      for (int64_t r = 0; r < T; ++r)
        for (int64_t c = 0; c < ca; ++c) da[r * ca + c] += dy[r * (ca + cb) + c];
    if (float* db = t.grad(b))
      for (int64_t r = 0; r < T; ++r)
        for (int64_t c = 0; c < cb; ++c) db[r * cb + c] += dy[r * (ca + cb) + ca + c];
  });
  return y;
}

Id gather_cols(Tape& t, Id x, std::shared_ptr<const std::vector<int32_t>> idx) {
  const int64_t T = t.rows(x), C = t.cols(x), n = int64_t(idx->size());
  for (int32_t j : *idx)
    if (j < 0 || j >= C) fail("internal: gather_cols: column %d of %lld", j, (long long)C);
  const Id y = t.op(T, n, {x});
  const float* vx = t.val(x);
  float* vy = t.val(y);
  for_range(t.pool(), T, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t j = 0; j < n; ++j) vy[r * n + j] = vx[r * C + (*idx)[size_t(j)]];
  });
  t.set_backward(y, [&t, x, y, T, C, n, idx] {
    float* dx = t.grad(x);
    if (!dx) return;
    const float* dy = t.grad(y);
    for_range(t.pool(), T, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t j = 0; j < n; ++j) dx[r * C + (*idx)[size_t(j)]] += dy[r * n + j];
    });
  });
  return y;
}

Id gather_rows(Tape& t, Id x, std::shared_ptr<const std::vector<int32_t>> rows) {
  const int64_t R = t.rows(x), C = t.cols(x), n = int64_t(rows->size());
  for (int32_t r : *rows)
    if (r < 0 || r >= R) fail("internal: gather_rows: row %d of %lld", r, (long long)R);
  const Id y = t.op(n, C, {x});
  for (int64_t i = 0; i < n; ++i) std::memcpy(t.val(y) + i * C, t.val(x) + (*rows)[size_t(i)] * C, size_t(C) * 4);
  t.set_backward(y, [&t, x, y, C, n, rows] {
    float* dx = t.grad(x);
    if (!dx) return;
    const float* dy = t.grad(y);
    // Serial: rows may repeat, and a fixed order keeps the sums deterministic.
    for (int64_t i = 0; i < n; ++i) {
      float* d = dx + (*rows)[size_t(i)] * C;
      for (int64_t c = 0; c < C; ++c) d[c] += dy[i * C + c];
    }
  });
  return y;
}

Id embed(Tape& t, Id table, std::shared_ptr<const std::vector<int32_t>> ids) { return gather_rows(t, table, std::move(ids)); }

Id rope(Tape& t, Id x, int64_t n_head, int64_t head_dim, int64_t off, int64_t n_rot,
        std::shared_ptr<const RopeTable> table, bool neox) {
  const int64_t T = t.rows(x), C = t.cols(x), half = n_rot / 2;
  if (C != n_head * head_dim || off + n_rot > head_dim || table->half != half ||
      int64_t(table->cos.size()) != T * half)
    fail("internal: rope: shape mismatch");
  const Id y = t.op(T, C, {x});
  // Rotation by +angle forward; its transpose (-angle) backward.
  auto rotate = [T, C, n_head, head_dim, off, half, neox, table](const float* in, float* out, float sign, bool accumulate,
                                                                 ThreadPool& pool) {
    for_range(pool, T, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const float *cs = table->cos.data() + r * half, *sn = table->sin.data() + r * half;
        for (int64_t h = 0; h < n_head; ++h) {
          const float* a = in + r * C + h * head_dim;
          float* o = out + r * C + h * head_dim;
          float tmp[512];
          for (int64_t c = 0; c < head_dim; ++c) tmp[c] = a[c];
          for (int64_t i = 0; i < half; ++i) {
            const int64_t i0 = off + (neox ? i : 2 * i), i1 = off + (neox ? i + half : 2 * i + 1);
            const float x0 = a[i0], x1 = a[i1], c = cs[i], s = sign * sn[i];
            tmp[i0] = x0 * c - x1 * s;
            tmp[i1] = x0 * s + x1 * c;
          }
          for (int64_t c = 0; c < head_dim; ++c) o[c] = accumulate ? o[c] + tmp[c] : tmp[c];
        }
      }
    });
  };
  if (head_dim > 512) fail("internal: rope: head_dim %lld > 512", (long long)head_dim);
  rotate(t.val(x), t.val(y), 1.f, false, t.pool());
  t.set_backward(y, [&t, x, y, rotate] {
    if (float* dx = t.grad(x)) rotate(t.grad(y), dx, -1.f, true, t.pool());
  });
  return y;
}

Id token_logprobs(Tape& t, Id logits, std::shared_ptr<const std::vector<int32_t>> targets) {
  const int64_t T = t.rows(logits), V = t.cols(logits);
  if (int64_t(targets->size()) != T) fail("internal: token_logprobs: %zu targets for %lld rows", targets->size(), (long long)T);
  const Id y = t.op(T, 1, {logits});
  float* lse = t.scratch(T);
  const float* vl = t.val(logits);
  float* vy = t.val(y);
  for_range(t.pool(), T, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* l = vl + r * V;
      float m = l[0];
      for (int64_t j = 1; j < V; ++j) m = std::max(m, l[j]);
      double s = 0;
      for (int64_t j = 0; j < V; ++j) s += std::exp(double(l[j] - m));
      lse[r] = m + float(std::log(s));
      const int32_t tg = (*targets)[size_t(r)];
      if (tg >= V) fail("internal: target %d >= vocabulary %lld", tg, (long long)V);
      vy[r] = tg >= 0 ? l[tg] - lse[r] : 0.f;
    }
  });
  t.set_backward(y, [&t, logits, y, T, V, lse, targets] {
    float* dl = t.grad(logits);
    if (!dl) return;
    const float *dy = t.grad(y), *vl = t.val(logits);
    for_range(t.pool(), T, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const int32_t tg = (*targets)[size_t(r)];
        if (tg < 0 || dy[r] == 0.f) continue;
        const float g = dy[r];
        for (int64_t j = 0; j < V; ++j) dl[r * V + j] -= g * std::exp(vl[r * V + j] - lse[r]);
        dl[r * V + tg] += g;
      }
    });
  });
  return y;
}

Id weighted_sum(Tape& t, Id x, std::shared_ptr<const std::vector<float>> w) {
  const int64_t n = t.size(x);
  if (int64_t(w->size()) != n) fail("internal: weighted_sum: %zu weights for %lld values", w->size(), (long long)n);
  const Id y = t.op(1, 1, {x});
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += double((*w)[size_t(i)]) * t.val(x)[i];
  t.val(y)[0] = float(s);
  t.set_backward(y, [&t, x, y, n, w] {
    if (float* dx = t.grad(x))
      for (int64_t i = 0; i < n; ++i) dx[i] += t.grad(y)[0] * (*w)[size_t(i)];
  });
  return y;
}

}  // namespace frugal::train
