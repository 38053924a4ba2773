#include "runtime/engine.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "core/error.h"
#include "formats/gguf.h"
#include "runtime/disk_cache.h"

namespace frugal {

using Clock = std::chrono::steady_clock;

const char* finish_reason_name(Finish f) {
  switch (f) {
    case Finish::stop: return "stop";
    case Finish::length: return "length";
    case Finish::resource: return "insufficient_system_resource";
    case Finish::cancelled: return "stop";
    case Finish::none: break;
  }
  return "stop";  // a reply cut short by its client: nobody reads it
}

// ---- GenStream ------------------------------------------------------------------------------

bool GenStream::wait(GenChunk& out, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> l(mu_);
  if (!cv_.wait_for(l, timeout, [&] { return news_; })) return false;
  out = std::move(pending_);
  pending_ = GenChunk{};
  pending_.started = out.started;
  pending_.prompt_tokens = out.prompt_tokens;
  pending_.cached_tokens = out.cached_tokens;
  news_ = false;
  return true;
}

void GenStream::push(int32_t tok, TokenLogprob* lp) {
  std::lock_guard<std::mutex> l(mu_);
  pending_.tokens.push_back(tok);
  if (lp) pending_.logprobs.push_back(std::move(*lp));
  news_ = true;
  cv_.notify_all();
}

void GenStream::start(int64_t prompt_tokens, int64_t cached_tokens) {
  std::lock_guard<std::mutex> l(mu_);
  pending_.started = true;
  pending_.prompt_tokens = prompt_tokens;
  pending_.cached_tokens = cached_tokens;
  news_ = true;
  cv_.notify_all();
}

void GenStream::set_embedding(std::vector<float> e) {
  std::lock_guard<std::mutex> l(mu_);
  pending_.embedding = std::move(e);
  news_ = true;
  cv_.notify_all();
}

void GenStream::end(Finish f) {
  std::lock_guard<std::mutex> l(mu_);
  pending_.done = true;
  pending_.finish = f;
  news_ = true;
  cv_.notify_all();
}

// ---- Engine ---------------------------------------------------------------------------------

struct Engine::Seq {
  Seq(GenRequest r, int32_t n_vocab)
      : req(std::move(r)), stream(std::make_shared<GenStream>()), sampler(req.sampling, n_vocab),
        constrained(req.constraint && req.constraint_after.empty()) {}
  GenRequest req;
  std::shared_ptr<GenStream> stream;
  Sampler sampler;
  int64_t slot = -1;
  std::vector<int32_t> tokens;  // tokens whose keys/values are in the slot, positions 0..
  int64_t n_prompt_done = 0;    // prompt tokens in the slot
  int64_t n_prompt_sent = 0;    // of them, or in passes in flight (a pipeline's)
  int32_t cur = -1;             // last sampled token, not yet fed (decode phase)
  int64_t generated = 0;
  bool constrained;             // the constraint applies now
  std::string tail;             // recent output, to spot constraint_after
  Clock::time_point arrival = Clock::now(), last_token;
  std::vector<double> pooled;   // embedding requests: the sum (mean) or the last row (last)
  int in_flight = 0;            // passes in flight it is in (a pipeline's)
  bool prefilling() const { return n_prompt_done < int64_t(req.prompt.size()); }
};

namespace {

uint64_t cache_fingerprint(const Model& m) {
  // Blocks on disk are only valid for the weights that computed them: two fine-tunes of one
  // architecture have the same names, shapes and sizes. So the fingerprint also hashes the
  // first and last bytes of every tensor (a few KB each: cheap, and the weights differ
  // everywhere between two checkpoints).
  uint64_t h = hash_bytes(m.config().name.data(), m.config().name.size(), 0);
  const int64_t shape[4] = {m.config().n_layer, m.config().n_embd, m.config().n_vocab, int64_t(m.file().mapped_bytes())};
  h = hash_bytes(shape, sizeof shape, h);
  for (const auto& t : m.file().tensors()) {
    h = hash_bytes(t.name.data(), t.name.size(), h);
    const int64_t type = int64_t(t.type);
    h = hash_bytes(&type, sizeof type, h);
    h = hash_bytes(t.ne.data(), t.ne.size() * sizeof(int64_t), h);
    if (!t.data) continue;
    const size_t k = std::min<size_t>(t.nbytes, 2048);
    h = hash_bytes(t.data, k, h);
    h = hash_bytes(t.data + t.nbytes - k, k, h);
  }
  return h;
}

PrefixCacheOptions with_fingerprint(PrefixCacheOptions o, const Model& m) {
  if (o.model_fingerprint == 0) o.model_fingerprint = cache_fingerprint(m);
  return o;
}

// The pool: every slot's whole context (so a running sequence never lacks a block) plus the
// prefix cache's memory budget.
int64_t pool_blocks(const Model& m, const EngineOptions& o) {
  const int64_t block_bytes = m.new_cache(1, 1)->block_bytes();
  return o.max_seqs * KvCache::blocks_for(o.n_ctx) + std::max<int64_t>(0, o.cache.ram_bytes / block_bytes);
}

}  // namespace

int64_t Engine::memory_bytes(const Model& model, const EngineOptions& o) {
  return pool_blocks(model, o) * model.new_cache(1, 1)->block_bytes() + o.max_seqs * model.config().n_vocab * int64_t(sizeof(float));
}

Engine::Engine(Model& model, const Tokenizer& tok, const EngineOptions& o, Metrics& metrics)
    : model_(model), tok_(tok), o_(o), metrics_(metrics), pool_(o.threads),
      cache_(model.new_cache(o.max_seqs, o.n_ctx, pool_blocks(model, o))),
      prefix_(with_fingerprint(o.cache, model), *cache_) {
  if (o_.max_seqs < 1 || o_.n_ctx < 2 || o_.n_batch < 1) fail("engine: bad options");
  logits_.resize(size_t(o_.max_seqs * model.config().n_vocab));
  slots_.resize(size_t(o_.max_seqs));
  stats_.kv_capacity_tokens = o_.max_seqs * o_.n_ctx;
  stats_.kv_blocks_total = cache_->n_blocks();
  thread_ = std::thread([this] { loop(); });
}

Engine::~Engine() {
  if (thread_.joinable()) shutdown(Clock::now());
}

std::shared_ptr<GenStream> Engine::submit(GenRequest r) {
  std::vector<GenRequest> one;
  one.push_back(std::move(r));
  return submit(std::move(one)).front();
}

std::vector<std::shared_ptr<GenStream>> Engine::submit(std::vector<GenRequest> rs) {
  std::vector<std::unique_ptr<Seq>> seqs;
  std::vector<std::shared_ptr<GenStream>> streams;
  for (auto& r : rs) {
    if (r.prompt.empty() || int64_t(r.prompt.size()) >= o_.n_ctx) fail("engine: prompt does not fit the context");
    seqs.push_back(std::make_unique<Seq>(std::move(r), int32_t(model_.config().n_vocab)));
    streams.push_back(seqs.back()->stream);
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    if (draining_) {
      for (auto& st : streams) st->end(Finish::resource);
      return streams;
    }
    if (int64_t(queue_.size() + seqs.size()) > o_.max_queue) throw QueueFull();
    for (auto& s : seqs) queue_.push_back(std::move(s));
    stats_.queued = int64_t(queue_.size());
  }
  cv_.notify_all();
  return streams;
}

void Engine::shutdown(Clock::time_point deadline) {
  {
    std::lock_guard<std::mutex> l(mu_);
    draining_ = true;
    deadline_ = deadline;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  try {
    prefix_.flush();
  } catch (const Error& e) {  // the cache is an optimisation: a full disk must not fail a shutdown
    std::fprintf(stderr, "prefix cache: %s\n", e.what());
  }
}

EngineStats Engine::stats() const {
  std::lock_guard<std::mutex> l(mu_);
  EngineStats s = stats_;
  s.cache = prefix_.stats();
  return s;
}

void Engine::finish(Seq& s, Finish f) {
  // What the sequence computed stays useful: the next turn of a chat re-sends it as its prefix.
  if (!s.tokens.empty()) prefix_.store(s.tokens, int64_t(s.tokens.size()), *cache_, s.slot);
  cache_->clear_slot(s.slot);
  s.stream->end(f);
}

bool Engine::map_blocks(Seq& s, int64_t begin, int64_t end) {
  for (int64_t b = begin >> KvCache::kBlockShift; b < KvCache::blocks_for(end); ++b) {
    if (cache_->block(s.slot, b) >= 0) continue;
    int32_t phys = cache_->alloc();
    if (phys < 0 && prefix_.reclaim(1) == 1) phys = cache_->alloc();
    if (phys < 0) return false;
    cache_->map(s.slot, b, phys);
  }
  return true;
}

bool Engine::waits_for_shared_prefill(const Seq& q) const {
  const auto& p = q.req.prompt;
  for (const auto& s : slots_) {
    if (!s || !s->prefilling()) continue;
    const auto& o = s->req.prompt;
    const size_t n = std::min(p.size(), o.size());
    size_t common = 0;
    while (common < n && p[common] == o[common]) ++common;
    // Worth waiting for: a whole block that the other sequence has not computed yet.
    if (int64_t(common) / KvCache::kBlockTokens * KvCache::kBlockTokens > s->n_prompt_done) return true;
  }
  return false;
}

void Engine::admit() {
  for (auto& slot : slots_) {
    if (slot) continue;
    std::unique_ptr<Seq> s;
    {
      std::lock_guard<std::mutex> l(mu_);
      while (!queue_.empty() && queue_.front()->stream->cancelled()) {
        queue_.front()->stream->end(Finish::cancelled);
        queue_.pop_front();
      }
      // Oldest first, except that a request waits while a running sequence is still
      // computing a prompt prefix it shares: one prefill, then a cache hit for the others
      // (n > 1 choices, or many users sending the same system prompt at once).
      auto it = std::find_if(queue_.begin(), queue_.end(), [&](const auto& q) { return !waits_for_shared_prefill(*q); });
      if (it == queue_.end()) break;
      s = std::move(*it);
      queue_.erase(it);
      stats_.queued = int64_t(queue_.size());
    }
    s->slot = &slot - slots_.data();
    const auto& p = s->req.prompt;
    // At least the last prompt token is computed: its logits give the first new token.
    const auto hit = prefix_.restore(p, s->req.embed != Pooling::none ? 0 : int64_t(p.size()) - 1, *cache_, s->slot);
    s->tokens.assign(p.begin(), p.begin() + hit.tokens);
    s->n_prompt_done = s->n_prompt_sent = hit.tokens;
    for (int32_t t : p) s->sampler.accept(t);
    s->stream->start(int64_t(p.size()), hit.tokens);
    metrics_.add_prompt_tokens(int64_t(p.size()), hit.tokens);
    {
      std::lock_guard<std::mutex> l(mu_);
      stats_.prompt_tokens += int64_t(p.size());
      stats_.cached_prompt_tokens += hit.tokens;
    }
    slot = std::move(s);
  }
}

int32_t Engine::sample(Seq& s, const float* logits) {
  const int32_t V = int32_t(model_.config().n_vocab);
  if (!s.constrained) {
    const int32_t t = s.sampler.sample(logits);
    if (s.req.constraint && !tok_.is_end_of_generation(t)) {
      s.tail += tok_.token_bytes(t);
      const auto at = s.tail.find(s.req.constraint_after);
      if (at != std::string::npos) {
        s.constrained = true;
        const std::string rest = s.tail.substr(at + s.req.constraint_after.size());
        if (s.req.constraint->allows(rest)) s.req.constraint->accept(rest);
        s.tail.clear();
      } else if (s.tail.size() > 2 * s.req.constraint_after.size()) {
        s.tail.erase(0, s.tail.size() - s.req.constraint_after.size());
      }
    }
    return t;
  }
  JsonConstraint& c = *s.req.constraint;
  auto allowed = [&](int32_t id) {
    if (tok_.is_end_of_generation(id)) return c.complete();
    if (tok_.is_special(id)) return false;
    const std::string& b = tok_.token_bytes(id);
    return !b.empty() && c.allows(b);
  };
  // Fast path: the unconstrained draw is usually acceptable for a model that follows the
  // format; otherwise mask every token the grammar rejects and draw again.
  int32_t t = s.sampler.pick(logits);
  if (!allowed(t)) {
    std::vector<float> masked(logits, logits + V);
    int64_t n_ok = 0;
    for (int32_t id = 0; id < V; ++id) {
      if (allowed(id)) ++n_ok;
      else masked[size_t(id)] = -INFINITY;
    }
    if (n_ok == 0) return tok_.eos_id();  // cannot happen for a complete grammar; end cleanly
    t = s.sampler.pick(masked.data());
  }
  s.sampler.accept(t);
  if (!tok_.is_end_of_generation(t)) c.accept(tok_.token_bytes(t));
  return t;
}

namespace {

TokenLogprob logprobs_of(const float* logits, int64_t V, int32_t chosen, int32_t n_top) {
  float mx = -INFINITY;
  for (int64_t i = 0; i < V; ++i) mx = std::max(mx, logits[i]);
  double z = 0;
  for (int64_t i = 0; i < V; ++i) z += std::exp(double(logits[i] - mx));
  const float lz = mx + float(std::log(z));
  TokenLogprob r;
  r.id = chosen;
  r.logprob = logits[chosen] - lz;
  if (n_top > 0) {
    std::vector<int32_t> idx(static_cast<size_t>(V));
    std::iota(idx.begin(), idx.end(), 0);
    const auto k = std::min<int64_t>(n_top, V);
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(),
                      [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); });
    for (int64_t i = 0; i < k; ++i) r.top.emplace_back(idx[size_t(i)], logits[idx[size_t(i)]] - lz);
  }
  return r;
}

}  // namespace

