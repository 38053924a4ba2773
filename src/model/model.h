// A loaded model: weights (mapped from the file, used in place), hyper-parameters and a
// batched forward pass. One subclass per architecture family.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "core/thread_pool.h"
#include "model/batch.h"
#include "model/config.h"
#include "model/kv_cache.h"

namespace frugal {

class GgufFile;

class Model {
 public:
  virtual ~Model() = default;
  const ModelConfig& config() const { return cfg_; }
  const GgufFile& file() const { return *file_; }

  // A cache for n_slot sequences of up to n_ctx tokens each.
  virtual std::unique_ptr<KvCache> new_cache(int64_t n_slot, int64_t n_ctx) const = 0;

  // Runs the batch; writes logits [batch.n_outputs(), n_vocab] (rows in batch order) into
  // `logits`. Positions must be < cache.n_ctx() and each sequence's earlier positions must
  // already be cached (or be earlier in this batch).
  virtual void forward(const Batch& batch, KvCache& cache, float* logits, ThreadPool& pool) = 0;

  // Bytes of weights read from memory to generate one token (for the roofline).
  virtual int64_t weight_bytes_per_token() const = 0;

 protected:
  ModelConfig cfg_;
  std::shared_ptr<GgufFile> file_;
};

// Opens a GGUF model file and binds its weights. Throws Error naming the file and the key or
// tensor on anything missing, mis-shaped or unsupported (e.g. an unknown architecture).
std::unique_ptr<Model> load_model(const std::string& path);

}  // namespace frugal
