#include "train/optimizer.h"

#include <cmath>

namespace frugal::train {

float scheduled_lr(const AdamConfig& c, int64_t step, int64_t total) {
  const int64_t warm = int64_t(std::ceil(double(c.warmup_frac) * double(total)));
  if (step < warm) return c.lr * float(step + 1) / float(warm);
  const double span = double(std::max<int64_t>(1, total - warm));
  const double p = std::min(1.0, double(step - warm) / span);
  const double cosine = 0.5 * (1 + std::cos(M_PI * p));
  return float(c.lr * (c.min_lr_frac + (1 - c.min_lr_frac) * cosine));
}

AdamW::AdamW(ParamSet& ps, const AdamConfig& c) : ps_(ps), c_(c) {
  for (auto& p : ps_.all()) {
    m_.emplace_back(p->trainable ? p->w.size() : 0, 0.f);
    v_.emplace_back(p->trainable ? p->w.size() : 0, 0.f);
  }
}

double AdamW::step(float lr) {
  double sq = 0;
  for (auto& p : ps_.all())
    if (p->trainable)
      for (float g : p->g) sq += double(g) * g;
  const double norm = std::sqrt(sq);
  const float clip = c_.clip > 0 && norm > c_.clip ? float(c_.clip / norm) : 1.f;
  ++t_;
  const float b1 = c_.beta1, b2 = c_.beta2;
  const float bc1 = 1.f - float(std::pow(double(b1), double(t_))), bc2 = 1.f - float(std::pow(double(b2), double(t_)));
  auto& all = ps_.all();
  for (size_t i = 0; i < all.size(); ++i) {
    Param& p = *all[i];
    if (!p.trainable) continue;
    float *w = p.w.data(), *m = m_[i].data(), *v = v_[i].data();
    const float* g = p.g.data();
    const float decay = p.decay ? lr * c_.weight_decay : 0.f;
    for (size_t j = 0; j < p.w.size(); ++j) {
      const float gj = g[j] * clip;
      m[j] = b1 * m[j] + (1 - b1) * gj;
      v[j] = b2 * v[j] + (1 - b2) * gj * gj;
      w[j] -= lr * (m[j] / bc1) / (std::sqrt(v[j] / bc2) + c_.eps) + decay * w[j];
    }
  }
  return norm;
}

}  // namespace frugal::train
