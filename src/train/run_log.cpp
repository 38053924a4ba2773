#include "train/run_log.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace frugal::train {

namespace {
std::string duration(double s) {
  if (s < 0 || s > 1e7) return "?";
  const long t = long(s + 0.5);
  if (t >= 3600) return strfmt("%ldh%02ldm", t / 3600, (t / 60) % 60);
  if (t >= 60) return strfmt("%ldm%02lds", t / 60, t % 60);
  return strfmt("%lds", t);
}
}  // namespace

RunLog::RunLog(std::string stage, int64_t steps, const std::string& csv_path, std::vector<std::string> columns,
               bool append, bool quiet)
    : stage_(std::move(stage)), steps_(steps), csv_path_(csv_path), n_cols_(columns.size()), tty_(isatty(2)),
      quiet_(quiet), t0_(std::chrono::steady_clock::now()) {
  if (csv_path.empty()) return;
  const bool exists = access(csv_path.c_str(), F_OK) == 0;
  csv_ = std::fopen(csv_path.c_str(), append && exists ? "a" : "w");
  if (!csv_) fail("%s: cannot write the log: %s", csv_path.c_str(), std::strerror(errno));
  if (!(append && exists)) {
    std::fprintf(csv_, "step");
    for (const auto& c : columns) std::fprintf(csv_, ",%s", c.c_str());
    std::fprintf(csv_, "\n");
  }
}

RunLog::~RunLog() {
  if (csv_) std::fclose(csv_);
}

void RunLog::row(int64_t step, const std::vector<double>& values) {
  if (!csv_) return;
  if (values.size() != n_cols_) fail("internal: %zu values for %zu log columns", values.size(), n_cols_);
  std::fprintf(csv_, "%lld", (long long)step);
  for (double v : values) std::fprintf(csv_, ",%.6g", v);
  std::fprintf(csv_, "\n");
  if (std::fflush(csv_) != 0) fail("%s: write failed: %s", csv_path_.c_str(), std::strerror(errno));
}

void RunLog::show(int64_t step, const std::vector<std::pair<std::string, std::string>>& fields) {
  if (quiet_) return;
  if (first_step_ < 0) {
    first_step_ = step - 1;
    t0_ = std::chrono::steady_clock::now();
  }
  const int pct = steps_ > 0 ? int(100 * step / steps_) : 100;
  // A log gets a line every 5 % (and the first and last steps); a terminal every step.
  if (!tty_ && step != first_step_ + 1 && step != steps_ && pct / 5 == last_pct_ / 5) return;
  last_pct_ = pct;
  const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  const double per = el / double(std::max<int64_t>(1, step - first_step_));
  const int width = 20, fill = steps_ > 0 ? int(width * step / steps_) : width;
  std::string bar(size_t(fill), '#');
  bar.resize(size_t(width), '.');
  std::string line = strfmt("%-8s [%s] %lld/%lld", stage_.c_str(), bar.c_str(), (long long)step, (long long)steps_);
  for (const auto& [k, v] : fields) line += "  " + k + " " + v;
  line += "  ETA " + duration(per * double(steps_ - step));
  std::fprintf(stderr, "%s%s%s", tty_ ? "\r\033[K" : "", line.c_str(), tty_ ? "" : "\n");
  std::fflush(stderr);
}

void RunLog::done(const std::string& summary) {
  if (quiet_) return;
  const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  std::fprintf(stderr, "%s%s: %s in %s\n", tty_ ? "\n" : "", stage_.c_str(), summary.c_str(), duration(el).c_str());
}

}  // namespace frugal::train
