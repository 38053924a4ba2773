#include "model/dense_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "core/error.h"
#include "kernels/attention.h"
#include "kernels/ops.h"
#include "kernels/quant.h"
#include "model/forward_util.h"
#include "model/weight_binder.h"

namespace frugal {

void DenseModel::read_config(const WeightBinder& b) {
  const std::string a = cfg_.arch + ".";
  cfg_.name = file_->get_string("general.name").value_or("");
  cfg_.n_embd = b.hp_int(a + "embedding_length");
  cfg_.n_layer = b.hp_int(a + "block_count");
  cfg_.n_ff = b.hp_int(a + "feed_forward_length");
  cfg_.n_head = b.hp_int(a + "attention.head_count");
  cfg_.n_head_kv = b.hp_int(a + "attention.head_count_kv", cfg_.n_head);
  cfg_.n_ctx_train = b.hp_int(a + "context_length", 4096);
  if (cfg_.n_head <= 0 || cfg_.n_head_kv <= 0 || cfg_.n_head % cfg_.n_head_kv != 0)
    fail("%s: head_count %lld is not a positive multiple of head_count_kv %lld", file_->path().c_str(),
         (long long)cfg_.n_head, (long long)cfg_.n_head_kv);
  cfg_.head_dim = b.hp_int(a + "attention.key_length", cfg_.n_embd / cfg_.n_head);
  cfg_.head_dim_v = b.hp_int(a + "attention.value_length", cfg_.head_dim);
  cfg_.n_rot = b.hp_int(a + "rope.dimension_count", cfg_.head_dim);
  if (cfg_.n_rot > cfg_.head_dim || cfg_.n_rot % 2)
    fail("%s: rope.dimension_count %lld invalid for head size %lld", file_->path().c_str(), (long long)cfg_.n_rot,
         (long long)cfg_.head_dim);
  cfg_.rms_eps = float(b.hp_float(a + "attention.layer_norm_rms_epsilon", 1e-6));
  cfg_.rope_theta = float(b.hp_float(a + "rope.freq_base", 10000.0));
  cfg_.rope_neox = spec_.rope_neox;
  cfg_.has_qkv_bias = spec_.qkv_bias;
  cfg_.has_qk_norm = spec_.qk_norm;
  const GgufTensorInfo* emb = file_->find_tensor("token_embd.weight");
  if (!emb || emb->ne.size() < 2) fail("%s: missing tensor 'token_embd.weight'", file_->path().c_str());
  cfg_.n_vocab = b.hp_int(a + "vocab_size", emb->ne[1]);
}

DenseModel::DenseModel(std::shared_ptr<GgufFile> file, const DenseSpec& spec) : spec_(spec) {
  file_ = std::move(file);
  cfg_.arch = file_->architecture();
  WeightBinder b(*file_);
  read_config(b);
  const int64_t E = cfg_.n_embd, F = cfg_.n_ff, hd = cfg_.head_dim, hdv = cfg_.head_dim_v;
  const int64_t nq = cfg_.n_head * hd, nk = cfg_.n_head_kv * hd, nv = cfg_.n_head_kv * hdv;

  token_embd_ = b.matrix("token_embd.weight", E, cfg_.n_vocab);
  output_norm_ = b.vec("output_norm.weight", E);
  if (auto out = b.matrix_opt("output.weight", E, cfg_.n_vocab)) {
    output_ = *out;
  } else {
    output_ = token_embd_;
    cfg_.tied_output = true;
  }
  layers_.resize(size_t(cfg_.n_layer));
  for (int64_t il = 0; il < cfg_.n_layer; ++il) {
    auto& L = layers_[size_t(il)];
    const std::string p = "blk." + std::to_string(il) + ".";
    L.attn_norm = b.vec(p + "attn_norm.weight", E);
    L.wq = b.matrix(p + "attn_q.weight", E, nq);
    L.wk = b.matrix(p + "attn_k.weight", E, nk);
    L.wv = b.matrix(p + "attn_v.weight", E, nv);
    L.wo = b.matrix(p + "attn_output.weight", cfg_.n_head * hdv, E);
    if (spec_.qkv_bias) {
      L.bq = b.vec(p + "attn_q.bias", nq);
      L.bk = b.vec(p + "attn_k.bias", nk);
      L.bv = b.vec(p + "attn_v.bias", nv);
    }
    if (spec_.qk_norm) {
      L.q_norm = b.vec(p + "attn_q_norm.weight", hd);
      L.k_norm = b.vec(p + "attn_k_norm.weight", hd);
    }
    L.ffn_norm = b.vec(p + "ffn_norm.weight", E);
    L.w_gate = b.matrix(p + "ffn_gate.weight", E, F);
    L.w_up = b.matrix(p + "ffn_up.weight", E, F);
    L.w_down = b.matrix(p + "ffn_down.weight", F, E);
  }

  // RoPE scaling. Linear divides every frequency by the factor. YaRN's frequency ramp and
  // attention factor are not wired into the dense models yet: a file that asks for them is
  // refused rather than run with wrong positions.
  double freq_scale = 1.0;
  const std::string scaling = file_->get_string(cfg_.arch + ".rope.scaling.type").value_or("none");
  if (scaling == "linear") {
    const double factor = b.hp_float(cfg_.arch + ".rope.scaling.factor", 1.0);
    if (!(factor > 0)) fail("%s: %s.rope.scaling.factor must be > 0", file_->path().c_str(), cfg_.arch.c_str());
    freq_scale = 1.0 / factor;
  } else if (scaling != "none") {
    fail("%s: %s.rope.scaling.type '%s' is not supported for %s models yet (supported: none, linear, and "
         "llama3 frequency factors)",
         file_->path().c_str(), cfg_.arch.c_str(), scaling.c_str(), cfg_.arch.c_str());
  }
  const int64_t half = cfg_.n_rot / 2;
  inv_freq_.resize(size_t(half));
  std::vector<float> factors;
  if (spec_.rope_freq_factors) {
    if (auto f = b.vec_opt("rope_freqs.weight", half)) factors = *f;
  }
  for (int64_t i = 0; i < half; ++i) {
    double f = std::pow(double(cfg_.rope_theta), -2.0 * double(i) / double(cfg_.n_rot));
    if (!factors.empty()) f /= double(factors[size_t(i)]);
    inv_freq_[size_t(i)] = float(f * freq_scale);
  }
}

std::unique_ptr<KvCache> DenseModel::new_cache(int64_t n_slot, int64_t n_ctx, int64_t pool_blocks) const {
  const int64_t kw = cfg_.n_head_kv * cfg_.head_dim, vw = cfg_.n_head_kv * cfg_.head_dim_v;
  const int64_t head = std::gcd(cfg_.head_dim, cfg_.head_dim_v);  // per-head column offsets
  // A pipeline stage caches its own layers only.
  const int64_t layers = stage_end() - stage_begin();
  auto c = pool_blocks > 0 ? std::make_unique<KvCache>(layers, n_slot, n_ctx, kw, vw, pool_blocks, cache_type_, head)
                           : std::make_unique<KvCache>(layers, n_slot, n_ctx, kw, vw, cache_type_, head);
  c->set_first_layer(stage_begin());
  return c;
}

int64_t DenseModel::weight_bytes_per_token() const {
  size_t n = view_bytes(output_) + size_t(row_bytes(token_embd_.type, token_embd_.n_cols));
  for (const auto& L : layers_)
    n += view_bytes(L.wq) + view_bytes(L.wk) + view_bytes(L.wv) + view_bytes(L.wo) + view_bytes(L.w_gate) +
         view_bytes(L.w_up) + view_bytes(L.w_down);
  return int64_t(n);
}

// Causal attention of every batch token over its own sequence's cache [0, pos]. One work item
// per (run of consecutive positions of one sequence, KV head, context segment of a decode
// run): the query heads of a GQA group and the positions of a prompt chunk share each cached
// row they read (kernels/attention.h).
void DenseModel::attention(const Batch& batch, KvCache& cache, int64_t il, ThreadPool& pool) {
  const int64_t T = int64_t(batch.size()), H = cfg_.n_head, Hkv = cfg_.n_head_kv;
  const int64_t hdv = cfg_.head_dim_v, group = H / Hkv;
  // Runs of at most kRun positions, fewer where a run's scores (group x positions x keys
  // floats) would outgrow kScoreFloats per thread.
  constexpr int64_t kRun = 16, kScoreFloats = int64_t(2) << 20;
  int64_t max_kv = 1;
  for (int64_t t = 0; t < T; ++t) max_kv = std::max<int64_t>(max_kv, int64_t(batch.pos[size_t(t)]) + 1);
  const int64_t run_cap = std::clamp<int64_t>(kScoreFloats / (group * max_kv), 1, kRun);
  runs_.clear();
  for (int64_t t = 0; t < T;) {
    int64_t e = t + 1;
    while (e < T && e - t < run_cap && batch.seq[size_t(e)] == batch.seq[size_t(t)] &&
           batch.pos[size_t(e)] == batch.pos[size_t(e - 1)] + 1)
      ++e;
    runs_.push_back({t, e - t});
    t = e;
  }
  if (int(scores_.size()) < pool.size()) scores_.resize(size_t(pool.size()));
  for (auto& s : scores_) grow(s, size_t(group * run_cap * max_kv));
  if (int(pages_.size()) < 2 * pool.size()) pages_.resize(size_t(2 * pool.size()));
  // A run of one position (decode) is split over its context (flash-decoding,
  // kernels/attention.h): segments of kSegmentKeys keys, each an item per KV head, merged
  // after, so a long context keeps every thread busy whatever the number of KV heads. Runs go
  // in groups that bound the segments' outputs.
  segs_.for_each_group(
      int64_t(runs_.size()), H * hdv, [&](int64_t r) { return run_segments(batch, runs_[size_t(r)]); },
      [&](int64_t g0, int64_t g1) { attend_runs(batch, cache, il, g0, g1, pool); });
}

int64_t DenseModel::run_segments(const Batch& batch, const Run& r) const {
  return r.n == 1 ? kernels::n_segments(int64_t(batch.pos[size_t(r.first)]) + 1) : 1;
}

// Runs [g0, g1) of runs_ (the current group of segs_): one item per (segment, KV head) into
// att_, or into seg_out_ / seg_lse_ and merged.
void DenseModel::attend_runs(const Batch& batch, KvCache& cache, int64_t il, int64_t g0, int64_t g1, ThreadPool& pool) {
  const int64_t H = cfg_.n_head, Hkv = cfg_.n_head_kv, hd = cfg_.head_dim, hdv = cfg_.head_dim_v, group = H / Hkv;
  const float scale = 1.0f / std::sqrt(float(hd));
  const int64_t n_seg = segs_.total();
  grow(seg_out_, size_t(n_seg * H * hdv));
  grow(seg_lse_, size_t(n_seg * H));
  // Items are claimed as the threads come (parallel_dynamic): a descheduled thread does not
  // hold up the round.
  pool.parallel_dynamic(n_seg * Hkv, 1, [&](int64_t i0, int64_t i1, int ith) {
    auto& kp = pages_[size_t(2 * ith)];
    auto& vp = pages_[size_t(2 * ith + 1)];
    for (int64_t item = i0; item < i1; ++item) {
      const int64_t seg = item / Hkv, kvh = item % Hkv, gr = segs_.item_of(seg);
      const auto [t, n] = runs_[size_t(g0 + gr)];
      const bool whole = segs_.count(gr) == 1;
      const int64_t slot = batch.seq[size_t(t)], n_kv = int64_t(batch.pos[size_t(t + n - 1)]) + 1;
      const int64_t j0 = (seg - segs_.first(gr)) * kernels::kSegmentKeys, first_block = j0 >> KvCache::kBlockShift;
      kernels::AttendArgs a;
      a.q = q_.data() + (t * H + kvh * group) * hd;
      a.n_q = group;
      a.n_tok = n;
      a.q_tok_stride = H * hd;
      a.out_tok_stride = H * hdv;
      a.n_kv = whole ? n_kv : std::min(kernels::kSegmentKeys, n_kv - j0);
      cache.k_pages(il, slot, KvCache::blocks_for(a.n_kv), kvh * hd, kp, first_block);
      cache.v_pages(il, slot, KvCache::blocks_for(a.n_kv), kvh * hdv, vp, first_block);
      a.kv_type = cache.type();
      a.k_pages = kp.data();
      a.v_pages = vp.data();
      a.page_shift = int(KvCache::kBlockShift);
      a.k_stride = cache.k_stride();
      a.v_stride = cache.v_stride();
      a.head_dim = hd;
      a.head_dim_v = hdv;
      a.scale = scale;
      a.out = whole ? att_.data() + (t * H + kvh * group) * hdv : seg_out_.data() + (seg * H + kvh * group) * hdv;
      a.lse = whole ? nullptr : seg_lse_.data() + seg * H + kvh * group;
      a.scratch = scores_[size_t(ith)].data();
      kernels::attend(a);
    }
  });
  segs_.merge(seg_out_.data(), seg_lse_.data(), H, hdv,
              [&](int64_t gr) { return att_.data() + runs_[size_t(g0 + gr)].first * H * hdv; }, pool);
}

void DenseModel::forward(const Batch& batch, KvCache& cache, float* logits, ThreadPool& pool) {
  const int64_t T = int64_t(batch.size());
  if (T == 0) return;
  const int64_t E = cfg_.n_embd, F = cfg_.n_ff, H = cfg_.n_head, Hkv = cfg_.n_head_kv;
  const int64_t hd = cfg_.head_dim, hdv = cfg_.head_dim_v;
  const int64_t nq = H * hd, nk = Hkv * hd, nv = Hkv * hdv;
  for (int64_t t = 0; t < T; ++t) {
    const auto tok = batch.token[size_t(t)];
    const auto pos = batch.pos[size_t(t)], seq = batch.seq[size_t(t)];
    if (tok < 0 || tok >= cfg_.n_vocab) fail("token id %d out of range [0, %lld)", tok, (long long)cfg_.n_vocab);
    if (pos < 0 || pos >= cache.n_ctx()) fail("position %d outside the context (%lld)", pos, (long long)cache.n_ctx());
    if (seq < 0 || seq >= cache.n_slot()) fail("sequence slot %d out of range", seq);
    if (cache.block(seq, pos >> KvCache::kBlockShift) < 0) fail("position %d of slot %d has no KV block", pos, seq);
  }
  grow(x_, size_t(T * E));
  grow(h_, size_t(T * std::max(E, H * hdv)));
  grow(q_, size_t(T * nq));
  grow(k_, size_t(T * nk));
  grow(v_, size_t(T * nv));
  grow(att_, size_t(T * H * hdv));
  grow(gate_, size_t(T * F));
  grow(up_, size_t(T * F));
  float *x = x_.data(), *h = h_.data(), *q = q_.data(), *k = k_.data(), *v = v_.data();

  const int64_t first = stage_begin(), last = stage_end();
  if (first > 0) {
    std::memcpy(x, stage_in_, size_t(T * E) * sizeof(float));  // the previous stage's output
  } else {
    for (int64_t t = 0; t < T; ++t) {
      const uint8_t* row = static_cast<const uint8_t*>(token_embd_.data) +
                           size_t(batch.token[size_t(t)]) * row_bytes(token_embd_.type, E);
      kernels::dequantize_row(token_embd_.type, row, x + t * E, E);
    }
  }
  const auto layout = cfg_.rope_neox ? kernels::RopeLayout::NeoX : kernels::RopeLayout::Normal;
  const int64_t half = cfg_.n_rot / 2;
  grow(rope_cos_, size_t(T * half));
  grow(rope_sin_, size_t(T * half));
  for (int64_t t = 0; t < T; ++t)
    kernels::rope_table(batch.pos[size_t(t)], cfg_.n_rot, inv_freq_.data(), 1.0f, rope_cos_.data() + t * half,
                        rope_sin_.data() + t * half);

  for (int64_t il = first; il < last; ++il) {
    const DenseLayer& L = layers_[size_t(il)];
    pool.parallel_for(T, 1, [&](int64_t t0, int64_t t1) {
      kernels::rms_norm(x + t0 * E, L.attn_norm.data(), h + t0 * E, t1 - t0, E, cfg_.rms_eps);
    });
    const kernels::MatmulJob qkv[] = {{L.wq, q, nq}, {L.wk, k, nk}, {L.wv, v, nv}};
    kernels::matmul_multi(qkv, 3, h, E, T, pool);
    if (spec_.qkv_bias) {
      for (int64_t t = 0; t < T; ++t) {
        kernels::add_inplace(q + t * nq, L.bq.data(), nq);
        kernels::add_inplace(k + t * nk, L.bk.data(), nk);
        kernels::add_inplace(v + t * nv, L.bv.data(), nv);
      }
    }
    if (spec_.qk_norm) {
      kernels::rms_norm(q, L.q_norm.data(), q, T * H, hd, cfg_.rms_eps);
      kernels::rms_norm(k, L.k_norm.data(), k, T * Hkv, hd, cfg_.rms_eps);
    }
    pool.parallel_for(T, 1, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t pos = batch.pos[size_t(t)], slot = batch.seq[size_t(t)];
        const float *c = rope_cos_.data() + t * half, *sn = rope_sin_.data() + t * half;
        for (int64_t hh = 0; hh < H; ++hh) kernels::rope_cached(q + t * nq + hh * hd, cfg_.n_rot, c, sn, layout);
        for (int64_t hh = 0; hh < Hkv; ++hh) kernels::rope_cached(k + t * nk + hh * hd, cfg_.n_rot, c, sn, layout);
        cache.store_k(il, slot, pos, k + t * nk);
        cache.store_v(il, slot, pos, v + t * nv);
      }
    });
    attention(batch, cache, il, pool);
    kernels::matmul(L.wo, att_.data(), H * hdv, T, h, E, pool);

