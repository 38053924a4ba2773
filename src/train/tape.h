// A small reverse-mode tape for training: every op records its output (an fp32 matrix in an
// arena) and a closure that turns the output's gradient into its inputs' gradients. Ops are
// coarse (a linear layer, a causal attention over packed sequences, an RMSNorm, a MoE
// combine), each with a hand-written backward tested against finite differences, so the
// blocks built from them (MLA, DeepSeekMoE, MTP, the dense student) need no backward code of
// their own. See README, "Training: why a tape".
//
// Parameters enter as leaves whose gradient is the parameter's own gradient buffer, so
// gradients accumulate across micro-batches without copies. Everything else lives in the
// arena, which clear() recycles for the next micro-batch.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <new>
#include <vector>

#include "core/thread_pool.h"
#include "train/params.h"

namespace frugal::train {

using Id = int32_t;

class Tape {
 public:
  explicit Tape(ThreadPool& pool) : pool_(pool) {}
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;

  ThreadPool& pool() { return pool_; }

  // A parameter (or rows [row0, row0 + rows) of it: one expert of a stacked tensor) viewed as a
  // [rows, cols] matrix; its gradient accumulates into p.grad.
  Id param(Param& p);
  Id param_rows(Param& p, int64_t row0, int64_t rows, int64_t cols);
  // A constant input [rows, cols] (no gradient); fill val() after the call.
  Id constant(int64_t rows, int64_t cols);
  // An op's output [rows, cols]; `inputs` are the ids it reads (their gradients are asked for
  // only if one of them needs one). The backward closure runs once, after every op that used
  // the output has run its own.
  using Backward = std::function<void()>;
  Id op(int64_t rows, int64_t cols, std::vector<Id> inputs);
  void set_backward(Id id, Backward fn) { nodes_[size_t(id)].backward = std::move(fn); }

  float* val(Id id) { return nodes_[size_t(id)].val; }
  int64_t rows(Id id) const { return nodes_[size_t(id)].rows; }
  int64_t cols(Id id) const { return nodes_[size_t(id)].cols; }
  int64_t size(Id id) const { return rows(id) * cols(id); }
  bool needs_grad(Id id) const { return nodes_[size_t(id)].needs_grad; }
  // The gradient buffer (zeroed when first asked for); nullptr if the node needs none.
  float* grad(Id id);
  // Whether a gradient has reached this node yet (ops skip inputs that need none).
  bool has_grad(Id id) const { return nodes_[size_t(id)].grad != nullptr; }

  // Seeds d(root) = seed (all ones if null) and runs every backward closure in reverse order.
  void backward(Id root, const float* seed = nullptr);
  // Forgets every node and recycles the arena; parameter gradients are kept.
  void clear();

  // Scratch floats that live until clear() (op-specific saved state: norms, softmax stats).
  float* scratch(int64_t n);
  // Bytes of arena in use (peak memory accounting).
  int64_t arena_bytes() const { return int64_t(arena_used_total_) * 4; }

 private:
  struct Node {
    float* val = nullptr;
    float* grad = nullptr;
    float* param_grad = nullptr;  // leaves: the parameter's gradient
    int64_t rows = 0, cols = 0;
    bool needs_grad = false;
    Backward backward;
  };
  float* alloc(int64_t n);

  ThreadPool& pool_;
  std::vector<Node> nodes_;
  // The arena: blocks that are never freed, only reused, so pointers stay valid.
  // Blocks come from the 64-byte-aligned operator new[]; plain delete[] would free them with
  // the wrong alignment (undefined behaviour, which ASan reports).
  struct AlignedFree {
    void operator()(float* p) const { ::operator delete[](p, std::align_val_t(64)); }
  };
  std::vector<std::unique_ptr<float[], AlignedFree>> blocks_;
  std::vector<int64_t> block_size_;
  size_t block_ = 0;
  int64_t used_ = 0;
  size_t arena_used_total_ = 0;
};

}  // namespace frugal::train
