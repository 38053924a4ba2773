// The HTTP connection pool: a thread per connection on demand up to the cap, extra
// connections queued (never dropped), idle threads ended, everything run before shutdown returns.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "server/connection_pool.h"

using frugal::server::ConnectionPool;
using namespace std::chrono_literals;

namespace {

// A gate the jobs wait at, so that they stay busy until the test opens it.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  void wait() {
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] { return open; });
  }
  void release() {
    std::lock_guard<std::mutex> l(mu);
    open = true;
    cv.notify_all();
  }
};

template <typename F>
bool eventually(F cond) {
  for (int i = 0; i < 500 && !cond(); ++i) std::this_thread::sleep_for(10ms);
  return cond();
}

TEST(ConnectionPool, AThreadPerBusyConnectionBeyondTheMinimum) {
  ConnectionPool pool(2, 64);
  Gate gate;
  std::atomic<int> done{0};
  for (int i = 0; i < 40; ++i) pool.enqueue([&] { gate.wait(); ++done; });
  // Forty held connections: forty threads, none waiting (a fixed pool of 2 would queue 38).
  EXPECT_TRUE(eventually([&] { return pool.stats().busy == 40; })) << pool.stats().busy;
  EXPECT_EQ(pool.stats().queued, 0u);
  gate.release();
  EXPECT_TRUE(eventually([&] { return done == 40; }));
  pool.shutdown();
  EXPECT_EQ(pool.stats().threads, 0u);
}

TEST(ConnectionPool, AtTheCapConnectionsWaitAndAllRun) {
  ConnectionPool pool(1, 4);
  Gate gate;
  std::atomic<int> done{0};
  for (int i = 0; i < 10; ++i) pool.enqueue([&] { gate.wait(); ++done; });
  // (a thread made at construction counts as busy until it first waits: hence `eventually`)
  EXPECT_TRUE(eventually([&] { return pool.stats().busy == 4 && pool.stats().queued == 6; }))
      << pool.stats().busy << " " << pool.stats().queued;
  EXPECT_EQ(pool.stats().threads, 4u);
  gate.release();
  EXPECT_TRUE(eventually([&] { return done == 10; }));
}

TEST(ConnectionPool, IdleThreadsEndDownToTheMinimum) {
  ConnectionPool pool(2, 16, 50ms);
  Gate gate;
  for (int i = 0; i < 8; ++i) pool.enqueue([&] { gate.wait(); });
  EXPECT_TRUE(eventually([&] { return pool.stats().threads == 8; }));
  gate.release();
  EXPECT_TRUE(eventually([&] { return pool.stats().threads == 2; })) << pool.stats().threads;
  // The kept threads still serve.
  std::atomic<int> done{0};
  pool.enqueue([&] { ++done; });
  EXPECT_TRUE(eventually([&] { return done == 1; }));
}

TEST(ConnectionPool, ShutdownRunsWhatIsQueued) {
  std::atomic<int> done{0};
  {
    ConnectionPool pool(1, 1);
    for (int i = 0; i < 20; ++i) pool.enqueue([&] {
      std::this_thread::sleep_for(1ms);
      ++done;
    });
    pool.shutdown();
    EXPECT_EQ(done, 20);
  }
  EXPECT_EQ(done, 20);
}

}  // namespace
