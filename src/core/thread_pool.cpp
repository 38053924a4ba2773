#include "core/thread_pool.h"

#include <immintrin.h>

namespace frugal {

namespace {
// Spin briefly before parking: decode issues jobs microseconds apart, and a futex wake-up
// costs more than the work of a small job.
constexpr int kSpinIters = 20000;
inline void cpu_relax() { _mm_pause(); }
constexpr uint64_t kRun = 0, kDynamic = 1;
constexpr uint64_t kIndexMask = 0xffffffff;  // the claim word's low half: next index

// Spin briefly, then park until `a` holds `target`. Park rather than yield: on a busy machine
// sched_yield hands the core to another process for a whole time slice, and a pool round then
// costs milliseconds (GRPO rollouts ran 8x slower beside a compile).
template <class T>
void wait_for(std::atomic<T>& a, T target) {
  int spins = 0;
  for (T v; (v = a.load(std::memory_order_acquire)) != target;) {
    if (++spins < kSpinIters) {
      cpu_relax();
    } else {
      a.wait(v, std::memory_order_acquire);
    }
  }
}
}  // namespace

ThreadPool::ThreadPool(int n_threads) {
  if (n_threads <= 0) n_threads = int(std::thread::hardware_concurrency());
  if (n_threads <= 0) n_threads = 1;
  n_threads_ = n_threads;
  for (int i = 1; i < n_threads_; ++i) threads_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  generation_.fetch_add(2);
  generation_.notify_all();
  for (auto& t : threads_) t.join();
}

// A new round of the given kind: the round number goes up by one, the kind is the low bit.
void ThreadPool::publish(uint64_t kind) {
  const uint64_t g = generation_.load(std::memory_order_relaxed);
  generation_.store(((g >> 1) + 1) << 1 | kind, std::memory_order_release);
  generation_.notify_all();
}

void ThreadPool::run_raw(RawFn fn, void* ctx) {
  if (n_threads_ == 1) {
    fn(ctx, 0, 1);
    return;
  }
  fn_ = fn;
  ctx_ = ctx;
  pending_.store(n_threads_ - 1, std::memory_order_relaxed);
  publish(kRun);
  fn(ctx, 0, n_threads_);
  wait_for(pending_, 0);  // the last worker to check in wakes us
}

void ThreadPool::claim_ranges(uint32_t round, int ith) {
  const uint64_t tag = uint64_t(round) << 32;
  uint64_t v = claim_.load(std::memory_order_acquire);
  for (;;) {
    if ((v & ~kIndexMask) != tag) return;  // a later round: not ours
    const int64_t b = int64_t(v & kIndexMask);
    // If the caller has begun a later round, n may be that round's (acquire: then its closing
    // of our round, stored before n, is visible), and the CAS below fails.
    const int64_t n = range_n_.load(std::memory_order_acquire);
    if (b >= n) return;
    const int64_t min = range_min_.load(std::memory_order_relaxed);
    int64_t len = (n - b) / (2 * n_threads_);
    if (len < min) len = min;
    const int64_t e = b + len < n ? b + len : n;
    if (!claim_.compare_exchange_weak(v, tag | uint64_t(e), std::memory_order_acq_rel,
                                      std::memory_order_acquire))
      continue;  // v now holds the current word
    range_fn_.load(std::memory_order_relaxed)(range_ctx_.load(std::memory_order_relaxed), b, e, ith);
    // A wake-up that reaches the caller after it has moved on is spurious and harmless.
    if (done_.fetch_add(e - b, std::memory_order_acq_rel) + (e - b) == n) done_.notify_one();
    v = claim_.load(std::memory_order_acquire);
  }
}

void ThreadPool::dynamic_raw(RangeFn fn, void* ctx, int64_t n, int64_t min_chunk) {
  const uint32_t round = uint32_t((generation_.load(std::memory_order_relaxed) >> 1) + 1);
  const uint64_t tag = uint64_t(round) << 32;
  // Close the previous round before touching its parameters. A late worker may still be
  // between reading the claim word (previous round, all claimed) and its CAS; had it read the
  // new n while the word still named the previous round, its CAS would succeed and run a
  // range of this round twice (and count it twice: done_ overshoots n and the caller waits
  // forever). Storing the new tag first makes that CAS fail.
  claim_.store(tag | kIndexMask, std::memory_order_relaxed);
  range_fn_.store(fn, std::memory_order_relaxed);
  range_ctx_.store(ctx, std::memory_order_relaxed);
  range_min_.store(min_chunk, std::memory_order_relaxed);
  range_n_.store(n, std::memory_order_release);
  done_.store(0, std::memory_order_relaxed);
  claim_.store(tag, std::memory_order_release);
  publish(kDynamic);
  claim_ranges(round, 0);
  wait_for(done_, n);  // whoever completes the last range wakes us
}

void ThreadPool::worker(int ith) {
  uint64_t seen = 0;
  for (;;) {
    uint64_t g;
    int spins = 0;
    while ((g = generation_.load(std::memory_order_acquire)) == seen) {
      if (++spins < kSpinIters) {
        cpu_relax();
      } else {
        generation_.wait(seen, std::memory_order_acquire);
      }
    }
    seen = g;
    if (stop_.load()) return;
    if ((g & 1) == kDynamic) {
      // No check-in: the caller only waits for the ranges, so a late worker costs nothing.
      claim_ranges(uint32_t(g >> 1), ith);
    } else {
      fn_(ctx_, ith, n_threads_);
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_one();
    }
  }
}

ThreadPool& ThreadPool::global() {
  static ThreadPool pool(0);
  return pool;
}

}  // namespace frugal
