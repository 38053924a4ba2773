#include "train/presets.h"

#include "core/error.h"
#include "train/dense_student.h"
#include "train/v3_model.h"

namespace frugal::train {

namespace {

DeepseekHparams v3(int64_t vocab, int64_t E, int64_t layers, int64_t heads, int64_t q_lora, int64_t kv_lora,
                   int64_t nope, int64_t rope, int64_t v, int64_t ff, int64_t experts, int64_t moe_ff) {
  DeepseekHparams h;
  h.n_vocab = vocab;
  h.n_embd = E;
  h.n_layer = layers;
  h.n_nextn = 1;
  h.n_head = heads;
  h.q_lora_rank = q_lora;
  h.kv_lora_rank = kv_lora;
  h.nope = nope;
  h.rope = rope;
  h.v_dim = v;
  h.n_ff = ff;
  h.n_dense_lead = 1;
  h.n_expert = experts;
  h.n_expert_used = 2;
  h.n_ff_exp = moe_ff;
  h.n_shared = 1;
  h.sigmoid_gating = true;
  h.norm_topk = true;
  h.routed_scale = 1.0f;
  h.rope_theta = 10000;
  h.n_ctx_train = 1024;
  return h;
}

DenseConfig dense(int64_t vocab, int64_t E, int64_t layers, int64_t heads, int64_t kv_heads, int64_t hd, int64_t ff) {
  DenseConfig c;
  c.arch = "qwen2";
  c.n_vocab = vocab;
  c.n_embd = E;
  c.n_layer = layers;
  c.n_head = heads;
  c.n_head_kv = kv_heads;
  c.head_dim = hd;
  c.n_ff = ff;
  c.n_ctx = 1024;
  return c;
}

}  // namespace

std::vector<std::string> train_preset_names() {
  return {"frugal-r1-tiny", "frugal-r1-distill-tiny", "test-v3-micro", "test-qwen2-micro"};
}

std::unique_ptr<TrainModel> make_preset(const std::string& name, int64_t n_vocab, uint64_t seed) {
  std::unique_ptr<TrainModel> m;
  if (name == "frugal-r1-tiny") m = std::make_unique<V3Model>(v3(n_vocab, 256, 4, 4, 96, 64, 32, 16, 32, 768, 6, 192));
  else if (name == "frugal-r1-distill-tiny") m = std::make_unique<DenseStudent>(dense(n_vocab, 192, 4, 4, 2, 48, 512));
  else if (name == "test-v3-micro") m = std::make_unique<V3Model>(v3(n_vocab, 64, 2, 2, 32, 16, 16, 8, 16, 128, 4, 48));
  else if (name == "test-qwen2-micro") m = std::make_unique<DenseStudent>(dense(n_vocab, 64, 2, 2, 1, 32, 128));
  else {
    std::string list;
    for (const auto& n : train_preset_names()) list += (list.empty() ? "" : ", ") + n;
    fail("unknown model preset '%s' (presets: %s)", name.c_str(), list.c_str());
  }
  m->init(seed);
  return m;
}

}  // namespace frugal::train
