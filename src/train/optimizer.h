// AdamW with decoupled weight decay (Loshchilov & Hutter), a linear warm-up then cosine decay
// of the learning rate, and clipping of the global gradient norm. The moments live here, by
// parameter, so a checkpoint can store them and a resumed run continues bit for bit.
#pragma once
#include <cstdint>
#include <vector>

#include "train/params.h"

namespace frugal::train {

struct AdamConfig {
  float lr = 1e-3f;
  float min_lr_frac = 0.1f;  // the cosine ends at lr * min_lr_frac
  float warmup_frac = 0.05f;
  float beta1 = 0.9f, beta2 = 0.95f, eps = 1e-8f;
  float weight_decay = 0.1f;
  float clip = 1.0f;  // global gradient norm; <= 0: off
};

// lr at step (0-based) of total.
float scheduled_lr(const AdamConfig& c, int64_t step, int64_t total);

class AdamW {
 public:
  AdamW(ParamSet& ps, const AdamConfig& c);
  // Clips, then updates every trainable parameter from its gradient with learning rate lr;
  // returns the gradient norm before clipping. Gradients are left as they were.
  double step(float lr);
  int64_t t() const { return t_; }
  void set_t(int64_t t) { t_ = t; }
  std::vector<float>& m(size_t i) { return m_[i]; }
  std::vector<float>& v(size_t i) { return v_[i]; }

 private:
  ParamSet& ps_;
  AdamConfig c_;
  int64_t t_ = 0;
  std::vector<std::vector<float>> m_, v_;  // per parameter of ps (empty for buffers)
};

}  // namespace frugal::train
