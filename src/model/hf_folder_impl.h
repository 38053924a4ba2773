// Internals of the Hugging Face folder loader, split by concern:
//   hf_config.cpp   config.json -> architecture + GGUF hyper-parameter keys
//   hf_tensors.cpp  safetensors names -> llama.cpp tensor names, shapes and row layouts
//   hf_convert.cpp  where each tensor's bytes come from: in place, or converted at load
//   hf_folder.cpp   the whole image (general.*, tokenizer.*, tensors)
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "formats/gguf.h"
#include "formats/safetensors.h"
#include "model/hf_folder.h"

namespace frugal::hf {

struct ModelInfo {
  std::string arch;  // GGUF general.architecture
  std::vector<std::pair<std::string, GgufValue>> kv;  // "{arch}.*"
  int64_t n_layer = 0;   // block_count: trunk + MTP layers
  int64_t n_expert = 0;  // routed experts (MoE), 0 for dense models
  int64_t n_head = 0, n_head_kv = 0;
  // llama: llama.cpp rotates adjacent pairs, HF checkpoints rotate halves, so q/k rows are
  // regrouped per head (llama.cpp's converter does the same).
  bool permute_qk = false;
  std::vector<float> rope_freqs;  // llama3 frequency divisors (rope_freqs.weight); empty if none
  int64_t fp8_block_rows = 128, fp8_block_cols = 128;  // quantization_config.weight_block_size
  bool random_weights = false;  // config.json "frugal_random_weights" (make-test-model folders)
};

// Reads DIR/config.json. Throws Error naming config.json and the key, or listing the supported
// architectures.
ModelInfo read_config(const std::string& dir);
// The same for config.json's parsed JSON; `path` names it in errors.
ModelInfo parse_config(nlohmann::json j, const std::string& path);
// "LlamaForCausalLM (llama), ..." for error messages.
std::string supported_architectures();

// One tensor of the image and where its rows come from.
struct TensorPlan {
  std::string name;          // llama.cpp name
  std::vector<int64_t> ne;   // ggml order, ne[0] = row length
  std::vector<SafetensorsSet::Entry> parts;   // one, or one per stacked expert
  std::vector<SafetensorsSet::Entry> scales;  // FP8 block scales, parallel to parts, or empty
  int64_t permute_heads = 0;  // > 0: rows regrouped from rotate-half to adjacent pairs, per head
};

// Maps every checkpoint tensor (block scales excepted) to its llama.cpp name, stacks routed
// experts and pairs FP8 weights with their scales. Throws Error naming the file and tensor for
// unknown names, missing experts, FP8 weights without valid scales, non-float weights.
std::vector<TensorPlan> plan_tensors(const SafetensorsSet& st, const ModelInfo& info);

struct PlacedTensors {
  std::vector<GgufTensorInfo> tensors;
  std::vector<std::shared_ptr<const MappedFile>> maps;  // shards some tensor points into
  std::vector<std::shared_ptr<const void>> owned;       // converted tensors
  uint32_t file_type = 0;  // general.file_type (llama_ftype) that best describes the result
};

// Decides each tensor's type (see hf_folder.h) and fills converted ones, on
// ThreadPool::global(), with a progress line when the work is big and opt.progress is set.
PlacedTensors place_tensors(const std::vector<TensorPlan>& plans, const ModelInfo& info, const HfLoadOptions& opt,
                            const std::string& dir);

}  // namespace frugal::hf
