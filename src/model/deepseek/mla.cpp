#include "model/deepseek/mla.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "kernels/attention.h"
#include "kernels/ops.h"
#include "kernels/quant.h"
#include "model/forward_util.h"
#include "model/weight_binder.h"

namespace frugal {

namespace {

void dequantize_view(const kernels::WeightView& w, float* dst) {
  const size_t rb = row_bytes(w.type, w.n_cols);
  for (int64_t r = 0; r < w.n_rows; ++r)
    kernels::dequantize_row(w.type, static_cast<const uint8_t*>(w.data) + size_t(r) * rb, dst + r * w.n_cols,
                            w.n_cols);
}

// Type for a re-laid-out copy of W_UK: float sources keep their type (exact), block-quantized
// ones become F16 (their dequantized values need more than BF16's 8 bits).
DType copy_type(DType src) { return src == DType::F32 || src == DType::BF16 ? src : DType::F16; }

// Writes rows [n_rows, n_cols] of fp32 into `buf` as type t, returning the view.
kernels::WeightView store_rows(std::vector<uint8_t>& buf, size_t offset, DType t, const float* src, int64_t n_rows,
                               int64_t n_cols) {
  const size_t rb = row_bytes(t, n_cols);
  for (int64_t r = 0; r < n_rows; ++r) kernels::quantize_row(t, src + r * n_cols, buf.data() + offset + size_t(r) * rb, n_cols);
  return {t, n_rows, n_cols, buf.data() + offset};
}

// A pool of one for per-head products run inside an outer parallel loop.
ThreadPool& serial_pool() {
  thread_local ThreadPool p(1);
  return p;
}

}  // namespace

MlaPath mla_path_from_env() {
  const char* e = std::getenv("FRUGAL_MLA");
  if (!e || !*e || !std::strcmp(e, "auto")) return MlaPath::Auto;
  if (!std::strcmp(e, "absorb")) return MlaPath::Absorb;
  if (!std::strcmp(e, "naive")) return MlaPath::Naive;
  fail("FRUGAL_MLA=%s: expected auto, absorb or naive", e);
}

MlaWeights bind_mla(const WeightBinder& b, const std::string& p, const DeepseekHparams& hp) {
  const int64_t E = hp.n_embd, H = hp.n_head, nope = hp.nope, rope = hp.rope, dv = hp.v_dim, kvr = hp.kv_lora_rank;
  MlaWeights w;
  w.attn_norm = b.vec(p + "attn_norm.weight", E);
  if (hp.q_lora_rank > 0) {
    w.wq_a = b.matrix(p + "attn_q_a.weight", E, hp.q_lora_rank);
    w.q_a_norm = b.vec(p + "attn_q_a_norm.weight", hp.q_lora_rank);
    w.wq_b = b.matrix(p + "attn_q_b.weight", hp.q_lora_rank, H * (nope + rope));
  } else {
    w.wq = b.matrix(p + "attn_q.weight", E, H * (nope + rope));
  }
  w.wkv_a = b.matrix(p + "attn_kv_a_mqa.weight", E, kvr + rope);
  w.kv_a_norm = b.vec(p + "attn_kv_a_norm.weight", kvr);
  w.wo = b.matrix(p + "attn_output.weight", H * dv, E);

  const GgufFile& f = b.file();
  const bool has_kv_b = f.find_tensor(p + "attn_kv_b.weight") != nullptr;
  const bool has_k_b = f.find_tensor(p + "attn_k_b.weight") != nullptr;
  const bool has_v_b = f.find_tensor(p + "attn_v_b.weight") != nullptr;
  if (has_k_b) w.uk_t = b.stacked(p + "attn_k_b.weight", nope, kvr, H);
  if (has_kv_b) {
    w.wkv_b = b.matrix(p + "attn_kv_b.weight", kvr, H * (nope + dv));
    const size_t rb = row_bytes(w.wkv_b.type, kvr);
    for (int64_t h = 0; h < H; ++h)
      w.uv.push_back({w.wkv_b.type, dv, kvr, static_cast<const uint8_t*>(w.wkv_b.data) + size_t(h * (nope + dv) + nope) * rb});
    if (!has_k_b) {  // absorb needs W_UKᵀ: transpose each head once at load
      const DType t = copy_type(w.wkv_b.type);
      w.owned_uk_t = std::make_shared<std::vector<uint8_t>>(size_t(H * kvr) * row_bytes(t, nope));
      std::vector<float> full(size_t(H * (nope + dv) * kvr)), tr(size_t(kvr * nope));
      dequantize_view(w.wkv_b, full.data());
      for (int64_t h = 0; h < H; ++h) {
        const float* uk = full.data() + h * (nope + dv) * kvr;  // [nope][kvr]
        for (int64_t i = 0; i < nope; ++i)
          for (int64_t j = 0; j < kvr; ++j) tr[size_t(j * nope + i)] = uk[i * kvr + j];
        w.uk_t.push_back(store_rows(*w.owned_uk_t, size_t(h * kvr) * row_bytes(t, nope), t, tr.data(), kvr, nope));
      }
    }
  } else {
    if (!has_k_b || !has_v_b)
      fail("%s: layer %s needs attn_kv_b.weight, or both attn_k_b.weight and attn_v_b.weight", f.path().c_str(),
           p.c_str());
    w.uv = b.stacked(p + "attn_v_b.weight", kvr, dv, H);
    // The naive path decompresses K/V with one product: rebuild W_kv_b's head-interleaved rows.
    const DType t = copy_type(w.uk_t[0].type == DType::F32 && w.uv[0].type == DType::F32 ? DType::F32
                              : w.uk_t[0].type == DType::BF16 && w.uv[0].type == DType::BF16 ? DType::BF16
                                                                                                  : DType::F16);
    const size_t rb = row_bytes(t, kvr);
    w.owned_kv_b = std::make_shared<std::vector<uint8_t>>(size_t(H * (nope + dv)) * rb);
    std::vector<float> ukt(size_t(kvr * nope)), rows(size_t((nope + dv) * kvr));
    for (int64_t h = 0; h < H; ++h) {
      dequantize_view(w.uk_t[size_t(h)], ukt.data());  // [kvr][nope]
      for (int64_t i = 0; i < nope; ++i)
        for (int64_t j = 0; j < kvr; ++j) rows[size_t(i * kvr + j)] = ukt[size_t(j * nope + i)];
      dequantize_view(w.uv[size_t(h)], rows.data() + nope * kvr);
      store_rows(*w.owned_kv_b, size_t(h * (nope + dv)) * rb, t, rows.data(), nope + dv, kvr);
    }
    w.wkv_b = {t, H * (nope + dv), kvr, w.owned_kv_b->data()};
  }
  return w;
}

int64_t mla_weight_bytes_per_token(const MlaWeights& w, const DeepseekHparams& hp) {
  // Decode takes the absorb path: W_UKᵀ and W_UV per head, not W_kv_b.
  size_t n = view_bytes(w.wkv_a) + view_bytes(w.wo);
  n += hp.q_lora_rank > 0 ? view_bytes(w.wq_a) + view_bytes(w.wq_b) : view_bytes(w.wq);
  for (size_t h = 0; h < w.uk_t.size(); ++h) n += view_bytes(w.uk_t[h]) + view_bytes(w.uv[h]);
  return int64_t(n);
}

MlaAttention::MlaAttention(const DeepseekHparams& hp, MlaPath path) : hp_(hp), path_(path) {
  scale_ = float(1.0 / std::sqrt(double(hp.nope + hp.rope)) * yarn_softmax_mscale2(hp.yarn));
}

// Multiply-adds of each path for one sequence's n_tok queries over n_kv cached positions.
bool MlaAttention::use_naive(int64_t n_tok, double mean_kv, int64_t n_kv) const {
  if (path_ != MlaPath::Auto) return path_ == MlaPath::Naive;
  const double H = double(hp_.n_head), kvr = double(hp_.kv_lora_rank), r = double(hp_.rope);
  const double nope = double(hp_.nope), dv = double(hp_.v_dim), T = double(n_tok);
  const double absorb = T * mean_kv * H * (2 * kvr + r) + T * H * kvr * (nope + dv);
  const double naive = double(n_kv) * H * kvr * (nope + dv) + T * mean_kv * H * (nope + r + dv);
  return naive < absorb;
}

void MlaAttention::forward(const MlaWeights& w, const Batch& batch, KvCache& cache, int64_t il, const float* x,
                           const float* rope_cos, const float* rope_sin, float* out, ThreadPool& pool) {
  const int64_t T = int64_t(batch.size()), E = hp_.n_embd, H = hp_.n_head;
  const int64_t qk = hp_.nope + hp_.rope, kvr = hp_.kv_lora_rank, rope = hp_.rope, cw = cache_width();
  grow(q_, size_t(T * H * qk));
  grow(kva_, size_t(T * cw));
  grow(att_, size_t(T * H * hp_.v_dim));
  if (hp_.q_lora_rank > 0) {
    grow(qa_, size_t(T * hp_.q_lora_rank));
    const kernels::MatmulJob jobs[] = {{w.wq_a, qa_.data(), hp_.q_lora_rank}, {w.wkv_a, kva_.data(), cw}};
    kernels::matmul_multi(jobs, 2, x, E, T, pool);
    kernels::rms_norm(qa_.data(), w.q_a_norm.data(), qa_.data(), T, hp_.q_lora_rank, hp_.rms_eps);
    kernels::matmul(w.wq_b, qa_.data(), hp_.q_lora_rank, T, q_.data(), H * qk, pool);
  } else {
    const kernels::MatmulJob jobs[] = {{w.wq, q_.data(), H * qk}, {w.wkv_a, kva_.data(), cw}};
    kernels::matmul_multi(jobs, 2, x, E, T, pool);
  }
  // Latent and rotated shared key into the cache; rotate each head's q_pe. DeepSeek rotates
  // interleaved pairs (2i, 2i+1), which is RopeLayout::Normal.
  const int64_t half = rope / 2;
  pool.parallel_for(T, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const float *c = rope_cos + t * half, *s = rope_sin + t * half;
      float* row = kva_.data() + t * cw;  // normalized and rotated in place, then cached
      kernels::rms_norm(row, w.kv_a_norm.data(), row, 1, kvr, hp_.rms_eps);
      kernels::rope_cached(row + kvr, rope, c, s, kernels::RopeLayout::Normal);
      cache.store_k(il, batch.seq[size_t(t)], batch.pos[size_t(t)], row);
      for (int64_t h = 0; h < H; ++h)
        kernels::rope_cached(q_.data() + (t * H + h) * qk + hp_.nope, rope, c, s, kernels::RopeLayout::Normal);
    }
  });

  // Group tokens by sequence; each sequence takes the path with fewer multiply-adds.
  std::vector<int64_t>& absorb_toks = absorb_toks_;
  absorb_toks.clear();
  if (by_seq_.size() < size_t(cache.n_slot())) by_seq_.resize(size_t(cache.n_slot()));
  for (auto& v : by_seq_) v.clear();
  for (int64_t t = 0; t < T; ++t) by_seq_[size_t(batch.seq[size_t(t)])].push_back(t);
  for (auto& toks : by_seq_) {
    if (toks.empty()) continue;
    int64_t n_kv = 0;
    double sum_kv = 0;
    for (int64_t t : toks) {
      n_kv = std::max<int64_t>(n_kv, batch.pos[size_t(t)] + 1);
      sum_kv += batch.pos[size_t(t)] + 1;
    }
    if (use_naive(int64_t(toks.size()), sum_kv / double(toks.size()), n_kv)) attend_naive(w, batch, toks, cache, il, pool);
    else absorb_toks.insert(absorb_toks.end(), toks.begin(), toks.end());
  }
  if (!absorb_toks.empty()) attend_absorb(w, batch, absorb_toks, cache, il, pool);
  kernels::matmul(w.wo, att_.data(), H * hp_.v_dim, T, out, E, pool);
}

