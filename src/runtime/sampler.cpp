#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>

namespace frugal {

Sampler::Sampler(const SamplerParams& p, int32_t n_vocab) : p_(p), n_vocab_(n_vocab), rng_(p.seed) {
  cands_.reserve(size_t(n_vocab));
}

void Sampler::reset() {
  rng_ = Rng(p_.seed);
  history_.clear();
}

void Sampler::accept(int32_t token) { history_.push_back(token); }

int32_t Sampler::sample(const float* logits) {
  cands_.resize(size_t(n_vocab_));
  for (int32_t i = 0; i < n_vocab_; ++i) cands_[size_t(i)] = {i, logits[i]};

  const bool penalize = p_.repeat_penalty != 1.0f || p_.presence_penalty != 0 || p_.frequency_penalty != 0;
  if (penalize && !history_.empty()) {
    counts_.clear();
    size_t start = p_.penalty_last_n < 0 || size_t(p_.penalty_last_n) >= history_.size()
                       ? 0
                       : history_.size() - size_t(p_.penalty_last_n);
    for (size_t i = start; i < history_.size(); ++i) ++counts_[history_[i]];
    for (auto [id, n] : counts_) {
      if (id < 0 || id >= n_vocab_) continue;
      float& l = cands_[size_t(id)].logit;
      l = l > 0 ? l / p_.repeat_penalty : l * p_.repeat_penalty;
      l -= p_.presence_penalty + p_.frequency_penalty * float(n);
    }
  }

  int32_t result;
  if (p_.temperature <= 0) {
    // Greedy; ties go to the lowest id, so results do not depend on the sort.
    result = std::max_element(cands_.begin(), cands_.end(),
                              [](const Cand& a, const Cand& b) { return a.logit < b.logit; })
                 ->id;
  } else {
    size_t n = cands_.size();
    auto by_logit = [](const Cand& a, const Cand& b) { return a.logit > b.logit || (a.logit == b.logit && a.id < b.id); };
    if (p_.top_k > 0 && size_t(p_.top_k) < n) {
      std::partial_sort(cands_.begin(), cands_.begin() + p_.top_k, cands_.end(), by_logit);
      n = size_t(p_.top_k);
    } else {
      std::sort(cands_.begin(), cands_.end(), by_logit);
    }
    // Probabilities at temperature; cands_[0..n) sorted descending.
    std::vector<double> prob(n);
    const double inv_t = 1.0 / double(p_.temperature);
    double sum = 0;
    for (size_t i = 0; i < n; ++i) sum += prob[i] = std::exp((double(cands_[i].logit) - cands_[0].logit) * inv_t);
    for (auto& pr : prob) pr /= sum;
    if (p_.min_p > 0) {
      size_t keep = 1;
      while (keep < n && prob[keep] >= double(p_.min_p) * prob[0]) ++keep;
      n = keep;
    }
    if (p_.top_p < 1) {
      double cum = 0;
      size_t keep = 0;
      while (keep < n) {
        cum += prob[keep++];
        if (cum >= double(p_.top_p)) break;
      }
      n = keep;
    }
    double total = 0;
    for (size_t i = 0; i < n; ++i) total += prob[i];
    double r = rng_.uniform() * total;
    result = cands_[n - 1].id;
    for (size_t i = 0; i < n; ++i) {
      r -= prob[i];
      if (r < 0) {
        result = cands_[i].id;
        break;
      }
    }
  }
  history_.push_back(result);
  return result;
}

}  // namespace frugal
