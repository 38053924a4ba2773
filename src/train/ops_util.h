// Parallel loops for the tape's element-wise and row-wise ops. Small ranges stay on the
// calling thread (a pool round costs microseconds); reductions sum per-thread partials in
// thread order, so a run is bit-identical to itself for a given thread count.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/thread_pool.h"

namespace frugal::train {

template <class F>
void for_range(ThreadPool& pool, int64_t n, F&& fn) {
  constexpr int64_t kMinPerThread = 4096;
  if (n < 2 * kMinPerThread || pool.size() == 1) {
    if (n > 0) fn(int64_t(0), n);
    return;
  }
  pool.run([&](int ith, int nth) {
    const int64_t b = n * ith / nth, e = n * (ith + 1) / nth;
    if (b < e) fn(b, e);
  });
}

// acc[0..width) += the partial sums fn(r0, r1, partial) computes over rows [r0, r1).
template <class F>
void reduce_rows(ThreadPool& pool, int64_t n_rows, int64_t width, float* acc, F&& fn) {
  const int nth = n_rows * width < 16384 ? 1 : pool.size();
  std::vector<std::vector<float>> part(size_t(nth), std::vector<float>(size_t(width), 0.f));
  if (nth == 1) {
    fn(int64_t(0), n_rows, part[0].data());
  } else {
    pool.run([&](int ith, int n) {
      const int64_t b = n_rows * ith / n, e = n_rows * (ith + 1) / n;
      if (b < e) fn(b, e, part[size_t(ith)].data());
    });
  }
  for (const auto& p : part)
    for (int64_t c = 0; c < width; ++c) acc[c] += p[size_t(c)];
}

// A pool of one thread: products run inside an outer parallel loop.
inline ThreadPool& serial_pool() {
  thread_local ThreadPool p(1);
  return p;
}

}  // namespace frugal::train
