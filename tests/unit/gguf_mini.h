// Throwaway GGUF v3 reader for the kernel tests: just enough to find tensors by name in the
// golden files, independent of src/formats so a bug there cannot hide one in the kernels.
// Layout: "GGUF", u32 version, u64 n_tensors, u64 n_kv, kv pairs, tensor infos (name,
// u32 n_dims, u64 ne[n_dims], u32 type, u64 offset), data aligned to general.alignment (32).
#pragma once
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace gguf_mini {

struct Tensor {
  uint32_t type = 0;
  std::vector<int64_t> ne;
  const uint8_t* data = nullptr;
  int64_t rows() const {
    int64_t r = 1;
    for (size_t i = 1; i < ne.size(); ++i) r *= ne[i];
    return r;
  }
};

struct File {
  std::vector<uint8_t> bytes;
  std::map<std::string, Tensor> tensors;
};

class Cursor {
 public:
  Cursor(const std::vector<uint8_t>& b) : b_(b) {}
  template <class T>
  T get() {
    if (pos_ + sizeof(T) > b_.size()) throw std::runtime_error("gguf_mini: truncated");
    T v;
    std::memcpy(&v, b_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string str() {
    uint64_t n = get<uint64_t>();
    if (pos_ + n > b_.size()) throw std::runtime_error("gguf_mini: bad string");
    std::string s(reinterpret_cast<const char*>(b_.data() + pos_), n);
    pos_ += n;
    return s;
  }
  // Skips a value of GGUF type `t`; returns its integer value when it is a scalar integer.
  uint64_t skip(uint32_t t) {
    static const int sizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    if (t == 8) {
      str();
      return 0;
    }
    if (t == 9) {
      uint32_t et = get<uint32_t>();
      uint64_t n = get<uint64_t>();
      for (uint64_t i = 0; i < n; ++i) skip(et);
      return 0;
    }
    if (t > 12) throw std::runtime_error("gguf_mini: bad type");
    uint64_t v = 0;
    std::memcpy(&v, b_.data() + pos_, size_t(sizes[t]));
    pos_ += size_t(sizes[t]);
    return v;
  }
  size_t pos() const { return pos_; }

 private:
  const std::vector<uint8_t>& b_;
  size_t pos_ = 0;
};

inline File load(const std::string& path) {
  File f;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("gguf_mini: cannot open " + path);
  f.bytes.assign(std::istreambuf_iterator<char>(in), {});
  Cursor c(f.bytes);
  if (c.get<uint32_t>() != 0x46554747u) throw std::runtime_error("gguf_mini: bad magic");
  c.get<uint32_t>();
  uint64_t n_tensors = c.get<uint64_t>(), n_kv = c.get<uint64_t>();
  uint64_t alignment = 32;
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = c.str();
    uint64_t v = c.skip(c.get<uint32_t>());
    if (key == "general.alignment") alignment = v;
  }
  std::vector<std::pair<std::string, uint64_t>> offsets;
  for (uint64_t i = 0; i < n_tensors; ++i) {
    std::string name = c.str();
    Tensor t;
    uint32_t nd = c.get<uint32_t>();
    for (uint32_t d = 0; d < nd; ++d) t.ne.push_back(int64_t(c.get<uint64_t>()));
    t.type = c.get<uint32_t>();
    offsets.emplace_back(name, c.get<uint64_t>());
    f.tensors[name] = t;
  }
  size_t data = (c.pos() + alignment - 1) / alignment * alignment;
  for (auto& [name, off] : offsets) f.tensors[name].data = f.bytes.data() + data + off;
  return f;
}

}  // namespace gguf_mini
