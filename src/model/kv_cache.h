// Key/value cache for attention, paged: rows of one element type (F32, F16, BF16 or Q8_0;
// see kv_type_from_name) in a pool of fixed-size blocks of kBlockTokens positions. Rows are
// written as floats and converted on the way in (store_k / store_v); attention reads them in
// their own type (kernels/attention.h), so a smaller type is less memory and less bandwidth
// per generated token at depth. A block holds every layer's rows for its positions, so one
// block is one unit of sharing, eviction and disk I/O; a block's rows are the same physical
// index in each of the pool's (layer, KV head) arrays: [layer][head][block][position in
// block][head width]. Decode attention reads one head of one layer over a sequence's blocks,
// and blocks are handed out in order, so what it reads is one long run the hardware
// prefetcher follows. (Blocks holding every layer side by side, as before, put a head's
// 16-position runs 28 layers apart: 2.5-3x slower decode attention at depth in
// bench_attention's paged case, each 4 KB run a fresh page the prefetcher could not enter.)
// MLA's latent is one "head". Each sequence slot has a block table (position / kBlockTokens
// -> physical block); attention reads a sequence's keys block by block.
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
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "kernels/quant.h"

namespace frugal {

inline bool is_kv_type(DType t) { return t == DType::F32 || t == DType::F16 || t == DType::BF16 || t == DType::Q8_0; }
// "f32", "f16", "bf16", "q8_0" (any case): false for anything else.
inline bool kv_type_from_name(std::string_view name, DType* out) {
  DType t;
  if (!dtype_from_name(name, &t) || !is_kv_type(t)) return false;
  *out = t;
  return true;
}

class KvCache {
 public:
  static constexpr int64_t kBlockShift = 4;
  static constexpr int64_t kBlockTokens = int64_t(1) << kBlockShift;  // 16, as vLLM's default

  // Fully mapped: n_slot sequences of up to n_ctx positions. `head` is the width of the column
  // groups attention reads separately (a KV head; the whole row for MLA's latent): with Q8_0
  // it must be a multiple of the 32-element block. Rows are stored split by head when K and V
  // have the same number of heads of that width.
  KvCache(int64_t n_layer, int64_t n_slot, int64_t n_ctx, int64_t k_width, int64_t v_width, DType type = DType::F32,
          int64_t head = 0)
      : KvCache(n_layer, n_slot, n_ctx, k_width, v_width, n_slot * blocks_for(n_ctx), type, head) {
    for (int64_t s = 0; s < n_slot_; ++s)
      for (int64_t b = 0; b < blocks_per_slot_; ++b) map(s, b, alloc());
  }
  // On demand: a pool of pool_blocks blocks, no slot mapped.
  KvCache(int64_t n_layer, int64_t n_slot, int64_t n_ctx, int64_t k_width, int64_t v_width, int64_t pool_blocks,
          DType type = DType::F32, int64_t head = 0)
      : n_layer_(n_layer), n_slot_(n_slot), n_ctx_(n_ctx), k_width_(k_width), v_width_(v_width),
        blocks_per_slot_(blocks_for(n_ctx)), n_blocks_(pool_blocks), type_(type),
        k_row_(checked_row_bytes(type, k_width, head)), v_row_(checked_row_bytes(type, v_width, head)),
        groups_(head > 0 && v_width > 0 && k_width % head == 0 && v_width % head == 0 && k_width / head == v_width / head
                    ? k_width / head
                    : 1),
        k_head_(k_width / groups_), v_head_(v_width / groups_), k_stride_(k_row_ / size_t(groups_)),
        v_stride_(v_row_ / size_t(groups_)),
        // Not value-initialized: the OS backs a block's pages only when it is first written,
        // so a large pool (the server's, sized for every slot's full context plus the prefix
        // cache) costs memory only as it fills.
        k_(new uint8_t[size_t(pool_blocks * n_layer * kBlockTokens) * k_row_]),
        v_(new uint8_t[size_t(pool_blocks * n_layer * kBlockTokens) * v_row_]),
        table_(size_t(n_slot * blocks_per_slot_), -1), refs_(size_t(pool_blocks), 0) {
    free_.reserve(size_t(pool_blocks));
    for (int64_t b = pool_blocks - 1; b >= 0; --b) free_.push_back(int32_t(b));
  }

