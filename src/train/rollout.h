// Sampling from a model under training through the serving engine (runtime/engine.h): the
// current parameters become an in-memory GGUF image, the engine decodes every request in one
// continuously batched loop (requests sharing a prompt share its prefill through the prefix
// cache), and the tokens come back in request order.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "formats/gguf.h"
#include "runtime/sampler.h"
#include "tokenizer/tokenizer.h"

namespace frugal::train {

struct RolloutRequest {
  std::vector<int32_t> prompt;
  SamplerParams sampling;
  int64_t max_tokens = 256;
  bool ignore_eos = false;  // run to max_tokens (benchmarks: a fixed amount of work)
};

// Sampling from the model's own distribution at `temperature` (no top-k / top-p / min-p
// truncation): the distribution GRPO's ratios and pass@k assume. Temperature 0 is greedy.
RolloutRequest plain_sampling(std::vector<int32_t> prompt, double temperature, uint64_t seed, int64_t max_tokens);

struct RolloutResult {
  std::vector<int32_t> tokens;  // generated, without the end-of-generation token
  bool ended = false;           // stopped at an end-of-generation token (not the length limit)
};

struct RolloutStats {
  double seconds = 0;
  int64_t tokens = 0;
};

std::vector<RolloutResult> rollout(std::shared_ptr<GgufFile> image, const std::vector<RolloutRequest>& reqs,
                                   int64_t n_ctx, int threads, int64_t max_seqs, RolloutStats* stats = nullptr);

}  // namespace frugal::train
