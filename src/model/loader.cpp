#include <string>
#include <utility>

#include "core/error.h"
#include "formats/gguf.h"
#include "model/arch/registry.h"
#include "model/hf_folder.h"
#include "model/kv_cache.h"
#include "model/model.h"

namespace frugal {

namespace {
struct ArchEntry {
  const char* name;
  std::unique_ptr<Model> (*load)(std::shared_ptr<GgufFile>);
};
constexpr ArchEntry kArchs[] = {
    {"llama", load_llama},
    {"qwen2", load_qwen2},
    {"qwen3", load_qwen3},
    {"deepseek2", load_deepseek2},
};
}  // namespace

std::unique_ptr<Model> load_model(const std::string& path, const LoadOptions& opt) {
  DType ct = DType::F32;  // (when opt.cache_type is empty the model's default stays)
  if (!opt.cache_type.empty() && !kv_type_from_name(opt.cache_type, &ct))
    fail("--cache-type: unknown type '%s' (known: f32, f16, bf16, q8_0)", opt.cache_type.c_str());
  std::unique_ptr<Model> m;
  if (is_hf_folder(path)) {
    m = load_model(open_hf_folder(path, {opt.load_as, opt.progress}));
  } else {
    if (!opt.load_as.empty())
      fail("%s: --load-as converts Hugging Face folders at load; a GGUF file is used with its own types",
           path.c_str());
    m = load_model(std::shared_ptr<GgufFile>(GgufFile::open(path)));
  }
  if (!opt.cache_type.empty()) {
    m->set_cache_type(ct);
    m->new_cache(1, 1);  // a type the model's head widths cannot take fails here, naming it
  }
  return m;
}

std::unique_ptr<Model> load_model(std::shared_ptr<GgufFile> f) {
  const std::string arch = f->architecture();
  for (const auto& e : kArchs)
    if (arch == e.name) {
      auto m = e.load(std::move(f));
      // The default cache type: f16 for block-quantized weights, as llama.cpp: half the
      // memory and half the bandwidth a token spends on the cache at depth, far inside the
      // quantized models' golden limits; f32 for float weights (F32 / F16 / BF16), whose
      // golden logits must stay within 1e-5, which only an f32 cache keeps.
      for (const auto& t : m->file().tensors())
        if (t.ne.size() >= 2 && dtype_traits(t.type).block_size > 1) {
          m->set_cache_type(DType::F16);
          break;
        }
      return m;
    }
  std::string known;
  for (const auto& e : kArchs) known += std::string(known.empty() ? "" : ", ") + e.name;
  fail("%s: unknown architecture '%s' (general.architecture); frugal supports: %s", f->path().c_str(), arch.c_str(),
       known.c_str());
}

}  // namespace frugal
