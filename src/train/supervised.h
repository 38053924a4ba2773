// The supervised loop every stage but GRPO runs (pretrain, SFT, the rejection-sampling SFT,
// distillation): next-token cross-entropy on the examples a source draws, averaged over the
// step's target tokens, plus lambda x the MTP loss and DeepSeek-V3's small sequence-wise
// balance loss; AdamW; the expert-bias update after each step; checkpoints that resume bit for
// bit (a step's batch depends only on the seed and the step number).
#pragma once
#include <cstdint>
#include <string>

#include "core/thread_pool.h"
#include "train/corpus.h"
#include "train/model_io.h"
#include "train/optimizer.h"

namespace frugal::train {

struct LoopOptions {
  std::string stage = "sft";
  int64_t steps = 100;
  int64_t batch_tokens = 16384;  // tokens per optimizer step (whole examples)
  int64_t micro_tokens = 4096;   // tokens per forward/backward pass
  AdamConfig adam;
  float mtp_lambda = 0.3f;       // V3: 0.3 early, 0.1 later
  float balance_alpha = 1e-4f;   // V3's sequence-wise balance loss
  float bias_gamma = 1e-3f;      // V3's bias update speed
  uint64_t seed = 1;
  int64_t checkpoint_every = 0;  // steps; 0: only at the end
  std::string checkpoint;        // path; "" = no checkpoints
  bool resume = false;           // continue from `checkpoint`
  int64_t stop_after = -1;       // stop (with a checkpoint) after this many steps: tests of resume
  std::string out;               // the trained model
  std::string log_csv;
  bool quiet = false;
  std::string options_json;      // what fixes the run (a resume must match); set by the caller
};

struct LoopResult {
  double last_loss = 0, tokens_per_s = 0, gflops = 0;  // of the last step
  int64_t steps_done = 0;
  // Over every step of this call: tokens, model flops (3 x forward: forward + backward), seconds.
  int64_t tokens_total = 0;
  double flops_total = 0, seconds_total = 0;
};

// Draws examples (truncated to max_len) until `tokens` tokens; at least one.
std::vector<Example> draw_batch(ExampleSource& src, Rng& rng, int64_t tokens, int64_t max_len);
// The seed of a step's data.
uint64_t step_seed(uint64_t seed, int64_t step, uint64_t salt = 0);

LoopResult train_supervised(TrainModel& m, const Vocab& v, ExampleSource& src, const LoopOptions& o, ThreadPool& pool,
                            const Metadata& provenance);

}  // namespace frugal::train