void Engine::pool_rows(Seq& s, int64_t row0, int64_t n) {
  const int64_t E = model_.config().n_embd;
  const int64_t P = int64_t(s.req.prompt.size());
  std::vector<float> h(static_cast<size_t>(E));
  s.pooled.resize(size_t(E), 0.0);
  for (int64_t j = 0; j < n; ++j) {
    const bool last = s.n_prompt_done + j + 1 == P;
    if (s.req.embed == Pooling::last && !last) continue;
    model_.final_hidden(row0 + j, h.data());
    for (int64_t k = 0; k < E; ++k) s.pooled[size_t(k)] += double(h[size_t(k)]);
  }
  // Mean pooling divides by P; the L2 normalization that follows makes that a no-op, so the
  // sum is kept.
}

// One forward pass: the rows it feeds and what comes back for them.
struct Engine::Pass {
  struct Chunk {
    Seq* s;
    int64_t n, row0;  // prompt tokens, and the batch row of the first
  };
  Batch b;
  std::vector<Seq*> decoding;  // sequences whose last sampled token this pass feeds
  std::vector<Seq*> out_rows;  // the sequences of the logits rows, in order
  std::vector<Chunk> chunks;
  void mark(int d) {
    for (Seq* s : decoding) s->in_flight += d;
    for (const Chunk& c : chunks) c.s->in_flight += d;
  }
};

