// A progress line for long work (model conversion, loading, test-model generation). On a
// terminal it redraws one line; in a log (CI, a pipe) it prints a line every 10%, so logs stay
// readable. Work that finishes within half a second prints nothing.
#pragma once
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace frugal {

class Progress {
 public:
  Progress(std::string label, double total, const char* unit = "GB", double unit_scale = 1e9)
      : label_(std::move(label)), total_(total), unit_(unit), scale_(unit_scale), tty_(isatty(2)),
        t0_(std::chrono::steady_clock::now()) {}
  void update(double done) {
    int pct = total_ > 0 ? int(100.0 * done / total_) : 100;
    if (tty_ ? pct == last_ : pct / 10 == last_ / 10) return;
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
    if (secs < 0.5 && last_ < 0) return;
    last_ = pct;
    std::fprintf(stderr, "%s%s: %3d%% (%.2f / %.2f %s, %.1f s)%s", tty_ ? "\r" : "", label_.c_str(), pct, done / scale_,
                 total_ / scale_, unit_, secs, tty_ ? "" : "\n");
    if (tty_ && pct >= 100) std::fputc('\n', stderr);
  }

 private:
  std::string label_;
  double total_;
  const char* unit_;
  double scale_;
  bool tty_;
  int last_ = -1;
  std::chrono::steady_clock::time_point t0_;
};

}  // namespace frugal