void MlaAttention::attend_absorb(const MlaWeights& w, const Batch& batch, const std::vector<int64_t>& toks,
                                 KvCache& cache, int64_t il, ThreadPool& pool) {
  const int64_t n = int64_t(toks.size()), H = hp_.n_head, qk = hp_.nope + hp_.rope, kvr = hp_.kv_lora_rank;
  const int64_t cw = cache_width(), dv = hp_.v_dim;
  grow(g_in_, size_t(n * H * qk));
  grow(g_q_, size_t(n * H * cw));
  grow(g_lat_, size_t(n * H * kvr));
  grow(g_out_, size_t(n * H * dv));
  for (int64_t i = 0; i < n; ++i)
    std::copy_n(q_.data() + toks[size_t(i)] * H * qk, H * qk, g_in_.data() + i * H * qk);
  // q_abs = W_UKᵀ q_nope per head, next to the head's rotated q_pe: one query of width
  // kv_lora + rope against the cache rows [c | k_pe].
  // Heads are claimed as the threads come (parallel_dynamic): a descheduled thread does not
  // hold up the round.
  pool.parallel_dynamic(H, 1, [&](int64_t h0, int64_t h1, int) {
    for (int64_t h = h0; h < h1; ++h) {
      kernels::matmul(w.uk_t[size_t(h)], g_in_.data() + h * qk, H * qk, n, g_q_.data() + h * cw, H * cw, serial_pool());
      for (int64_t i = 0; i < n; ++i)
        std::copy_n(g_in_.data() + i * H * qk + h * qk + hp_.nope, hp_.rope, g_q_.data() + (i * H + h) * cw + kvr);
    }
  });
  // Decode is split over the context (flash-decoding, kernels/attention.h): each token's keys
  // in segments, one item per segment with all the token's heads, so every latent row is read
  // and converted once for all heads; a token of several segments merges them after. Heads
  // are split in chunks (which changes no result) only where tokens and segments leave
  // threads idle. Tokens go in groups that bound the segments' outputs.
  segs_.for_each_group(
      n, H * kvr, [&](int64_t i) { return kernels::n_segments(int64_t(batch.pos[size_t(toks[size_t(i)])]) + 1); },
      [&](int64_t g0, int64_t g1) { attend_segments(batch, toks, g0, g1, cache, il, pool); });
  pool.parallel_dynamic(H, 1, [&](int64_t h0, int64_t h1, int) {
    for (int64_t h = h0; h < h1; ++h)
      kernels::matmul(w.uv[size_t(h)], g_lat_.data() + h * kvr, H * kvr, n, g_out_.data() + h * dv, H * dv,
                      serial_pool());
  });
  for (int64_t i = 0; i < n; ++i)
    std::copy_n(g_out_.data() + i * H * dv, H * dv, att_.data() + toks[size_t(i)] * H * dv);
}

