// Evaluation of a trained reasoner on held-out arithmetic, through the engine the server uses
// (train/rollout.h): greedy accuracy per bucket with a 95 % Wilson interval, and sampled
// pass@k by the unbiased estimator of Chen et al. (2021), 1 - C(n-c, k) / C(n, k), averaged
// over problems, with its standard error across problems.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "train/arith.h"

namespace frugal::train {

struct EvalOptions {
  std::vector<Bucket> buckets;     // empty: every trained and held-out bucket
  int64_t n = 2000;                // greedy problems per bucket (all of a smaller bucket)
  int64_t pass_problems = 0;       // problems per bucket sampled for pass@k (0: none)
  int samples = 8;                 // samples per problem for pass@k
  std::vector<int> ks = {1, 2, 4, 8};
  float temperature = 1.0f;        // of the pass@k samples
  int64_t max_tokens = 640;
  uint64_t seed = 1;
  int threads = 0;
};

struct BucketEval {
  std::string bucket;
  bool held_out = false;
  int64_t n = 0, correct = 0, formatted = 0;
  double accuracy = 0, ci_lo = 0, ci_hi = 0;  // greedy, 95 % Wilson interval
  double mean_len = 0;                          // generated tokens, greedy
  int64_t pass_n = 0;                           // problems behind pass@k
  std::vector<double> pass_at_k, pass_se;       // per EvalOptions::ks
};

// pass@k of one problem with c correct among n samples (k <= n).
double pass_at_k(int n, int c, int k);
// 95 % Wilson score interval of k successes in n trials.
void wilson95(int64_t k, int64_t n, double* lo, double* hi);

std::vector<BucketEval> evaluate(const std::string& model_path, const EvalOptions& o, bool quiet);

// Speculative decoding with the model's own MTP head on real prompts: each problem is answered
// greedily by one stream twice, without and with the draft (runtime/generator.h), timed; the
// tokens must be the same. What DeepSeek-V3's MTP buys a single user, measured on a model
// whose draft head was trained with it.
struct MtpEval {
  int64_t problems = 0, identical = 0;  // outputs equal with and without the draft
  int64_t drafted = 0, accepted = 0, tokens = 0;
  double plain_s = 0, mtp_s = 0;        // decode time (after the prompt), summed
  double acceptance() const { return drafted ? double(accepted) / double(drafted) : 0; }
  double speedup() const { return mtp_s > 0 ? plain_s / mtp_s : 0; }
};
MtpEval evaluate_mtp(const std::string& model_path, const std::vector<Problem>& problems, int64_t max_tokens, int threads);

}  // namespace frugal::train
