#include "dist/experts.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

#include "core/clock.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "dist/mpi_world.h"
#include "model/deepseek/deepseek_model.h"

namespace frugal::dist {

namespace {

// Rank 0 -> rank r: a header, then (for kLayer) the chosen experts of the tokens that need
// rank r and those tokens' rows. Rank r -> 0: its compute seconds, then one row per slot whose
// expert it owns. Tags apart from the pipeline's.
enum Cmd : int64_t { kStop = 0, kLayer = 1 };
enum Tag : int { kTagHeader = 31, kTagWork = 32, kTagRows = 33 };

struct Header {
  int64_t cmd = kStop, layer = 0, n_tok = 0, k = 0, n_embd = 0;
};

std::atomic<double> g_wait_s{0}, g_compute_s{0};

DeepseekModel& deepseek(Model& m) {
  auto* d = dynamic_cast<DeepseekModel*>(&m);
  if (!d)
    fail("--split experts: architecture '%s' has no routed experts: use --split pipeline", m.config().arch.c_str());
  return *d;
}

class MpiExperts final : public RemoteExperts {
 public:
  MpiExperts(const SplitPlan& plan, int64_t n_embd, int64_t k) : E_(n_embd), k_(k) {
    owner_.assign(size_t(plan.n_expert), 0);
    for (size_t r = 0; r < plan.ranks.size(); ++r)
      for (int64_t e = plan.ranks[r].expert_begin; e < plan.ranks[r].expert_end; ++e) owner_[size_t(e)] = int(r);
    begin_ = plan.ranks[0].expert_begin;
    end_ = plan.ranks[0].expert_end;
    n_rank_ = int(plan.ranks.size());
  }
  int64_t local_begin() const override { return begin_; }
  int64_t local_end() const override { return end_; }

  void post(int64_t layer, const float* x, int64_t T, const int32_t* ids) override {
    posted_at_ = now_seconds();
    busy_.assign(size_t(n_rank_), false);
    for (int r = 1; r < n_rank_; ++r) {
      // The tokens with at least one expert on rank r, in order (so every expert there sees
      // its tokens in the order one process would give them).
      ids_.clear();
      rows_.clear();
      for (int64_t t = 0; t < T; ++t) {
        bool needs = false;
        for (int64_t s = 0; s < k_; ++s) needs |= owner_[size_t(ids[t * k_ + s])] == r;
        if (!needs) continue;
        ids_.insert(ids_.end(), ids + t * k_, ids + (t + 1) * k_);
        rows_.insert(rows_.end(), x + t * E_, x + (t + 1) * E_);
      }
      if (ids_.empty()) continue;
      busy_[size_t(r)] = true;
      Header h{kLayer, layer, int64_t(ids_.size()) / k_, k_, E_};
      send_bytes(&h, sizeof h, r, kTagHeader);
      send_bytes(ids_.data(), ids_.size() * sizeof(int32_t), r, kTagWork);
      send_bytes(rows_.data(), rows_.size() * sizeof(float), r, kTagWork);
    }
  }

  void collect(const int32_t* ids, int64_t T, float* y) override {
    const double started = now_seconds();
    double slowest = 0;
    for (int r = 1; r < n_rank_; ++r) {
      if (!busy_[size_t(r)]) continue;
      int64_t n = 0;
      for (int64_t i = 0; i < T * k_; ++i) n += owner_[size_t(ids[i])] == r;
      reply_.resize(sizeof(double) + size_t(n * E_) * sizeof(float));
      recv_bytes(reply_.data(), reply_.size(), r, kTagRows);
      double computed = 0;
      std::memcpy(&computed, reply_.data(), sizeof computed);
      slowest = std::max(slowest, computed);
      g_compute_s.fetch_add(computed);
      const auto* rows = reinterpret_cast<const float*>(reply_.data() + sizeof(double));
      for (int64_t i = 0, j = 0; i < T * k_; ++i)
        if (owner_[size_t(ids[i])] == r) std::memcpy(y + i * E_, rows + (j++) * E_, size_t(E_) * sizeof(float));
    }
    // The part of the wait when a rank was, by its own clock, still computing.
    const double waited = now_seconds() - started;
    g_wait_s.fetch_add(std::clamp(posted_at_ + slowest - started, 0.0, waited));
  }

 private:
  int64_t E_, k_, begin_ = 0, end_ = 0;
  int n_rank_ = 1;
  std::vector<int> owner_;
  std::vector<bool> busy_;
  std::vector<int32_t> ids_;
  std::vector<float> rows_;
  std::vector<char> reply_;
  double posted_at_ = 0;
};

}  // namespace

void attach_expert_split(Model& m, const SplitPlan& plan) {
  DeepseekModel& d = deepseek(m);
  const auto& hp = d.hparams();
  if (plan.n_expert != hp.n_expert) fail("--split experts: the plan has %lld experts, the model %lld",
                                         (long long)plan.n_expert, (long long)hp.n_expert);
  d.set_remote_experts(std::make_shared<MpiExperts>(plan, hp.n_embd, hp.n_expert_used));
}

void serve_experts(Model& m, const SplitPlan& plan, int rank, int threads) {
  DeepseekModel& d = deepseek(m);
  const auto& hp = d.hparams();
  const int64_t eb = plan.ranks[size_t(rank)].expert_begin, ee = plan.ranks[size_t(rank)].expert_end;
  ThreadPool pool(threads);
  std::vector<int32_t> ids;
  std::vector<float> x;
  std::vector<char> reply;
  for (;;) {
    Header h;
    recv_bytes(&h, sizeof h, 0, kTagHeader);
    if (h.cmd == kStop) return;
    if (h.cmd != kLayer || h.n_tok <= 0 || h.k != hp.n_expert_used || h.n_embd != hp.n_embd || h.layer < 0 ||
        h.layer > hp.n_layer)
      fail("expert split: rank %d got a malformed command (%lld) from rank 0", rank, (long long)h.cmd);
    const size_t T = size_t(h.n_tok), k = size_t(h.k), E = size_t(h.n_embd);
    ids.resize(T * k);
    recv_bytes(ids.data(), ids.size() * sizeof(int32_t), 0, kTagWork);
    x.resize(T * E);
    recv_bytes(x.data(), x.size() * sizeof(float), 0, kTagWork);
    size_t n = 0;
    for (const int32_t e : ids) n += e >= eb && e < ee;
    reply.resize(sizeof(double) + n * E * sizeof(float));
    const double t0 = now_seconds();
    d.expert_rows(h.layer, x.data(), h.n_tok, ids.data(), eb, ee, reinterpret_cast<float*>(reply.data() + sizeof(double)),
                  pool);
    const double computed = now_seconds() - t0;
    std::memcpy(reply.data(), &computed, sizeof computed);
    send_bytes(reply.data(), reply.size(), 0, kTagRows);
  }
}

void stop_expert_ranks(int n_rank) {
  Header h;
  h.cmd = kStop;
  for (int r = 1; r < n_rank; ++r) send_bytes(&h, sizeof h, r, kTagHeader);
}

double expert_wait_seconds() { return g_wait_s.load(); }
double expert_compute_seconds() { return g_compute_s.load(); }

}  // namespace frugal::dist
