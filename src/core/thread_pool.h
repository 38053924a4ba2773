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

  // Covers [0, n) exactly once with fn(begin, end, ith) over non-empty ranges that the threads
  // claim as they come (guided: each claim takes a share of what is left, at least min_chunk),
  // and returns as soon as the whole range is done — without waiting for threads that took no
  // part. On a shared machine a worker is often descheduled for milliseconds; with run() every
  // round waits for it, here the others do its share. ith (< size()) names the thread for
  // per-thread scratch; one thread may get several ranges. n must be < 2^32.
  template <class F>
  void parallel_dynamic(int64_t n, int64_t min_chunk, F&& fn) {
    if (n <= 0) return;
    if (min_chunk < 1) min_chunk = 1;
    if (n <= min_chunk || n_threads_ == 1) {
      fn(int64_t(0), n, 0);
      return;
    }
    dynamic_raw([](void* ctx, int64_t b, int64_t e, int ith) { (*static_cast<F*>(ctx))(b, e, ith); }, &fn, n,
                min_chunk);
  }

  // A pool shared by code paths that are not handed one (tests, tools).
  static ThreadPool& global();

 private:
  using RawFn = void (*)(void*, int, int);
  using RangeFn = void (*)(void*, int64_t, int64_t, int);
  void run_raw(RawFn fn, void* ctx);
  void dynamic_raw(RangeFn fn, void* ctx, int64_t n, int64_t min_chunk);
  // Claims and runs ranges of the dynamic round `round` until none is left.
  void claim_ranges(uint32_t round, int ith);
  void publish(uint64_t kind);
  void worker(int ith);

  int n_threads_;
  std::vector<std::thread> threads_;
  RawFn fn_ = nullptr;
  void* ctx_ = nullptr;
  // generation_ = (round number << 1) | kind (0: run, every thread; 1: dynamic).
  alignas(64) std::atomic<uint64_t> generation_{0};
  alignas(64) std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  // Dynamic rounds: claim_ = (low 32 bits of the round << 32) | next index. A claim is a CAS
  // that checks the round, so a worker arriving after its round has ended claims nothing and
  // never touches the (gone) job: fn and ctx are only read after a successful claim, and the
  // round cannot end before that claim's range is done. n is read before the claim, so a new
  // round first closes the old one in claim_ and only then writes its n (dynamic_raw).
  alignas(64) std::atomic<uint64_t> claim_{0};
  alignas(64) std::atomic<int64_t> done_{0};
  std::atomic<RangeFn> range_fn_{nullptr};
  std::atomic<void*> range_ctx_{nullptr};
  std::atomic<int64_t> range_n_{0};
  std::atomic<int64_t> range_min_{1};
};

}  // namespace frugal
