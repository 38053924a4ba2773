// matmul() driver and the scalar reference. The driver quantizes activations once per call into
// a grow-only scratch buffer, then hands each pool thread a contiguous range of output rows (a
// multiple of the kernel's row tile), so every weight byte is read by exactly one thread.
//
// Scratch is thread_local to the calling thread (the pool's workers only read it through the
// arguments), so concurrent matmul() calls from different caller threads are safe; the
// buffer grows to the largest n_tok * n_cols seen and is never freed or shrunk.
#include "kernels/matmul.h"

#include <algorithm>
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

// Threads claim the weight bytes of a round in ranges of whole granules, at least
// kMinChunkGranules at a time: 32 KB take ~1 us to stream, against ~0.1 us for a claim.
constexpr size_t kGranule = 4096;
constexpr int64_t kMinChunkGranules = 8;

}  // namespace

void matmul_multi(const MatmulJob* jobs, int n_jobs, const float* x, int64_t ldx, int64_t n_tok,
                  ThreadPool& pool) {
  if (n_tok <= 0 || n_jobs <= 0) return;
  constexpr int kMaxJobs = 32;
  if (n_jobs > kMaxJobs) {  // no caller needs more; split rather than allocate
    matmul_multi(jobs, kMaxJobs, x, ldx, n_tok, pool);
    matmul_multi(jobs + kMaxJobs, n_jobs - kMaxJobs, x, ldx, n_tok, pool);
    return;
  }
  const int64_t n_cols = jobs[0].w.n_cols;
  const KernelEntry* k[kMaxJobs];
  GemmArgs a[kMaxJobs];
  int64_t work = 0;
  for (int j = 0; j < n_jobs; ++j) {
    const WeightView& w = jobs[j].w;
    k[j] = &active_kernels().e[uint32_t(w.type) % kMaxDType];
    a[j].w = static_cast<const uint8_t*>(w.data);
    a[j].w_stride = row_bytes(w.type, n_cols);
    a[j].n_cols = n_cols;
    a[j].x = jobs[j].x ? jobs[j].x : x;
    a[j].ldx = jobs[j].x ? jobs[j].ldx : ldx;
    a[j].n_tok = n_tok;
    a[j].y = jobs[j].y;
    a[j].ldy = jobs[j].ldy;
    work += w.n_rows * n_cols * n_tok;
  }
  const bool parallel = pool.size() > 1 && work >= kMinParallelWork;

  // Activations are quantized once per (input, format) pair the jobs need, into consecutive
  // scratch areas.
  ActFormat formats[kMaxJobs];
  const float* inputs[kMaxJobs];
  int64_t input_ld[kMaxJobs];
  ActLayout layouts[kMaxJobs];
  size_t offsets[kMaxJobs];
  int slot_of[kMaxJobs];
  int n_formats = 0;
  size_t total = 0;
  for (int j = 0; j < n_jobs; ++j) {
    slot_of[j] = -1;
    const ActFormat af = k[j]->act_for(n_tok);
    if (af == ActFormat::F32) continue;
    int f = 0;
    while (f < n_formats && (formats[f] != af || inputs[f] != a[j].x)) ++f;
    if (f == n_formats) {
      formats[f] = af;
      inputs[f] = a[j].x;
      input_ld[f] = a[j].ldx;
      layouts[f] = act_layout(af, n_cols);
      offsets[f] = total;
      total += layouts[f].stride * size_t(n_tok);
      ++n_formats;
    }
    slot_of[j] = f;
  }
  if (n_formats) {
    uint8_t* base = t_scratch.get(total);
    auto quantize = [&](int64_t t0, int64_t t1) {
      for (int f = 0; f < n_formats; ++f)
        for (int64_t t = t0; t < t1; ++t)
          quantize_act_row(formats[f], inputs[f] + t * input_ld[f], n_cols,
                           base + offsets[f] + size_t(t) * layouts[f].stride);
    };
    if (parallel && n_tok * n_formats >= 8) {
      pool.parallel_for(n_tok, 1, quantize);
    } else {
      quantize(0, n_tok);
    }
    for (int j = 0; j < n_jobs; ++j)
      if (slot_of[j] >= 0) {
        a[j].lay = layouts[slot_of[j]];
        a[j].act = base + offsets[slot_of[j]];
      }
  }

  if (!parallel) {
    for (int j = 0; j < n_jobs; ++j) k[j]->fn(a[j], 0, jobs[j].w.n_rows);
    return;
  }
  // One pool round for all jobs. The weight bytes of all jobs are laid end to end (row tiles
  // of every job in turn) and the threads claim ranges of them as they go, so each byte is
  // read by one thread, the threads finish together even when the jobs' types differ (e.g.
  // Q4_K q/k with a Q6_K v), and a thread the OS has descheduled — routine on a shared
  // 2-core machine — does not hold up the round: the others take its share.
  size_t tile_bytes[kMaxJobs], job_start[kMaxJobs + 1];
  job_start[0] = 0;
  for (int j = 0; j < n_jobs; ++j) {
    tile_bytes[j] = a[j].w_stride * size_t(k[j]->row_tile);
    job_start[j + 1] = job_start[j] + a[j].w_stride * size_t(jobs[j].w.n_rows);
  }
  const size_t all = job_start[n_jobs];
  const int64_t n_granules = int64_t((all + kGranule - 1) / kGranule);
  pool.parallel_dynamic(n_granules, kMinChunkGranules, [&](int64_t g0, int64_t g1, int) {
    const size_t lo = size_t(g0) * kGranule, hi = std::min(all, size_t(g1) * kGranule);
    for (int j = 0; j < n_jobs; ++j) {
      // Tiles of job j whose first byte lies in [lo, hi).
      const size_t s = job_start[j], e = job_start[j + 1];
      if (e <= lo || s >= hi) continue;
      const int64_t tile = k[j]->row_tile, rows = jobs[j].w.n_rows;
      const int64_t t0 = lo <= s ? 0 : int64_t((lo - s + tile_bytes[j] - 1) / tile_bytes[j]);
      const int64_t t1 = int64_t((std::min(hi, e) - s + tile_bytes[j] - 1) / tile_bytes[j]);
      const int64_t r0 = std::min(rows, t0 * tile), r1 = std::min(rows, t1 * tile);
      if (r0 < r1) k[j]->fn(a[j], r0, r1);
    }
  });
}

void matmul(const WeightView& w, const float* x, int64_t ldx, int64_t n_tok, float* y, int64_t ldy,
            ThreadPool& pool) {
  if (w.n_rows <= 0) return;
  MatmulJob job{w, y, ldy};
  matmul_multi(&job, 1, x, ldx, n_tok, pool);
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
