// Multi-head latent attention (DeepSeek V2/V3). The cache holds, per token and layer, only the
// normalized latent c (kv_lora_rank) and the rotated shared key part k_pe (rope): 576 floats for
// V3 instead of 2·128·(192+128)... for full K/V. Two ways to attend over it, chosen per sequence
// by counting multiply-adds (MlaPath):
//  - absorb (decode): fold W_UK into the query and W_UV after the weighted sum, so attention
//    runs in the latent space and nothing is decompressed;
//  - naive (prefill of a long chunk): decompress K/V for the sequence's positions once with
//    W_kv_b and run ordinary per-head attention; cheaper once the chunk is long.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/matmul.h"
#include "model/batch.h"
#include "model/deepseek/hparams.h"
#include "model/forward_util.h"
#include "model/kv_cache.h"

namespace frugal {

class WeightBinder;

enum class MlaPath { Auto, Absorb, Naive };
// FRUGAL_MLA=absorb|naive|auto (default auto): tests pin one path.
MlaPath mla_path_from_env();

struct MlaWeights {
  std::vector<float> attn_norm;
  kernels::WeightView wq;                       // q_lora_rank == 0
  kernels::WeightView wq_a, wq_b;               // q_lora_rank > 0
  std::vector<float> q_a_norm;
  kernels::WeightView wkv_a;                    // [kv_lora + rope] x n_embd
  std::vector<float> kv_a_norm;
  kernels::WeightView wkv_b;                    // [H·(nope+v)] x kv_lora: per head W_UK rows then W_UV rows
  std::vector<kernels::WeightView> uk_t;        // per head [kv_lora] x nope = W_UKᵀ (absorb)
  std::vector<kernels::WeightView> uv;          // per head [v] x kv_lora = W_UV
  kernels::WeightView wo;                       // n_embd x [H·v]
  // Converted copies when the file has only one orientation of W_UK.
  std::shared_ptr<std::vector<uint8_t>> owned_kv_b, owned_uk_t;
};

// Binds layer `prefix` ("blk.N.") in either GGUF layout: attn_kv_b alone, or attn_k_b + attn_v_b.
MlaWeights bind_mla(const WeightBinder& b, const std::string& prefix, const DeepseekHparams& hp);
int64_t mla_weight_bytes_per_token(const MlaWeights& w, const DeepseekHparams& hp);

class MlaAttention {
 public:
  MlaAttention(const DeepseekHparams& hp, MlaPath path);
  int64_t cache_width() const { return hp_.kv_lora_rank + hp_.rope; }

  // x: normalized hidden states [T, n_embd]; writes the attention output (after W_o) to out
  // [T, n_embd]. Stores this batch's latents in the cache first, so tokens see earlier tokens
  // of their own sequence from the same batch.
  void forward(const MlaWeights& w, const Batch& batch, KvCache& cache, int64_t il, const float* x,
               const float* rope_cos, const float* rope_sin, float* out, ThreadPool& pool);

 private:
  bool use_naive(int64_t n_tok, double mean_kv, int64_t n_kv) const;
  void attend_absorb(const MlaWeights& w, const Batch& batch, const std::vector<int64_t>& toks, KvCache& cache,
                     int64_t il, ThreadPool& pool);
  void attend_segments(const Batch& batch, const std::vector<int64_t>& toks, int64_t g0, int64_t g1, KvCache& cache,
                       int64_t il, ThreadPool& pool);
  void attend_naive(const MlaWeights& w, const Batch& batch, const std::vector<int64_t>& toks, KvCache& cache,
                    int64_t il, ThreadPool& pool);

  DeepseekHparams hp_;
  MlaPath path_;
  float scale_;
  // Scratch, grown to the largest batch seen.
  std::vector<float> qa_, q_, kva_, att_, g_in_, g_q_, g_lat_, g_out_, kv_full_, k_heads_;
  std::vector<std::vector<float>> scores_;
  std::vector<std::vector<const void*>> pages_;  // per thread: a sequence's latent block pointers
  std::vector<float> lat_;                      // naive path: a sequence's latents, gathered
  std::vector<int64_t> absorb_toks_;
  std::vector<float> seg_out_, seg_lse_;  // absorb: per (token, context segment) outputs and lse
  SegmentGroups segs_;                    // absorb: tokens grouped with their context segments
  std::vector<std::vector<int64_t>> by_seq_;  // token indices per cache slot
  struct Run {
    int64_t first, n;  // naive path: toks[first..first + n) are consecutive positions and batch rows
  };
  std::vector<Run> runs_;
};

}  // namespace frugal