  static int64_t blocks_for(int64_t n_tokens) { return (n_tokens + kBlockTokens - 1) >> kBlockShift; }

  // Head g's row of position `pos` of a slot, layer il (its block must be mapped), in the
  // cache's type; k_stride() bytes to the same head's next position.
  uint8_t* k(int64_t il, int64_t slot, int64_t pos, int64_t g = 0) {
    return k_run(block(slot, pos >> kBlockShift), il - first_layer_, g) + size_t(pos & (kBlockTokens - 1)) * k_stride_;
  }
  uint8_t* v(int64_t il, int64_t slot, int64_t pos, int64_t g = 0) {
    return v_run(block(slot, pos >> kBlockShift), il - first_layer_, g) + size_t(pos & (kBlockTokens - 1)) * v_stride_;
  }
  const uint8_t* k(int64_t il, int64_t slot, int64_t pos, int64_t g = 0) const { return const_cast<KvCache*>(this)->k(il, slot, pos, g); }
  const uint8_t* v(int64_t il, int64_t slot, int64_t pos, int64_t g = 0) const { return const_cast<KvCache*>(this)->v(il, slot, pos, g); }
  // Writes one row (k_width / v_width floats, every head), converted to the cache's type.
  void store_k(int64_t il, int64_t slot, int64_t pos, const float* row) {
    for (int64_t g = 0; g < groups_; ++g) put(k(il, slot, pos, g), row + g * k_head_, k_head_);
  }
  void store_v(int64_t il, int64_t slot, int64_t pos, const float* row) {
    for (int64_t g = 0; g < groups_; ++g) put(v(il, slot, pos, g), row + g * v_head_, v_head_);
  }
  // Reads n consecutive k rows from `pos` (all within one block) back as floats.
  void load_k(int64_t il, int64_t slot, int64_t pos, int64_t n, float* out) {
    for (int64_t r = 0; r < n; ++r)
      for (int64_t g = 0; g < groups_; ++g)
        kernels::dequantize_row(type_, k(il, slot, pos + r, g), out + r * k_width_ + g * k_head_, k_head_);
  }
  // A block's rows in the order the disk tier stores them (block_bytes() bytes): k rows
  // [layer][head][position in block][head width], then v rows likewise.
  void copy_block_out(int32_t phys, uint8_t* dst) const {
    for (int64_t il = 0; il < n_layer_; ++il)
      for (int64_t g = 0; g < groups_; ++g, dst += kBlockTokens * k_stride_)
        std::memcpy(dst, const_cast<KvCache*>(this)->k_run(phys, il, g), kBlockTokens * k_stride_);
    if (v_stride_ == 0) return;
    for (int64_t il = 0; il < n_layer_; ++il)
      for (int64_t g = 0; g < groups_; ++g, dst += kBlockTokens * v_stride_)
        std::memcpy(dst, const_cast<KvCache*>(this)->v_run(phys, il, g), kBlockTokens * v_stride_);
  }
  void copy_block_in(int32_t phys, const uint8_t* src) {
    for (int64_t il = 0; il < n_layer_; ++il)
      for (int64_t g = 0; g < groups_; ++g, src += kBlockTokens * k_stride_)
        std::memcpy(k_run(phys, il, g), src, kBlockTokens * k_stride_);
    if (v_stride_ == 0) return;
    for (int64_t il = 0; il < n_layer_; ++il)
      for (int64_t g = 0; g < groups_; ++g, src += kBlockTokens * v_stride_)
        std::memcpy(v_run(phys, il, g), src, kBlockTokens * v_stride_);
  }
  // Pointers to the first row of each of a slot's blocks [first, first + n_blocks) for layer
  // il, plus `offset` elements (a head's columns; a multiple of the type's block): what
  // attention walks, k_stride() (v_stride()) bytes from one position to the next.
  void k_pages(int64_t il, int64_t slot, int64_t n_blocks, int64_t offset, std::vector<const void*>& out,
               int64_t first = 0) {
    out.resize(size_t(n_blocks));
    const size_t off = row_bytes(type_, offset % k_head_);
    for (int64_t b = 0; b < n_blocks; ++b) out[size_t(b)] = k_run(block(slot, first + b), il - first_layer_, offset / k_head_) + off;
  }
  void v_pages(int64_t il, int64_t slot, int64_t n_blocks, int64_t offset, std::vector<const void*>& out,
               int64_t first = 0) {
    out.resize(size_t(n_blocks));
    const size_t off = row_bytes(type_, offset % v_head_);
    for (int64_t b = 0; b < n_blocks; ++b) out[size_t(b)] = v_run(block(slot, first + b), il - first_layer_, offset / v_head_) + off;
  }