// Tokens [g0, g1) of toks (the current group of segs_): the latent attention of each (token,
// segment, head chunk) into g_lat_, or into seg_out_ / seg_lse_ and merged.
void MlaAttention::attend_segments(const Batch& batch, const std::vector<int64_t>& toks, int64_t g0, int64_t g1,
                                   KvCache& cache, int64_t il, ThreadPool& pool) {
  const int64_t H = hp_.n_head, kvr = hp_.kv_lora_rank, cw = cache_width();
  const int64_t n_seg = segs_.total();
  const int64_t chunks = std::clamp<int64_t>((2 * pool.size() + n_seg - 1) / n_seg, 1, H);
  const int64_t per = (H + chunks - 1) / chunks;
  grow(seg_out_, size_t(n_seg * H * kvr));
  grow(seg_lse_, size_t(n_seg * H));
  if (int(scores_.size()) < pool.size()) scores_.resize(size_t(pool.size()));
  for (auto& s : scores_) grow(s, size_t(per * std::min<int64_t>(cache.n_ctx(), kernels::kSegmentKeys)));
  if (int(pages_.size()) < pool.size()) pages_.resize(size_t(pool.size()));
  pool.parallel_dynamic(n_seg * chunks, 1, [&](int64_t i0, int64_t i1, int ith) {
    auto& kp = pages_[size_t(ith)];
    for (int64_t item = i0; item < i1; ++item) {
      const int64_t seg = item / chunks, h0 = (item % chunks) * per, h1 = std::min(H, h0 + per);
      if (h0 >= h1) continue;
      const int64_t gi = segs_.item_of(seg), i = g0 + gi, t = toks[size_t(i)];
      const int64_t n_kv = int64_t(batch.pos[size_t(t)]) + 1, j0 = (seg - segs_.first(gi)) * kernels::kSegmentKeys;
      const bool whole = segs_.count(gi) == 1;
      kernels::AttendArgs a;
      a.q = g_q_.data() + (i * H + h0) * cw;
      a.n_q = h1 - h0;
      a.n_kv = std::min(kernels::kSegmentKeys, n_kv - j0);
      cache.k_pages(il, batch.seq[size_t(t)], KvCache::blocks_for(a.n_kv), 0, kp, j0 >> KvCache::kBlockShift);
      a.kv_type = cache.type();
      a.k_pages = kp.data();  // the segment's blocks only
      a.v_pages = a.k_pages;  // the values are the latents themselves
      a.page_shift = int(KvCache::kBlockShift);
      a.k_stride = cache.k_stride();
      a.v_stride = cache.k_stride();
      a.head_dim = cw;
      a.head_dim_v = kvr;
      a.scale = scale_;
      a.out = whole ? g_lat_.data() + (i * H + h0) * kvr : seg_out_.data() + (seg * H + h0) * kvr;
      a.lse = whole ? nullptr : seg_lse_.data() + seg * H + h0;
      a.scratch = scores_[size_t(ith)].data();
      kernels::attend(a);
    }
  });
  segs_.merge(seg_out_.data(), seg_lse_.data(), H, kvr, [&](int64_t gi) { return g_lat_.data() + (g0 + gi) * H * kvr; },
              pool);
}

