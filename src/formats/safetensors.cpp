#include "formats/safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "formats/json_file.h"

namespace frugal {

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

struct DTypeInfo {
  StDType t;
  const char* name;
  size_t size;
};
constexpr DTypeInfo kDTypes[] = {
    {StDType::BOOL, "BOOL", 1}, {StDType::U8, "U8", 1},   {StDType::I8, "I8", 1},
    {StDType::F8_E4M3, "F8_E4M3", 1}, {StDType::F8_E5M2, "F8_E5M2", 1}, {StDType::I16, "I16", 2},
    {StDType::U16, "U16", 2},   {StDType::F16, "F16", 2}, {StDType::BF16, "BF16", 2},
    {StDType::I32, "I32", 4},   {StDType::U32, "U32", 4}, {StDType::F32, "F32", 4},
    {StDType::I64, "I64", 8},   {StDType::U64, "U64", 8}, {StDType::F64, "F64", 8},
};

// A non-negative JSON integer, or -1.
int64_t json_uint(const json& v) {
  if (!v.is_number_unsigned()) return -1;
  uint64_t u = v.get<uint64_t>();
  return u > uint64_t(INT64_MAX) ? -1 : int64_t(u);
}

}  // namespace

const char* st_dtype_name(StDType t) {
  for (const auto& d : kDTypes)
    if (d.t == t) return d.name;
  return "?";
}

size_t st_dtype_size(StDType t) {
  for (const auto& d : kDTypes)
    if (d.t == t) return d.size;
  return 0;
}

int64_t StTensor::n_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::unique_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  auto map = std::make_shared<const MappedFile>(path);
  std::unique_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->path_ = path;
  f->map_ = map;
  f->parse_header(map->data(), map->size());
  return f;
}

std::unique_ptr<SafetensorsFile> SafetensorsFile::parse(const uint8_t* data, size_t size, const std::string& name) {
  std::unique_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->path_ = name;
  f->parse_header(data, size);
  return f;
}

void SafetensorsFile::parse_header(const uint8_t* data, size_t size) {
  const char* file = path_.c_str();
  if (size < 8) fail("%s: %zu bytes, too short for a safetensors file (8-byte header length)", file, size);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = header_len << 8 | data[i];
  if (header_len > size - 8)
    fail("%s: header length %llu runs past the end of the file (%zu bytes)", file, (unsigned long long)header_len,
         size);
  // A planted header nested a million deep would overflow the stack in the JSON library's
  // recursive copies: its depth is bounded like every stranger's JSON.
  const json h = parse_untrusted_json(std::string_view(reinterpret_cast<const char*>(data) + 8, header_len));
  if (h.is_discarded())
    fail("%s: the header is not valid JSON (or is nested deeper than %d levels)", file, kMaxJsonDepth);
  if (!h.is_object()) fail("%s: the header is not a JSON object", file);
  const uint8_t* base = data + 8 + header_len;
  const uint64_t data_size = size - 8 - header_len;

  struct Range {
    uint64_t begin, end;
    size_t idx;
  };
  std::vector<Range> ranges;
  for (auto it = h.begin(); it != h.end(); ++it) {
    const std::string& name = it.key();
    if (name == "__metadata__") continue;  // free-form strings (e.g. {"format": "pt"})
    const char* tn = name.c_str();
    const json& v = it.value();
    if (!v.is_object()) fail("%s: tensor '%s': header entry is not an object", file, tn);
    if (!v.contains("dtype") || !v["dtype"].is_string()) fail("%s: tensor '%s': no dtype string", file, tn);
    const std::string dt = v["dtype"].get<std::string>();
    const DTypeInfo* info = nullptr;
    for (const auto& d : kDTypes)
      if (dt == d.name) info = &d;
    if (!info) fail("%s: tensor '%s': unknown dtype '%s'", file, tn, dt.c_str());
    if (!v.contains("shape") || !v["shape"].is_array()) fail("%s: tensor '%s': no shape array", file, tn);
    StTensor t;
    t.name = name;
    t.dtype = info->t;
    uint64_t n = 1;
    for (const json& d : v["shape"]) {
      const int64_t x = json_uint(d);
      if (x < 0) fail("%s: tensor '%s': shape entries must be non-negative integers", file, tn);
      if (__builtin_mul_overflow(n, uint64_t(x), &n)) fail("%s: tensor '%s': shape overflows", file, tn);
      t.shape.push_back(x);
    }
    const json* off = v.contains("data_offsets") ? &v["data_offsets"] : nullptr;
    if (!off || !off->is_array() || off->size() != 2)
      fail("%s: tensor '%s': data_offsets must be [begin, end]", file, tn);
    const int64_t b = json_uint((*off)[0]), e = json_uint((*off)[1]);
    if (b < 0 || e < 0) fail("%s: tensor '%s': data_offsets must be non-negative integers", file, tn);
    if (b > e || uint64_t(e) > data_size)
      fail("%s: tensor '%s': data_offsets [%lld, %lld] outside the data section (%llu bytes)", file, tn,
           (long long)b, (long long)e, (unsigned long long)data_size);
    uint64_t nbytes;
    if (__builtin_mul_overflow(n, uint64_t(info->size), &nbytes) || nbytes != uint64_t(e - b))
      fail("%s: tensor '%s': %s shape of %llu elements needs %llu bytes, data_offsets give %lld", file, tn,
           dt.c_str(), (unsigned long long)n, (unsigned long long)(n * info->size), (long long)(e - b));
    t.data = base + b;
    t.nbytes = size_t(e - b);
    ranges.push_back({uint64_t(b), uint64_t(e), tensors_.size()});
    tensors_.push_back(std::move(t));
  }
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) { return a.begin < b.begin; });
  uint64_t prev_end = 0;
  size_t prev = SIZE_MAX;
  for (const Range& r : ranges) {
    if (r.begin == r.end) continue;
    if (prev != SIZE_MAX && r.begin < prev_end)
      fail("%s: tensor '%s' overlaps tensor '%s' in the data section", file, tensors_[r.idx].name.c_str(),
           tensors_[prev].name.c_str());
    prev_end = r.end;
    prev = r.idx;
  }
  for (size_t i = 0; i < tensors_.size(); ++i) index_.emplace(tensors_[i].name, i);
}