bool Engine::build_pass(Pass& p, int64_t max_seqs) {
  for (auto& s : slots_) {
    if (!s || s->prefilling() || s->in_flight) continue;
    if (int64_t(p.decoding.size()) >= max_seqs) break;
    const int64_t pos = int64_t(s->tokens.size());
    if (!map_blocks(*s, pos, pos + 1)) {  // cannot happen: the pool covers every slot's context
      finish(*s, Finish::resource);
      s.reset();
      continue;
    }
    p.b.add(s->cur, int32_t(pos), int32_t(s->slot), true);
    p.out_rows.push_back(s.get());
    p.decoding.push_back(s.get());
  }
  // Prompts fill the rest of the pass, oldest first, so decoding sequences never wait for a
  // long prompt and a long prompt still advances every step. A prompt's next chunk may go
  // while its last is still in flight: a pipeline stage has the keys and values of the chunk
  // before once it has passed that stage.
  std::vector<Seq*> prefill;
  for (auto& s : slots_)
    if (s && s->n_prompt_sent < int64_t(s->req.prompt.size())) prefill.push_back(s.get());
  std::sort(prefill.begin(), prefill.end(), [](Seq* a, Seq* c) { return a->arrival < c->arrival; });
  int64_t budget = std::max<int64_t>(o_.n_batch - int64_t(p.b.size()), 16);
  for (Seq* s : prefill) {
    if (budget <= 0 || int64_t(p.decoding.size() + p.chunks.size()) >= max_seqs) break;
    const auto& prompt = s->req.prompt;
    const int64_t first = s->n_prompt_sent;
    const int64_t n = std::min<int64_t>(budget, int64_t(prompt.size()) - first);
    if (!map_blocks(*s, first, first + n)) {
      if (s->in_flight) continue;
      finish(*s, Finish::resource);
      slots_[size_t(s->slot)].reset();
      continue;
    }
    s->n_prompt_sent += n;
    const int64_t row0 = int64_t(p.b.size());
    for (int64_t j = 0; j < n; ++j) {
      const int64_t i = first + j;
      const bool last = i + 1 == int64_t(prompt.size()) && s->req.embed == Pooling::none;
      p.b.add(prompt[size_t(i)], int32_t(i), int32_t(s->slot), last);
      if (last) p.out_rows.push_back(s);
    }
    p.chunks.push_back({s, n, row0});
    budget -= n;
  }
  return p.b.size() > 0;
}

