#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
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

// Every index of every round exactly once, for pools of 1-4 threads, sizes around the minimum
// chunk, and dynamic rounds interleaved with run() rounds (they share the wake-up word).
TEST(ThreadPool, ParallelDynamicCoversRangeExactlyOnce) {
  for (int threads : {1, 2, 3, 4}) {
    frugal::ThreadPool pool(threads);
    for (int round = 0; round < 300; ++round) {
      const int64_t n = (round * 37) % 700, min_chunk = 1 + round % 9;
      std::vector<std::atomic<int>> seen(static_cast<size_t>(n));
      std::atomic<int> bad_ith{0}, empty{0};
      pool.parallel_dynamic(n, min_chunk, [&](int64_t b, int64_t e, int ith) {
        if (ith < 0 || ith >= threads) bad_ith++;
        if (b >= e) empty++;
        for (int64_t i = b; i < e; ++i) seen[size_t(i)]++;
      });
      ASSERT_EQ(bad_ith.load(), 0);
      ASSERT_EQ(empty.load(), 0);
      for (auto& s : seen) ASSERT_EQ(s.load(), 1) << "threads " << threads << " n " << n;
      if (round % 3 == 0) {
        std::vector<std::atomic<int>> hits(static_cast<size_t>(threads));
        pool.run([&](int ith, int) { hits[size_t(ith)]++; });
        for (auto& h : hits) ASSERT_EQ(h.load(), 1);
      }
    }
  }
}

// A thread that stalls inside its range does not lose or repeat work, and the round still
// returns once the whole range is done: the caller claims what is left meanwhile.
TEST(ThreadPool, ParallelDynamicWithAStalledThread) {
  frugal::ThreadPool pool(2);
  for (int round = 0; round < 20; ++round) {
    const int64_t n = 4096;
    std::vector<std::atomic<int>> seen(static_cast<size_t>(n));
    pool.parallel_dynamic(n, 4, [&](int64_t b, int64_t e, int ith) {
      if (ith == 1) std::this_thread::sleep_for(std::chrono::milliseconds(2));
      for (int64_t i = b; i < e; ++i) seen[size_t(i)]++;
    });
    for (auto& s : seen) ASSERT_EQ(s.load(), 1);
  }
}
