// Memory bandwidth of this machine, measured STREAM-style on all threads of a pool: the speed
// of light of decoding, which must read every weight once per token. `frugal bench` divides
// its generation speed by the roofline this gives.
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/thread_pool.h"

namespace frugal::kernels {

// Bytes of the largest data or unified cache: sysfs, else cpuid; 0 when neither says.
size_t last_level_cache_bytes();
// MemAvailable from /proc/meminfo; 0 when unknown.
size_t mem_available_bytes();
// The probe's buffer: at least 8x the last-level cache and 512 MiB, so no pass can be served
// from cache, but at most half the available memory (the model has to stay resident beside
// it). Rounded down to whole 2 MiB pages.
size_t membw_buffer_bytes(size_t llc_bytes, size_t mem_available);

struct MembwPass {
  uint64_t bytes = 0;  // STREAM's count: every byte read plus every byte written
  double seconds = 0;
  double gb_s() const { return seconds > 0 ? double(bytes) / seconds / 1e9 : 0; }
};

struct MembwResult {
  double read_gb_s = 0, copy_gb_s = 0, triad_gb_s = 0;  // best pass of each kernel
  // read_gb_s is the better of the plain read loop and the one with software prefetch
  // (membw_loops.h: which wins depends on the CPU and on how many cores share the memory).
  double read_plain_gb_s = 0, read_prefetched_gb_s = 0;
  size_t buffer_bytes = 0;
};

// One buffer, mapped with transparent huge pages and pre-faulted by the threads that will
// read it. Each kernel's working set is the whole buffer: read sums all of it; copy writes
// the second half from the first; triad writes the first third from the other two. Each
// thread works on one contiguous chunk with the widest SIMD loads the CPU has.
class BandwidthProbe {
 public:
  BandwidthProbe(ThreadPool& pool, size_t bytes);
  ~BandwidthProbe();
  BandwidthProbe(const BandwidthProbe&) = delete;
  BandwidthProbe& operator=(const BandwidthProbe&) = delete;

  MembwPass read(bool prefetched = false);
  MembwPass copy();
  MembwPass triad();  // a = b + 3 * c, in doubles
  MembwResult best_of(int passes);

  // The wrapping sum of every 64-bit word the last read() loaded: the read loop's result,
  // so it cannot be optimized away, and a test that it covered the buffer exactly once.
  uint64_t checksum() const { return checksum_; }
  const uint64_t* words() const { return reinterpret_cast<const uint64_t*>(buf_); }
  size_t bytes() const { return bytes_; }

 private:
  template <class F>
  MembwPass timed(uint64_t bytes, F&& per_thread);

  ThreadPool& pool_;
  void* map_ = nullptr;
  size_t map_bytes_ = 0;
  char* buf_ = nullptr;
  size_t bytes_ = 0;
  uint64_t checksum_ = 0;
};

// The probe at membw_buffer_bytes() for this machine, best of `passes`, buffer freed after.
MembwResult measure_memory_bandwidth(ThreadPool& pool, int passes = 5, size_t bytes = 0);

}  // namespace frugal::kernels
