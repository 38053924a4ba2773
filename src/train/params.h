// The trainable state of a model: named fp32 tensors in GGUF's names and shapes (ne[0] is the
// contiguous dimension), so exporting a model is writing them out and a GGUF file of the same
// architecture is read back without a name map.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace frugal::train {

struct Param {
  std::string name;
  std::vector<int64_t> ne;
  std::vector<float> w, g;  // value, gradient
  bool decay = true;        // AdamW's weight decay (matrices; not norms, biases)
  bool trainable = true;    // false: a buffer set by a rule, e.g. the MoE selection bias
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : ne) n *= d;
    return n;
  }
  int64_t cols() const { return ne.empty() ? 0 : ne[0]; }
  int64_t rows() const { return cols() ? numel() / cols() : 0; }
};

class ParamSet {
 public:
  Param& add(const std::string& name, std::vector<int64_t> ne, bool decay, bool trainable = true);
  Param& get(const std::string& name);
  const Param& get(const std::string& name) const { return const_cast<ParamSet*>(this)->get(name); }
  Param* find(const std::string& name);
  std::vector<std::unique_ptr<Param>>& all() { return list_; }
  const std::vector<std::unique_ptr<Param>>& all() const { return list_; }
  void zero_grad();
  int64_t count() const;  // trainable values
  // Copies every value from `other` (same names and shapes; throws Error otherwise).
  void copy_values_from(const ParamSet& other);

 private:
  std::vector<std::unique_ptr<Param>> list_;
  std::map<std::string, size_t> index_;
};

}  // namespace frugal::train
