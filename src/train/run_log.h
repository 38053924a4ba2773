// What a training run shows and keeps: a progress line (redrawn on a terminal, every few
// percent in a log) with the stage's figures and the ETA, and a CSV file with one row per step
// for the plots (tools/plot_training.py).
#pragma once
#include <chrono>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace frugal::train {

class RunLog {
 public:
  // columns: the CSV header (after "step"); append: continue an existing file (a resume).
  RunLog(std::string stage, int64_t steps, const std::string& csv_path, std::vector<std::string> columns, bool append,
         bool quiet);
  ~RunLog();
  RunLog(const RunLog&) = delete;
  RunLog& operator=(const RunLog&) = delete;
  // One step's figures, in the order of `columns`; `shown` picks those printed (name, format).
  void row(int64_t step, const std::vector<double>& values);
  void show(int64_t step, const std::vector<std::pair<std::string, std::string>>& fields);
  void done(const std::string& summary);

 private:
  std::string stage_;
  int64_t steps_;
  std::FILE* csv_ = nullptr;
  std::string csv_path_;
  size_t n_cols_;
  bool tty_, quiet_;
  int last_pct_ = -1;
  std::chrono::steady_clock::time_point t0_;
  int64_t first_step_ = -1;
};

}  // namespace frugal::train
