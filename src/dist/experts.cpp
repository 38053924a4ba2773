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
#include "model/forward_util.h"

namespace frugal::dist {

namespace {

// Rank 0 -> rank r, one message per MoE layer (each message costs a network latency): a
// header, then the chosen experts of the tokens that need rank r and those tokens' rows; per
// pass with logits, one more with the final-normed rows for rank r's rows of the head. Rank
// r -> 0: its compute seconds, then one row per slot whose expert it owns (or its logits).
// Tags apart from the pipeline's.
enum Cmd : int64_t { kStop = 0, kLayer = 1, kHead = 2 };
enum Tag : int { kTagWork = 32, kTagRows = 33 };

struct Header {
  int64_t cmd = kStop, layer = 0, n_tok = 0, k = 0, n_embd = 0;  // kHead: n_tok final-normed rows
};

// The output head's rows of each rank: equal ranges, cut at multiples of 256 rows (whole row
// tiles of every kernel).
int64_t head_cut(int64_t n_vocab, int r, int n_rank) {
  return r >= n_rank ? n_vocab : (n_vocab * r / n_rank) / 256 * 256;
}

std::atomic<double> g_wait_s{0}, g_compute_s{0}, g_read_all{0}, g_read_critical{0};

DeepseekModel& deepseek(Model& m) {
  auto* d = dynamic_cast<DeepseekModel*>(&m);
  if (!d)
    fail("--split experts: architecture '%s' has no routed experts: use --split pipeline", m.config().arch.c_str());
  return *d;
}

// Weight bytes of one routed expert and of the shared experts, per layer (0 for a dense one).
struct LayerBytes {
  double expert = 0, shared = 0;
};

class MpiExperts final : public RemoteExperts {
 public:
  MpiExperts(const SplitPlan& plan, int64_t n_embd, int64_t k, int64_t n_vocab, double head_bytes,
             std::vector<LayerBytes> bytes)
      : E_(n_embd), k_(k), V_(n_vocab), head_bytes_(head_bytes), bytes_(std::move(bytes)) {
    owner_.assign(size_t(plan.n_expert), 0);
    for (size_t r = 0; r < plan.ranks.size(); ++r)
      for (int64_t e = plan.ranks[r].expert_begin; e < plan.ranks[r].expert_end; ++e) owner_[size_t(e)] = int(r);
    begin_ = plan.ranks[0].expert_begin;
    end_ = plan.ranks[0].expert_end;
    n_rank_ = int(plan.ranks.size());
    int64_t widest = 0;  // the head's largest row range
    for (int r = 0; r < n_rank_; ++r) widest = std::max(widest, head_cut(V_, r + 1, n_rank_) - head_cut(V_, r, n_rank_));
    head_critical_ = head_bytes_ * double(widest) / double(V_);
  }
  int64_t local_begin() const override { return begin_; }
  int64_t local_end() const override { return end_; }

