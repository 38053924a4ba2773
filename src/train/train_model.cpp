#include "train/train_model.h"

#include <algorithm>

#include "core/error.h"

namespace frugal::train {

void TrainBatch::add(const std::vector<int32_t>& seq, int64_t loss_from) {
  const int64_t L = int64_t(seq.size());
  for (int64_t r = 0; r < L; ++r) {
    tokens.push_back(seq[size_t(r)]);
    pos.push_back(int32_t(r));
    targets.push_back(r + 1 < L && r + 1 >= loss_from ? seq[size_t(r + 1)] : -1);
    targets2.push_back(r + 2 < L && r + 2 >= loss_from ? seq[size_t(r + 2)] : -1);
  }
  seg->add(L);
}

void check_trainable(const GgufFile& f, const GgufTensorInfo& ti, const std::vector<int64_t>& ne) {
  if (ti.ne != ne)
    fail("%s: tensor '%s' does not have the model's shape", f.path().c_str(), ti.name.c_str());
  if (ti.type != DType::F32)
    fail("%s: tensor '%s' is %s; training needs F32 weights (frugal quantize IN OUT F32)", f.path().c_str(),
         ti.name.c_str(), dtype_name(ti.type));
}

std::vector<TrainModel::Tensor> TrainModel::gguf_tensors(std::vector<std::vector<float>>&) const {
  std::vector<Tensor> out;
  for (const auto& p : params_.all()) out.push_back({p->name, p->ne, p->w.data()});
  return out;
}

void TrainModel::load_tensors(const GgufFile& f) {
  for (auto& p : params_.all()) {
    const GgufTensorInfo* ti = f.find_tensor(p->name);
    if (!ti) fail("%s: missing tensor '%s'", f.path().c_str(), p->name.c_str());
    check_trainable(f, *ti, p->ne);
    std::copy_n(reinterpret_cast<const float*>(ti->data), p->numel(), p->w.data());
  }
}

}  // namespace frugal::train
