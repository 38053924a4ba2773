// A loaded model: weights (mapped from the file, used in place), hyper-parameters and a
// batched forward pass. One subclass per architecture family.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
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
  std::shared_ptr<GgufFile> shared_file() const { return file_; }

  // A cache for n_slot sequences of up to n_ctx tokens each: every slot fully mapped, or with
  // pool_blocks > 0 a pool of that many blocks that the caller maps on demand (the server).
  virtual std::unique_ptr<KvCache> new_cache(int64_t n_slot, int64_t n_ctx, int64_t pool_blocks = 0) const = 0;
  // The element type of the caches new_cache makes (F32, F16, BF16 or Q8_0): --cache-type.
  DType cache_type() const { return cache_type_; }
  void set_cache_type(DType t) { cache_type_ = t; }

  // Runs the batch; writes logits [batch.n_outputs(), n_vocab] (rows in batch order) into
  // `logits`. Positions must be < cache.n_ctx() and each sequence's earlier positions must
  // already be cached (or be earlier in this batch).
  virtual void forward(const Batch& batch, KvCache& cache, float* logits, ThreadPool& pool) = 0;

  // Passes in flight (dist/pipeline): a model whose layers run as a chain of stages on other
  // machines starts a pass, and takes its logits later, so that while the later stages compute
  // one group of sequences the first computes the next group. forward() is begin_forward then
  // end_forward; passes end in the order they began, and a sequence is in one pass at a time.
  // Models without stages elsewhere run one pass at a time (forward only).
  virtual int max_passes_in_flight() const { return 1; }
  virtual void begin_forward(const Batch& /*batch*/, KvCache& /*cache*/, ThreadPool& /*pool*/) {
    fail("this model runs one forward pass at a time");
  }
  virtual void end_forward(float* /*logits*/) { fail("this model runs one forward pass at a time"); }

  // Bytes of weights read from memory to generate one token (for the roofline).
  virtual int64_t weight_bytes_per_token() const = 0;

  // A built-in draft head for speculative decoding (DeepSeek-V3's multi-token prediction
  // module), if the file has one. forward_mtp runs it on rows (token t_{i+1} at position i,
  // main-model hidden state of position i) and writes the logits of t_{i+2} for the rows the
  // batch asks for. The draft head keeps its own cache (new_mtp_cache).
  virtual bool has_mtp() const { return false; }
  virtual std::unique_ptr<KvCache> new_mtp_cache(int64_t /*n_slot*/, int64_t /*n_ctx*/) const { return nullptr; }
  virtual void forward_mtp(const Batch& /*batch*/, const float* /*hidden*/, KvCache& /*cache*/, float* /*logits*/,
                           ThreadPool& /*pool*/) {}
  // Hidden states [batch.size(), n_embd] left by the last forward() (after the final norm, as
  // DeepSeek's MTP expects), for the draft head; nullptr for models without one.
  virtual const float* last_hidden() const { return nullptr; }
  // The final hidden state of row `row` of the last forward(), after the final norm (what the
  // output head reads), into out[n_embd]: embeddings pool these over a prompt's rows.
  virtual void final_hidden(int64_t row, float* out) const = 0;
  // Architecture-specific lines for `frugal inspect` (attention / expert layout).
  virtual std::vector<std::string> describe() const { return {}; }
  // Weight bytes one draft step reads.
  virtual int64_t mtp_weight_bytes_per_token() const { return 0; }

  // Pipeline stages (dist/pipeline): forward() runs only layers [begin, end). A stage after
  // the first reads the batch's hidden states [n_tok, n_embd] from `in` instead of embedding
  // the tokens; one before the last writes them to `out` instead of logits. Only architectures
  // whose supports_stages() is true honour it.
  virtual bool supports_stages() const { return false; }
  void set_stage(int64_t begin, int64_t end) {
    stage_begin_ = begin;
    stage_end_ = end;
  }
  void set_stage_io(const float* in, float* out) {
    stage_in_ = in;
    stage_out_ = out;
  }
  int64_t stage_begin() const { return stage_begin_; }
  int64_t stage_end() const { return stage_end_ < 0 ? cfg_.n_layer : stage_end_; }

 protected:
  ModelConfig cfg_;
  std::shared_ptr<GgufFile> file_;
  DType cache_type_ = DType::F32;
  int64_t stage_begin_ = 0, stage_end_ = -1;  // -1: the last layer
  const float* stage_in_ = nullptr;
  float* stage_out_ = nullptr;
};

struct LoadOptions {
  // Hugging Face folders only: convert every weight matrix at load to this file type (see
  // HfLoadOptions in model/hf_folder.h); empty = use the checkpoint's own types.
  std::string load_as;
  // KV cache element type: "f32", "f16", "bf16", "q8_0"; empty: f32 for an all-fp32 model,
  // f16 otherwise.
  std::string cache_type;
  bool progress = true;  // progress line while converting
  // Keep the weights in the file's page-cache mapping (`--mmap`) rather than copying them into
  // huge-page memory when they fit (MappedFile::to_memory).
  bool mmap = false;
};

// Opens a GGUF model file or a Hugging Face folder (config.json + safetensors) and binds its
// weights. Throws Error naming the file and the key or tensor on anything missing, mis-shaped
// or unsupported (e.g. an unknown architecture).
std::unique_ptr<Model> load_model(const std::string& path, const LoadOptions& opt = {});
// Binds the weights of an already opened image (a .gguf file or a Hugging Face folder).
std::unique_ptr<Model> load_model(std::shared_ptr<GgufFile> f);

}  // namespace frugal
