#include "dist/pipeline.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <vector>

#include "core/clock.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "dist/mpi_world.h"

namespace frugal::dist {

namespace {

// What travels along the chain 0 -> 1 -> ... -> N-1: commands in order on one tag, each
// forward pass's batch and hidden states on two more; logits go from N-1 back to 0.
// The ranks are one kind of machine: headers and rows travel as raw bytes.
enum Cmd : int64_t { kStop = 0, kNewCache = 1, kForward = 2, kRelease = 3 };
enum Tag : int { kTagCmd = 11, kTagInts = 12, kTagHidden = 13, kTagLogits = 14, kTagTiming = 15 };

struct Header {
  int64_t cmd = kStop, cache = 0, n_tok = 0, n_out = 0;
  int64_t a = 0, b = 0, c = 0, d = 0;  // kNewCache: n_slot, n_ctx, pool_blocks, cache type; kForward: a = ints
  double compute_s = 0;                // kForward: seconds the ranks after 0 computed so far
};

bool g_started = false;  // rank 0: the other ranks serve stages until stop_pipeline()

// Rank 0: seconds the later stages computed while it waited for logits, so that its time in
// transfers can be split into wire and waiting.
std::atomic<double> g_downstream_s{0}, g_waited_s{0};
std::atomic<int64_t> g_overlapped{0};  // passes begun while another was in flight

// The batch, then for each of its sequences rank 0's block table up to the block of its last
// position here, as (slot, block, physical block) triples: the other ranks mirror it, so a
// prefix rank 0 shares between sequences (a prefix-cache hit, the n choices of one prompt) is
// shared, already computed, on every rank; attention reads every block of a sequence, not
// only those the batch writes.
void pack(const Batch& b, const KvCache& c, std::vector<int32_t>& ints) {
  const size_t T = b.size();
  ints.resize(4 * T);
  std::map<int32_t, int32_t> last;  // slot -> its last position in the batch
  for (size_t t = 0; t < T; ++t) {
    ints[t] = b.token[t];
    ints[T + t] = b.pos[t];
    ints[2 * T + t] = b.seq[t];
    ints[3 * T + t] = b.logits[t];
    auto [it, fresh] = last.emplace(b.seq[t], b.pos[t]);
    if (!fresh) it->second = std::max(it->second, b.pos[t]);
  }
  for (const auto& [slot, pos] : last)
    for (int32_t blk = 0; blk <= (pos >> KvCache::kBlockShift); ++blk) {
      ints.push_back(slot);
      ints.push_back(blk);
      ints.push_back(c.block(slot, blk));
    }
}

void unpack(const std::vector<int32_t>& ints, size_t T, Batch& b, KvCache& c) {
  b.clear();
  for (size_t t = 0; t < T; ++t) {
    if (ints[2 * T + t] < 0 || ints[2 * T + t] >= c.n_slot() || ints[T + t] < 0 || ints[T + t] >= c.n_ctx())
      fail("pipeline: a batch row outside this rank's KV cache");
    b.add(ints[t], ints[T + t], ints[2 * T + t], ints[3 * T + t] != 0);
  }
  if ((ints.size() - 4 * T) % 3 != 0) fail("pipeline: a malformed block table");
  for (size_t i = 4 * T; i < ints.size(); i += 3) {
    const int32_t slot = ints[i], blk = ints[i + 1], phys = ints[i + 2];
    if (slot < 0 || slot >= c.n_slot() || blk < 0 || blk >= KvCache::blocks_for(c.n_ctx()) || phys < 0 ||
        phys >= c.n_blocks())
      fail("pipeline: a block table entry outside this rank's KV cache");
    if (c.block(slot, blk) != phys) {
      c.retain(phys);
      c.map(slot, blk, phys);
    }
  }
}

class PipelineModel final : public Model {
 public:
  PipelineModel(std::unique_ptr<Model> stage, int n_rank) : stage_(std::move(stage)), n_rank_(n_rank) {
    cfg_ = stage_->config();
    file_ = stage_->shared_file();
    cache_type_ = stage_->cache_type();
  }
  // The other ranks keep their stage (a server may load this model again: the shelf unloads
  // idle models) and drop the caches this one made.
  ~PipelineModel() override {
    if (rank_lost() >= 0) return;  // nobody to tell (and a send would throw)
    Header h;
    h.cmd = kRelease;
    send_bytes(&h, sizeof h, 1, kTagCmd);
  }

