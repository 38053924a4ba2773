// Finite-difference checks of the trainer's backward passes. The loss is sum(R ∘ out) with a
// fixed random R; each checked parameter element is moved by ±h and ±2h. The bound is derived
// from the data, not picked: Richardson's estimate of the truncation error |fd(h) - fd(2h)|,
// plus the fp32 rounding of the loss (its terms' magnitude x eps / h), plus 1e-3 relative.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "core/rng.h"
#include "train/ops.h"
#include "train/params.h"
#include "train/tape.h"

namespace frugal::test {

using train::Id;
using train::Tape;

struct GradCheckResult {
  int checked = 0, failed = 0;
  double worst_ratio = 0;  // max |fd - analytic| / bound
};

// build(t) records the forward on t and returns its output. Every trainable parameter of `ps`
// is checked at up to `per_param` elements (spread over the tensor).
inline GradCheckResult grad_check(train::ParamSet& ps, const std::function<Id(Tape&)>& build, ThreadPool& pool,
                                  int per_param = 24, float h = 5e-3f, uint64_t seed = 7) {
  Tape t(pool);
  std::vector<float> R;
  double l1 = 0;
  auto loss = [&](bool backward) {
    t.clear();
    const Id out = build(t);
    const int64_t n = t.size(out);
    if (R.empty()) {
      R.resize(size_t(n));
      fill_normal(R.data(), n, seed, 0.f, 1.f);
    }
    double s = 0, a = 0;
    for (int64_t i = 0; i < n; ++i) {
      s += double(R[size_t(i)]) * t.val(out)[i];
      a += std::fabs(double(R[size_t(i)]) * t.val(out)[i]);
    }
    l1 = a;
    if (backward) t.backward(out, R.data());
    return s;
  };
  ps.zero_grad();
  loss(true);
  std::vector<std::vector<float>> analytic;
  for (auto& p : ps.all()) analytic.push_back(p->g);
  GradCheckResult res;
  for (size_t pi = 0; pi < ps.all().size(); ++pi) {
    train::Param& p = *ps.all()[pi];
    if (!p.trainable) continue;
    const int64_t n = p.numel(), step = std::max<int64_t>(1, n / per_param);
    for (int64_t i = (int64_t(pi) * 7) % step; i < n; i += step) {
      const float w0 = p.w[size_t(i)];
      auto at = [&](float d) {
        p.w[size_t(i)] = w0 + d;
        const double v = loss(false);
        p.w[size_t(i)] = w0;
        return v;
      };
      const double fd1 = (at(h) - at(-h)) / (2.0 * h), fd2 = (at(2 * h) - at(-2 * h)) / (4.0 * h);
      const double an = analytic[pi][size_t(i)];
      const double bound = 3 * std::fabs(fd1 - fd2) + 8 * 6e-8 * l1 / h + 1e-3 * std::fabs(an) + 1e-6;
      const double err = std::fabs(fd1 - an);
      ++res.checked;
      res.worst_ratio = std::max(res.worst_ratio, err / bound);
      if (err > bound) {
        ++res.failed;
        ADD_FAILURE() << p.name << "[" << i << "]: analytic " << an << ", finite difference " << fd1 << " (2h: " << fd2
                      << "), bound " << bound;
      }
    }
  }
  return res;
}

inline void randomize(train::ParamSet& ps, uint64_t seed, float std = 1.f) {
  for (auto& p : ps.all()) fill_normal(p->w.data(), p->numel(), hash_name(p->name) ^ seed, 0.f, std);
}

}  // namespace frugal::test
