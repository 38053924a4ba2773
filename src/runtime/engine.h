// The serving engine: one scheduler thread per model runs continuous batching over a fixed set
// of KV-cache slots (the server, the trainer's rollouts and `frugal eval` all generate through it). Each step puts the decode token of every active sequence and chunks of
// pending prompts into ONE forward pass (the weights are read once per step, whatever the
// number of sequences), samples each sequence's next token and hands it to the request's
// GenStream. Requests join between steps; a cancelled one (client gone, stop string seen) leaves
// its slot at the next step. Prompt prefixes come from the PrefixCache (memory, then disk)
// instead of being recomputed.
//
// The engine speaks tokens only; text (detokenizing, stop strings, reasoning / tool-call
// parsing) is the HTTP thread's business, so the scheduler thread does nothing but compute.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/thread_pool.h"
#include "model/model.h"
#include "runtime/json_constraint.h"
#include "runtime/sampler.h"
#include "runtime/metrics.h"
#include "runtime/prefix_cache.h"
#include "tokenizer/tokenizer.h"

namespace frugal {

enum class Finish { none, stop, length, cancelled, resource };
const char* finish_reason_name(Finish f);  // OpenAI / DeepSeek finish_reason

struct TokenLogprob {
  int32_t id = -1;
  float logprob = 0;
  std::vector<std::pair<int32_t, float>> top;  // most likely first
};

// An embedding request instead of a generation: the prompt's final hidden states (after the
// final norm), averaged over its tokens or the last token's, L2-normalized. Nothing is
// sampled, and the prefix cache is not read (every position's state is needed).
enum class Pooling { none, mean, last };

struct GenRequest {
  std::vector<int32_t> prompt;
  SamplerParams sampling;
  int64_t max_tokens = 0;            // > 0; the engine also stops when the context is full
  int32_t top_logprobs = -1;         // -1: no logprobs; 0..20: the chosen token's + this many alternatives
  std::unique_ptr<JsonConstraint> constraint;  // grammar-constrained sampling (response_format)
  // Text the constraint does not apply to yet: generation is free until this marker has been
  // generated (e.g. "</think>" for a model that reasons first); empty: constrained from the start.
  std::string constraint_after;
  bool ignore_eos = false;  // end-of-generation tokens are ordinary output
  Pooling embed = Pooling::none;
};

// What a consumer gets from GenStream::wait: tokens since the last call and, at the end, why.
struct GenChunk {
  std::vector<int32_t> tokens;
  std::vector<TokenLogprob> logprobs;  // one per token when asked for
  bool started = false;                // the prompt has been processed (prompt_* counts valid)
  bool done = false;
  Finish finish = Finish::none;
  int64_t prompt_tokens = 0, cached_tokens = 0;
  std::vector<float> embedding;        // of an embedding request, with done
};

// One request's channel between the scheduler (producer) and an HTTP thread (consumer).
class GenStream {
 public:
  // Waits until something new (tokens, start, end) or the timeout; moves it into `out` and
  // returns true, or false on timeout.
  bool wait(GenChunk& out, std::chrono::milliseconds timeout);
  // Asks the scheduler to stop this sequence and free its slot (idempotent, any thread).
  void cancel() { cancelled_ = true; }
  bool cancelled() const { return cancelled_; }

  // Scheduler side.
  void push(int32_t tok, TokenLogprob* lp);
  void start(int64_t prompt_tokens, int64_t cached_tokens);
  void set_embedding(std::vector<float> e);
  void end(Finish f);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  GenChunk pending_;
  bool news_ = false, reported_start_ = false;
  std::atomic<bool> cancelled_{false};
};

struct EngineOptions {
  int64_t n_ctx = 4096;      // per sequence
  int64_t max_seqs = 4;      // KV slots = sequences decoded together
  int64_t n_batch = 256;     // tokens per forward pass (decode rows + prefill chunks)
  int64_t max_queue = 64;    // waiting requests beyond this are refused (429)
  int threads = 0;
  PrefixCacheOptions cache;
};

struct EngineStats {
  int64_t active = 0, queued = 0, kv_used_tokens = 0, kv_capacity_tokens = 0;
  int64_t kv_blocks_used = 0, kv_blocks_total = 0;  // pool blocks held by sequences or the prefix cache
  int64_t steps = 0, last_batch_tokens = 0, last_batch_seqs = 0;
  int64_t prompt_tokens = 0, cached_prompt_tokens = 0, generated_tokens = 0;
  PrefixCacheStats cache;
};

class QueueFull : public std::runtime_error {
 public:
  QueueFull() : std::runtime_error("the request queue is full") {}
};

class Engine {
 public:
  Engine(Model& model, const Tokenizer& tok, const EngineOptions& o, Metrics& metrics);
  ~Engine();  // stops the scheduler (cancels what runs) and joins it
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Queues a request. Throws QueueFull when max_queue requests already wait; the caller checks
  // sizes (prompt + max_tokens <= n_ctx) beforehand.
  std::shared_ptr<GenStream> submit(GenRequest r);
  // Queues several requests at once, all or none (QueueFull): the n choices of one API
  // request. The scheduler then sees them together, so they share one prefill the same way
  // every time, and a seeded request gives the same text run after run.
  std::vector<std::shared_ptr<GenStream>> submit(std::vector<GenRequest> rs);
  // Stops admitting, lets running sequences finish until `deadline`, then ends the rest with
  // Finish::resource, and writes the prefix cache to disk. Blocks until done.
  void shutdown(std::chrono::steady_clock::time_point deadline);

  const EngineOptions& options() const { return o_; }
  // Bytes an engine with these options allocates beside the weights at most: the KV pool
  // (every slot's context plus the prefix cache's RAM) and the logits.
  static int64_t memory_bytes(const Model& model, const EngineOptions& o);
  const Model& model() const { return model_; }
  EngineStats stats() const;

 private:
  struct Seq;
  void loop();
  void admit();
  bool waits_for_shared_prefill(const Seq& q) const;
  struct Pass;
  void step();
  // Fills a pass with the tokens of up to max_seqs sequences (decoding ones not in flight
  // already, then prompt chunks); false when there is nothing to compute.
  bool build_pass(Pass& p, int64_t max_seqs);
  void complete_pass(Pass& p);  // logits_ holds its rows: sample, stream, finish
  void drain_passes();          // ends the passes in flight, their results dropped
  void pool_rows(Seq& s, int64_t row0, int64_t n);  // an embedding request's rows of this step
  void finish(Seq& s, Finish f);
  int32_t sample(Seq& s, const float* logits);
  void publish_slots();  // active sequences and KV use, for stats()
  // Maps free blocks (reclaiming cached ones if needed) for positions begin..end-1 of s's slot
  // (earlier positions are mapped already: the sequence wrote or restored them).
  bool map_blocks(Seq& s, int64_t begin, int64_t end);

  Model& model_;
  Tokenizer tok_;
  EngineOptions o_;
  Metrics& metrics_;
  ThreadPool pool_;
  std::unique_ptr<KvCache> cache_;
  PrefixCache prefix_;
  std::vector<float> logits_;
  std::deque<std::unique_ptr<Pass>> flights_;  // begun, not yet ended, oldest first

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Seq>> queue_;  // submitted, not yet admitted
  bool stopping_ = false, draining_ = false;
  std::chrono::steady_clock::time_point deadline_;
  std::vector<std::unique_ptr<Seq>> slots_;  // [max_seqs], null = free (scheduler thread only)
  EngineStats stats_;                        // under mu_
  std::thread thread_;
};

}  // namespace frugal
