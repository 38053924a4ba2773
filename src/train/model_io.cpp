#include "train/model_io.h"

#include <cstring>

#include "core/error.h"
#include "model/vocab_gguf.h"
#include "train/dense_student.h"
#include "train/v3_model.h"

namespace frugal::train {

namespace {

Metadata base_kv(const TrainModel& m, const Vocab& v, const std::string& name) {
  Metadata kv = m.gguf_metadata();
  kv.emplace(kv.begin() + 1, "general.name", GgufValue::str(name));
  kv.emplace(kv.begin() + 2, "general.file_type", GgufValue::u32(0));  // ALL_F32
  for (auto& e : vocab_to_gguf_kv(v)) kv.push_back(std::move(e));
  return kv;
}

std::string name_of(const Metadata& extra) {
  for (const auto& [k, v] : extra)
    if (k == "general.name") return v.s;
  return "frugal-trained";
}

void write(const Metadata& kv, const std::vector<TrainModel::Tensor>& tensors, const std::string& path) {
  GgufWriter w;
  for (const auto& [k, v] : kv) w.set(k, v);
  for (const auto& t : tensors) w.add_tensor(t.name, DType::F32, t.ne, t.data);
  w.write(path);
}

}  // namespace

LoadedModel load_train_model(const std::string& path) {
  LoadedModel out;
  out.file = std::shared_ptr<GgufFile>(GgufFile::open(path));
  const GgufFile& f = *out.file;
  const std::string arch = f.architecture();
  if (arch == "deepseek2") out.model = std::make_unique<V3Model>(V3Model::hparams_of(f));
  else if (arch == "qwen2" || arch == "llama") out.model = std::make_unique<DenseStudent>(DenseStudent::config_of(f));
  else fail("%s: architecture '%s' cannot be trained (deepseek2, qwen2, llama)", path.c_str(), arch.c_str());
  out.model->load_tensors(f);
  out.vocab = vocab_from_gguf(f);
  if (int64_t(out.vocab.tokens.size()) != out.model->n_vocab())
    fail("%s: %zu tokens for %lld embedding rows", path.c_str(), out.vocab.tokens.size(), (long long)out.model->n_vocab());
  return out;
}

void save_model(const TrainModel& m, const Vocab& v, const std::string& path, const Metadata& extra) {
  Metadata kv = base_kv(m, v, name_of(extra));
  for (const auto& e : extra)
    if (e.first != "general.name") kv.push_back(e);
  std::vector<std::vector<float>> keep;
  write(kv, m.gguf_tensors(keep), path);
}

std::shared_ptr<GgufFile> model_image(const TrainModel& m, const Vocab& v, const std::string& name) {
  auto keep = std::make_shared<std::vector<std::vector<float>>>();
  std::vector<GgufTensorInfo> infos;
  auto copies = std::make_shared<std::vector<std::vector<float>>>();
  for (const auto& t : m.gguf_tensors(*keep)) {
    int64_t n = 1;
    for (int64_t d : t.ne) n *= d;
    // A copy: the trainer goes on updating its parameters while the engine samples.
    copies->emplace_back(t.data, t.data + n);
    GgufTensorInfo ti;
    ti.name = t.name;
    ti.type = DType::F32;
    ti.ne = t.ne;
    ti.nbytes = size_t(n) * 4;
    ti.data = reinterpret_cast<const uint8_t*>(copies->back().data());
    infos.push_back(std::move(ti));
  }
  return std::shared_ptr<GgufFile>(GgufFile::assemble(name, base_kv(m, v, name), std::move(infos), {}, {keep, copies}));
}

void save_checkpoint(const TrainModel& m, const Vocab& v, AdamW& opt, const RunState& s, const std::string& path,
                     const Metadata& extra) {
  Metadata kv = base_kv(m, v, name_of(extra));
  for (const auto& e : extra)
    if (e.first != "general.name") kv.push_back(e);
  kv.emplace_back("frugal.train.stage", GgufValue::str(s.stage));
  kv.emplace_back("frugal.train.step", GgufValue::u64(uint64_t(s.step)));
  kv.emplace_back("frugal.train.steps", GgufValue::u64(uint64_t(s.steps)));
  kv.emplace_back("frugal.train.adam_t", GgufValue::u64(uint64_t(opt.t())));
  kv.emplace_back("frugal.train.options", GgufValue::str(s.options));
  std::vector<std::vector<float>> keep;
  std::vector<TrainModel::Tensor> tensors = m.gguf_tensors(keep);
  const auto& all = m.params().all();
  for (size_t i = 0; i < all.size(); ++i) {
    if (!all[i]->trainable) continue;
    tensors.push_back({"train.adam_m." + all[i]->name, {all[i]->numel()}, opt.m(i).data()});
    tensors.push_back({"train.adam_v." + all[i]->name, {all[i]->numel()}, opt.v(i).data()});
  }
  write(kv, tensors, path);
}

RunState load_checkpoint(TrainModel& m, AdamW& opt, const std::string& path) {
  const auto f = GgufFile::open(path);
  if (f->architecture() != m.arch())
    fail("%s: a %s checkpoint, not %s", path.c_str(), f->architecture().c_str(), m.arch().c_str());
  RunState s;
  const auto stage = f->get_string("frugal.train.stage");
  if (!stage) fail("%s: not a training checkpoint (no frugal.train.stage)", path.c_str());
  s.stage = *stage;
  s.step = f->get_int("frugal.train.step").value_or(0);
  s.steps = f->get_int("frugal.train.steps").value_or(0);
  s.options = f->get_string("frugal.train.options").value_or("");
  m.load_tensors(*f);
  const auto& all = m.params().all();
  for (size_t i = 0; i < all.size(); ++i) {
    if (!all[i]->trainable) continue;
    for (const char* which : {"m", "v"}) {
      const std::string n = std::string("train.adam_") + which + "." + all[i]->name;
      const GgufTensorInfo* ti = f->find_tensor(n);
      if (!ti) fail("%s: missing tensor '%s'", path.c_str(), n.c_str());
      check_trainable(*f, *ti, {all[i]->numel()});
      std::vector<float>& dst = *which == 'm' ? opt.m(i) : opt.v(i);
      std::memcpy(dst.data(), ti->data, ti->nbytes);
    }
  }
  opt.set_t(f->get_int("frugal.train.adam_t").value_or(s.step));
  return s;
}

}  // namespace frugal::train
