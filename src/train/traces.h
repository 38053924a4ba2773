// Reasoning traces sampled from a model and filtered by the rules (correct and well formed):
// rejection sampling's data (R1's third stage) and the distillation set. Written as JSONL
// chats that `frugal train sft --data` and the trace loader read.
#pragma once
#include <cstdint>
#include <string>

#include "train/corpus.h"

namespace frugal::train {

struct SampleOptions {
  int64_t problems = 3000;  // distinct training problems, drawn from the mix's buckets
  int samples = 4;          // per problem
  int64_t max_tokens = 640;
  float temperature = 1.0f;
  uint64_t seed = 1;
  int threads = 0;
};

struct TraceStats {
  int64_t sampled = 0, kept = 0;
};

TraceStats sample_traces(const std::string& model_path, const Mix& mix, const SampleOptions& o,
                         const std::string& out_jsonl, bool quiet);

}  // namespace frugal::train
