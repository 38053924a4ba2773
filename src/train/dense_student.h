// The distilled student: a dense Llama- or Qwen2-architecture decoder (Qwen2: q/k/v biases and
// NeoX RoPE, as R1-Distill-Qwen; Llama: no biases, adjacent-pair RoPE over GGUF's permuted
// q/k), tied embeddings. Its forward follows model/dense_model.cpp.
#pragma once
#include <string>

#include "train/train_model.h"

namespace frugal::train {

struct DenseConfig {
  std::string arch = "qwen2";  // or "llama"
  int64_t n_vocab = 0, n_embd = 192, n_layer = 4, n_head = 4, n_head_kv = 2, head_dim = 48, n_ff = 512;
  int64_t n_ctx = 1024;
  float rope_theta = 10000.f, rms_eps = 1e-6f;
};

class DenseStudent : public TrainModel {
 public:
  explicit DenseStudent(const DenseConfig& c);
  static DenseConfig config_of(const GgufFile& f);  // reads a qwen2 / llama file's keys

  std::string arch() const override { return c_.arch; }
  int64_t n_vocab() const override { return c_.n_vocab; }
  int64_t n_ctx() const override { return c_.n_ctx; }
  const DenseConfig& config() const { return c_; }
  std::unique_ptr<TrainModel> clone() const override {
    auto c = std::make_unique<DenseStudent>(c_);
    c->params_.copy_values_from(params_);
    return c;
  }
  void init(uint64_t seed) override;
  ForwardOut forward(Tape& t, const TrainBatch& b, const ForwardOptions& o) override;
  double forward_flops(double span) const override;
  std::vector<std::pair<std::string, GgufValue>> gguf_metadata() const override;

 private:
  bool qwen() const { return c_.arch == "qwen2"; }
  DenseConfig c_;
};

}  // namespace frugal::train