const StTensor* SafetensorsFile::find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

// ---------------------------------------------------------------------------------------------

namespace {

// Shard names come from an untrusted index: plain relative paths inside the folder only.
bool safe_relative(const std::string& name) {
  if (name.empty() || name[0] == '/') return false;
  for (const auto& part : fs::path(name))
    if (part == "..") return false;
  return true;
}

}  // namespace

void SafetensorsSet::add(const StTensor& t, const SafetensorsFile& f) {
  auto [it, fresh] = index_.emplace(t.name, entries_.size());
  if (!fresh)
    fail("%s: tensor '%s' is also in %s", f.path().c_str(), t.name.c_str(), entries_[it->second].file->path().c_str());
  entries_.push_back({&t, &f});
}

void SafetensorsSet::finish() {
  std::sort(entries_.begin(), entries_.end(),
            [](const Entry& a, const Entry& b) { return a.tensor->name < b.tensor->name; });
  index_.clear();
  for (size_t i = 0; i < entries_.size(); ++i) index_.emplace(entries_[i].tensor->name, i);
}

SafetensorsSet SafetensorsSet::open_dir(const std::string& dir) {
  SafetensorsSet s;
  const std::string index_path = (fs::path(dir) / "model.safetensors.index.json").string();
  if (fs::exists(index_path)) {
    const json idx = read_json_file(index_path);
    if (!idx.is_object() || !idx.contains("weight_map") || !idx["weight_map"].is_object())
      fail("%s: no \"weight_map\" object", index_path.c_str());
    const json& wm = idx["weight_map"];
    std::map<std::string, size_t> shard_of;  // shard file name -> index into files_
    for (auto it = wm.begin(); it != wm.end(); ++it) {
      if (!it.value().is_string())
        fail("%s: weight_map entry for '%s' is not a file name", index_path.c_str(), it.key().c_str());
      const std::string shard = it.value().get<std::string>();
      if (shard_of.count(shard)) continue;
      if (!safe_relative(shard))
        fail("%s: shard '%s' (for tensor '%s') is not a file name inside the folder", index_path.c_str(),
             shard.c_str(), it.key().c_str());
      const std::string path = (fs::path(dir) / shard).string();
      if (!fs::exists(path))
        fail("%s: missing shard (model.safetensors.index.json maps tensor '%s' to it)", path.c_str(),
             it.key().c_str());
      shard_of[shard] = s.files_.size();
      s.files_.push_back(SafetensorsFile::open(path));
    }
    for (auto it = wm.begin(); it != wm.end(); ++it) {
      const SafetensorsFile& f = *s.files_[shard_of.at(it.value().get<std::string>())];
      const StTensor* t = f.find(it.key());
      if (!t)
        fail("%s: no tensor '%s', which model.safetensors.index.json maps to this shard", f.path().c_str(),
             it.key().c_str());
      s.add(*t, f);
    }
  } else {
    std::vector<std::string> paths;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.path().extension() == ".safetensors") paths.push_back(e.path().string());
    if (ec) fail("%s: cannot list the folder: %s", dir.c_str(), ec.message().c_str());
    if (paths.empty()) fail("%s: no model.safetensors (or model.safetensors.index.json with its shards)", dir.c_str());
    std::sort(paths.begin(), paths.end());
    for (const auto& p : paths) s.files_.push_back(SafetensorsFile::open(p));
    for (const auto& f : s.files_)
      for (const StTensor& t : f->tensors()) s.add(t, *f);
  }
  s.finish();
  return s;
}

const SafetensorsSet::Entry* SafetensorsSet::find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

}  // namespace frugal
