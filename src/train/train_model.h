// A model the trainer can differentiate: its parameters, a forward pass recorded on a tape for
// a packed batch of sequences, and its GGUF identity (architecture keys), so that what it
// writes is a file `frugal run / serve` load unchanged. Two families: DeepSeek-V3 blocks (MLA,
// DeepSeekMoE, MTP; v3_model.cpp) and the dense Llama / Qwen2 student (dense_student.cpp).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "formats/gguf.h"
#include "train/ops.h"
#include "train/params.h"

namespace frugal::train {

// Sequences packed one after another. targets[r] is the token the row predicts (the next one;
// -1: no loss on this row); targets2[r] the one after it (MTP), -1 where there is none.
struct TrainBatch {
  std::vector<int32_t> tokens, pos;
  std::shared_ptr<Segments> seg = std::make_shared<Segments>();
  std::vector<int32_t> targets, targets2;
  int64_t size() const { return int64_t(tokens.size()); }
  // Appends one sequence; loss_from: the first position whose next-token prediction counts.
  void add(const std::vector<int32_t>& seq, int64_t loss_from);
};

struct ForwardOptions {
  bool mtp = false;          // run the MTP module (mtp_logprobs)
  float balance_alpha = 0;   // sequence-wise MoE balance loss weight (aux)
  bool count_load = false;   // record expert loads for the bias update
  bool keep_logits = false;  // logits of every row in ForwardOut::logits
  // logprobs of the distribution the engine samples at this temperature (logits / T): GRPO's
  // ratios must be taken under the policy that drew the samples.
  float temperature = 1;
};

struct ForwardOut {
  Id logprobs = -1;      // [T, 1] log p(targets[r])
  Id mtp_logprobs = -1;  // [T, 1] log p_mtp(targets2[r])
  Id aux = -1;           // [1, 1] balance loss, if asked
  Id logits = -1;      // keep_logits: [T, n_vocab]
  Id mtp_logits = -1;  // keep_logits with mtp: the MTP module's [T, n_vocab]
};

class TrainModel {
 public:
  virtual ~TrainModel() = default;
  virtual std::string arch() const = 0;  // general.architecture
  virtual int64_t n_vocab() const = 0;
  virtual int64_t n_ctx() const = 0;
  virtual bool has_mtp() const { return false; }
  ParamSet& params() { return params_; }
  const ParamSet& params() const { return params_; }

  // A copy with the same values (the frozen reference of RL).
  virtual std::unique_ptr<TrainModel> clone() const = 0;
  // Random initialisation (fixed by seed).
  virtual void init(uint64_t seed) = 0;
  virtual ForwardOut forward(Tape& t, const TrainBatch& b, const ForwardOptions& o) = 0;
  // After an optimizer step: DeepSeek-V3's auxiliary-loss-free balancing nudges each expert's
  // selection bias by gamma towards the mean load counted since the last call.
  virtual void after_step(float bias_gamma) {}
  // FLOPs (2 per multiply-add) of one token's forward with `span` earlier tokens to attend to;
  // a trained token costs 3x (forward + backward), what the throughput benchmark counts.
  virtual double forward_flops(double span) const = 0;
  // Architecture metadata keys (general.architecture, <arch>.*), without the tokenizer.
  virtual std::vector<std::pair<std::string, GgufValue>> gguf_metadata() const = 0;
  // Parameters as GGUF tensors: name, ne, fp32 data (a layout conversion may build new
  // buffers, which `keep` holds).
  struct Tensor {
    std::string name;
    std::vector<int64_t> ne;
    const float* data;
  };
  virtual std::vector<Tensor> gguf_tensors(std::vector<std::vector<float>>& keep) const;
  // Reads the parameters back from a file of this architecture and shape; throws Error naming
  // the file and tensor otherwise.
  virtual void load_tensors(const GgufFile& f);

 protected:
  ParamSet params_;
};

// Throws Error naming the file and tensor unless ti is F32 of shape ne.
void check_trainable(const GgufFile& f, const GgufTensorInfo& ti, const std::vector<int64_t>& ne);

}  // namespace frugal::train
