// GRPO (DeepSeekMath eq. 3), as DeepSeek-R1 used it, with the fixes of Dr. GRPO and DAPO as
// options. Per step: P prompts from the RL buckets, G samples each drawn through the serving
// engine's batched decode, rule rewards (accuracy + format), group-relative advantages, then
// M mini-batch updates of the clipped per-token objective with an optional k3 KL penalty to a
// frozen reference. With M = 1 the update is on-policy (ratio 1, clipping idle: REINFORCE with
// a group baseline); M > 1 makes the ratio and the clipping matter.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "train/arith.h"
#include "train/model_io.h"
#include "train/supervised.h"

namespace frugal::train {

// How per-token terms are averaged:
//   grpo:    (1/G) sum_i (1/|o_i|) sum_t  (per group, then the mean over groups)
//   dr_grpo: (1/(G * max_tokens)) sum_i sum_t, advantages not divided by the std
//   dapo:    (1/sum_i |o_i|) sum_i sum_t over the mini-batch (token level)
enum class GrpoLoss { grpo, dr_grpo, dapo };
GrpoLoss parse_grpo_loss(const std::string& s);
const char* grpo_loss_name(GrpoLoss l);

struct GrpoOptions {
  int prompts = 16, group = 8;
  int64_t max_tokens = 640;
  float temperature = 1.0f;
  int minibatches = 2;
  float eps_low = 0.2f, eps_high = 0.2f;  // DAPO's clip-higher: eps_high 0.28
  float beta = 0.0f;                      // k3 KL weight (0: no reference model)
  int64_t ref_reset = 0;                  // replace the reference by the policy every N steps (0: never)
  GrpoLoss loss = GrpoLoss::grpo;
  bool dynamic_sampling = false;          // DAPO: oversample, keep groups whose rewards differ
  float format_weight = 1.0f;             // reward = accuracy + format_weight * format
  std::vector<Bucket> buckets = default_buckets();
  static std::vector<Bucket> default_buckets();
  nlohmann::ordered_json to_json() const;
};

// Group-relative advantages of one group's rewards: r - mean, divided by the std (+1e-4)
// unless loss is dr_grpo.
std::vector<float> group_advantages(const std::vector<float>& rewards, GrpoLoss loss);

// One sampled response's per-token log-probabilities under the current, the sampling (old) and
// the reference policy, and its advantage.
struct GrpoSeq {
  float adv = 0;
  std::vector<float> logp, logp_old, logp_ref;  // logp_ref may be empty when beta == 0
};

struct GrpoObjective {
  double loss = 0;                          // the aggregated loss (minimised)
  std::vector<std::vector<float>> dlogp;    // d loss / d logp per sequence and token
  double clip_frac = 0;                     // tokens where the clipped term is the active one
  double kl = 0;                            // mean k3 KL per token
  int64_t tokens = 0;
};

// The loss over a mini-batch of whole groups (n_groups groups of group_size sequences).
GrpoObjective grpo_objective(const std::vector<GrpoSeq>& seqs, int n_groups, int group_size, const GrpoOptions& o);

// Runs o.steps GRPO steps on m (its stage options: batch sizes and AdamW in `loop`).
void train_grpo(TrainModel& m, const Vocab& v, const GrpoOptions& g, const LoopOptions& loop, ThreadPool& pool,
                const Metadata& provenance);

}  // namespace frugal::train
