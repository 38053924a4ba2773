#include "server/connection_pool.h"

#include <algorithm>
#include <system_error>
#include <thread>

namespace frugal::server {

ConnectionPool::ConnectionPool(size_t min_threads, size_t max_threads, std::chrono::milliseconds idle_exit)
    : min_(std::min(min_threads, std::max<size_t>(max_threads, 1))), max_(std::max<size_t>(max_threads, 1)), idle_exit_(idle_exit) {
  std::lock_guard<std::mutex> l(mu_);
  for (size_t i = 0; i < min_; ++i) {
    std::thread(&ConnectionPool::worker, this, std::function<void()>{}).detach();
    ++threads_;
  }
}

ConnectionPool::~ConnectionPool() { shutdown(); }

void ConnectionPool::enqueue(std::function<void()> fn) {
  std::unique_lock<std::mutex> l(mu_);
  if (!stop_ && idle_ <= jobs_.size() && threads_ < max_) {
    try {
      std::thread(&ConnectionPool::worker, this, std::move(fn)).detach();
      ++threads_;
      return;
    } catch (const std::system_error&) {
      // No thread to be had (a process or memory limit): the connection waits for a free one.
    }
  }
  jobs_.push_back(std::move(fn));
  work_.notify_one();
}

void ConnectionPool::worker(std::function<void()> job) {
  for (;;) {
    if (job) job();
    job = nullptr;
    std::unique_lock<std::mutex> l(mu_);
    ++idle_;
    const bool woken = work_.wait_for(l, idle_exit_, [&] { return stop_ || !jobs_.empty(); });
    --idle_;
    if (!jobs_.empty()) {
      job = std::move(jobs_.front());
      jobs_.pop_front();
      continue;
    }
    if (stop_ || (!woken && threads_ > min_)) {
      // Under the lock: once shutdown() sees the count reach zero, no thread touches the pool.
      --threads_;
      ended_.notify_all();
      return;
    }
  }
}

void ConnectionPool::shutdown() {
  std::unique_lock<std::mutex> l(mu_);
  stop_ = true;
  work_.notify_all();
  ended_.wait(l, [&] { return threads_ == 0; });
  // A job queued after the last thread left (none are once the listener has stopped) runs here.
  while (!jobs_.empty()) {
    auto fn = std::move(jobs_.front());
    jobs_.pop_front();
    l.unlock();
    fn();
    l.lock();
  }
}

ConnectionPool::Stats ConnectionPool::stats() const {
  std::lock_guard<std::mutex> l(mu_);
  return {threads_, threads_ - idle_, jobs_.size()};
}

}  // namespace frugal::server