    pool.parallel_for(T, 1, [&](int64_t t0, int64_t t1) {
      kernels::add_inplace(x + t0 * E, h + t0 * E, (t1 - t0) * E);
      kernels::rms_norm(x + t0 * E, L.ffn_norm.data(), h + t0 * E, t1 - t0, E, cfg_.rms_eps);
    });
    const kernels::MatmulJob gate_up[] = {{L.w_gate, gate_.data(), F}, {L.w_up, up_.data(), F}};
    kernels::matmul_multi(gate_up, 2, h, E, T, pool);
    pool.parallel_for(T * F, 32768, [&](int64_t i0, int64_t i1) {
      kernels::silu_mul(gate_.data() + i0, up_.data() + i0, gate_.data() + i0, i1 - i0);
    });
    kernels::matmul(L.w_down, gate_.data(), F, T, h, E, pool);
    pool.parallel_for(T * E, 4096, [&](int64_t i0, int64_t i1) { kernels::add_inplace(x + i0, h + i0, i1 - i0); });
  }

  if (last < cfg_.n_layer) {
    std::memcpy(stage_out_, x, size_t(T * E) * sizeof(float));  // the next stage goes on from here
    return;
  }
  output_logits(batch, x, E, output_norm_, cfg_.rms_eps, output_, out_rows_, logits, pool);
}

void DenseModel::final_hidden(int64_t row, float* out) const {
  const int64_t E = cfg_.n_embd;
  kernels::rms_norm(x_.data() + row * E, output_norm_.data(), out, 1, E, cfg_.rms_eps);
}

}  // namespace frugal
