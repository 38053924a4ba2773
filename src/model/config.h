// Architecture-neutral hyper-parameters, named with the project's vocabulary
// (n_embd, n_head, n_head_kv, head_dim, n_ff, il for a layer index, ...).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace frugal {

struct ModelConfig {
  std::string arch;          // GGUF general.architecture: "llama", "qwen2", "qwen3", ...
  std::string name;          // general.name, if any
  int64_t n_vocab = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;      // per-head width of q/k (qwen3: not n_embd / n_head)
  int64_t head_dim_v = 0;    // per-head width of v
  int64_t n_ff = 0;
  int64_t n_ctx_train = 0;
  float rms_eps = 1e-6f;
  float rope_theta = 10000.f;
  bool rope_neox = true;     // pairs (i, i+d/2); false: adjacent pairs (llama GGUF)
  int64_t n_rot = 0;         // rotated dims per head
  bool has_qkv_bias = false;  // qwen2
  bool has_qk_norm = false;   // qwen3
  bool tied_output = false;   // output projection is token_embd
};

}  // namespace frugal
