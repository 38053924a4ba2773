// DeepSeek-V3's blocks at toy size for training: MLA (q and kv low-rank, decoupled rope key),
// leading dense SwiGLU layers, then DeepSeekMoE (sigmoid scores, top-k with a selection bias
// balanced without an auxiliary loss, shared experts, routed scale) and one MTP module. The
// forward follows the engine's (model/deepseek) step for step, so the exported GGUF gives the
// trainer's logits in `frugal run` (tested to 1e-4).
#pragma once
#include <vector>

#include "model/deepseek/hparams.h"
#include "train/train_model.h"

namespace frugal::train {

class V3Model : public TrainModel {
 public:
  // Parameters of hp's shape (zeros until init or load_tensors). hp.n_nextn is 0 or 1.
  explicit V3Model(const DeepseekHparams& hp);
  // Reads the architecture keys of a deepseek2 file.
  static DeepseekHparams hparams_of(const GgufFile& f);

  std::string arch() const override { return "deepseek2"; }
  int64_t n_vocab() const override { return hp_.n_vocab; }
  int64_t n_ctx() const override { return hp_.n_ctx_train; }
  bool has_mtp() const override { return hp_.n_nextn > 0; }
  const DeepseekHparams& hparams() const { return hp_; }

  std::unique_ptr<TrainModel> clone() const override {
    auto c = std::make_unique<V3Model>(hp_);
    c->params_.copy_values_from(params_);
    return c;
  }
  void init(uint64_t seed) override;
  ForwardOut forward(Tape& t, const TrainBatch& b, const ForwardOptions& o) override;
  void after_step(float bias_gamma) override;
  double forward_flops(double span) const override;
  std::vector<std::pair<std::string, GgufValue>> gguf_metadata() const override;
  std::vector<Tensor> gguf_tensors(std::vector<std::vector<float>>& keep) const override;
  void load_tensors(const GgufFile& f) override;

  // Tokens routed to each expert of each MoE layer since the last after_step().
  const std::vector<std::vector<double>>& expert_load() const { return load_; }

 private:
  struct Ctx;
  Id block(Tape& t, Ctx& c, int64_t il, Id x);
  Id mla(Tape& t, Ctx& c, const std::string& p, Id h);
  Id moe(Tape& t, Ctx& c, int64_t il, const std::string& p, Id h);
  Id dense_ffn(Tape& t, const std::string& p, Id h);
  bool is_moe(int64_t il) const { return il >= hp_.n_dense_lead; }

  DeepseekHparams hp_;
  std::vector<std::vector<double>> load_;  // [layer][expert]; layers without MoE stay empty
};

}  // namespace frugal::train
