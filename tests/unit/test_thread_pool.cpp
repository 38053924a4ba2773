#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "core/thread_pool.h"

TEST(ThreadPool, EveryThreadRunsOncePerJob) {
  frugal::ThreadPool pool(3);
  for (int job = 0; job < 1000; ++job) {
    std::vector<std::atomic<int>> hits(3);
    pool.run([&](int ith, int nth) {
      ASSERT_EQ(nth, 3);
      hits[size_t(ith)]++;
    });
    for (auto& h : hits) ASSERT_EQ(h.load(), 1);
  }
}

TEST(ThreadPool, ParallelForCoversRangeExactlyOnce) {
  frugal::ThreadPool pool(2);
  for (int64_t n : {0, 1, 7, 64, 1001}) {
    std::vector<std::atomic<int>> seen(static_cast<size_t>(n));
    pool.parallel_for(n, 4, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) seen[size_t(i)]++;
    });
    for (auto& s : seen) ASSERT_EQ(s.load(), 1);
  }
}