void MlaAttention::attend_naive(const MlaWeights& w, const Batch& batch, const std::vector<int64_t>& toks,
                                KvCache& cache, int64_t il, ThreadPool& pool) {
  const int64_t H = hp_.n_head, nope = hp_.nope, rope = hp_.rope, qk = nope + rope, dv = hp_.v_dim;
  const int64_t kvr = hp_.kv_lora_rank, cw = cache_width(), n = int64_t(toks.size());
  const int64_t slot = batch.seq[size_t(toks[0])];
  int64_t n_kv = 0;
  for (int64_t t : toks) n_kv = std::max<int64_t>(n_kv, batch.pos[size_t(t)] + 1);
  const int64_t kvw = H * (nope + dv);
  grow(kv_full_, size_t(n_kv * kvw));
  grow(k_heads_, size_t(n_kv * H * qk));
  // The latents are gathered from their blocks: one matmul over all positions decompresses
  // them at full efficiency.
  grow(lat_, size_t(n_kv * cw));
  for (int64_t j0 = 0; j0 < n_kv; j0 += KvCache::kBlockTokens)
    cache.load_k(il, slot, j0, std::min(KvCache::kBlockTokens, n_kv - j0), lat_.data() + j0 * cw);
  const float* lat = lat_.data();
  kernels::matmul(w.wkv_b, lat, cw, n_kv, kv_full_.data(), kvw, pool);
  pool.parallel_for(n_kv, 16, [&](int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j)
      for (int64_t h = 0; h < H; ++h) {
        float* k = k_heads_.data() + (j * H + h) * qk;
        std::copy_n(kv_full_.data() + j * kvw + h * (nope + dv), nope, k);
        std::copy_n(lat + j * cw + kvr, rope, k + nope);
      }
  });
  // One item per (run of up to kRun consecutive positions, head): every key and value tile is
  // converted once for the run instead of once per position (per-position items spent ~17 %
  // of a V2-Lite-shaped pp512 copying tiles for one query each).
  constexpr int64_t kRun = 16, kScoreFloats = int64_t(2) << 20;
  const int64_t run_cap = std::clamp<int64_t>(kScoreFloats / n_kv, 1, kRun);
  runs_.clear();
  for (int64_t i = 0; i < n;) {
    int64_t e = i + 1;
    while (e < n && e - i < run_cap && toks[size_t(e)] == toks[size_t(e - 1)] + 1 &&
           batch.pos[size_t(toks[size_t(e)])] == batch.pos[size_t(toks[size_t(e - 1)])] + 1)
      ++e;
    runs_.push_back({i, e - i});
    i = e;
  }
  if (int(scores_.size()) < pool.size()) scores_.resize(size_t(pool.size()));
  for (auto& s : scores_) grow(s, size_t(run_cap * n_kv));
  const int64_t n_items = int64_t(runs_.size()) * H;
  pool.parallel_dynamic(n_items, 1, [&](int64_t i0, int64_t i1, int ith) {
    for (int64_t item = i0; item < i1; ++item) {
      const Run& r = runs_[size_t(item / H)];
      const int64_t t = toks[size_t(r.first)], h = item % H;
      kernels::AttendArgs a;
      a.q = q_.data() + (t * H + h) * qk;
      a.n_q = 1;
      a.n_tok = r.n;
      a.q_tok_stride = H * qk;
      a.out_tok_stride = H * dv;
      a.k = k_heads_.data() + h * qk;
      a.k_stride = H * qk * int64_t(sizeof(float));
      a.v = kv_full_.data() + h * (nope + dv) + nope;
      a.v_stride = kvw * int64_t(sizeof(float));
      a.n_kv = int64_t(batch.pos[size_t(t + r.n - 1)]) + 1;
      a.head_dim = qk;
      a.head_dim_v = dv;
      a.scale = scale_;
      a.out = att_.data() + (t * H + h) * dv;
      a.scratch = scores_[size_t(ith)].data();
      kernels::attend(a);
    }
  });
}

}  // namespace frugal
