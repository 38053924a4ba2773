// DeepSeekMoE: a router picks n_expert_used of n_expert routed experts per token (softmax or
// sigmoid scores, optional selection-only bias, group-limited top-k), plus shared experts that
// every token uses. Execution is grouped by expert: all tokens are routed first, then each
// selected expert runs once over the tokens that chose it, so its weights are read once per
// step however many tokens picked it.
#pragma once
#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/matmul.h"
#include "model/deepseek/hparams.h"

namespace frugal {

class WeightBinder;

struct MoeWeights {
  kernels::WeightView gate_inp;            // router [n_expert] x n_embd (fp32 in practice)
  std::vector<float> exp_bias;             // selection bias (V3's e_score_correction_bias), or empty
  std::vector<kernels::WeightView> gate, up, down;  // per routed expert
  kernels::WeightView gate_sh, up_sh, down_sh;      // shared experts as one SwiGLU (if any)
};

MoeWeights bind_moe(const WeightBinder& b, const std::string& prefix, const DeepseekHparams& hp);
// Bytes one token reads: router, n_expert_used routed experts and the shared experts.
int64_t moe_weight_bytes_per_token(const MoeWeights& w, const DeepseekHparams& hp);

// Routing of one token from its router logits (fp32, as the reference: routing margins are
// ~1e-6). Writes n_expert_used expert ids and weights. `scratch` holds 2 * n_expert floats.
void moe_route(const DeepseekHparams& hp, const float* logits, const float* bias, int32_t* ids, float* weights,
               float* scratch);

// Routed experts that run in other processes (the expert split, dist/experts.h): the MoE layer
// hands them its tokens and routing, computes its own experts meanwhile, and takes their
// outputs back unweighted, so it adds every expert's share in the order one process would
// (the same sums, bit for bit).
class RemoteExperts {
 public:
  virtual ~RemoteExperts() = default;
  // The routed experts computed in this process: [local_begin, local_end).
  virtual int64_t local_begin() const = 0;
  virtual int64_t local_end() const = 0;
  // Sends layer `layer`'s x [T, n_embd] and expert ids [T, n_expert_used] to the processes
  // that own some of the chosen experts; returns without waiting for them.
  virtual void post(int64_t layer, const float* x, int64_t T, const int32_t* ids) = 0;
  // Waits for their outputs: y row (t * n_expert_used + slot) of [T * n_expert_used, n_embd]
  // for every slot whose expert is not local.
  virtual void collect(const int32_t* ids, int64_t T, float* y) = 0;

  // The output head, whose rows the same processes share (they are idle while it runs): rows
  // [0, head_local_rows()) here, the rest there. post_head sends the final-normed rows
  // [n_out, n_embd]; collect_head writes the other rows' logits into logits [n_out, n_vocab].
  virtual int64_t head_local_rows() const = 0;
  virtual void post_head(const float* rows, int64_t n_out) = 0;
  virtual void collect_head(float* logits, int64_t n_out) = 0;
};

class MoeFfn {
 public:
  explicit MoeFfn(const DeepseekHparams& hp) : hp_(hp) {}
  // x: normalized hidden states [T, n_embd]; out [T, n_embd] = routed mix + shared experts.
  // `layer` names the layer to the remote experts, if any.
  void forward(const MoeWeights& w, int64_t layer, const float* x, int64_t T, float* out, ThreadPool& pool);
  // Tokens each expert processed in the last forward (benchmarks, tests).
  const std::vector<int64_t>& last_expert_load() const { return load_; }
  // Not owned; null: every expert here.
  void set_remote(RemoteExperts* r) { remote_ = r; }

  // The other side of the expert split: the unweighted outputs of the experts in [eb, ee)
  // for tokens x [T, n_embd] routed to ids [T, n_expert_used], computed exactly as forward()
  // computes them. y gets one row per such slot, in the order of (t * n_expert_used + slot).
  void expert_rows(const MoeWeights& w, const float* x, int64_t T, const int32_t* ids, int64_t eb, int64_t ee,
                   float* y, ThreadPool& pool);

 private:
  void forward_one(const MoeWeights& w, const float* x, float* out, ThreadPool& pool);
  // Decode: gate/up of the slots whose expert is in [eb, ee) (and the shared experts when
  // `out`) in one pool round, their down products in another; slot i's output in ye_ row i.
  void one_token(const MoeWeights& w, const float* x, const int32_t* ids, int64_t eb, int64_t ee, float* out,
                 ThreadPool& pool);
  // Prefill: each expert in [eb, ee) over the tokens that chose it; sink(list, y) per expert.
  template <class Sink>
  void each_expert(const MoeWeights& w, const float* x, int64_t eb, int64_t ee, ThreadPool& pool, Sink&& sink);
  void group_by_expert(const int32_t* ids, int64_t T);

  DeepseekHparams hp_;
  std::vector<kernels::MatmulJob> jobs_;
  std::vector<float> logits_, route_w_, scratch_, xe_, ge_, ue_, ye_, gs_, us_;
  std::vector<int32_t> route_ids_;
  std::vector<std::vector<int64_t>> tok_of_;   // per expert: (token * k + slot) entries
  std::vector<int64_t> load_;
  RemoteExperts* remote_ = nullptr;
  std::vector<float> yall_;     // expert split: every slot's output row
  std::vector<int64_t> row_of_;  // expert split, the other side: slot -> row of y
};

}  // namespace frugal
