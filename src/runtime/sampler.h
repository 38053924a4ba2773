// Turns logits into the next token: repetition / presence / frequency penalties on the raw
// logits, then temperature, then top-k (as Hugging Face and vLLM order them). Top-p and min-p
// are both defined on that distribution and both keep a head of it sorted by probability, so
// the shorter head wins and their order does not matter. Then a draw. Temperature 0 is
// greedy. Sorting is confined to the head that top-p needs: a full sort of a 150k vocabulary
// would cost milliseconds per token. The RNG is seeded explicitly and is
// ours (not std::distribution, whose output differs between standard libraries), so the same
// seed gives the same tokens everywhere.
#pragma once
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "core/rng.h"

namespace frugal {

struct SamplerParams {
  float temperature = 0.8f;    // 0: greedy
  int32_t top_k = 40;          // <= 0: off
  float top_p = 0.95f;         // >= 1: off
  float min_p = 0.05f;         // <= 0: off
  float repeat_penalty = 1.0f; // 1: off. Divides positive logits, multiplies negative ones.
  float presence_penalty = 0;  // subtracted once from every token seen
  float frequency_penalty = 0; // subtracted per occurrence
  int32_t penalty_last_n = 64; // how many recent tokens the penalties look at (-1: all)
  uint64_t seed = 0;
};

class Sampler {
 public:
  Sampler(const SamplerParams& p, int32_t n_vocab);
  // Picks a token from logits[n_vocab] (not modified) and records it for the penalties.
  int32_t sample(const float* logits);
  // The same draw without recording it (a constrained sampler may reject it and draw again
  // from masked logits); accept() the token finally chosen.
  int32_t pick(const float* logits);
  // Records a token that was not sampled (e.g. the prompt) for the penalties.
  void accept(int32_t token);
  void reset();
  const SamplerParams& params() const { return p_; }

 private:
  // temperature > 0. full: the logits when cands_ is the whole vocabulary in id order.
  int32_t draw(const float* full);
  int32_t draw_all(const float* logits);  // temperature alone, over the whole vocabulary
  struct Cand {
    int32_t id;
    float logit;
  };
  SamplerParams p_;
  int32_t n_vocab_;
  Rng rng_;
  std::vector<int32_t> history_;
  std::vector<Cand> cands_;
  std::vector<float> penalized_;  // the logits after the penalties
  std::vector<double> prob_;
  std::vector<float> weights_;  // draw_all's, one per vocabulary entry
  std::unordered_map<int32_t, int32_t> counts_;
};

}  // namespace frugal
