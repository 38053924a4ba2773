// How one model is spread over N MPI ranks, decided from the file alone (no weights read):
// which layers (pipeline split) or which routed experts (expert split) each rank owns, and
// the bytes it maps. `frugal inspect --split` prints it; the ranks of an MPI run compute the
// same plan from their own copy of the file, so no plan crosses the network.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace frugal {

class GgufFile;

namespace dist {

enum class SplitKind { pipeline, experts };

// What a plan needs to know of a model file.
struct ModelShape {
  struct Tensor {
    std::string name;
    uint64_t bytes = 0;
  };
  std::vector<Tensor> tensors;
  int64_t n_layer = 0;   // the trunk: blk.0 .. blk.(n_layer-1); layers past it (MTP) go with the head
  int64_t n_expert = 0;  // routed experts per MoE layer (0: a dense model)
  int64_t n_group = 1;   // routing groups (DeepSeek-V3: 8); experts of a group are contiguous
  int64_t n_expert_used = 0;  // routed experts per token
};
ModelShape model_shape(const GgufFile& f);

struct RankShare {
  int64_t layer_begin = 0, layer_end = 0;    // [begin, end) of the layers whose weights it runs
  int64_t expert_begin = 0, expert_end = 0;  // expert split: [begin, end) of the routed experts
  uint64_t bytes = 0;                        // weight bytes it maps and reads
};

struct SplitPlan {
  SplitKind kind = SplitKind::pipeline;
  std::vector<RankShare> ranks;
  uint64_t file_bytes = 0;        // all tensors
  uint64_t rest_bytes = 0;  // expert split: all but the routed experts (attention, dense, shared experts, ends): rank 0's
  int64_t n_expert = 0, n_group = 1;
};

// Contiguous layer ranges with the largest rank's bytes as small as it can be (rank 0 also
// holds the token embeddings, the last rank the output norm and head). `layers` is empty or an
// explicit "0-13,14-27" (one range per rank, in order, covering every layer once).
SplitPlan plan_pipeline(const ModelShape& m, int n_rank, const std::string& layers = "");
// Routed experts in contiguous ranges, whole routing groups per rank when there are at least
// as many groups as ranks (a token then touches at most n_group_used ranks); the rest of the
// model on rank 0, which takes a smaller share of the routed experts: while the others run
// theirs it runs the shared experts and its own, so both finish a layer together. The output
// head's rows are shared out evenly.
SplitPlan plan_experts(const ModelShape& m, int n_rank);
// "pipeline", "experts" or "auto" (experts for a model with routed experts, else pipeline).
SplitPlan plan_split(const ModelShape& m, const std::string& kind, int n_rank, const std::string& layers = "");

// The plan as the table `frugal inspect --split` prints.
std::string format_plan(const SplitPlan& p);

}  // namespace dist
}  // namespace frugal