  void post(int64_t layer, const float* x, int64_t T, const int32_t* ids) override {
    posted_at_ = now_seconds();
    busy_.assign(size_t(n_rank_), false);
    count_reads(layer, T, ids);
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
      const Header h{kLayer, layer, int64_t(ids_.size()) / k_, k_, E_};
      const size_t ni = ids_.size() * sizeof(int32_t), nx = rows_.size() * sizeof(float);
      msg_.resize(sizeof h + ni + nx);
      std::memcpy(msg_.data(), &h, sizeof h);
      std::memcpy(msg_.data() + sizeof h, ids_.data(), ni);
      std::memcpy(msg_.data() + sizeof h + ni, rows_.data(), nx);
      send_bytes(msg_.data(), msg_.size(), r, kTagWork);
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

  int64_t head_local_rows() const override { return head_cut(V_, 1, n_rank_); }

  void post_head(const float* rows, int64_t n_out) override {
    // The head's rows are read once per pass, however many rows of logits it makes.
    g_read_all.fetch_add(head_bytes_);
    g_read_critical.fetch_add(head_critical_);
    const Header h{kHead, 0, n_out, k_, E_};
    msg_.resize(sizeof h + size_t(n_out * E_) * sizeof(float));
    std::memcpy(msg_.data(), &h, sizeof h);
    std::memcpy(msg_.data() + sizeof h, rows, size_t(n_out * E_) * sizeof(float));
    for (int r = 1; r < n_rank_; ++r) send_bytes(msg_.data(), msg_.size(), r, kTagWork);
  }

  void collect_head(float* logits, int64_t n_out) override {
    for (int r = 1; r < n_rank_; ++r) {
      const int64_t r0 = head_cut(V_, r, n_rank_), r1 = head_cut(V_, r + 1, n_rank_), w = r1 - r0;
      reply_.resize(sizeof(double) + size_t(n_out * w) * sizeof(float));
      recv_bytes(reply_.data(), reply_.size(), r, kTagRows);
      double computed = 0;
      std::memcpy(&computed, reply_.data(), sizeof computed);
      g_compute_s.fetch_add(computed);
      const auto* y = reinterpret_cast<const float*>(reply_.data() + sizeof(double));
      for (int64_t t = 0; t < n_out; ++t) std::memcpy(logits + t * V_ + r0, y + t * w, size_t(w) * sizeof(float));
    }
  }

 private:
  // Each chosen expert is read once per layer, however many tokens chose it.
  void count_reads(int64_t layer, int64_t T, const int32_t* ids) {
    if (layer < 0 || size_t(layer) >= bytes_.size()) return;
    const LayerBytes& b = bytes_[size_t(layer)];
    seen_.assign(owner_.size(), false);
    per_rank_.assign(size_t(n_rank_), 0.0);
    per_rank_[0] = b.shared;
    double all = b.shared;
    for (int64_t i = 0; i < T * k_; ++i) {
      if (seen_[size_t(ids[i])]) continue;
      seen_[size_t(ids[i])] = true;
      per_rank_[size_t(owner_[size_t(ids[i])])] += b.expert;
      all += b.expert;
    }
    g_read_all.fetch_add(all);
    g_read_critical.fetch_add(*std::max_element(per_rank_.begin(), per_rank_.end()));
  }

  int64_t E_, k_, V_, begin_ = 0, end_ = 0;
  double head_bytes_, head_critical_ = 0;
  std::vector<LayerBytes> bytes_;
  std::vector<bool> seen_;
  std::vector<double> per_rank_;
  int n_rank_ = 1;
  std::vector<int> owner_;
  std::vector<bool> busy_;
  std::vector<int32_t> ids_;
  std::vector<float> rows_;
  std::vector<char> msg_, reply_;
  double posted_at_ = 0;
};

}  // namespace

void attach_expert_split(Model& m, const SplitPlan& plan) {
  DeepseekModel& d = deepseek(m);
  const auto& hp = d.hparams();
  if (plan.n_expert != hp.n_expert) fail("--split experts: the plan has %lld experts, the model %lld",
                                         (long long)plan.n_expert, (long long)hp.n_expert);
  std::vector<LayerBytes> bytes(size_t(hp.n_layer) + 1);
  for (int64_t l = 0; l <= hp.n_layer; ++l)
    if (const MoeWeights* w = d.moe_weights(l)) {
      bytes[size_t(l)].expert = double(view_bytes(w->gate[0]) + view_bytes(w->up[0]) + view_bytes(w->down[0]));
      if (hp.n_shared > 0)
        bytes[size_t(l)].shared = double(view_bytes(w->gate_sh) + view_bytes(w->up_sh) + view_bytes(w->down_sh));
    }
  d.set_remote_experts(std::make_shared<MpiExperts>(plan, hp.n_embd, hp.n_expert_used, hp.n_vocab,
                                                     double(d.head_bytes()), std::move(bytes)));
}

void serve_experts(Model& m, const SplitPlan& plan, int rank, int threads) {
  const int n_rank = int(plan.ranks.size());
  DeepseekModel& d = deepseek(m);
  const auto& hp = d.hparams();
  const int64_t eb = plan.ranks[size_t(rank)].expert_begin, ee = plan.ranks[size_t(rank)].expert_end;
  ThreadPool pool(threads);
  std::vector<char> msg, reply;
  std::vector<int32_t> ids;
  std::vector<float> x;
  for (;;) {
    recv_message(msg, 0, kTagWork);
    Header h;
    if (msg.size() < sizeof h) fail("expert split: rank %d got a message of %zu bytes from rank 0", rank, msg.size());
    std::memcpy(&h, msg.data(), sizeof h);
    if (h.cmd == kStop) return;
    const double t0 = now_seconds();
    if (h.cmd == kHead) {
      const int64_t r0 = head_cut(hp.n_vocab, rank, n_rank), r1 = head_cut(hp.n_vocab, rank + 1, n_rank);
      if (h.n_tok <= 0 || h.n_embd != hp.n_embd || msg.size() != sizeof h + size_t(h.n_tok * h.n_embd) * sizeof(float))
        fail("expert split: rank %d got a malformed head message from rank 0", rank);
      reply.resize(sizeof(double) + size_t(h.n_tok * (r1 - r0)) * sizeof(float));
      d.head_rows(reinterpret_cast<const float*>(msg.data() + sizeof h), h.n_tok, r0, r1,
                  reinterpret_cast<float*>(reply.data() + sizeof(double)), pool);
      const double computed = now_seconds() - t0;
      std::memcpy(reply.data(), &computed, sizeof computed);
      send_bytes(reply.data(), reply.size(), 0, kTagRows);
      continue;
    }
    if (h.cmd != kLayer || h.n_tok <= 0 || h.k != hp.n_expert_used || h.n_embd != hp.n_embd || h.layer < 0 ||
        h.layer > hp.n_layer)
      fail("expert split: rank %d got a malformed command (%lld) from rank 0", rank, (long long)h.cmd);
    const size_t T = size_t(h.n_tok), k = size_t(h.k), E = size_t(h.n_embd);
    if (msg.size() != sizeof h + T * k * sizeof(int32_t) + T * E * sizeof(float))
      fail("expert split: rank %d got a layer message of the wrong size from rank 0", rank);
    ids.resize(T * k);
    std::memcpy(ids.data(), msg.data() + sizeof h, ids.size() * sizeof(int32_t));
    x.resize(T * E);
    std::memcpy(x.data(), msg.data() + sizeof h + ids.size() * sizeof(int32_t), x.size() * sizeof(float));
    size_t n = 0;
    for (const int32_t e : ids) n += e >= eb && e < ee;
    reply.resize(sizeof(double) + n * E * sizeof(float));
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
  for (int r = 1; r < n_rank; ++r) send_bytes(&h, sizeof h, r, kTagWork);
}

double expert_wait_seconds() { return g_wait_s.load(); }
double expert_compute_seconds() { return g_compute_s.load(); }
ExpertReads expert_reads() { return {g_read_all.load(), g_read_critical.load()}; }

}  // namespace frugal::dist
