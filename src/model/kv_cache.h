// Key/value cache for attention: fp32 (an f16 cache cannot meet the fp32 golden limits),
// laid out [layer][slot][pos][width] so that one sequence's keys for one layer are contiguous
// and attention streams them. A slot is one sequence.
#pragma once
#include <cstdint>
#include <vector>

namespace frugal {

class KvCache {
 public:
  KvCache(int64_t n_layer, int64_t n_slot, int64_t n_ctx, int64_t k_width, int64_t v_width)
      : n_layer_(n_layer), n_slot_(n_slot), n_ctx_(n_ctx), k_width_(k_width), v_width_(v_width),
        k_(size_t(n_layer * n_slot * n_ctx * k_width)), v_(size_t(n_layer * n_slot * n_ctx * v_width)) {}

  float* k(int64_t il, int64_t slot, int64_t pos) { return k_.data() + ((il * n_slot_ + slot) * n_ctx_ + pos) * k_width_; }
  float* v(int64_t il, int64_t slot, int64_t pos) { return v_.data() + ((il * n_slot_ + slot) * n_ctx_ + pos) * v_width_; }
  const float* k(int64_t il, int64_t slot, int64_t pos) const { return const_cast<KvCache*>(this)->k(il, slot, pos); }
  const float* v(int64_t il, int64_t slot, int64_t pos) const { return const_cast<KvCache*>(this)->v(il, slot, pos); }
  int64_t n_ctx() const { return n_ctx_; }
  int64_t n_slot() const { return n_slot_; }
  int64_t n_layer() const { return n_layer_; }
  int64_t k_width() const { return k_width_; }
  int64_t v_width() const { return v_width_; }
  // Bytes cached per token (all layers): what `frugal inspect` and the server report.
  int64_t bytes_per_token() const { return n_layer_ * (k_width_ + v_width_) * int64_t(sizeof(float)); }

 private:
  int64_t n_layer_, n_slot_, n_ctx_, k_width_, v_width_;
  std::vector<float> k_, v_;
};

}  // namespace frugal
