#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "kernels/ops.h"

namespace frugal {

namespace {
// The total order of candidates: higher logit first, ties to the lower id.
constexpr struct {
  template <class C>
  bool operator()(const C& a, const C& b) const {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
  }
} by_logit;
}  // namespace

Sampler::Sampler(const SamplerParams& p, int32_t n_vocab) : p_(p), n_vocab_(n_vocab), rng_(p.seed) {
  cands_.reserve(size_t(n_vocab));
}

void Sampler::reset() {
  rng_ = Rng(p_.seed);
  history_.clear();
}

void Sampler::accept(int32_t token) { history_.push_back(token); }

int32_t Sampler::draw(const float* full) {
  size_t n = cands_.size();
  if (p_.top_k > 0 && size_t(p_.top_k) < n) {
    std::nth_element(cands_.begin(), cands_.begin() + p_.top_k, cands_.end(), by_logit);
    n = size_t(p_.top_k);
  }
  // Distribution over cands_[0, n) at the temperature, relative to the best logit.
  float mx = -INFINITY;
  for (size_t i = 0; i < n; ++i) mx = std::max(mx, cands_[i].logit);
  const double inv_t = 1.0 / double(p_.temperature);
  // The mass of the whole distribution, which only top-p needs.
  double z = 0;
  if (p_.top_p < 1) {
    if (full) {
      z = kernels::exp_weights(full, n_vocab_, mx, float(inv_t), nullptr);
    } else {
      for (size_t i = 0; i < n; ++i) z += std::exp((double(cands_[i].logit) - mx) * inv_t);
    }
  }
  // min-p keeps p >= min_p * p_max, i.e. logit >= max + T ln(min_p): a filter, no sort.
  if (p_.min_p > 0) {
    const double cut = double(mx) + double(p_.temperature) * std::log(double(p_.min_p));
    n = size_t(std::partition(cands_.begin(), cands_.begin() + std::ptrdiff_t(n),
                              [&](const Cand& c) { return double(c.logit) >= cut; }) -
               cands_.begin());
  }
  // top-p: the smallest head whose mass reaches top_p. Sort a growing head until it does.
  size_t keep = n;
  if (p_.top_p < 1) {
    for (size_t head = std::min<size_t>(n, 64);; head = std::min(n, head * 4)) {
      std::partial_sort(cands_.begin(), cands_.begin() + std::ptrdiff_t(head), cands_.begin() + std::ptrdiff_t(n), by_logit);
      double cum = 0;
      size_t i = 0;
      while (i < head && cum < double(p_.top_p)) cum += std::exp((double(cands_[i++].logit) - mx) * inv_t) / z;
      if (cum >= double(p_.top_p) || head == n) {
        keep = i;
        break;
      }
    }
  }
  prob_.resize(keep);
  double total = 0;
  for (size_t i = 0; i < keep; ++i) total += prob_[i] = std::exp((double(cands_[i].logit) - mx) * inv_t);
  double r = rng_.uniform() * total;
  for (size_t i = 0; i < keep; ++i) {
    r -= prob_[i];
    if (r < 0) return cands_[i].id;
  }
  return cands_[keep - 1].id;
}

int32_t Sampler::sample(const float* logits) {
  const int32_t t = pick(logits);
  history_.push_back(t);
  return t;
}

int32_t Sampler::pick(const float* logits) {
  const float* l = logits;
  const bool penalize = p_.repeat_penalty != 1.0f || p_.presence_penalty != 0 || p_.frequency_penalty != 0;
  if (penalize && !history_.empty()) {
    counts_.clear();
    size_t start = p_.penalty_last_n < 0 || size_t(p_.penalty_last_n) >= history_.size()
                       ? 0
                       : history_.size() - size_t(p_.penalty_last_n);
    for (size_t i = start; i < history_.size(); ++i) ++counts_[history_[i]];
    penalized_.assign(logits, logits + n_vocab_);
    for (auto [id, n] : counts_) {
      if (id < 0 || id >= n_vocab_) continue;
      float& v = penalized_[size_t(id)];
      v = v > 0 ? v / p_.repeat_penalty : v * p_.repeat_penalty;
      v -= p_.presence_penalty + p_.frequency_penalty * float(n);
    }
    l = penalized_.data();
  }

  // Greedy; ties go to the lowest id, so results do not depend on the sort.
  if (p_.temperature <= 0) return int32_t(std::max_element(l, l + n_vocab_) - l);

  cands_.clear();
  if (p_.top_k > 0 && p_.top_k < n_vocab_) {
    // Only the top_k best can be drawn, so one pass keeps a bounded buffer of candidates no
    // worse than the k-th best seen so far, instead of selecting among all 150k logits (a
    // few tenths of a millisecond per token less, per sequence). The buffer's k best are the
    // vocabulary's k best (an item is dropped only when k others beat it), in canonical order.
    const size_t k = size_t(p_.top_k), cap = std::max<size_t>(4 * k, 1024);
    float thr = -INFINITY;
    for (int32_t i = 0; i < n_vocab_; ++i) {
      if (!(l[i] >= thr)) continue;
      cands_.push_back({i, l[i]});
      if (cands_.size() >= cap) {
        std::nth_element(cands_.begin(), cands_.begin() + std::ptrdiff_t(k - 1), cands_.end(), by_logit);
        cands_.resize(k);
        thr = cands_[k - 1].logit;
      }
    }
    if (cands_.size() > k) {
      std::nth_element(cands_.begin(), cands_.begin() + std::ptrdiff_t(k - 1), cands_.end(), by_logit);
      cands_.resize(k);
    }
    std::sort(cands_.begin(), cands_.end(), by_logit);
    return draw(nullptr);
  }
  if (p_.min_p <= 0 && p_.top_p >= 1) return draw_all(l);
  cands_.resize(size_t(n_vocab_));
  for (int32_t i = 0; i < n_vocab_; ++i) cands_[size_t(i)] = {i, l[i]};
  return draw(l);
}

// The same draw as draw() over the whole vocabulary in id order with nothing cut (OpenAI's
// defaults: temperature only), without building candidates: vectorized weights, then the
// cumulative scan skips whole blocks whose mass r outlasts (four independent sums per block,
// not one dependent subtraction per token).
int32_t Sampler::draw_all(const float* l) {
  const size_t n = size_t(n_vocab_);
  float mx = -INFINITY;
  for (size_t i = 0; i < n; ++i) mx = std::max(mx, l[i]);
  weights_.resize(n);
  const float* w = weights_.data();
  const double total = kernels::exp_weights(l, int64_t(n), mx, float(1.0 / double(p_.temperature)), weights_.data());
  double r = rng_.uniform() * total;
  constexpr size_t kBlock = 64;
  size_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    double s[4] = {0, 0, 0, 0};
    for (size_t j = 0; j < kBlock; ++j) s[j % 4] += w[i + j];
    const double b = (s[0] + s[1]) + (s[2] + s[3]);
    if (r < b) break;
    r -= b;
  }
  for (; i < n; ++i) {
    r -= w[i];
    if (w[i] > 0 && r < 0) return int32_t(i);
  }
  // Rounding left r >= 0 to the end: the last token with weight (a masked one has none).
  size_t k = n;
  while (k > 0 && !(w[k - 1] > 0)) --k;
  return int32_t(k - 1);
}

}  // namespace frugal