void Engine::step() {
  const int64_t G = std::min<int64_t>(model_.max_passes_in_flight(), o_.max_seqs);
  if (G <= 1) {
    Pass p;
    if (!build_pass(p, o_.max_seqs)) return;
    model_.forward(p.b, *cache_, logits_.data(), pool_);
    complete_pass(p);
    return;
  }
  // A pipeline over G ranks: the sequences go in G groups, one pass each in flight, so that
  // while the later stages compute one group the first computes the next. Each group is
  // smaller than the whole (a stage reads its weights once per pass, not per step), but no
  // stage waits for another.
  int64_t n_active = 0;
  for (const auto& s : slots_) n_active += bool(s);
  const int64_t share = std::max<int64_t>(1, (n_active + G - 1) / G);
  while (int64_t(flights_.size()) < G) {
    auto p = std::make_unique<Pass>();
    if (!build_pass(*p, share)) break;
    model_.begin_forward(p->b, *cache_, pool_);
    p->mark(+1);
    flights_.push_back(std::move(p));
  }
  if (flights_.empty()) return;
  std::unique_ptr<Pass> p = std::move(flights_.front());
  flights_.pop_front();
  p->mark(-1);
  model_.end_forward(logits_.data());
  complete_pass(*p);
}

void Engine::drain_passes() {
  while (!flights_.empty()) {
    std::unique_ptr<Pass> p = std::move(flights_.front());
    flights_.pop_front();
    p->mark(-1);
    model_.end_forward(nullptr);
  }
}

