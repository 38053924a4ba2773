// The model shelf of `frugal serve`: every model the server knows (its -m files, a models
// folder, a models.toml), loaded on the first request that names it and unloaded when idle
// past its keep-alive or when another model needs the memory. The rules, in the order the
// shelf applies them:
//   - a load is estimated before anything is read (mapped weights + KV pool + prefix cache,
//     what the engine will hold at most); the estimate and --max-loaded decide evictions:
//     least recently used first, never a model with requests in flight, loading or pinned. A
//     model that cannot fit even then is refused (503 naming the budget) and nothing is evicted;
//   - one load per model, however many requests arrive together: they wait for it, while the
//     other models keep serving;
//   - a load that fails marks the model failed with its reason; the next request retries it.
// Loading itself (files, tokenizer, template, engine) is the caller's ShelfLoader, so this file
// knows nothing of model formats and is tested with a fake loader.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "server/api_common.h"
#include "server/model_registry.h"

namespace frugal::server {

using Clock = std::chrono::steady_clock;

struct ShelfOptions {
  int64_t max_memory = 0;  // bytes all loaded models may take together; 0 = no limit
  int64_t max_loaded = 0;  // models loaded at once; 0 = no limit
  KeepAlive keep_alive;    // default: forever
};

// What the shelf asks of its owner.
struct ShelfLoader {
  // Opens the model (maps the weights; reads nothing large) and sets its `bytes` estimate.
  std::function<std::unique_ptr<ServedModel>(const ModelSpec&)> open;
  // Pages the weights in and starts the engine; reports progress in [0, 1].
  std::function<void(ServedModel&, const ModelSpec&, const std::function<void(double)>&)> start;
  // Optional: the models a folder holds now (asked when a request names an unknown model, at
  // most every few seconds); models not on the shelf yet are added.
  std::function<std::vector<ModelSpec>()> rescan;
};

enum class ModelState { available, loading, loaded, failed };
const char* model_state_name(ModelState s);

// A snapshot of one entry (for /v1/models, /api/ps, /metrics).
struct ModelStatus {
  std::string name, path;
  ModelState state = ModelState::available;
  std::string error;           // why the last load failed (state failed) or was refused
  double progress = 0;         // of a load in progress
  int64_t bytes = 0;           // the estimate (0 until first opened)
  int64_t in_flight = 0;
  bool pinned = false;
  std::optional<Clock::time_point> expires;   // loaded and idle with a finite keep-alive
  Clock::time_point last_used{};
  int64_t loads = 0, unloads = 0, evictions = 0, failures = 0;
  std::shared_ptr<const ServedModel> model;   // when loaded (details for /api/show, /api/tags)
};

class ModelShelf;

// A request's hold on a loaded model: while any lease lives, the model is neither evicted nor
// unloaded. The destructor ends the hold and starts the keep-alive clock.
class ModelLease {
 public:
  ModelLease(ModelShelf* shelf, size_t index, std::shared_ptr<ServedModel> m, std::optional<bool> thinking)
      : shelf_(shelf), index_(index), model_(std::move(m)), thinking_(thinking) {}
  ~ModelLease();
  ModelLease(const ModelLease&) = delete;
  ModelLease& operator=(const ModelLease&) = delete;
  ServedModel& model() const { return *model_; }
  // Thinking forced by the alias the request used (deepseek-chat: off), if any.
  std::optional<bool> thinking() const { return thinking_; }
  // This request's keep_alive (Ollama's field): replaces the model's for the time after it.
  void set_keep_alive(KeepAlive k) { keep_alive_ = k; }

 private:
  ModelShelf* shelf_;
  size_t index_;
  std::shared_ptr<ServedModel> model_;
  std::optional<bool> thinking_;
  std::optional<KeepAlive> keep_alive_;
};

class ModelShelf {
 public:
  // Throws Error on a duplicate name or an alias naming no model.
  ModelShelf(std::vector<ModelSpec> specs, std::vector<AliasSpec> aliases, const ShelfOptions& o, ShelfLoader loader);
  ~ModelShelf();  // unloads everything (engines shut down at once)

  // The entry a request's model name means: a name, an alias, or either with Ollama's
  // ":latest" tag; an empty name means the first model. Throws ApiError 404 (code
  // model_not_found) listing the names.
  struct Resolved {
    size_t index;
    std::optional<bool> thinking;
    std::string name;  // the entry's
  };
  Resolved resolve(const std::string& name);

  // Waits until the model is loaded (starting the load if nobody has) and holds it. While
  // waiting, `on_wait(progress)` runs about every `tick`; returning false abandons the wait
  // (the load goes on) and returns nullptr. Throws ApiError 503 when the model failed to load
  // or cannot fit.
  std::unique_ptr<ModelLease> acquire(const Resolved& r,
                                      const std::function<bool(double)>& on_wait = {},
                                      std::chrono::milliseconds tick = std::chrono::milliseconds(1000));
  // The loaded model, if it is, without waiting or loading.
  std::unique_ptr<ModelLease> try_acquire(const Resolved& r);
  // Unloads the model once its requests end (true if it was loaded or loading).
  bool unload(size_t index);
  // Starts loading every preload model (in the background, in order).
  void preload();
  // Stops everything: running sequences may finish until `deadline`, then engines stop.
  void shutdown(Clock::time_point deadline);

  std::vector<ModelStatus> status() const;
  std::vector<ModelSpec> specs() const;
  ModelSpec spec(size_t index) const;
  std::vector<AliasSpec> aliases() const;
  const ShelfOptions& options() const { return o_; }
  // Bytes the loaded and loading models are estimated to take.
  int64_t used_bytes() const;

 private:
  friend class ModelLease;
  struct Entry;
  void release(size_t index, std::optional<KeepAlive> k);
  void start_load_locked(size_t index);
  void load(size_t index);          // on a loader thread
  void reap();                      // the keep-alive thread
  void unload_locked(std::unique_lock<std::mutex>& l, size_t index, bool eviction);
  int64_t used_locked() const;
  KeepAlive keep_alive_locked(size_t index) const;
  int64_t loaded_count_locked() const;

  std::optional<Resolved> find_locked(std::string_view name) const;
  void add_locked(ModelSpec s);

  // Deques: a rescan appends while loader threads hold references to earlier elements.
  std::deque<ModelSpec> specs_;
  std::deque<AliasSpec> aliases_;
  ShelfOptions o_;
  ShelfLoader loader_;
  mutable std::mutex mu_;
  std::condition_variable cv_;  // state changes (loads done, leases released)
  std::deque<std::unique_ptr<Entry>> entries_;
  Clock::time_point last_rescan_{};
  std::thread reaper_;
  bool stopping_ = false;
};

}  // namespace frugal::server
