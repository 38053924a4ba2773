#include "model/deepseek/hparams.h"

#include "core/error.h"
#include "model/weight_binder.h"

namespace frugal {

DeepseekHparams read_deepseek_hparams(const WeightBinder& b) {
  const GgufFile& f = b.file();
  const std::string a = "deepseek2.";
  DeepseekHparams h;
  h.n_embd = b.hp_int(a + "embedding_length");
  const int64_t blocks = b.hp_int(a + "block_count");
  h.n_nextn = b.hp_int(a + "nextn_predict_layers", 0);
  if (h.n_nextn >= blocks)
    fail("%s: nextn_predict_layers %lld leaves no trunk layers (block_count %lld)", f.path().c_str(),
         (long long)h.n_nextn, (long long)blocks);
  h.n_layer = blocks - h.n_nextn;
  h.n_head = b.hp_int(a + "attention.head_count");
  // Absent or 0 both mean "no query compression" (files in the wild write either).
  h.q_lora_rank = b.hp_int(a + "attention.q_lora_rank", 0);
  h.kv_lora_rank = b.hp_int(a + "attention.kv_lora_rank");
  h.rope = b.hp_int(a + "rope.dimension_count");
  // key_length is kv_lora + rope in files that cache the latent; the real per-head sizes are
  // in the *_mla keys. Older files only have key_length = nope + rope, value_length = v.
  const int64_t k_len = b.hp_int(a + "attention.key_length_mla", b.hp_int(a + "attention.key_length"));
  h.v_dim = b.hp_int(a + "attention.value_length_mla", b.hp_int(a + "attention.value_length"));
  h.nope = k_len - h.rope;
  if (h.nope <= 0 || h.rope <= 0 || h.rope % 2 || h.v_dim <= 0 || h.kv_lora_rank <= 0 || h.n_head <= 0)
    fail("%s: inconsistent MLA sizes (key_length %lld, rope %lld, value_length %lld, kv_lora_rank %lld)",
         f.path().c_str(), (long long)k_len, (long long)h.rope, (long long)h.v_dim, (long long)h.kv_lora_rank);
  h.n_ff = b.hp_int(a + "feed_forward_length");
  h.n_dense_lead = b.hp_int(a + "leading_dense_block_count", 0);
  h.n_expert = b.hp_int(a + "expert_count", 0);
  h.n_expert_used = b.hp_int(a + "expert_used_count", 0);
  h.n_ff_exp = b.hp_int(a + "expert_feed_forward_length", 0);
  h.n_shared = b.hp_int(a + "expert_shared_count", 0);
  h.n_group = b.hp_int(a + "expert_group_count", 1);
  h.n_group_used = b.hp_int(a + "expert_group_used_count", h.n_group);
  if (h.n_dense_lead < h.n_layer) {
    if (h.n_expert <= 0 || h.n_expert_used <= 0 || h.n_expert_used > h.n_expert || h.n_ff_exp <= 0)
      fail("%s: MoE layers need expert_count, expert_used_count <= expert_count and expert_feed_forward_length",
           f.path().c_str());
    if (h.n_group <= 0 || h.n_expert % h.n_group || h.n_group_used <= 0 || h.n_group_used > h.n_group ||
        h.n_expert_used > h.n_group_used * (h.n_expert / h.n_group))
      fail("%s: expert groups (%lld groups, %lld used) do not fit %lld experts choosing %lld", f.path().c_str(),
           (long long)h.n_group, (long long)h.n_group_used, (long long)h.n_expert, (long long)h.n_expert_used);
  }
  // 1 = softmax (V2), 2 = sigmoid (V3). Files written before the key existed are V2.
  const int64_t gating = b.hp_int(a + "expert_gating_func", 1);
  if (gating != 1 && gating != 2)
    fail("%s: deepseek2.expert_gating_func %lld is not 1 (softmax) or 2 (sigmoid)", f.path().c_str(),
         (long long)gating);
  h.sigmoid_gating = gating == 2;
  h.norm_topk = f.get_bool(a + "expert_weights_norm").value_or(false);
  h.routed_scale = float(b.hp_float(a + "expert_weights_scale", 1.0));
  h.rms_eps = float(b.hp_float(a + "attention.layer_norm_rms_epsilon", 1e-6));
  h.rope_theta = b.hp_float(a + "rope.freq_base", 10000.0);
  h.n_ctx_train = b.hp_int(a + "context_length", 4096);
  const std::string scaling = f.get_string(a + "rope.scaling.type").value_or("none");
  if (scaling == "yarn") {
    h.yarn.factor = b.hp_float(a + "rope.scaling.factor", 1.0);
    h.yarn.original_context = b.hp_float(a + "rope.scaling.original_context_length", 4096);
    h.yarn.beta_fast = b.hp_float(a + "rope.scaling.yarn_beta_fast", 32);
    h.yarn.beta_slow = b.hp_float(a + "rope.scaling.yarn_beta_slow", 1);
    h.yarn.log_multiplier = b.hp_float(a + "rope.scaling.yarn_log_multiplier", 0.1);
    if (!(h.yarn.factor >= 1) || !(h.yarn.original_context > 0))
      fail("%s: rope.scaling.factor must be >= 1 and original_context_length > 0", f.path().c_str());
  } else if (scaling != "none") {
    fail("%s: deepseek2.rope.scaling.type '%s' is not supported (none, yarn)", f.path().c_str(), scaling.c_str());
  }
  return h;
}

std::vector<std::pair<std::string, GgufValue>> deepseek_gguf_metadata(const DeepseekHparams& h) {
  std::vector<std::pair<std::string, GgufValue>> kv;
  const std::string A = "deepseek2.";
  auto u32 = [&](const std::string& k, int64_t v) { kv.emplace_back(A + k, GgufValue::u32(uint32_t(v))); };
  auto f32 = [&](const std::string& k, double v) { kv.emplace_back(A + k, GgufValue::f32(float(v))); };
  u32("block_count", h.n_layer + h.n_nextn);
  if (h.n_nextn) u32("nextn_predict_layers", h.n_nextn);
  u32("context_length", h.n_ctx_train);
  u32("embedding_length", h.n_embd);
  u32("feed_forward_length", h.n_ff);
  u32("attention.head_count", h.n_head);
  u32("attention.head_count_kv", 1);  // MLA is stored as MQA over the latent
  f32("rope.freq_base", h.rope_theta);
  f32("attention.layer_norm_rms_epsilon", h.rms_eps);
  u32("expert_count", h.n_expert);
  u32("expert_used_count", h.n_expert_used);
  if (h.n_group > 1) {
    u32("expert_group_count", h.n_group);
    u32("expert_group_used_count", h.n_group_used);
  }
  u32("expert_gating_func", h.sigmoid_gating ? 2 : 1);
  u32("leading_dense_block_count", h.n_dense_lead);
  u32("vocab_size", h.n_vocab);
  u32("attention.q_lora_rank", h.q_lora_rank);
  u32("attention.kv_lora_rank", h.kv_lora_rank);
  u32("attention.key_length", h.kv_lora_rank + h.rope);
  u32("attention.value_length", h.kv_lora_rank);
  u32("attention.key_length_mla", h.nope + h.rope);
  u32("attention.value_length_mla", h.v_dim);
  u32("expert_feed_forward_length", h.n_ff_exp);
  u32("expert_shared_count", h.n_shared);
  f32("expert_weights_scale", h.routed_scale);
  if (h.norm_topk) kv.emplace_back(A + "expert_weights_norm", GgufValue::boolean(true));
  u32("rope.dimension_count", h.rope);
  if (h.yarn.factor > 1) {
    kv.emplace_back(A + "rope.scaling.type", GgufValue::str("yarn"));
    f32("rope.scaling.factor", h.yarn.factor);
    u32("rope.scaling.original_context_length", int64_t(h.yarn.original_context));
    f32("rope.scaling.yarn_beta_fast", h.yarn.beta_fast);
    f32("rope.scaling.yarn_beta_slow", h.yarn.beta_slow);
    f32("rope.scaling.yarn_log_multiplier", h.yarn.log_multiplier);
  }
  return kv;
}

}  // namespace frugal
