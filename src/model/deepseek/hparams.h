// Hyper-parameters of the deepseek2 architecture (DeepSeek-V2, V2-Lite, V3, R1) as llama.cpp's
// GGUF keys carry them; read once by read_deepseek_hparams.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "formats/gguf.h"

#include "model/yarn.h"

namespace frugal {

class WeightBinder;

struct DeepseekHparams {
  int64_t n_embd = 0, n_vocab = 0;
  int64_t n_layer = 0;       // trunk layers (block_count - nextn_predict_layers)
  int64_t n_nextn = 0;       // MTP layers after the trunk
  int64_t n_head = 0;
  int64_t q_lora_rank = 0;   // 0: plain q projection
  int64_t kv_lora_rank = 0;
  int64_t nope = 0, rope = 0, v_dim = 0;  // per-head q/k no-position part, rotated part, value width
  int64_t n_ff = 0;          // dense layers
  int64_t n_dense_lead = 0;  // leading dense layers
  int64_t n_expert = 0, n_expert_used = 0, n_ff_exp = 0, n_shared = 0;
  int64_t n_group = 1, n_group_used = 1;
  bool sigmoid_gating = false;  // V3: sigmoid + bias; V2: softmax
  bool norm_topk = false;
  float routed_scale = 1.f;
  float rms_eps = 1e-6f;
  double rope_theta = 10000;
  YarnParams yarn;
  int64_t n_ctx_train = 0;
};

DeepseekHparams read_deepseek_hparams(const WeightBinder& b);

// The inverse: the deepseek2.* keys llama.cpp's converter writes, in its order, such that
// read_deepseek_hparams gives `h` back (YaRN keys only when yarn.factor > 1). Both writers of
// deepseek2 files (make-test-model, the trainer) use it so the two cannot drift apart.
std::vector<std::pair<std::string, GgufValue>> deepseek_gguf_metadata(const DeepseekHparams& h);

}  // namespace frugal