  int64_t n_ctx() const { return n_ctx_; }
  int64_t n_slot() const { return n_slot_; }
  int64_t n_layer() const { return n_layer_; }
  // A pipeline stage's cache holds only its own layers: layer indices start at `first` (the
  // model's numbering is kept in every call).
  void set_first_layer(int64_t first) { first_layer_ = first; }
  int64_t first_layer() const { return first_layer_; }
  int64_t k_width() const { return k_width_; }
  int64_t v_width() const { return v_width_; }
  DType type() const { return type_; }
  // Bytes of one position's row, all heads (per layer).
  int64_t k_row_bytes() const { return int64_t(k_row_); }
  int64_t v_row_bytes() const { return int64_t(v_row_); }
  // Bytes from one position's row of a head to the next position's (the row, or one head).
  int64_t k_stride() const { return int64_t(k_stride_); }
  int64_t v_stride() const { return int64_t(v_stride_); }
  // Bytes cached per token (all layers): what `frugal inspect` and the server report.
  int64_t bytes_per_token() const { return n_layer_ * int64_t(k_row_ + v_row_); }
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
  // The 16 rows of head g, layer il, of physical block phys: runs of one (layer, head) are
  // contiguous in block order (the layout comment at the top).
  uint8_t* k_run(int64_t phys, int64_t il, int64_t g) {
    return k_.get() + size_t((((il * groups_ + g) * n_blocks_ + phys) << kBlockShift)) * k_stride_;
  }
  uint8_t* v_run(int64_t phys, int64_t il, int64_t g) {
    return v_.get() + size_t((((il * groups_ + g) * n_blocks_ + phys) << kBlockShift)) * v_stride_;
  }
  static size_t checked_row_bytes(DType t, int64_t width, int64_t head) {
    const int64_t bs = dtype_traits(t).block_size;
    if (!is_kv_type(t)) fail("KV cache: type %s is not one of f32, f16, bf16, q8_0", dtype_name(t));
    if (width % bs != 0 || (head > 0 && head % bs != 0))
      fail("KV cache: type %s stores blocks of %lld values, and this model's rows (%lld) or heads (%lld) are not "
           "a multiple of that; use --cache-type f16",
           dtype_name(t), (long long)bs, (long long)width, (long long)head);
    return row_bytes(t, width);
  }
  void put(uint8_t* dst, const float* row, int64_t width) {
    if (type_ == DType::F32) std::memcpy(dst, row, size_t(width) * sizeof(float));
    else kernels::quantize_row(type_, row, dst, width);
  }

  int64_t n_layer_, n_slot_, n_ctx_, k_width_, v_width_, blocks_per_slot_, n_blocks_;
  int64_t first_layer_ = 0;
  DType type_;
  size_t k_row_, v_row_;
  int64_t groups_, k_head_, v_head_;
  size_t k_stride_, v_stride_;
  std::unique_ptr<uint8_t[]> k_, v_;
  std::vector<int32_t> table_;  // [slot][block index] -> physical block, -1 unmapped
  std::vector<int32_t> refs_;   // per physical block
  std::vector<int32_t> free_;
};

}  // namespace frugal