  std::unique_ptr<KvCache> new_cache(int64_t n_slot, int64_t n_ctx, int64_t pool_blocks) const override {
    stage_->set_cache_type(cache_type_);
    auto c = stage_->new_cache(n_slot, n_ctx, pool_blocks);
    std::lock_guard<std::mutex> l(mu_);
    Header h;
    h.cmd = kNewCache;
    h.cache = next_cache_++;
    h.a = n_slot, h.b = n_ctx, h.c = pool_blocks, h.d = int64_t(cache_type_);
    caches_[c.get()] = h.cache;
    send_bytes(&h, sizeof h, 1, kTagCmd);
    return c;
  }

  void forward(const Batch& batch, KvCache& cache, float* logits, ThreadPool& pool) override {
    begin(batch, cache, pool, logits);  // one pass alone: its logits land in place, uncopied
    end_forward(logits);
  }

  // One pass per stage can be in flight: while the later ranks compute one group of
  // sequences, this rank computes its layers for the next group.
  int max_passes_in_flight() const override { return n_rank_; }

  void begin_forward(const Batch& batch, KvCache& cache, ThreadPool& pool) override {
    begin(batch, cache, pool, nullptr);
  }

  void end_forward(float* logits) override {
    if (flights_.empty()) fail("pipeline: no pass in flight");
    const double t0 = now_seconds();
    flights_.front().io.wait();  // in place: the transfers point into it
    const double blocked = now_seconds() - t0;
    Pass p = std::move(flights_.front());
    flights_.pop_front();
    if (p.h.n_out > 0) {
      if (logits && !p.logits.empty()) std::memcpy(logits, p.logits.data(), p.logits.size() * sizeof(float));
      g_downstream_s.fetch_add(p.computed);
      // Of the time blocked here, what the other stages' computing explains is waiting, the
      // rest is the wire; with passes overlapped most of their computing hides behind this
      // rank's own.
      g_waited_s.fetch_add(std::min(blocked, p.computed));
    }
  }

  void final_hidden(int64_t, float*) const override {
    fail("embeddings need the last hidden states, which live on the last rank of a pipeline: not supported yet");
  }
  int64_t weight_bytes_per_token() const override { return stage_->weight_bytes_per_token(); }
  std::vector<std::string> describe() const override { return stage_->describe(); }

 private:
  // Computes this rank's layers and sends the pass down the chain; its logits arrive in
  // `dest` when given (the caller waits for them at once), else in the pass's own buffer.
  void begin(const Batch& batch, KvCache& cache, ThreadPool& pool, float* dest) {
    Pass& p = flights_.emplace_back();
    const size_t T = batch.size();
    if (T == 0) return;
    {
      std::lock_guard<std::mutex> l(mu_);
      auto it = caches_.find(&cache);
      if (it == caches_.end()) {
        flights_.pop_back();
        fail("pipeline: a KV cache this model did not make");
      }
      p.h.cache = it->second;
    }
    p.hidden.resize(T * size_t(cfg_.n_embd));
    stage_->set_stage_io(nullptr, p.hidden.data());
    try {
      stage_->forward(batch, cache, nullptr, pool);  // checks the batch before anything is sent
    } catch (...) {
      flights_.pop_back();
      throw;
    }
    pack(batch, cache, p.ints);
    p.h.cmd = kForward;
    p.h.n_tok = int64_t(T);
    p.h.n_out = batch.n_outputs();
    p.h.a = int64_t(p.ints.size());
    p.io.send(&p.h, sizeof p.h, 1, kTagCmd);
    p.io.send(p.ints.data(), p.ints.size() * sizeof(int32_t), 1, kTagInts);
    p.io.send(p.hidden.data(), p.hidden.size() * sizeof(float), 1, kTagHidden);
    // The logits' receive is posted now, not when they are wanted: the last rank's send then
    // completes inside whatever MPI call this rank makes next, instead of waiting for it to
    // finish computing the next pass.
    if (p.h.n_out > 0) {
      const size_t n = size_t(p.h.n_out) * size_t(cfg_.n_vocab);
      if (!dest) {
        p.logits.resize(n);
        dest = p.logits.data();
      }
      p.io.recv(dest, n * sizeof(float), n_rank_ - 1, kTagLogits);
      p.io.recv(&p.computed, sizeof p.computed, n_rank_ - 1, kTagTiming);
    }
    if (flights_.size() > 1) g_overlapped.fetch_add(1);
  }

