#include "model/deepseek/moe.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "kernels/ops.h"
#include "model/forward_util.h"
#include "model/weight_binder.h"

namespace frugal {

namespace {

// Indices of the k largest of v[0..n) in descending order; ties go to the lower index (as a
// stable sort would). k is small (<= 8 experts, <= 4 groups), so selection beats sorting.
void top_k(const float* v, int64_t n, int64_t k, int32_t* out) {
  for (int64_t i = 0; i < k; ++i) {
    int32_t best = -1;
    for (int64_t j = 0; j < n; ++j) {
      bool taken = false;
      for (int64_t m = 0; m < i; ++m) taken |= out[m] == j;
      if (taken || std::isnan(v[j])) continue;
      if (best < 0 || v[j] > v[best]) best = int32_t(j);
    }
    out[i] = best;
  }
}
}  // namespace

MoeWeights bind_moe(const WeightBinder& b, const std::string& p, const DeepseekHparams& hp) {
  const int64_t E = hp.n_embd, F = hp.n_ff_exp, N = hp.n_expert;
  MoeWeights w;
  w.gate_inp = b.matrix(p + "ffn_gate_inp.weight", E, N);
  if (auto bias = b.vec_opt(p + "exp_probs_b.bias", N)) w.exp_bias = *bias;
  w.gate = b.stacked(p + "ffn_gate_exps.weight", E, F, N);
  w.up = b.stacked(p + "ffn_up_exps.weight", E, F, N);
  w.down = b.stacked(p + "ffn_down_exps.weight", F, E, N);
  if (hp.n_shared > 0) {
    const int64_t Fs = hp.n_shared * F;
    w.gate_sh = b.matrix(p + "ffn_gate_shexp.weight", E, Fs);
    w.up_sh = b.matrix(p + "ffn_up_shexp.weight", E, Fs);
    w.down_sh = b.matrix(p + "ffn_down_shexp.weight", Fs, E);
  }
  return w;
}

int64_t moe_weight_bytes_per_token(const MoeWeights& w, const DeepseekHparams& hp) {
  size_t n = view_bytes(w.gate_inp) + size_t(hp.n_expert_used) * (view_bytes(w.gate[0]) + view_bytes(w.up[0]) +
                                                                    view_bytes(w.down[0]));
  if (hp.n_shared > 0) n += view_bytes(w.gate_sh) + view_bytes(w.up_sh) + view_bytes(w.down_sh);
  return int64_t(n);
}

void moe_route(const DeepseekHparams& hp, const float* logits, const float* bias, int32_t* ids, float* weights,
               float* scratch) {
  const int64_t N = hp.n_expert, k = hp.n_expert_used;
  float* s0 = scratch;     // scores that weight
  float* sel = scratch + N;  // scores that select
  if (hp.sigmoid_gating) {
    for (int64_t e = 0; e < N; ++e) s0[e] = 1.f / (1.f + std::exp(-logits[e]));
  } else {
    std::copy_n(logits, N, s0);
    kernels::softmax(s0, N);
  }
  for (int64_t e = 0; e < N; ++e) sel[e] = bias ? s0[e] + bias[e] : s0[e];
  if (hp.n_group > 1 && hp.n_group_used < hp.n_group) {
    // A group scores by its best expert, or by the sum of its best two when a bias is in play
    // (V3); only the best n_group_used groups stay eligible.
    const int64_t per = N / hp.n_group;
    float gscore[64];
    int32_t gbest[64];
    for (int64_t g = 0; g < hp.n_group; ++g) {
      int32_t two[2];
      top_k(sel + g * per, per, std::min<int64_t>(2, per), two);
      gscore[g] = bias && per >= 2 ? sel[g * per + two[0]] + sel[g * per + two[1]] : sel[g * per + two[0]];
    }
    top_k(gscore, hp.n_group, hp.n_group_used, gbest);
    for (int64_t g = 0; g < hp.n_group; ++g) {
      bool keep = false;
      for (int64_t m = 0; m < hp.n_group_used; ++m) keep |= gbest[m] == g;
      if (!keep)
        for (int64_t e = g * per; e < (g + 1) * per; ++e) sel[e] = -INFINITY;
    }
  }
  top_k(sel, N, k, ids);
  float sum = 0;
  for (int64_t i = 0; i < k; ++i) sum += weights[i] = s0[ids[i]];  // the bias selects, never weights
  const float norm = hp.norm_topk ? 1.f / sum : 1.f;
  for (int64_t i = 0; i < k; ++i) weights[i] *= norm * hp.routed_scale;
}

namespace {
// out += wt * y. One function for every path, so a split run adds exactly as one process does.
[[gnu::noinline]] void add_weighted(float* out, float wt, const float* y, int64_t n) {
  for (int64_t j = 0; j < n; ++j) out[j] += wt * y[j];
}
}  // namespace

void MoeFfn::group_by_expert(const int32_t* ids, int64_t T) {
  const int64_t N = hp_.n_expert, k = hp_.n_expert_used;
  tok_of_.resize(size_t(N));
  for (auto& v : tok_of_) v.clear();
  for (int64_t i = 0; i < T * k; ++i) tok_of_[size_t(ids[i])].push_back(i);  // ids checked by the callers
  load_.assign(size_t(N), 0);
  for (int64_t e = 0; e < N; ++e) load_[size_t(e)] = int64_t(tok_of_[size_t(e)].size());
}

template <class Sink>
void MoeFfn::each_expert(const MoeWeights& w, const float* x, int64_t eb, int64_t ee, ThreadPool& pool, Sink&& sink) {
  const int64_t E = hp_.n_embd, k = hp_.n_expert_used, F = hp_.n_ff_exp;
  for (int64_t e = eb; e < ee; ++e) {
    const auto& list = tok_of_[size_t(e)];
    const int64_t n = int64_t(list.size());
    if (n == 0) continue;
    grow(xe_, size_t(n * E));
    grow(ge_, size_t(n * F));
    grow(ue_, size_t(n * F));
    grow(ye_, size_t(n * E));
    for (int64_t i = 0; i < n; ++i) std::copy_n(x + (list[size_t(i)] / k) * E, E, xe_.data() + i * E);
    const kernels::MatmulJob jobs[] = {{w.gate[size_t(e)], ge_.data(), F}, {w.up[size_t(e)], ue_.data(), F}};
    kernels::matmul_multi(jobs, 2, xe_.data(), E, n, pool);
    kernels::silu_mul(ge_.data(), ue_.data(), ge_.data(), n * F);
    kernels::matmul(w.down[size_t(e)], ge_.data(), F, n, ye_.data(), E, pool);
    sink(list, ye_.data());
  }
}

void MoeFfn::forward(const MoeWeights& w, int64_t layer, const float* x, int64_t T, float* out, ThreadPool& pool) {
  const int64_t E = hp_.n_embd, N = hp_.n_expert, k = hp_.n_expert_used, F = hp_.n_ff_exp;
  if (hp_.n_group > 64) fail("deepseek2: more than 64 expert groups are not supported");
  grow(logits_, size_t(T * N));
  grow(route_w_, size_t(T * k));
  route_ids_.resize(size_t(T * k));
  kernels::matmul(w.gate_inp, x, E, T, logits_.data(), N, pool);
  const float* bias = w.exp_bias.empty() ? nullptr : w.exp_bias.data();
  if (int(scratch_.size()) < pool.size() * 2 * N) scratch_.resize(size_t(pool.size() * 2 * N));
  // A decode step routes one token: that runs inline, without a pool round (and without
  // waiting for a worker that has nothing to do).
  pool.parallel_dynamic(T, 4, [&](int64_t t0, int64_t t1, int ith) {
    for (int64_t t = t0; t < t1; ++t)
      moe_route(hp_, logits_.data() + t * N, bias, route_ids_.data() + t * k, route_w_.data() + t * k,
                scratch_.data() + ith * 2 * N);
  });
  // NaN router scores leave a slot without an expert: an error, not an index out of range.
  for (int64_t i = 0; i < T * k; ++i)
    if (route_ids_[size_t(i)] < 0 || route_ids_[size_t(i)] >= N)
      fail("deepseek2: layer %lld routed a token to no expert (NaN router scores?)", (long long)layer);
  // The other ranks start on their experts while this one runs the shared and its own.
  if (remote_) remote_->post(layer, x, T, route_ids_.data());

  if (T == 1) return forward_one(w, x, out, pool);

  // Shared experts first: they write `out`, the routed experts accumulate into it.
  if (hp_.n_shared > 0) {
    const int64_t Fs = hp_.n_shared * F;
    grow(gs_, size_t(T * Fs));
    grow(us_, size_t(T * Fs));
    const kernels::MatmulJob jobs[] = {{w.gate_sh, gs_.data(), Fs}, {w.up_sh, us_.data(), Fs}};
    kernels::matmul_multi(jobs, 2, x, E, T, pool);
    kernels::silu_mul(gs_.data(), us_.data(), gs_.data(), T * Fs);
    kernels::matmul(w.down_sh, gs_.data(), Fs, T, out, E, pool);
  } else {
    std::fill_n(out, T * E, 0.f);
  }

  group_by_expert(route_ids_.data(), T);
  if (!remote_) {
    each_expert(w, x, 0, N, pool, [&](const std::vector<int64_t>& list, const float* y) {
      for (size_t i = 0; i < list.size(); ++i)
        add_weighted(out + (list[i] / k) * E, route_w_[size_t(list[i])], y + int64_t(i) * E, E);
    });
    return;
  }
  // Split: keep every slot's row, then add them in the order above (expert by expert).
  grow(yall_, size_t(T * k * E));
  each_expert(w, x, remote_->local_begin(), remote_->local_end(), pool,
              [&](const std::vector<int64_t>& list, const float* y) {
                for (size_t i = 0; i < list.size(); ++i)
                  std::copy_n(y + int64_t(i) * E, E, yall_.data() + list[i] * E);
              });
  remote_->collect(route_ids_.data(), T, yall_.data());
  for (int64_t e = 0; e < N; ++e)
    for (const int64_t slot : tok_of_[size_t(e)])
      add_weighted(out + (slot / k) * E, route_w_[size_t(slot)], yall_.data() + slot * E, E);
}

void MoeFfn::one_token(const MoeWeights& w, const float* x, const int32_t* ids, int64_t eb, int64_t ee, float* out,
                       ThreadPool& pool) {
  const int64_t E = hp_.n_embd, k = hp_.n_expert_used, F = hp_.n_ff_exp, Fs = out ? hp_.n_shared * F : 0;
  grow(ge_, size_t(k * F + Fs));
  grow(ue_, size_t(k * F + Fs));
  grow(ye_, size_t(k * E));
  auto mine = [&](int64_t i) { return ids[i] >= eb && ids[i] < ee; };
  std::vector<kernels::MatmulJob>& jobs = jobs_;
  jobs.clear();
  for (int64_t i = 0; i < k; ++i) {
    if (!mine(i)) continue;
    jobs.push_back({w.gate[size_t(ids[i])], ge_.data() + i * F, F});
    jobs.push_back({w.up[size_t(ids[i])], ue_.data() + i * F, F});
  }
  if (Fs > 0) {
    jobs.push_back({w.gate_sh, ge_.data() + k * F, Fs});
    jobs.push_back({w.up_sh, ue_.data() + k * F, Fs});
  }
  kernels::matmul_multi(jobs.data(), int(jobs.size()), x, E, 1, pool);
  for (int64_t i = 0; i < k; ++i)
    if (mine(i)) kernels::silu_mul(ge_.data() + i * F, ue_.data() + i * F, ge_.data() + i * F, F);
  if (Fs > 0) kernels::silu_mul(ge_.data() + k * F, ue_.data() + k * F, ge_.data() + k * F, Fs);
  jobs.clear();
  for (int64_t i = 0; i < k; ++i)
    if (mine(i)) jobs.push_back({w.down[size_t(ids[i])], ye_.data() + i * E, E, ge_.data() + i * F, F});
  const bool shared_fits = Fs == F;  // same row length: the shared down joins the round
  if (Fs > 0 && shared_fits) jobs.push_back({w.down_sh, out, E, ge_.data() + k * F, Fs});
  kernels::matmul_multi(jobs.data(), int(jobs.size()), ge_.data(), F, 1, pool);
  if (Fs > 0 && !shared_fits) kernels::matmul(w.down_sh, ge_.data() + k * F, Fs, 1, out, E, pool);
  if (out && Fs == 0) std::fill_n(out, E, 0.f);
}

// One token (decode): every selected expert sees the same input, so all their gate/up
// products share one pool round and all down products another, instead of two rounds per
// expert; the threads split the bytes of all experts evenly.
void MoeFfn::forward_one(const MoeWeights& w, const float* x, float* out, ThreadPool& pool) {
  const int64_t E = hp_.n_embd, k = hp_.n_expert_used;
  const int64_t eb = remote_ ? remote_->local_begin() : 0, ee = remote_ ? remote_->local_end() : hp_.n_expert;
  one_token(w, x, route_ids_.data(), eb, ee, out, pool);
  if (remote_) remote_->collect(route_ids_.data(), 1, ye_.data());
  load_.assign(size_t(hp_.n_expert), 0);
  for (int64_t i = 0; i < k; ++i) {
    add_weighted(out, route_w_[size_t(i)], ye_.data() + i * E, E);
    load_[size_t(route_ids_[size_t(i)])] = 1;
  }
}

void MoeFfn::expert_rows(const MoeWeights& w, const float* x, int64_t T, const int32_t* ids, int64_t eb, int64_t ee,
                         float* y, ThreadPool& pool) {
  const int64_t E = hp_.n_embd, k = hp_.n_expert_used;
  for (int64_t i = 0; i < T * k; ++i)
    if (ids[i] < 0 || ids[i] >= hp_.n_expert) fail("deepseek2: expert id %d out of range", ids[i]);
  // Row r of y belongs to the r-th slot (in slot order) whose expert is in [eb, ee).
  std::vector<int64_t>& row_of = row_of_;
  row_of.assign(size_t(T * k), -1);
  int64_t n = 0;
  for (int64_t i = 0; i < T * k; ++i)
    if (ids[i] >= eb && ids[i] < ee) row_of[size_t(i)] = n++;
  if (T == 1) {
    one_token(w, x, ids, eb, ee, nullptr, pool);
    for (int64_t i = 0; i < k; ++i)
      if (row_of[size_t(i)] >= 0) std::copy_n(ye_.data() + i * E, E, y + row_of[size_t(i)] * E);
    return;
  }
  group_by_expert(ids, T);
  each_expert(w, x, eb, ee, pool, [&](const std::vector<int64_t>& list, const float* ye) {
    for (size_t i = 0; i < list.size(); ++i) std::copy_n(ye + int64_t(i) * E, E, y + row_of[size_t(list[i])] * E);
  });
}

}  // namespace frugal
