// Key/value cache for attention, paged: fp32 rows (an f16 cache cannot meet the fp32 golden
// limits) in a pool of fixed-size blocks of kBlockTokens positions. A block holds every layer's
// rows for its positions, laid out [block][layer][position in block][width], so one block is
// one unit of sharing, eviction and disk I/O. Each sequence slot has a block table (position
// / kBlockTokens -> physical block); attention reads a sequence's keys block by block.
//
// Two ways to use it:
//   - fully mapped (the constructor without a pool size, what `frugal run` and the tests use):
//     every slot owns the blocks of its whole context from the start;
//   - on demand (with a pool size, the server): slots start empty; the engine maps blocks as
//     sequences grow, and blocks are reference-counted so that several sequences (and the
//     prefix cache) can share the blocks of a common prompt prefix. Positions a sequence writes
//     are always in blocks only it holds: shared blocks are whole blocks of a prompt prefix
//     that nobody writes again.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "core/error.h"

namespace frugal {

class KvCache {
 public:
  static constexpr int64_t kBlockShift = 4;
  static constexpr int64_t kBlockTokens = int64_t(1) << kBlockShift;  // 16, as vLLM's default

  // Fully mapped: n_slot sequences of up to n_ctx positions.
  KvCache(int64_t n_layer, int64_t n_slot, int64_t n_ctx, int64_t k_width, int64_t v_width)
      : KvCache(n_layer, n_slot, n_ctx, k_width, v_width, n_slot * blocks_for(n_ctx)) {
    for (int64_t s = 0; s < n_slot_; ++s)
      for (int64_t b = 0; b < blocks_per_slot_; ++b) map(s, b, alloc());
  }
  // On demand: a pool of pool_blocks blocks, no slot mapped.
  KvCache(int64_t n_layer, int64_t n_slot, int64_t n_ctx, int64_t k_width, int64_t v_width, int64_t pool_blocks)
      : n_layer_(n_layer), n_slot_(n_slot), n_ctx_(n_ctx), k_width_(k_width), v_width_(v_width),
        blocks_per_slot_(blocks_for(n_ctx)), n_blocks_(pool_blocks),
        // Not value-initialized: the OS backs a block's pages only when it is first written,
        // so a large pool (the server's, sized for every slot's full context plus the prefix
        // cache) costs memory only as it fills.
        k_(new float[size_t(pool_blocks * n_layer * kBlockTokens * k_width)]),
        v_(new float[size_t(pool_blocks * n_layer * kBlockTokens * v_width)]),
        table_(size_t(n_slot * blocks_per_slot_), -1), refs_(size_t(pool_blocks), 0) {
    free_.reserve(size_t(pool_blocks));
    for (int64_t b = pool_blocks - 1; b >= 0; --b) free_.push_back(int32_t(b));
  }

  static int64_t blocks_for(int64_t n_tokens) { return (n_tokens + kBlockTokens - 1) >> kBlockShift; }

  // Row of position `pos` of a slot, layer il (its block must be mapped).
  float* k(int64_t il, int64_t slot, int64_t pos) { return k_block(block(slot, pos >> kBlockShift), il) + (pos & (kBlockTokens - 1)) * k_width_; }
  float* v(int64_t il, int64_t slot, int64_t pos) { return v_block(block(slot, pos >> kBlockShift), il) + (pos & (kBlockTokens - 1)) * v_width_; }
  const float* k(int64_t il, int64_t slot, int64_t pos) const { return const_cast<KvCache*>(this)->k(il, slot, pos); }
  const float* v(int64_t il, int64_t slot, int64_t pos) const { return const_cast<KvCache*>(this)->v(il, slot, pos); }
  // First row of physical block `phys`, layer il: kBlockTokens rows of k_width (v_width) floats.
  float* k_block(int64_t phys, int64_t il) { return k_.get() + ((phys * n_layer_ + il) << kBlockShift) * k_width_; }
  float* v_block(int64_t phys, int64_t il) { return v_.get() + ((phys * n_layer_ + il) << kBlockShift) * v_width_; }
  // Pointers to the first row of each of a slot's first n_blocks blocks for layer il, plus
  // `offset` floats (a head's columns): what the attention kernels walk.
  void k_pages(int64_t il, int64_t slot, int64_t n_blocks, int64_t offset, std::vector<const float*>& out) {
    out.resize(size_t(n_blocks));
    for (int64_t b = 0; b < n_blocks; ++b) out[size_t(b)] = k_block(block(slot, b), il) + offset;
  }
  void v_pages(int64_t il, int64_t slot, int64_t n_blocks, int64_t offset, std::vector<const float*>& out) {
    out.resize(size_t(n_blocks));
    for (int64_t b = 0; b < n_blocks; ++b) out[size_t(b)] = v_block(block(slot, b), il) + offset;
  }

  int64_t n_ctx() const { return n_ctx_; }
  int64_t n_slot() const { return n_slot_; }
  int64_t n_layer() const { return n_layer_; }
  int64_t k_width() const { return k_width_; }
  int64_t v_width() const { return v_width_; }
  // Bytes cached per token (all layers): what `frugal inspect` and the server report.
  int64_t bytes_per_token() const { return n_layer_ * (k_width_ + v_width_) * int64_t(sizeof(float)); }
  int64_t block_bytes() const { return bytes_per_token() * kBlockTokens; }

  // ---- block management (the server's engine and prefix cache) ----
  int64_t n_blocks() const { return n_blocks_; }
  int64_t free_blocks() const { return int64_t(free_.size()); }
  // Physical block mapped at block index b of a slot, or -1.
  int32_t block(int64_t slot, int64_t b) const { return table_[size_t(slot * blocks_per_slot_ + b)]; }
  // A free block with one reference, or -1 when the pool is exhausted.
  int32_t alloc() {
    if (free_.empty()) return -1;
    const int32_t b = free_.back();
    free_.pop_back();
    refs_[size_t(b)] = 1;
    return b;
  }
  void retain(int32_t phys) { ++refs_[size_t(phys)]; }
  void release(int32_t phys) {
    if (--refs_[size_t(phys)] == 0) free_.push_back(phys);
  }
  int32_t refs(int32_t phys) const { return refs_[size_t(phys)]; }
  // Maps `phys` at block index b of a slot; the slot takes over one reference (alloc's, or
  // one the caller retained for it).
  void map(int64_t slot, int64_t b, int32_t phys) {
    if (b >= blocks_per_slot_) fail("KV cache: block %lld beyond the context", (long long)b);
    int32_t& t = table_[size_t(slot * blocks_per_slot_ + b)];
    if (t >= 0) release(t);
    t = phys;
  }
  // Releases every block of a slot.
  void clear_slot(int64_t slot) {
    for (int64_t b = 0; b < blocks_per_slot_; ++b) {
      int32_t& t = table_[size_t(slot * blocks_per_slot_ + b)];
      if (t >= 0) release(t);
      t = -1;
    }
  }

 private:
  int64_t n_layer_, n_slot_, n_ctx_, k_width_, v_width_, blocks_per_slot_, n_blocks_;
  std::unique_ptr<float[]> k_, v_;
  std::vector<int32_t> table_;  // [slot][block index] -> physical block, -1 unmapped
  std::vector<int32_t> refs_;   // per physical block
  std::vector<int32_t> free_;
};

}  // namespace frugal
