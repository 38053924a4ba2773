// The Llama-family decoder (llama, qwen2, qwen3, and the R1 distills built on them):
// pre-norm blocks of GQA attention with RoPE and a SwiGLU FFN. Each architecture file only
// says which of the optional pieces it has (QKV bias, per-head Q/K norm, RoPE layout, llama3
// frequency factors) through DenseSpec.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kernels/matmul.h"
#include "model/forward_util.h"
#include "model/model.h"

namespace frugal {

class WeightBinder;

struct DenseSpec {
  bool qkv_bias = false;     // qwen2: attn_{q,k,v}.bias
  bool qk_norm = false;      // qwen3: attn_{q,k}_norm, RMSNorm per head before RoPE
  bool rope_neox = true;     // qwen: NeoX pairs; llama GGUF: adjacent pairs (rows permuted)
  bool rope_freq_factors = false;  // llama3: rope_freqs.weight divides the frequencies
};

struct DenseLayer {
  std::vector<float> attn_norm, ffn_norm;
  kernels::WeightView wq, wk, wv, wo;
  std::vector<float> bq, bk, bv;      // empty unless qkv_bias
  std::vector<float> q_norm, k_norm;  // empty unless qk_norm
  kernels::WeightView w_gate, w_up, w_down;
};

class DenseModel : public Model {
 public:
  DenseModel(std::shared_ptr<GgufFile> file, const DenseSpec& spec);

  std::unique_ptr<KvCache> new_cache(int64_t n_slot, int64_t n_ctx, int64_t pool_blocks = 0) const override;
  void forward(const Batch& batch, KvCache& cache, float* logits, ThreadPool& pool) override;
  void final_hidden(int64_t row, float* out) const override;
  int64_t weight_bytes_per_token() const override;
  bool supports_stages() const override { return true; }

 private:
  void read_config(const WeightBinder& b);
  void attention(const Batch& batch, KvCache& cache, int64_t il, ThreadPool& pool);

  DenseSpec spec_;
  kernels::WeightView token_embd_, output_;
  std::vector<float> output_norm_;
  std::vector<DenseLayer> layers_;
  std::vector<float> inv_freq_;  // [n_rot / 2]

  // Activations, grown to the largest batch seen (no allocation in steady state).
  std::vector<float> x_, h_, q_, k_, v_, att_, gate_, up_, out_rows_;
  std::vector<float> rope_cos_, rope_sin_;  // [n_tok, n_rot / 2] for this batch's positions
  std::vector<std::vector<float>> scores_;  // per thread, [run positions * group * keys]
  struct Run {
    int64_t first, n;  // batch tokens [first, first + n): one sequence, consecutive positions
  };
  std::vector<Run> runs_;
  std::vector<std::vector<const void*>> pages_;  // per thread: a sequence's K and V block pointers
  std::vector<float> seg_out_, seg_lse_;  // decode split over the context: per segment outputs and lse
  SegmentGroups segs_;                    // runs grouped with their context segments
  int64_t run_segments(const Batch& batch, const Run& r) const;
  void attend_runs(const Batch& batch, KvCache& cache, int64_t il, int64_t g0, int64_t g1, ThreadPool& pool);
};

}  // namespace frugal