void Engine::complete_pass(Pass& p) {
  const int64_t V = model_.config().n_vocab;
  metrics_.batch_tokens.observe(double(p.b.size()));
  for (Seq* s : p.decoding) s->tokens.push_back(s->cur);  // fed this pass
  for (auto [s, n, row0] : p.chunks) {
    const auto& prompt = s->req.prompt;
    if (s->req.embed != Pooling::none) pool_rows(*s, row0, n);
    s->tokens.insert(s->tokens.end(), prompt.begin() + s->n_prompt_done, prompt.begin() + s->n_prompt_done + n);
    s->n_prompt_done += n;
    if (!s->prefilling()) prefix_.store(s->tokens, int64_t(s->tokens.size()), *cache_, s->slot);
    if (!s->prefilling() && s->req.embed != Pooling::none) {
      // The whole prompt is in: its embedding is the answer, and nothing is generated.
      double norm = 0;
      for (double v : s->pooled) norm += v * v;
      norm = std::sqrt(norm);
      std::vector<float> e(s->pooled.size());
      for (size_t k = 0; k < e.size(); ++k) e[k] = float(norm > 0 ? s->pooled[k] / norm : 0.0);
      s->stream->set_embedding(std::move(e));
      finish(*s, Finish::stop);
      slots_[size_t(s->slot)].reset();
    }
  }

  // The sequences sample independently (~0.1-0.2 ms each with top-k, more with top-k off or
  // logprobs), so the pool's threads take them as they come.
  const auto& out_rows = p.out_rows;
  const size_t n_out = out_rows.size();
  std::vector<int32_t> picked(n_out);
  std::vector<TokenLogprob> lps(n_out);
  pool_.parallel_dynamic(int64_t(n_out), 1, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) {
      Seq& s = *out_rows[size_t(r)];
      const float* lg = logits_.data() + r * V;
      picked[size_t(r)] = sample(s, lg);
      if (s.req.top_logprobs >= 0) lps[size_t(r)] = logprobs_of(lg, V, picked[size_t(r)], s.req.top_logprobs);
    }
  });
  const auto now = Clock::now();
  int64_t produced = 0;
  for (size_t r = 0; r < n_out; ++r) {
    Seq& s = *out_rows[r];
    const int32_t t = picked[r];
    if (!s.req.ignore_eos && tok_.is_end_of_generation(t)) {
      finish(s, Finish::stop);
      slots_[size_t(s.slot)].reset();
      continue;
    }
    s.stream->push(t, s.req.top_logprobs >= 0 ? &lps[r] : nullptr);
    ++produced;
    if (s.generated == 0) metrics_.ttft.observe(std::chrono::duration<double>(now - s.arrival).count());
    else metrics_.inter_token.observe(std::chrono::duration<double>(now - s.last_token).count());
    s.last_token = now;
    s.cur = t;
    ++s.generated;
    Finish f = Finish::none;
    if (s.constrained && s.req.constraint->complete() && !s.req.constraint->can_continue()) f = Finish::stop;
    else if (s.generated >= s.req.max_tokens || int64_t(s.tokens.size()) >= o_.n_ctx) f = Finish::length;
    if (f != Finish::none) {
      finish(s, f);
      slots_[size_t(s.slot)].reset();
    }
  }
  metrics_.add_generated_tokens(produced);
  metrics_.batch_seqs.observe(double(out_rows.size()));
  std::lock_guard<std::mutex> l(mu_);
  ++stats_.steps;
  stats_.last_batch_tokens = int64_t(p.b.size());
  stats_.last_batch_seqs = int64_t(out_rows.size());
  stats_.generated_tokens += produced;
}

