#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
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

// Back-to-back dynamic rounds, with the worker often arriving late (parked, then woken while
// the caller has already done the round alone and begun the next). A late worker used to read
// the next round's n while the claim word still named its own, finished round, win its CAS and
// run part of the next round a second time; done_ then overshot n and the caller slept forever
// (seen as a hung `frugal run` and a server test whose seeded text changed between runs).
TEST(ThreadPool, LateWorkerNeverRunsARangeOfTheNextRound) {
  // The failure mode is a hang: end it as a failure within seconds, not at ctest's timeout.
  std::mutex mu;
  std::condition_variable cv;
  bool finished = false;
  std::thread watchdog([&] {
    std::unique_lock<std::mutex> l(mu);
    if (!cv.wait_for(l, std::chrono::seconds(60), [&] { return finished; })) {
      std::fprintf(stderr, "a parallel_dynamic round never returned (done_ overshot n?)\n");
      std::abort();
    }
  });
  frugal::ThreadPool pool(2);
  std::vector<std::atomic<int>> seen(64);
  std::atomic<int> twice{0};
  uint32_t r = 1;
  for (int round = 0; round < 200000 && twice.load() == 0; ++round) {
    r = r * 1103515245u + 12345u;
    const int64_t n = 2 + (r >> 8) % 40, spin = (r >> 4) % 200;
    for (auto& s : seen) s.store(0, std::memory_order_relaxed);
    pool.parallel_dynamic(n, 1, [&](int64_t b, int64_t e, int) {
      for (int64_t i = b; i < e; ++i) {
        if (seen[size_t(i)].fetch_add(1) != 0) twice++;
        for (volatile int64_t k = 0; k < spin; k += 1) {
        }
      }
    });
    for (int64_t i = 0; i < n; ++i)
      if (seen[size_t(i)].load() != 1) twice++;  // 0 (missed) fails too
    if ((r >> 20) % 50 == 0) std::this_thread::sleep_for(std::chrono::microseconds((r >> 10) % 500));
  }
  EXPECT_EQ(twice.load(), 0) << "indices run twice or never";
  {
    std::lock_guard<std::mutex> l(mu);
    finished = true;
  }
  cv.notify_one();
  watchdog.join();
}