  std::unique_ptr<Model> stage_;
  int n_rank_;
  mutable std::mutex mu_;
  mutable std::map<const KvCache*, int64_t> caches_;
  mutable int64_t next_cache_ = 0;
  // A pass sent down the chain whose logits have not come back; its buffers stay alive until
  // its sends are done.
  struct Pass {
    Header h;
    std::vector<int32_t> ints;
    std::vector<float> hidden, logits;
    double computed = 0;  // seconds the later stages computed it
    Transfers io;
  };
  std::deque<Pass> flights_;
};

// Ranks > 0: take commands from the rank before, pass them on, run this stage's layers. A
// pass's results are sent without waiting while the next pass comes in (into the other of two
// sets of buffers), and must have left before that pass is computed.
void serve_stage(Model& m, int rank, int n_rank, int threads) {
  ThreadPool pool(threads);
  std::map<int64_t, std::unique_ptr<KvCache>> caches;
  std::vector<float> in;
  struct Out {
    Header h;
    std::vector<int32_t> ints;
    std::vector<float> rows;  // hidden states for the next rank, or the last rank's logits
    Transfers io;
  } outs[2];
  int next_out = 0;
  Batch b;
  const size_t E = size_t(m.config().n_embd), V = size_t(m.config().n_vocab);
  const bool last = rank == n_rank - 1;
  for (;;) {
    Header h;
    recv_bytes(&h, sizeof h, rank - 1, kTagCmd);
    if (h.cmd == kStop || h.cmd == kNewCache || h.cmd == kRelease) {
      if (!last) send_bytes(&h, sizeof h, rank + 1, kTagCmd);
      if (h.cmd == kStop) {
        for (Out& o : outs) o.io.wait();
        return;
      }
      if (h.cmd == kRelease) {
        caches.clear();
        continue;
      }
      m.set_cache_type(DType(h.d));
      caches[h.cache] = m.new_cache(h.a, h.b, h.c);
      continue;
    }
    if (h.cmd != kForward || h.n_tok <= 0 || h.n_out < 0 || h.n_out > h.n_tok || h.a < 4 * h.n_tok)
      fail("pipeline: rank %d got a malformed command (%lld) from rank %d", rank, (long long)h.cmd, rank - 1);
    Out& o = outs[next_out];
    next_out ^= 1;
    o.io.wait();
    o.h = h;
    const size_t T = size_t(h.n_tok);
    o.ints.resize(size_t(h.a));
    recv_bytes(o.ints.data(), o.ints.size() * sizeof(int32_t), rank - 1, kTagInts);
    in.resize(T * E);
    recv_bytes(in.data(), in.size() * sizeof(float), rank - 1, kTagHidden);
    auto it = caches.find(h.cache);
    if (it == caches.end()) fail("pipeline: rank %d has no KV cache %lld", rank, (long long)h.cache);
    unpack(o.ints, T, b, *it->second);
    // The previous pass's results leave before this one computes: MPI moves data only inside
    // MPI calls, so a transfer left pending through a computation would hold up its receiver.
    outs[next_out].io.wait();
    const double t0 = now_seconds();
    if (last) {
      o.rows.resize(size_t(h.n_out) * V);
      m.set_stage_io(in.data(), nullptr);
      m.forward(b, *it->second, o.rows.data(), pool);
      o.h.compute_s += now_seconds() - t0;
      if (h.n_out > 0) {
        o.io.send(o.rows.data(), o.rows.size() * sizeof(float), 0, kTagLogits);
        o.io.send(&o.h.compute_s, sizeof o.h.compute_s, 0, kTagTiming);
      }
    } else {
      o.rows.resize(T * E);
      m.set_stage_io(in.data(), o.rows.data());
      m.forward(b, *it->second, nullptr, pool);
      o.h.compute_s += now_seconds() - t0;
      o.io.send(&o.h, sizeof o.h, rank + 1, kTagCmd);
      o.io.send(o.ints.data(), o.ints.size() * sizeof(int32_t), rank + 1, kTagInts);
      o.io.send(o.rows.data(), o.rows.size() * sizeof(float), rank + 1, kTagHidden);
    }
  }
}

}  // namespace

std::unique_ptr<Model> make_pipeline_head(std::unique_ptr<Model> stage, int n_rank) {
  g_started = true;
  return std::make_unique<PipelineModel>(std::move(stage), n_rank);
}

void run_pipeline_stage(Model& m, int rank, int n_rank, int threads) { serve_stage(m, rank, n_rank, threads); }

void stop_pipeline() {
  if (!g_started) return;
  g_started = false;
  Header h;
  h.cmd = kStop;
  send_bytes(&h, sizeof h, 1, kTagCmd);
}

double downstream_compute_seconds() { return g_downstream_s.load(); }
double downstream_wait_seconds() { return g_waited_s.load(); }
int64_t pipeline_overlapped_passes() { return g_overlapped.load(); }

}  // namespace frugal::dist