void Engine::loop() {
  for (;;) {
    bool any = false;
    for (auto& s : slots_) {
      if (s && s->stream->cancelled() && !s->in_flight) {
        finish(*s, Finish::cancelled);
        s.reset();
      }
      any = any || s;
    }
    publish_slots();
    {
      std::unique_lock<std::mutex> l(mu_);
      if (draining_) {
        for (auto& q : queue_) q->stream->end(Finish::resource);
        queue_.clear();
        stats_.queued = 0;
        if (!any) break;
        if (Clock::now() >= deadline_) {
          l.unlock();
          try {
            drain_passes();
          } catch (const std::exception&) {
            flights_.clear();
          }
          for (auto& s : slots_)
            if (s) {
              finish(*s, Finish::resource);
              s.reset();
            }
          break;
        }
      } else if (!any && queue_.empty()) {
        // Idle: first put finished prompts on disk, a few blocks at a time so that a new
        // request waits for little; then wake for a request, shutdown, or now and then to
        // notice cancellations.
        if (prefix_.has_unwritten()) {
          l.unlock();
          prefix_.write_behind(4);
          continue;
        }
        cv_.wait_for(l, std::chrono::milliseconds(200), [&] { return draining_ || !queue_.empty(); });
        continue;
      }
    }
    try {
      admit();
      step();
    } catch (const std::exception& e) {
      // A bug (forward() validates its batch and throws rather than read out of bounds) ends
      // the requests of this step, not the server.
      std::fprintf(stderr, "engine: internal error, %d running requests ended: %s\n",
                   int(std::count_if(slots_.begin(), slots_.end(), [](const auto& s) { return bool(s); })), e.what());
      try {
        drain_passes();
      } catch (const std::exception&) {
        flights_.clear();
      }
      for (auto& s : slots_)
        if (s) {
          cache_->clear_slot(s->slot);
          s->stream->end(Finish::resource);
          s.reset();
        }
    }
    publish_slots();
  }
  for (auto& s : slots_) s.reset();
  publish_slots();
}

void Engine::publish_slots() {
  int64_t active = 0, used = 0;
  for (auto& s : slots_)
    if (s) {
      ++active;
      used += int64_t(s->tokens.size());
    }
  std::lock_guard<std::mutex> l(mu_);
  stats_.active = active;
  stats_.kv_used_tokens = used;
  stats_.kv_blocks_used = cache_->n_blocks() - cache_->free_blocks();
}

}  // namespace frugal
