// Shapes of real models, for random-weight test files (no model hub can be reached here, so
// tests and benchmarks run on these). Numbers are from the models' published config.json.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace frugal::cli {

struct Llama3RopeScaling {
  float factor = 0, low_freq_factor = 1, high_freq_factor = 4;
  int64_t original_context = 8192;
};

struct TestModelPreset {
  const char* name;
  const char* arch;       // GGUF architecture
  const char* tokenizer;  // "qwen", "llama3", "deepseek_v3"; tiny presets: "mini-qwen2", "mini-qwen3", "mini-llama3"
  int64_t n_vocab;        // rows of token_embd (real models pad the tokenizer's vocab)
  int64_t n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_ctx;
  float rope_theta, rms_eps;
  bool tied;
  Llama3RopeScaling llama3;  // factor 0: none
};

inline const std::vector<TestModelPreset>& test_model_presets() {
  static const std::vector<TestModelPreset> p = {
      {"r1-distill-qwen-1.5b", "qwen2", "qwen", 151936, 1536, 28, 12, 2, 128, 8960, 131072, 10000.f, 1e-6f, false, {}},
      {"r1-distill-qwen-7b", "qwen2", "qwen", 152064, 3584, 28, 28, 4, 128, 18944, 131072, 10000.f, 1e-6f, false, {}},
      {"r1-distill-llama-8b", "llama", "llama3", 128256, 4096, 32, 32, 8, 128, 14336, 131072, 500000.f, 1e-5f, false,
       {8.f, 1.f, 4.f, 8192}},
      {"r1-0528-qwen3-8b", "qwen3", "qwen", 151936, 4096, 36, 32, 8, 128, 12288, 131072, 1000000.f, 1e-6f, false, {}},
      // Tiny variants: the same architectures at toy size with the 512-token tokenizers that
      // ship in tests/data (real BPE, truncated), so they need nothing from npm.
      {"tiny-qwen2", "qwen2", "mini-qwen2", 512, 256, 4, 4, 2, 64, 512, 4096, 10000.f, 1e-6f, false, {}},
      {"tiny-qwen3", "qwen3", "mini-qwen3", 512, 256, 4, 4, 2, 64, 512, 4096, 1000000.f, 1e-6f, true, {}},
      {"tiny-llama", "llama", "mini-llama3", 512, 256, 4, 4, 2, 64, 512, 4096, 500000.f, 1e-5f, true,
       {8.f, 1.f, 4.f, 256}},
  };
  return p;
}

}  // namespace frugal::cli
