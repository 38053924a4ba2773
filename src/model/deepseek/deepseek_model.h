// The deepseek2 architecture (DeepSeek-V2, V2-Lite, V3, R1): pre-norm blocks of MLA attention
// (mla.h) and a dense SwiGLU FFN in the leading layers or DeepSeekMoE (moe.h) after them, YaRN
// positions, untied output head. The MTP layers after the trunk are skipped by forward().
#pragma once
#include <memory>
#include <optional>
#include <vector>

#include "model/deepseek/hparams.h"
#include "model/deepseek/mla.h"
#include "model/deepseek/moe.h"
#include "model/forward_util.h"
#include "model/model.h"

namespace frugal {

struct DeepseekLayer {
  MlaWeights attn;
  std::vector<float> ffn_norm;
  bool moe = false;
  kernels::WeightView w_gate, w_up, w_down;  // dense layers
  MoeWeights experts;                         // MoE layers
};

// The MTP module (one per nextn layer; V3 has one): fuses the embedding of the next token with
// the main model's final-normed hidden state ([enorm(emb) | hnorm(h)] through eh_proj), runs
// one more block, predicts the token after through its own norm and head.
struct DeepseekMtp {
  DeepseekLayer block;
  kernels::WeightView eh_proj;          // n_embd x 2·n_embd, input [enorm(emb) | hnorm(h)]
  std::vector<float> enorm, hnorm, head_norm;
  kernels::WeightView embed, head;      // own copies, or the main model's when absent
};

class DeepseekModel : public Model {
 public:
  explicit DeepseekModel(std::shared_ptr<GgufFile> file);

  std::unique_ptr<KvCache> new_cache(int64_t n_slot, int64_t n_ctx, int64_t pool_blocks = 0) const override;
  void forward(const Batch& batch, KvCache& cache, float* logits, ThreadPool& pool) override;
  void final_hidden(int64_t row, float* out) const override;
  int64_t weight_bytes_per_token() const override;
  bool supports_stages() const override { return true; }

  bool has_mtp() const override { return mtp_.has_value(); }
  std::unique_ptr<KvCache> new_mtp_cache(int64_t n_slot, int64_t n_ctx) const override;
  void forward_mtp(const Batch& batch, const float* hidden, KvCache& cache, float* logits, ThreadPool& pool) override;
  const float* last_hidden() const override { return normed_.data(); }
  int64_t mtp_weight_bytes_per_token() const override;
  std::vector<std::string> describe() const override;

  const DeepseekHparams& hparams() const { return hp_; }
  void set_mla_path(MlaPath p) { mla_ = MlaAttention(hp_, p); }

  // The expert split (dist/experts.h). Rank 0: routed experts outside the remote's local
  // range run elsewhere (null: all here). The other ranks: the outputs of their experts for
  // one MoE layer (`layer` == n_layer is the MTP block's), as MoeFfn::expert_rows.
  void set_remote_experts(std::shared_ptr<RemoteExperts> r) {
    remote_ = std::move(r);
    moe_.set_remote(remote_.get());
  }
  // Layer `layer`'s experts (n_layer: the MTP block's); null for a dense layer.
  const MoeWeights* moe_weights(int64_t layer) const;
  void expert_rows(int64_t layer, const float* x, int64_t T, const int32_t* ids, int64_t eb, int64_t ee, float* y,
                   ThreadPool& pool);
  // Logits of the output head's rows [r0, r1) for final-normed rows [n_out, n_embd]; y is
  // [n_out, r1 - r0].
  void head_rows(const float* rows, int64_t n_out, int64_t r0, int64_t r1, float* y, ThreadPool& pool) const;
  int64_t head_bytes() const { return int64_t(view_bytes(output_)); }

 private:
  void bind_layer(const WeightBinder& b, int64_t il, DeepseekLayer& L);
  void ffn(const DeepseekLayer& L, int64_t layer, const float* x, int64_t T, float* out, ThreadPool& pool);
  void check_batch(const Batch& batch, const KvCache& cache) const;
  void embed(const kernels::WeightView& table, const Batch& batch, float* x) const;
  void rope_tables(const Batch& batch);
  // x += attn(norm(x)); x += ffn(norm(x)) for block `layer` (n_layer: MTP) whose cache layer is il_cache.
  void block(const DeepseekLayer& L, int64_t layer, const Batch& batch, KvCache& cache, int64_t il_cache, float* x,
             ThreadPool& pool);

  DeepseekHparams hp_;
  kernels::WeightView token_embd_, output_;
  std::vector<float> output_norm_;
  std::vector<DeepseekLayer> layers_;
  std::optional<DeepseekMtp> mtp_;
  std::vector<float> inv_freq_;
  MlaAttention mla_;
  MoeFfn moe_;
  std::shared_ptr<RemoteExperts> remote_;
  std::vector<float> x_, h_, tmp_, gate_, up_, out_rows_, rope_cos_, rope_sin_, mx_, cat_;
  std::vector<float> normed_;  // final-normed hidden states of the last forward (MTP input)
};

}  // namespace frugal
