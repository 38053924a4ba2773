// The threads that serve HTTP connections: one per open connection, made when a connection
// arrives and no idle thread waits, up to a cap, and ended after a while idle.
//
// cpp-httplib's own pool makes a fixed number of threads up front, and a connection holds its
// thread until the client is done. Clients that trickle their requests a byte at a time (each
// read well within the timeout) or never read their stream therefore took every thread of a
// 64-thread pool with 64 sockets, and the server stopped answering everyone. Here such clients
// hold only threads of their own, up to the cap (a thread waiting on a socket costs its stack's
// few touched pages), and a normal request still finds or makes one.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>

#include <httplib.h>

namespace frugal::server {

class ConnectionPool : public httplib::TaskQueue {
 public:
  // `min_threads` are made now and kept (a burst of connections at start-up finds them ready);
  // more are made on demand up to `max_threads`, and end after `idle_exit` without work.
  ConnectionPool(size_t min_threads, size_t max_threads, std::chrono::milliseconds idle_exit = std::chrono::seconds(30));
  ~ConnectionPool() override;
  void enqueue(std::function<void()> fn) override;
  // Runs what is queued, then waits for every thread to end.
  void shutdown() override;

  struct Stats {
    size_t threads = 0, busy = 0, queued = 0;
  };
  Stats stats() const;

 private:
  void worker(std::function<void()> job);

  mutable std::mutex mu_;
  std::condition_variable work_, ended_;
  std::deque<std::function<void()>> jobs_;
  const size_t min_, max_;
  const std::chrono::milliseconds idle_exit_;
  size_t threads_ = 0, idle_ = 0;
  bool stop_ = false;
};

}  // namespace frugal::server
