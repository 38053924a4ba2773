// qwen3 (Qwen3, R1-0528-Qwen3): no biases, per-head RMSNorm of q and k before RoPE, head_dim
// independent of n_embd / n_head, NeoX RoPE.
#include "model/arch/registry.h"
#include "model/dense_model.h"

namespace frugal {

std::unique_ptr<Model> load_qwen3(std::shared_ptr<GgufFile> f) {
  DenseSpec spec;
  spec.qk_norm = true;
  spec.rope_neox = true;
  return std::make_unique<DenseModel>(std::move(f), spec);
}

}  // namespace frugal
