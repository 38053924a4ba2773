// llama (Llama 2/3, R1-Distill-Llama): GGUF q/k rows are permuted so RoPE rotates adjacent
// pairs; Llama 3's frequency scaling is stored as the rope_freqs.weight divisors.
#include "model/arch/registry.h"
#include "model/dense_model.h"

namespace frugal {

std::unique_ptr<Model> load_llama(std::shared_ptr<GgufFile> f) {
  DenseSpec spec;
  spec.rope_neox = false;
  spec.rope_freq_factors = true;
  return std::make_unique<DenseModel>(std::move(f), spec);
}

}  // namespace frugal
