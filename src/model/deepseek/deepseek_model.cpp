#include "model/deepseek/deepseek_model.h"

#include <cstring>
#include <numeric>

#include "core/error.h"
#include "kernels/ops.h"
#include "kernels/quant.h"
#include "model/forward_util.h"
#include "model/weight_binder.h"

namespace frugal {

namespace {
DeepseekHparams read_hp(const GgufFile& f) { return read_deepseek_hparams(WeightBinder(f)); }
}  // namespace

DeepseekModel::DeepseekModel(std::shared_ptr<GgufFile> file)
    : hp_(read_hp(*file)), mla_(hp_, mla_path_from_env()), moe_(hp_) {
  file_ = std::move(file);
  WeightBinder b(*file_);
  const GgufTensorInfo* emb = file_->find_tensor("token_embd.weight");
  if (!emb || emb->ne.size() < 2) fail("%s: missing tensor 'token_embd.weight'", file_->path().c_str());
  hp_.n_vocab = b.hp_int("deepseek2.vocab_size", emb->ne[1]);  // not used by mla_ or moe_

  cfg_.arch = "deepseek2";
  cfg_.name = file_->get_string("general.name").value_or("");
  cfg_.n_vocab = hp_.n_vocab;
  cfg_.n_embd = hp_.n_embd;
  cfg_.n_layer = hp_.n_layer;
  cfg_.n_head = hp_.n_head;
  cfg_.n_head_kv = 1;  // one shared latent per token
  cfg_.head_dim = hp_.nope + hp_.rope;
  cfg_.head_dim_v = hp_.v_dim;
  cfg_.n_ff = hp_.n_ff;
  cfg_.n_ctx_train = hp_.n_ctx_train;
  cfg_.rms_eps = hp_.rms_eps;
  cfg_.rope_theta = float(hp_.rope_theta);
  cfg_.rope_neox = false;
  cfg_.n_rot = hp_.rope;

  token_embd_ = b.matrix("token_embd.weight", hp_.n_embd, hp_.n_vocab);
  output_norm_ = b.vec("output_norm.weight", hp_.n_embd);
  output_ = b.matrix("output.weight", hp_.n_embd, hp_.n_vocab);
  layers_.resize(size_t(hp_.n_layer));
  for (int64_t il = 0; il < hp_.n_layer; ++il) bind_layer(b, il, layers_[size_t(il)]);
  inv_freq_ = yarn_inv_freq(hp_.rope, hp_.rope_theta, hp_.yarn);
  if (hp_.n_nextn > 0 && file_->find_tensor("blk." + std::to_string(hp_.n_layer) + ".nextn.eh_proj.weight")) {
    // Only the first MTP module is used: V3 ships one, and one draft token per step is what
    // a 2-core CPU can verify for free inside a decode step.
    const std::string p = "blk." + std::to_string(hp_.n_layer) + ".nextn.";
    DeepseekMtp m;
    bind_layer(b, hp_.n_layer, m.block);
    m.eh_proj = b.matrix(p + "eh_proj.weight", 2 * hp_.n_embd, hp_.n_embd);
    m.enorm = b.vec(p + "enorm.weight", hp_.n_embd);
    m.hnorm = b.vec(p + "hnorm.weight", hp_.n_embd);
    m.head_norm = b.vec(p + "shared_head_norm.weight", hp_.n_embd);
    m.embed = b.matrix_opt(p + "embed_tokens.weight", hp_.n_embd, hp_.n_vocab).value_or(token_embd_);
    m.head = b.matrix_opt(p + "shared_head_head.weight", hp_.n_embd, hp_.n_vocab).value_or(output_);
    mtp_ = std::move(m);
  }
}

void DeepseekModel::bind_layer(const WeightBinder& b, int64_t il, DeepseekLayer& L) {
  const std::string p = "blk." + std::to_string(il) + ".";
  L.attn = bind_mla(b, p, hp_);
  L.ffn_norm = b.vec(p + "ffn_norm.weight", hp_.n_embd);
  L.moe = il >= hp_.n_dense_lead;
  if (L.moe) {
    L.experts = bind_moe(b, p, hp_);
  } else {
    L.w_gate = b.matrix(p + "ffn_gate.weight", hp_.n_embd, hp_.n_ff);
    L.w_up = b.matrix(p + "ffn_up.weight", hp_.n_embd, hp_.n_ff);
    L.w_down = b.matrix(p + "ffn_down.weight", hp_.n_ff, hp_.n_embd);
  }
}

std::unique_ptr<KvCache> DeepseekModel::new_cache(int64_t n_slot, int64_t n_ctx, int64_t pool_blocks) const {
  const int64_t kw = hp_.kv_lora_rank + hp_.rope;
  // Attention reads the whole row as the key and its first kv_lora_rank values as the value.
  const int64_t head = std::gcd(kw, hp_.kv_lora_rank);
  // A pipeline stage caches its own layers only.
  const int64_t layers = stage_end() - stage_begin();
  auto c = pool_blocks > 0 ? std::make_unique<KvCache>(layers, n_slot, n_ctx, kw, 0, pool_blocks, cache_type_, head)
                           : std::make_unique<KvCache>(layers, n_slot, n_ctx, kw, 0, cache_type_, head);
  c->set_first_layer(stage_begin());
  return c;
}

int64_t DeepseekModel::weight_bytes_per_token() const {
  size_t n = view_bytes(output_) + row_bytes(token_embd_.type, hp_.n_embd);
  for (const auto& L : layers_) {
    n += size_t(mla_weight_bytes_per_token(L.attn, hp_));
    n += L.moe ? size_t(moe_weight_bytes_per_token(L.experts, hp_))
               : view_bytes(L.w_gate) + view_bytes(L.w_up) + view_bytes(L.w_down);
  }
  return int64_t(n);
}

void DeepseekModel::ffn(const DeepseekLayer& L, int64_t layer, const float* x, int64_t T, float* out,
                        ThreadPool& pool) {
  if (L.moe) return moe_.forward(L.experts, layer, x, T, out, pool);
  const int64_t F = hp_.n_ff;
  grow(gate_, size_t(T * F));
  grow(up_, size_t(T * F));
  const kernels::MatmulJob jobs[] = {{L.w_gate, gate_.data(), F}, {L.w_up, up_.data(), F}};
  kernels::matmul_multi(jobs, 2, x, hp_.n_embd, T, pool);
  pool.parallel_for(T * F, 32768, [&](int64_t i0, int64_t i1) {
    kernels::silu_mul(gate_.data() + i0, up_.data() + i0, gate_.data() + i0, i1 - i0);
  });
  kernels::matmul(L.w_down, gate_.data(), F, T, out, hp_.n_embd, pool);
}

void DeepseekModel::check_batch(const Batch& batch, const KvCache& cache) const {
  for (size_t t = 0; t < batch.size(); ++t) {
    const auto tok = batch.token[t], pos = batch.pos[t], seq = batch.seq[t];
    if (tok < 0 || tok >= hp_.n_vocab) fail("token id %d out of range [0, %lld)", tok, (long long)hp_.n_vocab);
    if (pos < 0 || pos >= cache.n_ctx()) fail("position %d outside the context (%lld)", pos, (long long)cache.n_ctx());
    if (seq < 0 || seq >= cache.n_slot()) fail("sequence slot %d out of range", seq);
    if (cache.block(seq, pos >> KvCache::kBlockShift) < 0) fail("position %d of slot %d has no KV block", pos, seq);
  }
}

void DeepseekModel::embed(const kernels::WeightView& table, const Batch& batch, float* x) const {
  const int64_t E = hp_.n_embd;
  const size_t rb = row_bytes(table.type, E);
  for (size_t t = 0; t < batch.size(); ++t)
    kernels::dequantize_row(table.type, static_cast<const uint8_t*>(table.data) + size_t(batch.token[t]) * rb,
                            x + int64_t(t) * E, E);
}

void DeepseekModel::rope_tables(const Batch& batch) {
  const int64_t T = int64_t(batch.size()), half = hp_.rope / 2;
  grow(rope_cos_, size_t(T * half));
  grow(rope_sin_, size_t(T * half));
  for (int64_t t = 0; t < T; ++t)
    kernels::rope_table(batch.pos[size_t(t)], hp_.rope, inv_freq_.data(), 1.0f, rope_cos_.data() + t * half,
                        rope_sin_.data() + t * half);
}

void DeepseekModel::block(const DeepseekLayer& L, int64_t layer, const Batch& batch, KvCache& cache, int64_t il_cache, float* x,
                          ThreadPool& pool) {
  const int64_t T = int64_t(batch.size()), E = hp_.n_embd;
  grow(h_, size_t(T * E));
  grow(tmp_, size_t(T * E));
  float *h = h_.data(), *tmp = tmp_.data();
  kernels::rms_norm(x, L.attn.attn_norm.data(), h, T, E, hp_.rms_eps);
  mla_.forward(L.attn, batch, cache, il_cache, h, rope_cos_.data(), rope_sin_.data(), tmp, pool);
  kernels::add_inplace(x, tmp, T * E);
  kernels::rms_norm(x, L.ffn_norm.data(), h, T, E, hp_.rms_eps);
  ffn(L, layer, h, T, tmp, pool);
  kernels::add_inplace(x, tmp, T * E);
}

void DeepseekModel::forward(const Batch& batch, KvCache& cache, float* logits, ThreadPool& pool) {
  const int64_t T = int64_t(batch.size());
  if (T == 0) return;
  check_batch(batch, cache);
  grow(x_, size_t(T * hp_.n_embd));
  const int64_t first = stage_begin(), last = stage_end();
  if (first > 0) std::memcpy(x_.data(), stage_in_, size_t(T * hp_.n_embd) * sizeof(float));  // the previous stage's output
  else embed(token_embd_, batch, x_.data());
  rope_tables(batch);
  for (int64_t il = first; il < last; ++il) block(layers_[size_t(il)], il, batch, cache, il, x_.data(), pool);
  if (last < hp_.n_layer) {
    std::memcpy(stage_out_, x_.data(), size_t(T * hp_.n_embd) * sizeof(float));
    return;
  }
  if (remote_ && remote_->head_local_rows() < hp_.n_vocab) {
    // The expert split: the other ranks compute their rows of the head meanwhile.
    const int64_t n_out = output_rows(batch, x_.data(), hp_.n_embd, output_norm_, hp_.rms_eps, out_rows_);
    if (n_out) {
      remote_->post_head(out_rows_.data(), n_out);
      kernels::WeightView mine = output_;
      mine.n_rows = remote_->head_local_rows();
      kernels::matmul(mine, out_rows_.data(), hp_.n_embd, n_out, logits, hp_.n_vocab, pool);
      remote_->collect_head(logits, n_out);
    }
  } else {
    output_logits(batch, x_.data(), hp_.n_embd, output_norm_, hp_.rms_eps, output_, out_rows_, logits, pool);
  }
  // The draft head is trained on the trunk's output after the final norm (DeepSeek's own
  // modeling code hands `norm(h)` to the MTP layer, which applies its hnorm on top).
  if (mtp_) {
    grow(normed_, size_t(T * hp_.n_embd));
    kernels::rms_norm(x_.data(), output_norm_.data(), normed_.data(), T, hp_.n_embd, hp_.rms_eps);
  }
}

const MoeWeights* DeepseekModel::moe_weights(int64_t layer) const {
  const DeepseekLayer* L = layer >= 0 && layer < hp_.n_layer ? &layers_[size_t(layer)]
                           : layer == hp_.n_layer && mtp_   ? &mtp_->block
                                                            : nullptr;
  return L && L->moe ? &L->experts : nullptr;
}

void DeepseekModel::expert_rows(int64_t layer, const float* x, int64_t T, const int32_t* ids, int64_t eb, int64_t ee,
                                float* y, ThreadPool& pool) {
  const MoeWeights* w = moe_weights(layer);
  if (!w) fail("expert split: layer %lld is not a MoE layer of this model", (long long)layer);
  moe_.expert_rows(*w, x, T, ids, eb, ee, y, pool);
}

void DeepseekModel::head_rows(const float* rows, int64_t n_out, int64_t r0, int64_t r1, float* y,
                              ThreadPool& pool) const {
  if (r0 == r1) return;
  if (r0 < 0 || r1 > hp_.n_vocab || r0 > r1) fail("expert split: head rows %lld-%lld out of range", (long long)r0, (long long)r1);
  kernels::WeightView part = output_;
  part.n_rows = r1 - r0;
  part.data = static_cast<const uint8_t*>(output_.data) + size_t(r0) * row_bytes(output_.type, output_.n_cols);
  kernels::matmul(part, rows, hp_.n_embd, n_out, y, r1 - r0, pool);
}

void DeepseekModel::final_hidden(int64_t row, float* out) const {
  const int64_t E = hp_.n_embd;
  kernels::rms_norm(x_.data() + row * E, output_norm_.data(), out, 1, E, hp_.rms_eps);
}

std::unique_ptr<KvCache> DeepseekModel::new_mtp_cache(int64_t n_slot, int64_t n_ctx) const {
  if (!mtp_) return nullptr;
  return std::make_unique<KvCache>(1, n_slot, n_ctx, hp_.kv_lora_rank + hp_.rope, 0);
}

int64_t DeepseekModel::mtp_weight_bytes_per_token() const {
  if (!mtp_) return 0;
  const DeepseekLayer& L = mtp_->block;
  size_t n = view_bytes(mtp_->eh_proj) + view_bytes(mtp_->head) + size_t(mla_weight_bytes_per_token(L.attn, hp_));
  n += L.moe ? size_t(moe_weight_bytes_per_token(L.experts, hp_))
             : view_bytes(L.w_gate) + view_bytes(L.w_up) + view_bytes(L.w_down);
  return int64_t(n);
}

std::vector<std::string> DeepseekModel::describe() const {
  const auto& h = hp_;
  std::vector<std::string> out;
  const int64_t lat = h.kv_lora_rank + h.rope, full = h.n_head * (h.nope + h.rope + h.v_dim);
  out.push_back(strfmt("MLA: %lld heads, q %s, per head nope %lld + rope %lld, v %lld; cache per token and layer = "
                       "latent %lld + rope %lld = %lld values (full K/V would be %lld: %.1fx more)",
                       (long long)h.n_head,
                       h.q_lora_rank ? strfmt("compressed to %lld", (long long)h.q_lora_rank).c_str() : "uncompressed",
                       (long long)h.nope, (long long)h.rope, (long long)h.v_dim, (long long)h.kv_lora_rank,
                       (long long)h.rope, (long long)lat, (long long)full, double(full) / double(lat)));
  out.push_back(strfmt("YaRN: factor %g, original context %g, beta %g/%g, softmax scale x %.4f",
                       h.yarn.factor, h.yarn.original_context, h.yarn.beta_fast, h.yarn.beta_slow,
                       yarn_softmax_mscale2(h.yarn)));
  out.push_back(strfmt("MoE: %lld leading dense layers (n_ff %lld), then %lld routed experts (n_ff %lld), %lld per token "
                       "from the best %lld of %lld groups, %s%s, %s, scale %g, %lld shared",
                       (long long)h.n_dense_lead, (long long)h.n_ff, (long long)h.n_expert, (long long)h.n_ff_exp,
                       (long long)h.n_expert_used, (long long)h.n_group_used, (long long)h.n_group,
                       h.sigmoid_gating ? "sigmoid" : "softmax",
                       !layers_.empty() && layers_.back().moe && !layers_.back().experts.exp_bias.empty()
                           ? " + selection bias"
                           : "",
                       h.norm_topk ? "renormalized" : "not renormalized", double(h.routed_scale), (long long)h.n_shared));
  out.push_back(mtp_ ? strfmt("MTP: %lld module(s) after the trunk; one used as the speculative draft (--mtp)",
                              (long long)h.n_nextn)
                     : std::string("MTP: none"));
  return out;
}

void DeepseekModel::forward_mtp(const Batch& batch, const float* hidden, KvCache& cache, float* logits,
                                ThreadPool& pool) {
  if (!mtp_) fail("this model has no MTP module");
  const int64_t T = int64_t(batch.size()), E = hp_.n_embd;
  if (T == 0) return;
  check_batch(batch, cache);
  grow(mx_, size_t(T * E));
  grow(cat_, size_t(T * 2 * E));
  embed(mtp_->embed, batch, mx_.data());
  for (int64_t t = 0; t < T; ++t) {
    kernels::rms_norm(mx_.data() + t * E, mtp_->enorm.data(), cat_.data() + t * 2 * E, 1, E, hp_.rms_eps);
    kernels::rms_norm(hidden + t * E, mtp_->hnorm.data(), cat_.data() + t * 2 * E + E, 1, E, hp_.rms_eps);
  }
  kernels::matmul(mtp_->eh_proj, cat_.data(), 2 * E, T, mx_.data(), E, pool);
  rope_tables(batch);
  block(mtp_->block, hp_.n_layer, batch, cache, 0, mx_.data(), pool);
  output_logits(batch, mx_.data(), E, mtp_->head_norm, hp_.rms_eps, mtp_->head, out_rows_, logits, pool);
}

}  // namespace frugal
