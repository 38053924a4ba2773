// Seconds on the monotonic clock, for timing spans (benchmarks, progress, wire statistics).
#pragma once
#include <chrono>

namespace frugal {

inline double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace frugal
