// qwen2 (Qwen2/2.5, R1-Distill-Qwen): biases on q/k/v, NeoX RoPE.
#include "model/arch/registry.h"
#include "model/dense_model.h"

namespace frugal {

std::unique_ptr<Model> load_qwen2(std::shared_ptr<GgufFile> f) {
  DenseSpec spec;
  spec.qkv_bias = true;
  spec.rope_neox = true;
  return std::make_unique<DenseModel>(std::move(f), spec);
}

}  // namespace frugal
