// Lookups on a parsed GGUF: metadata by key with typed getters, tensors by name. A present
// key with the wrong type is an error (naming the key and both types), never a silent default.
#include <cinttypes>
#include <limits>

#include "core/error.h"
#include "formats/gguf.h"

namespace frugal {

int64_t GgufTensorInfo::n_elements() const {
  int64_t n = 1;
  for (int64_t d : ne) n *= d;  // the reader rejected shapes whose product overflows
  return n;
}

const GgufValue* GgufFile::find(std::string_view key) const {
  auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

namespace {

[[noreturn]] void wrong_type(const std::string& path, std::string_view key, const GgufValue& v,
                             const char* expected) {
  std::string got = gguf_type_name(v.type);
  if (v.type == GgufType::ARRAY) got += strfmt(" of %s", gguf_type_name(v.elem_type));
  fail("%s: key '%.*s' has type %s, expected %s", path.c_str(), int(key.size()), key.data(), got.c_str(),
       expected);
}

bool is_number(const GgufValue& v) { return v.is_float() || (v.is_integer() && v.type != GgufType::BOOL); }

}  // namespace

std::optional<int64_t> GgufFile::get_int(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (!v->is_integer()) wrong_type(path_, key, *v, "an integer type");
  if (v->type == GgufType::UINT64 && v->u > uint64_t(std::numeric_limits<int64_t>::max()))
    fail("%s: key '%.*s': UINT64 value %" PRIu64 " does not fit a signed 64-bit integer", path_.c_str(),
         int(key.size()), key.data(), v->u);
  return v->as_int();
}

std::optional<double> GgufFile::get_float(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (!is_number(*v)) wrong_type(path_, key, *v, "a float or integer type");
  return v->as_float();
}

std::optional<bool> GgufFile::get_bool(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->type != GgufType::BOOL) wrong_type(path_, key, *v, "BOOL");
  return v->u != 0;
}

std::optional<std::string> GgufFile::get_string(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->type != GgufType::STRING) wrong_type(path_, key, *v, "STRING");
  return v->s;
}

std::optional<std::vector<std::string>> GgufFile::get_str_array(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->type != GgufType::ARRAY || v->elem_type != GgufType::STRING)
    wrong_type(path_, key, *v, "ARRAY of STRING");
  std::vector<std::string> out;
  out.reserve(v->arr.size());
  for (const auto& e : v->arr) out.push_back(e.s);
  return out;
}

std::optional<std::vector<double>> GgufFile::get_num_array(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  GgufValue elem;
  elem.type = v->elem_type;
  if (v->type != GgufType::ARRAY || !is_number(elem))
    wrong_type(path_, key, *v, "ARRAY of a float or integer type");
  std::vector<double> out;
  out.reserve(v->arr.size());
  for (const auto& e : v->arr) out.push_back(e.as_float());
  return out;
}

std::string GgufFile::architecture() const {
  auto arch = get_string("general.architecture");
  if (!arch) fail("%s: missing key 'general.architecture'", path_.c_str());
  return *arch;
}

}  // namespace frugal

namespace frugal {

void GgufFile::build_indexes() {
  kv_index_.clear();
  tensor_index_.clear();
  for (size_t i = 0; i < kv_.size(); ++i)
    if (!kv_index_.emplace(kv_[i].first, i).second) fail("%s: duplicate key '%s'", path_.c_str(), kv_[i].first.c_str());
  for (size_t i = 0; i < tensors_.size(); ++i)
    if (!tensor_index_.emplace(tensors_[i].name, i).second)
      fail("%s: duplicate tensor '%s'", path_.c_str(), tensors_[i].name.c_str());
}

std::unique_ptr<GgufFile> GgufFile::assemble(std::string path, std::vector<std::pair<std::string, GgufValue>> kv,
                                             std::vector<GgufTensorInfo> tensors,
                                             std::vector<std::shared_ptr<const MappedFile>> maps,
                                             std::vector<std::shared_ptr<const void>> owned) {
  std::unique_ptr<GgufFile> f(new GgufFile());
  f->path_ = std::move(path);
  f->version_ = 3;
  f->kv_ = std::move(kv);
  f->tensors_ = std::move(tensors);
  f->extra_maps_ = std::move(maps);
  f->owned_ = std::move(owned);
  f->build_indexes();
  return f;
}

size_t GgufFile::mapped_bytes() const {
  size_t n = map_.size();
  for (const auto& m : extra_maps_) n += m->size();
  return n;
}

void GgufFile::prefetch(int n_threads, const std::function<void(size_t, size_t)>& progress, bool to_memory) const {
  const size_t total = mapped_bytes();
  size_t base = 0;
  auto one = [&](const MappedFile& m) {
    if (m.size() == 0) return;
    const auto each = [&](size_t done, size_t) {
      if (progress) progress(base + done, total);
    };
    if (!to_memory || !m.to_memory(n_threads, each)) m.prefetch(n_threads, each);
    base += m.size();
  };
  one(map_);
  for (const auto& m : extra_maps_) one(*m);
}

}  // namespace frugal
