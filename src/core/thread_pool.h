// A persistent pool: workers are created once and park between jobs, so a forward pass can
// fan out hundreds of small operations per token without creating threads. The calling thread
// is worker 0 and takes part in every job.
#pragma once
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace frugal {

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);  // n_threads <= 0: hardware concurrency
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Calls fn(ith, nth) once on each of the nth threads; returns when all have finished.
  template <class F>
  void run(F&& fn) {
    run_raw([](void* ctx, int ith, int nth) { (*static_cast<F*>(ctx))(ith, nth); }, &fn);
  }

  // Splits [0, n) into contiguous ranges, one per thread (sized in multiples of `grain`);
  // fn(begin, end) may be called with an empty range.
  template <class F>
  void parallel_for(int64_t n, int64_t grain, F&& fn) {
    if (grain < 1) grain = 1;
    if (n <= grain || n_threads_ == 1) {  // one chunk: not worth waking the workers
      if (n > 0) fn(int64_t(0), n);
      return;
    }
    run([&](int ith, int nth) {
      int64_t chunks = (n + grain - 1) / grain;
      int64_t c0 = chunks * ith / nth, c1 = chunks * (ith + 1) / nth;
      int64_t b = c0 * grain, e = c1 * grain < n ? c1 * grain : n;
      if (b < e) fn(b, e);
    });
  }

  // A pool shared by code paths that are not handed one (tests, tools).
  static ThreadPool& global();

 private:
  using RawFn = void (*)(void*, int, int);
  void run_raw(RawFn fn, void* ctx);
  void worker(int ith);

  int n_threads_;
  std::vector<std::thread> threads_;
  RawFn fn_ = nullptr;
  void* ctx_ = nullptr;
  alignas(64) std::atomic<uint64_t> generation_{0};
  alignas(64) std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
};

}  // namespace frugal
