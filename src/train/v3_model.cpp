#include "train/v3_model.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/rng.h"
#include "model/deepseek/moe.h"
#include "model/weight_binder.h"

namespace frugal::train {

namespace {
std::string blk(int64_t il) { return "blk." + std::to_string(il) + "."; }
}  // namespace

struct V3Model::Ctx {
  const TrainBatch* b = nullptr;
  const ForwardOptions* o = nullptr;
  std::shared_ptr<const RopeTable> rope;
  std::shared_ptr<const Segments> seg;
  std::shared_ptr<const std::vector<int32_t>> q_c, k_pe, k_idx, v_idx;  // column maps of MLA
  Id aux = -1;
};

V3Model::V3Model(const DeepseekHparams& hp) : hp_(hp) {
  if (hp_.n_nextn > 1) fail("training supports one MTP module, not %lld", (long long)hp_.n_nextn);
  if (hp_.yarn.factor > 1) fail("training with YaRN scaling is not supported");
  const int64_t E = hp_.n_embd, H = hp_.n_head, qk = hp_.nope + hp_.rope, kvr = hp_.kv_lora_rank;
  auto mat = [&](const std::string& n, int64_t cols, int64_t rows) { params_.add(n, {cols, rows}, true); };
  auto vec = [&](const std::string& n, int64_t len) { params_.add(n, {len}, false); };
  mat("token_embd.weight", E, hp_.n_vocab);
  for (int64_t il = 0; il < hp_.n_layer + hp_.n_nextn; ++il) {
    const std::string p = blk(il);
    if (il >= hp_.n_layer) {
      mat(p + "nextn.eh_proj.weight", 2 * E, E);
      vec(p + "nextn.enorm.weight", E);
      vec(p + "nextn.hnorm.weight", E);
      vec(p + "nextn.shared_head_norm.weight", E);
    }
    vec(p + "attn_norm.weight", E);
    if (hp_.q_lora_rank > 0) {
      mat(p + "attn_q_a.weight", E, hp_.q_lora_rank);
      vec(p + "attn_q_a_norm.weight", hp_.q_lora_rank);
      mat(p + "attn_q_b.weight", hp_.q_lora_rank, H * qk);
    } else {
      mat(p + "attn_q.weight", E, H * qk);
    }
    mat(p + "attn_kv_a_mqa.weight", E, kvr + hp_.rope);
    vec(p + "attn_kv_a_norm.weight", kvr);
    mat(p + "attn_kv_b.weight", kvr, H * (hp_.nope + hp_.v_dim));
    mat(p + "attn_output.weight", H * hp_.v_dim, E);
    vec(p + "ffn_norm.weight", E);
    if (!is_moe(il)) {
      mat(p + "ffn_gate.weight", E, hp_.n_ff);
      mat(p + "ffn_up.weight", E, hp_.n_ff);
      mat(p + "ffn_down.weight", hp_.n_ff, E);
      continue;
    }
    const int64_t N = hp_.n_expert, F = hp_.n_ff_exp;
    mat(p + "ffn_gate_inp.weight", E, N);
    if (hp_.sigmoid_gating) params_.add(p + "exp_probs_b.bias", {N}, false, false);
    params_.add(p + "ffn_gate_exps.weight", {E, F, N}, true);
    params_.add(p + "ffn_up_exps.weight", {E, F, N}, true);
    params_.add(p + "ffn_down_exps.weight", {F, E, N}, true);
    if (hp_.n_shared > 0) {
      mat(p + "ffn_gate_shexp.weight", E, F * hp_.n_shared);
      mat(p + "ffn_up_shexp.weight", E, F * hp_.n_shared);
      mat(p + "ffn_down_shexp.weight", F * hp_.n_shared, E);
    }
  }
  vec("output_norm.weight", E);
  mat("output.weight", E, hp_.n_vocab);
  load_.resize(size_t(hp_.n_layer + hp_.n_nextn));
  for (int64_t il = 0; il < hp_.n_layer + hp_.n_nextn; ++il)
    if (is_moe(il)) load_[size_t(il)].assign(size_t(hp_.n_expert), 0.0);
}

DeepseekHparams V3Model::hparams_of(const GgufFile& f) {
  DeepseekHparams hp = read_deepseek_hparams(WeightBinder(f));
  const GgufTensorInfo* emb = f.find_tensor("token_embd.weight");
  if (!emb || emb->ne.size() != 2) fail("%s: missing tensor 'token_embd.weight'", f.path().c_str());
  hp.n_vocab = emb->ne[1];
  if (hp.yarn.factor > 1)
    fail("%s: YaRN rope scaling (factor %g) cannot be trained yet; the trainer's rope is plain", f.path().c_str(),
         hp.yarn.factor);
  return hp;
}

void V3Model::init(uint64_t seed) {
  // Linear layers N(0, 1/fan_in), the projections back into the residual stream scaled down by
  // sqrt(2 x blocks) (GPT-2's rule) so the stream does not grow with depth; norms 1, bias 0.
  const float depth = 1.f / std::sqrt(2.f * float(hp_.n_layer + hp_.n_nextn));
  for (auto& p : params_.all()) {
    const std::string& n = p->name;
    if (!p->decay) {
      std::fill(p->w.begin(), p->w.end(), n.ends_with(".bias") ? 0.f : 1.f);
      continue;
    }
    float std = 1.f / std::sqrt(float(p->cols()));
    if (n == "token_embd.weight") std = 0.02f;
    if (n.find("attn_output") != std::string::npos || n.find("ffn_down") != std::string::npos) std *= depth;
    fill_normal(p->w.data(), p->numel(), hash_name(n) ^ (seed * 0x9E3779B97F4A7C15ull), 0.f, std);
  }
}

Id V3Model::dense_ffn(Tape& t, const std::string& p, Id h) {
  const Id g = linear(t, h, t.param(params_.get(p + "ffn_gate.weight")));
  const Id u = linear(t, h, t.param(params_.get(p + "ffn_up.weight")));
  return linear(t, swiglu(t, g, u), t.param(params_.get(p + "ffn_down.weight")));
}

Id V3Model::mla(Tape& t, Ctx& c, const std::string& p, Id h) {
  const int64_t H = hp_.n_head, nope = hp_.nope, nr = hp_.rope, qk = nope + nr;
  Id q;
  if (hp_.q_lora_rank > 0) {
    Id qa = linear(t, h, t.param(params_.get(p + "attn_q_a.weight")));
    qa = rms_norm(t, qa, t.param(params_.get(p + "attn_q_a_norm.weight")), hp_.rms_eps);
    q = linear(t, qa, t.param(params_.get(p + "attn_q_b.weight")));
  } else {
    q = linear(t, h, t.param(params_.get(p + "attn_q.weight")));
  }
  const Id kva = linear(t, h, t.param(params_.get(p + "attn_kv_a_mqa.weight")));
  const Id lat = rms_norm(t, gather_cols(t, kva, c.q_c), t.param(params_.get(p + "attn_kv_a_norm.weight")), hp_.rms_eps);
  // DeepSeek rotates adjacent pairs (2i, 2i+1) of the rope part: the engine's RopeLayout::Normal.
  const Id kpe = rope(t, gather_cols(t, kva, c.k_pe), 1, nr, 0, nr, c.rope, false);
  q = rope(t, q, H, qk, nope, nr, c.rope, false);
  const Id kvb = linear(t, lat, t.param(params_.get(p + "attn_kv_b.weight")));  // per head [k_nope | v]
  const Id k = gather_cols(t, concat_cols(t, kvb, kpe), c.k_idx);               // per head [k_nope | k_pe]
  const Id v = gather_cols(t, kvb, c.v_idx);
  const float sc = float(1.0 / std::sqrt(double(qk)));
  const Id att = attention(t, q, k, v, H, H, qk, hp_.v_dim, c.seg, sc);
  return linear(t, att, t.param(params_.get(p + "attn_output.weight")));
}

Id V3Model::moe(Tape& t, Ctx& c, int64_t il, const std::string& p, Id h) {
  const int64_t T = t.rows(h), E = hp_.n_embd, N = hp_.n_expert, k = hp_.n_expert_used, F = hp_.n_ff_exp;
  const Id logits = linear(t, h, t.param(params_.get(p + "ffn_gate_inp.weight")));
  // Selection by the engine's own routing (same experts at inference); weights on the tape.
  auto ids = std::make_shared<std::vector<int32_t>>(size_t(T * k));
  {
    const Param* bias = params_.find(p + "exp_probs_b.bias");
    std::vector<float> w(static_cast<size_t>(k)), scratch(static_cast<size_t>(2 * N));
    for (int64_t r = 0; r < T; ++r)
      moe_route(hp_, t.val(logits) + r * N, bias ? bias->w.data() : nullptr, ids->data() + r * k, w.data(),
                scratch.data());
  }
  const Id scores = hp_.sigmoid_gating ? sigmoid(t, logits) : -1;
  if (!hp_.sigmoid_gating) fail("training supports sigmoid gating (DeepSeek-V3) only");
  const Id weights = moe_gate(t, scores, ids, k, hp_.norm_topk, hp_.routed_scale);
  if (c.o->balance_alpha > 0) {
    const Id bl = balance_loss(t, scores, ids, k, c.seg, c.o->balance_alpha);
    c.aux = c.aux < 0 ? bl : add(t, c.aux, bl);
  }
  if (c.o->count_load)
    for (int32_t e : *ids) load_[size_t(il)][size_t(e)] += 1;

  Id base = -1;
  if (hp_.n_shared > 0) {
    const Id g = linear(t, h, t.param(params_.get(p + "ffn_gate_shexp.weight")));
    const Id u = linear(t, h, t.param(params_.get(p + "ffn_up_shexp.weight")));
    base = linear(t, swiglu(t, g, u), t.param(params_.get(p + "ffn_down_shexp.weight")));
  }
  auto rows_of = std::make_shared<std::vector<std::vector<int32_t>>>(size_t(N));
  for (int64_t i = 0; i < T * k; ++i) (*rows_of)[size_t((*ids)[size_t(i)])].push_back(int32_t(i));
  Param &pg = params_.get(p + "ffn_gate_exps.weight"), &pu = params_.get(p + "ffn_up_exps.weight"),
        &pd = params_.get(p + "ffn_down_exps.weight");
  std::vector<Id> ys(size_t(N), -1);
  for (int64_t e = 0; e < N; ++e) {
    const auto& rows = (*rows_of)[size_t(e)];
    if (rows.empty()) continue;
    auto toks = std::make_shared<std::vector<int32_t>>(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) (*toks)[i] = int32_t(rows[i] / k);
    const Id xe = gather_rows(t, h, toks);
    const Id g = linear(t, xe, t.param_rows(pg, e * F, F, E));
    const Id u = linear(t, xe, t.param_rows(pu, e * F, F, E));
    ys[size_t(e)] = linear(t, swiglu(t, g, u), t.param_rows(pd, e * E, E, F));
  }
  return moe_combine(t, base, ys, rows_of, weights, k);
}

Id V3Model::block(Tape& t, Ctx& c, int64_t il, Id x) {
  const std::string p = blk(il);
  const Id h = rms_norm(t, x, t.param(params_.get(p + "attn_norm.weight")), hp_.rms_eps);
  x = add(t, x, mla(t, c, p, h));
  const Id h2 = rms_norm(t, x, t.param(params_.get(p + "ffn_norm.weight")), hp_.rms_eps);
  return add(t, x, is_moe(il) ? moe(t, c, il, p, h2) : dense_ffn(t, p, h2));
}

ForwardOut V3Model::forward(Tape& t, const TrainBatch& b, const ForwardOptions& o) {
  const int64_t T = b.size(), H = hp_.n_head, nope = hp_.nope, rope = hp_.rope, kvr = hp_.kv_lora_rank;
  const int64_t dv = hp_.v_dim, kvw = H * (nope + dv);
  if (T == 0 || b.seg->n_tok() != T || int64_t(b.targets.size()) != T) fail("internal: malformed training batch");
  for (int32_t id : b.tokens)
    if (id < 0 || id >= hp_.n_vocab) fail("token id %d outside the vocabulary (%lld)", id, (long long)hp_.n_vocab);
  Ctx c;
  c.b = &b;
  c.o = &o;
  c.seg = b.seg;
  c.rope = std::make_shared<RopeTable>(make_rope_table(b.pos, rope, hp_.rope_theta));
  auto range = [](int64_t b0, int64_t n) {
    auto v = std::make_shared<std::vector<int32_t>>();
    for (int64_t i = 0; i < n; ++i) v->push_back(int32_t(b0 + i));
    return v;
  };
  c.q_c = range(0, kvr);
  c.k_pe = range(kvr, rope);
  auto ki = std::make_shared<std::vector<int32_t>>(), vi = std::make_shared<std::vector<int32_t>>();
  for (int64_t h = 0; h < H; ++h) {
    for (int64_t j = 0; j < nope; ++j) ki->push_back(int32_t(h * (nope + dv) + j));
    for (int64_t j = 0; j < rope; ++j) ki->push_back(int32_t(kvw + j));
    for (int64_t j = 0; j < dv; ++j) vi->push_back(int32_t(h * (nope + dv) + nope + j));
  }
  c.k_idx = ki;
  c.v_idx = vi;

  Param& emb = params_.get("token_embd.weight");
  Param& head = params_.get("output.weight");
  const Id table = t.param(emb);
  Id x = embed(t, table, std::make_shared<std::vector<int32_t>>(b.tokens));
  for (int64_t il = 0; il < hp_.n_layer; ++il) x = block(t, c, il, x);
  const Id normed = rms_norm(t, x, t.param(params_.get("output_norm.weight")), hp_.rms_eps);
  const Id out_w = t.param(head);
  ForwardOut out;
  const Id logits = linear(t, normed, out_w);
  out.logprobs = token_logprobs(t, o.temperature == 1 ? logits : scale(t, logits, 1 / o.temperature),
                                std::make_shared<std::vector<int32_t>>(b.targets));
  if (o.keep_logits) out.logits = logits;

  if (o.mtp && has_mtp()) {
    // Row r: the main model's normed hidden state at r and the embedding of the next token,
    // predicting the one after (DeepSeek-V3's MTP, D = 1; embedding and head shared).
    if (int64_t(b.targets2.size()) != T) fail("internal: MTP needs targets2");
    auto next = std::make_shared<std::vector<int32_t>>(b.tokens);
    for (int64_t q = 0; q < b.seg->n_seq(); ++q)  // the last row of a sequence has no next token: itself, no loss
      for (int64_t r = b.seg->start[size_t(q)]; r + 1 < b.seg->start[size_t(q) + 1]; ++r) (*next)[size_t(r)] = b.tokens[size_t(r + 1)];
    const std::string p = blk(hp_.n_layer);
    const Id e = rms_norm(t, embed(t, table, next), t.param(params_.get(p + "nextn.enorm.weight")), hp_.rms_eps);
    const Id hn = rms_norm(t, normed, t.param(params_.get(p + "nextn.hnorm.weight")), hp_.rms_eps);
    Id m = linear(t, concat_cols(t, e, hn), t.param(params_.get(p + "nextn.eh_proj.weight")));
    m = block(t, c, hp_.n_layer, m);
    m = rms_norm(t, m, t.param(params_.get(p + "nextn.shared_head_norm.weight")), hp_.rms_eps);
    const Id ml = linear(t, m, out_w);
    out.mtp_logprobs = token_logprobs(t, ml, std::make_shared<std::vector<int32_t>>(b.targets2));
    if (o.keep_logits) out.mtp_logits = ml;
  }
  out.aux = c.aux;
  return out;
}

void V3Model::after_step(float gamma) {
  for (int64_t il = 0; il < int64_t(load_.size()); ++il) {
    auto& l = load_[size_t(il)];
    if (l.empty()) continue;
    double mean = 0;
    for (double v : l) mean += v;
    mean /= double(l.size());
    if (Param* bias = params_.find(blk(il) + "exp_probs_b.bias"); bias && gamma > 0 && mean > 0)
      for (size_t e = 0; e < l.size(); ++e) bias->w[e] += l[e] < mean ? gamma : l[e] > mean ? -gamma : 0.f;
    std::fill(l.begin(), l.end(), 0.0);
  }
}

double V3Model::forward_flops(double span) const {
  const double E = double(hp_.n_embd), H = double(hp_.n_head), qk = double(hp_.nope + hp_.rope);
  const double dv = double(hp_.v_dim), kvr = double(hp_.kv_lora_rank);
  const double q = hp_.q_lora_rank > 0 ? E * double(hp_.q_lora_rank) + double(hp_.q_lora_rank) * H * qk : E * H * qk;
  const double attn = q + E * (kvr + double(hp_.rope)) + kvr * H * (double(hp_.nope) + dv) + H * dv * E;
  const double scores = span * H * (qk + dv);
  const double dense = 3 * E * double(hp_.n_ff);
  const double moe = E * double(hp_.n_expert) + 3 * E * double(hp_.n_ff_exp) * double(hp_.n_expert_used + hp_.n_shared);
  double macs = E * double(hp_.n_vocab);  // the head
  for (int64_t il = 0; il < hp_.n_layer; ++il) macs += attn + scores + (is_moe(il) ? moe : dense);
  return 2 * macs;
}

std::vector<std::pair<std::string, GgufValue>> V3Model::gguf_metadata() const {
  std::vector<std::pair<std::string, GgufValue>> kv = deepseek_gguf_metadata(hp_);
  kv.insert(kv.begin(), {"general.architecture", GgufValue::str("deepseek2")});
  return kv;
}

std::vector<TrainModel::Tensor> V3Model::gguf_tensors(std::vector<std::vector<float>>& keep) const {
  // llama.cpp's current MLA layout: attn_kv_b split into attn_k_b (W_UK transposed per head,
  // ne [nope, kv_lora, H]) and attn_v_b (ne [kv_lora, v, H]).
  const int64_t H = hp_.n_head, nope = hp_.nope, dv = hp_.v_dim, kvr = hp_.kv_lora_rank;
  std::vector<Tensor> out;
  keep.reserve(keep.size() + 2 * size_t(hp_.n_layer + hp_.n_nextn));
  for (const auto& p : params_.all()) {
    const std::string& n = p->name;
    if (!n.ends_with("attn_kv_b.weight")) {
      out.push_back({n, p->ne, p->w.data()});
      continue;
    }
    const std::string base = n.substr(0, n.size() - std::string("attn_kv_b.weight").size());
    std::vector<float>& kb = keep.emplace_back(size_t(H * kvr * nope));
    std::vector<float>& vb = keep.emplace_back(size_t(H * dv * kvr));
    const float* w = p->w.data();  // [H*(nope+dv)][kvr]
    for (int64_t h = 0; h < H; ++h) {
      for (int64_t c = 0; c < kvr; ++c)
        for (int64_t j = 0; j < nope; ++j) kb[size_t((h * kvr + c) * nope + j)] = w[(h * (nope + dv) + j) * kvr + c];
      for (int64_t j = 0; j < dv; ++j)
        std::copy_n(w + (h * (nope + dv) + nope + j) * kvr, kvr, vb.data() + (h * dv + j) * kvr);
    }
    out.push_back({base + "attn_k_b.weight", {nope, kvr, H}, kb.data()});
    out.push_back({base + "attn_v_b.weight", {kvr, dv, H}, vb.data()});
  }
  return out;
}

void V3Model::load_tensors(const GgufFile& f) {
  const int64_t H = hp_.n_head, nope = hp_.nope, dv = hp_.v_dim, kvr = hp_.kv_lora_rank;
  for (auto& p : params_.all()) {
    const std::string& n = p->name;
    if (const GgufTensorInfo* ti = f.find_tensor(n)) {
      check_trainable(f, *ti, p->ne);
      std::copy_n(reinterpret_cast<const float*>(ti->data), p->numel(), p->w.data());
      continue;
    }
    if (!n.ends_with("attn_kv_b.weight")) fail("%s: missing tensor '%s'", f.path().c_str(), n.c_str());
    const std::string base = n.substr(0, n.size() - std::string("attn_kv_b.weight").size());
    const GgufTensorInfo* kb = f.find_tensor(base + "attn_k_b.weight");
    const GgufTensorInfo* vb = f.find_tensor(base + "attn_v_b.weight");
    if (!kb || !vb) fail("%s: missing tensor '%s' (or attn_k_b + attn_v_b)", f.path().c_str(), n.c_str());
    check_trainable(f, *kb, {nope, kvr, H});
    check_trainable(f, *vb, {kvr, dv, H});
    const float *k = reinterpret_cast<const float*>(kb->data), *v = reinterpret_cast<const float*>(vb->data);
    float* w = p->w.data();
    for (int64_t h = 0; h < H; ++h) {
      for (int64_t c = 0; c < kvr; ++c)
        for (int64_t j = 0; j < nope; ++j) w[(h * (nope + dv) + j) * kvr + c] = k[(h * kvr + c) * nope + j];
      for (int64_t j = 0; j < dv; ++j) std::copy_n(v + (h * dv + j) * kvr, kvr, w + (h * (nope + dv) + nope + j) * kvr);
    }
  }
}

}  // namespace frugal::train
