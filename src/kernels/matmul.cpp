// matmul() driver and the scalar reference. The driver quantizes activations once per call into
// a grow-only scratch buffer, then hands each pool thread a contiguous range of output rows (a
// multiple of the kernel's row tile), so every weight byte is read by exactly one thread.
//
// Scratch is thread_local to the calling thread (the pool's workers only read it through the
// arguments), so concurrent matmul() calls from different caller threads are safe; the
// buffer grows to the largest n_tok * n_cols seen and is never freed or shrunk.
#include "kernels/matmul.h"

#include <cstdlib>
#include <memory>
#include <vector>

#include "kernels/matmul_kernels.h"
#include "kernels/quant.h"

namespace frugal::kernels {

namespace {

struct FreeDeleter {
  void operator()(uint8_t* p) const { std::free(p); }
};

struct Scratch {
  std::unique_ptr<uint8_t, FreeDeleter> buf;
  size_t size = 0;
  uint8_t* get(size_t n) {
    if (n > size) {
      size_t cap = (n + 4095) & ~size_t(4095);
      buf.reset(static_cast<uint8_t*>(std::aligned_alloc(64, cap)));
      size = cap;
    }
    return buf.get();
  }
};

thread_local Scratch t_scratch;

// Below this many multiply-adds a pool round trip costs more than it saves.
constexpr int64_t kMinParallelWork = 1 << 17;

}  // namespace

void matmul(const WeightView& w, const float* x, int64_t ldx, int64_t n_tok, float* y, int64_t ldy,
            ThreadPool& pool) {
  if (n_tok <= 0 || w.n_rows <= 0) return;
  const KernelEntry& k = active_kernels().e[uint32_t(w.type) % kMaxDType];
  GemmArgs a;
  a.w = static_cast<const uint8_t*>(w.data);
  a.w_stride = row_bytes(w.type, w.n_cols);
  a.n_cols = w.n_cols;
  a.x = x;
  a.ldx = ldx;
  a.n_tok = n_tok;
  a.y = y;
  a.ldy = ldy;
  bool parallel = pool.size() > 1 && w.n_rows * w.n_cols * n_tok >= kMinParallelWork;
  if (k.act != ActFormat::F32) {
    a.lay = act_layout(k.act, w.n_cols);
    uint8_t* act = t_scratch.get(a.lay.stride * size_t(n_tok));
    a.act = act;
    auto quantize = [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t)
        quantize_act_row(k.act, x + t * ldx, w.n_cols, act + size_t(t) * a.lay.stride);
    };
    if (parallel && n_tok >= 8) {
      pool.parallel_for(n_tok, 1, quantize);
    } else {
      quantize(0, n_tok);
    }
  }
  if (parallel) {
    pool.parallel_for(w.n_rows, k.row_tile, [&](int64_t r0, int64_t r1) { k.fn(a, r0, r1); });
  } else {
    k.fn(a, 0, w.n_rows);
  }
}

// Reference: each weight row dequantized to f32, products summed in double so the reference
// error is far below any kernel's, then rounded once to f32.
void matmul_ref(const WeightView& w, const float* x, int64_t ldx, int64_t n_tok, float* y,
                int64_t ldy) {
  std::vector<float> row(size_t(w.n_cols));
  size_t rb = row_bytes(w.type, w.n_cols);
  for (int64_t r = 0; r < w.n_rows; ++r) {
    dequantize_row(w.type, static_cast<const uint8_t*>(w.data) + size_t(r) * rb, row.data(),
                   w.n_cols);
    for (int64_t t = 0; t < n_tok; ++t) {
      double acc = 0;
      const float* xt = x + t * ldx;
      for (int64_t k = 0; k < w.n_cols; ++k) acc += double(row[size_t(k)]) * double(xt[k]);
      y[t * ldy + r] = float(acc);
    }
  }
}

}  // namespace frugal::kernels
