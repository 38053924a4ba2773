// Counters and histograms for GET /metrics (Prometheus text format 0.0.4). Updated from the
// HTTP threads and the schedulers; every method is thread-safe.
#pragma once
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace frugal {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1) {}
  void observe(double v);
  // `name_bucket{le="..."}` lines, `name_sum`, `name_count` (labels: e.g. model="x").
  void render(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  mutable std::mutex mu_;
  std::vector<double> bounds_;
  std::vector<int64_t> counts_;  // per bucket, not cumulative
  double sum_ = 0;
  int64_t n_ = 0;
};

class Metrics {
 public:
  Metrics();
  // One line of the request log done: counts requests by path and status.
  void request(const std::string& path, int status);
  void add_prompt_tokens(int64_t total, int64_t cached);
  void add_generated_tokens(int64_t n);
  Histogram ttft;         // seconds from arrival to the first generated token
  Histogram inter_token;  // seconds between consecutive tokens of one sequence
  Histogram batch_tokens; // tokens per forward pass
  Histogram batch_seqs;   // sequences per forward pass (decoding, or finishing their prompt)

  // Appends the counters and histograms (gauges come from the engines, see http_server.cpp).
  void render(std::string& out) const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, int64_t> requests_;
  int64_t prompt_tokens_ = 0, cached_tokens_ = 0, generated_ = 0;
};

}  // namespace frugal
