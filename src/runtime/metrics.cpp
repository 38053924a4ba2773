#include "runtime/metrics.h"

#include <cstdio>

namespace frugal {

namespace {
std::string num(double v) {
  char b[64];
  std::snprintf(b, sizeof b, "%.9g", v);
  return b;
}
std::string with(const std::string& labels, const std::string& more) {
  if (labels.empty()) return "{" + more + "}";
  return "{" + labels + "," + more + "}";
}
}  // namespace

void Histogram::observe(double v) {
  std::lock_guard<std::mutex> l(mu_);
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += v;
  ++n_;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  std::lock_guard<std::mutex> l(mu_);
  int64_t cum = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cum += counts_[i];
    out += name + "_bucket" + with(labels, "le=\"" + num(bounds_[i]) + "\"") + " " + std::to_string(cum) + "\n";
  }
  out += name + "_bucket" + with(labels, "le=\"+Inf\"") + " " + std::to_string(n_) + "\n";
  const std::string l2 = labels.empty() ? "" : "{" + labels + "}";
  out += name + "_sum" + l2 + " " + num(sum_) + "\n";
  out += name + "_count" + l2 + " " + std::to_string(n_) + "\n";
}

Metrics::Metrics()
    : ttft({0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}),
      inter_token({0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5}),
      batch_tokens({1, 2, 4, 8, 16, 32, 64, 128, 256, 512}),
      batch_seqs({1, 2, 4, 8, 16, 32, 64}) {}

void Metrics::request(const std::string& path, int status) {
  std::lock_guard<std::mutex> l(mu_);
  ++requests_[{path, status}];
}

void Metrics::add_prompt_tokens(int64_t total, int64_t cached) {
  std::lock_guard<std::mutex> l(mu_);
  prompt_tokens_ += total;
  cached_tokens_ += cached;
}

void Metrics::add_generated_tokens(int64_t n) {
  std::lock_guard<std::mutex> l(mu_);
  generated_ += n;
}

void Metrics::render(std::string& out) const {
  {
    std::lock_guard<std::mutex> l(mu_);
    out += "# HELP frugal_requests_total HTTP requests by path and status.\n# TYPE frugal_requests_total counter\n";
    for (const auto& [k, n] : requests_)
      out += "frugal_requests_total{path=\"" + k.first + "\",status=\"" + std::to_string(k.second) + "\"} " +
             std::to_string(n) + "\n";
    out += "# HELP frugal_prompt_tokens_total Prompt tokens of admitted requests.\n# TYPE frugal_prompt_tokens_total counter\n";
    out += "frugal_prompt_tokens_total " + std::to_string(prompt_tokens_) + "\n";
    out += "# HELP frugal_prompt_cache_hit_tokens_total Prompt tokens taken from the prefix cache.\n"
           "# TYPE frugal_prompt_cache_hit_tokens_total counter\n";
    out += "frugal_prompt_cache_hit_tokens_total " + std::to_string(cached_tokens_) + "\n";
    out += "# HELP frugal_prompt_cache_hit_ratio Cached share of all prompt tokens.\n# TYPE frugal_prompt_cache_hit_ratio gauge\n";
    out += "frugal_prompt_cache_hit_ratio " + num(prompt_tokens_ ? double(cached_tokens_) / double(prompt_tokens_) : 0.0) + "\n";
    out += "# HELP frugal_generation_tokens_total Tokens generated.\n# TYPE frugal_generation_tokens_total counter\n";
    out += "frugal_generation_tokens_total " + std::to_string(generated_) + "\n";
  }
  out += "# HELP frugal_time_to_first_token_seconds Arrival to first generated token.\n"
         "# TYPE frugal_time_to_first_token_seconds histogram\n";
  ttft.render(out, "frugal_time_to_first_token_seconds", "");
  out += "# HELP frugal_inter_token_latency_seconds Time between tokens of one sequence.\n"
         "# TYPE frugal_inter_token_latency_seconds histogram\n";
  inter_token.render(out, "frugal_inter_token_latency_seconds", "");
  out += "# HELP frugal_batch_tokens Tokens per forward pass.\n# TYPE frugal_batch_tokens histogram\n";
  batch_tokens.render(out, "frugal_batch_tokens", "");
  out += "# HELP frugal_batch_sequences Sequences sampled per forward pass.\n# TYPE frugal_batch_sequences histogram\n";
  batch_seqs.render(out, "frugal_batch_sequences", "");
}

}  // namespace frugal
