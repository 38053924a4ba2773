#include "train/tape.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace frugal::train {

namespace {
constexpr int64_t kBlockFloats = int64_t(1) << 24;  // 64 MiB per arena block
constexpr int64_t kAlign = 16;                      // floats: 64-byte aligned allocations
}  // namespace

float* Tape::alloc(int64_t n) {
  n = (n + kAlign - 1) / kAlign * kAlign;
  while (true) {
    if (block_ < blocks_.size() && used_ + n <= block_size_[block_]) {
      float* p = blocks_[block_].get() + used_;
      used_ += n;
      arena_used_total_ += size_t(n);
      return p;
    }
    if (block_ < blocks_.size() && used_ > 0) {  // this block is full: the next one
      ++block_;
      used_ = 0;
      continue;
    }
    if (block_ < blocks_.size()) {  // an empty block too small for n: replace it
      blocks_.erase(blocks_.begin() + long(block_));
      block_size_.erase(block_size_.begin() + long(block_));
    }
    const int64_t size = std::max(kBlockFloats, n);
    // 64-byte alignment: new[] of float gives 16. Freed by AlignedFree (tape.h).
    blocks_.insert(blocks_.begin() + long(block_),
                   std::unique_ptr<float[], AlignedFree>(new (std::align_val_t(64)) float[size_t(size)]));
    block_size_.insert(block_size_.begin() + long(block_), size);
    used_ = 0;
  }
}

float* Tape::scratch(int64_t n) { return alloc(n); }

Id Tape::param(Param& p) { return param_rows(p, 0, p.rows(), p.cols()); }

Id Tape::param_rows(Param& p, int64_t row0, int64_t rows, int64_t cols) {
  if (row0 < 0 || rows < 0 || (row0 + rows) * cols > p.numel())
    fail("internal: rows [%lld, %lld) outside parameter '%s'", (long long)row0, (long long)(row0 + rows),
         p.name.c_str());
  Node n;
  n.val = p.w.data() + row0 * cols;
  n.param_grad = p.trainable ? p.g.data() + row0 * cols : nullptr;
  n.rows = rows;
  n.cols = cols;
  n.needs_grad = p.trainable;
  nodes_.push_back(std::move(n));
  return Id(nodes_.size() - 1);
}

Id Tape::constant(int64_t rows, int64_t cols) {
  Node n;
  n.val = alloc(rows * cols);
  n.rows = rows;
  n.cols = cols;
  nodes_.push_back(std::move(n));
  return Id(nodes_.size() - 1);
}

Id Tape::op(int64_t rows, int64_t cols, std::vector<Id> inputs) {
  Node n;
  n.val = alloc(rows * cols);
  n.rows = rows;
  n.cols = cols;
  for (Id i : inputs) n.needs_grad |= nodes_[size_t(i)].needs_grad;
  nodes_.push_back(std::move(n));
  return Id(nodes_.size() - 1);
}

float* Tape::grad(Id id) {
  Node& n = nodes_[size_t(id)];
  if (!n.needs_grad) return nullptr;
  if (!n.grad) {
    if (n.param_grad) {
      n.grad = n.param_grad;
    } else {
      n.grad = alloc(n.rows * n.cols);
      std::memset(n.grad, 0, size_t(n.rows * n.cols) * sizeof(float));
    }
  }
  return n.grad;
}

void Tape::backward(Id root, const float* seed) {
  float* g = grad(root);
  if (!g) return;
  const int64_t n = size(root);
  for (int64_t i = 0; i < n; ++i) g[i] += seed ? seed[i] : 1.f;
  for (Id i = root; i >= 0; --i) {
    Node& nd = nodes_[size_t(i)];
    if (nd.grad && nd.backward) nd.backward();
  }
}

void Tape::clear() {
  nodes_.clear();
  block_ = 0;
  used_ = 0;
  arena_used_total_ = 0;
}

}  // namespace frugal::train
