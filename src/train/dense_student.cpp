#include "train/dense_student.h"

#include <cmath>

#include "core/error.h"
#include "core/rng.h"
#include "model/weight_binder.h"

namespace frugal::train {

DenseStudent::DenseStudent(const DenseConfig& c) : c_(c) {
  if (c_.arch != "qwen2" && c_.arch != "llama") fail("student architecture '%s': expected qwen2 or llama", c_.arch.c_str());
  if (c_.n_head % c_.n_head_kv) fail("student: %lld heads is not a multiple of %lld KV heads", (long long)c_.n_head, (long long)c_.n_head_kv);
  const int64_t E = c_.n_embd, hd = c_.head_dim, nq = c_.n_head * hd, nk = c_.n_head_kv * hd;
  params_.add("token_embd.weight", {E, c_.n_vocab}, true);
  for (int64_t il = 0; il < c_.n_layer; ++il) {
    const std::string p = "blk." + std::to_string(il) + ".";
    params_.add(p + "attn_norm.weight", {E}, false);
    params_.add(p + "attn_q.weight", {E, nq}, true);
    params_.add(p + "attn_k.weight", {E, nk}, true);
    params_.add(p + "attn_v.weight", {E, nk}, true);
    if (qwen()) {
      params_.add(p + "attn_q.bias", {nq}, false);
      params_.add(p + "attn_k.bias", {nk}, false);
      params_.add(p + "attn_v.bias", {nk}, false);
    }
    params_.add(p + "attn_output.weight", {nq, E}, true);
    params_.add(p + "ffn_norm.weight", {E}, false);
    params_.add(p + "ffn_gate.weight", {E, c_.n_ff}, true);
    params_.add(p + "ffn_up.weight", {E, c_.n_ff}, true);
    params_.add(p + "ffn_down.weight", {c_.n_ff, E}, true);
  }
  params_.add("output_norm.weight", {E}, false);
}

DenseConfig DenseStudent::config_of(const GgufFile& f) {
  WeightBinder b(f);
  DenseConfig c;
  c.arch = f.architecture();
  if (c.arch != "qwen2" && c.arch != "llama")
    fail("%s: architecture '%s' is not a trainable dense student (qwen2, llama)", f.path().c_str(), c.arch.c_str());
  const std::string a = c.arch + ".";
  c.n_embd = b.hp_int(a + "embedding_length");
  c.n_layer = b.hp_int(a + "block_count");
  c.n_head = b.hp_int(a + "attention.head_count");
  c.n_head_kv = b.hp_int(a + "attention.head_count_kv", c.n_head);
  c.head_dim = b.hp_int(a + "attention.key_length", c.n_embd / c.n_head);
  c.n_ff = b.hp_int(a + "feed_forward_length");
  c.n_ctx = b.hp_int(a + "context_length", 4096);
  c.rope_theta = float(b.hp_float(a + "rope.freq_base", 10000.0));
  c.rms_eps = float(b.hp_float(a + "attention.layer_norm_rms_epsilon", 1e-6));
  const GgufTensorInfo* emb = f.find_tensor("token_embd.weight");
  if (!emb || emb->ne.size() != 2) fail("%s: missing tensor 'token_embd.weight'", f.path().c_str());
  c.n_vocab = emb->ne[1];
  if (f.find_tensor("output.weight"))
    fail("%s: the student ties its output to the embedding; this file has its own output.weight", f.path().c_str());
  if (f.get_string(a + "rope.scaling.type").value_or("none") != "none" || f.find_tensor("rope_freqs.weight"))
    fail("%s: RoPE scaling is not supported for training", f.path().c_str());
  return c;
}

void DenseStudent::init(uint64_t seed) {
  const float depth = 1.f / std::sqrt(2.f * float(c_.n_layer));
  for (auto& p : params_.all()) {
    if (!p->decay) {
      std::fill(p->w.begin(), p->w.end(), p->name.ends_with(".bias") ? 0.f : 1.f);
      continue;
    }
    // The tied embedding is also the head: 1/sqrt(n_embd) keeps the first logits near unit size.
    float std = 1.f / std::sqrt(float(p->cols()));
    if (p->name.find("attn_output") != std::string::npos || p->name.find("ffn_down") != std::string::npos) std *= depth;
    fill_normal(p->w.data(), p->numel(), hash_name(p->name) ^ (seed * 0x9E3779B97F4A7C15ull), 0.f, std);
  }
}

ForwardOut DenseStudent::forward(Tape& t, const TrainBatch& b, const ForwardOptions& o) {
  const int64_t T = b.size(), H = c_.n_head, Hk = c_.n_head_kv, hd = c_.head_dim;
  if (T == 0 || b.seg->n_tok() != T || int64_t(b.targets.size()) != T) fail("internal: malformed training batch");
  for (int32_t id : b.tokens)
    if (id < 0 || id >= c_.n_vocab) fail("token id %d outside the vocabulary (%lld)", id, (long long)c_.n_vocab);
  auto rope_t = std::make_shared<RopeTable>(make_rope_table(b.pos, hd, c_.rope_theta));
  const Id table = t.param(params_.get("token_embd.weight"));
  Id x = embed(t, table, std::make_shared<std::vector<int32_t>>(b.tokens));
  auto P = [&](const std::string& n) { return t.param(params_.get(n)); };
  for (int64_t il = 0; il < c_.n_layer; ++il) {
    const std::string p = "blk." + std::to_string(il) + ".";
    const Id h = rms_norm(t, x, P(p + "attn_norm.weight"), c_.rms_eps);
    Id q = linear(t, h, P(p + "attn_q.weight")), k = linear(t, h, P(p + "attn_k.weight")),
       v = linear(t, h, P(p + "attn_v.weight"));
    if (qwen()) {
      q = add_bias(t, q, P(p + "attn_q.bias"));
      k = add_bias(t, k, P(p + "attn_k.bias"));
      v = add_bias(t, v, P(p + "attn_v.bias"));
    }
    q = rope(t, q, H, hd, 0, hd, rope_t, qwen());
    k = rope(t, k, Hk, hd, 0, hd, rope_t, qwen());
    const Id att = attention(t, q, k, v, H, Hk, hd, hd, b.seg, 1.f / std::sqrt(float(hd)));
    x = add(t, x, linear(t, att, P(p + "attn_output.weight")));
    const Id h2 = rms_norm(t, x, P(p + "ffn_norm.weight"), c_.rms_eps);
    const Id g = linear(t, h2, P(p + "ffn_gate.weight")), u = linear(t, h2, P(p + "ffn_up.weight"));
    x = add(t, x, linear(t, swiglu(t, g, u), P(p + "ffn_down.weight")));
  }
  const Id normed = rms_norm(t, x, P("output_norm.weight"), c_.rms_eps);
  const Id logits = linear(t, normed, table);
  ForwardOut out;
  out.logprobs = token_logprobs(t, o.temperature == 1 ? logits : scale(t, logits, 1 / o.temperature),
                                std::make_shared<std::vector<int32_t>>(b.targets));
  if (o.keep_logits) out.logits = logits;
  return out;
}

double DenseStudent::forward_flops(double span) const {
  const double E = double(c_.n_embd), hd = double(c_.head_dim), H = double(c_.n_head), Hk = double(c_.n_head_kv);
  const double per_layer = E * hd * (2 * H + 2 * Hk) + 3 * E * double(c_.n_ff) + span * H * 2 * hd;
  return 2 * (double(c_.n_layer) * per_layer + E * double(c_.n_vocab));
}

std::vector<std::pair<std::string, GgufValue>> DenseStudent::gguf_metadata() const {
  std::vector<std::pair<std::string, GgufValue>> kv;
  const std::string A = c_.arch + ".";
  auto u32 = [&](const std::string& k, int64_t v) { kv.emplace_back(A + k, GgufValue::u32(uint32_t(v))); };
  kv.emplace_back("general.architecture", GgufValue::str(c_.arch));
  u32("context_length", c_.n_ctx);
  u32("embedding_length", c_.n_embd);
  u32("block_count", c_.n_layer);
  u32("feed_forward_length", c_.n_ff);
  u32("attention.head_count", c_.n_head);
  u32("attention.head_count_kv", c_.n_head_kv);
  u32("attention.key_length", c_.head_dim);
  u32("attention.value_length", c_.head_dim);
  u32("rope.dimension_count", c_.head_dim);
  kv.emplace_back(A + "rope.freq_base", GgufValue::f32(c_.rope_theta));
  kv.emplace_back(A + "attention.layer_norm_rms_epsilon", GgufValue::f32(c_.rms_eps));
  u32("vocab_size", c_.n_vocab);
  return kv;
}

}  // namespace frugal::train
