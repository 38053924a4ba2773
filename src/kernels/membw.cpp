#include "kernels/membw.h"

#include <cpuid.h>
#include <sys/mman.h>

#include <algorithm>
#include <fstream>
#include <new>
#include <string>
#include <vector>

#include "core/clock.h"
#include "kernels/matmul.h"
#include "kernels/membw_loops.h"

namespace frugal::kernels {

namespace {

constexpr size_t kHugePage = size_t(2) << 20;
// Thread chunks are whole 4 KiB pages, so every chunk is a multiple of the loops' 4 vectors.
constexpr size_t kUnit = 4096;

// "32768K", "1M", "512" (sysfs cache sizes).
size_t parse_size(const std::string& s) {
  size_t n = 0, i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') n = n * 10 + size_t(s[i++] - '0');
  if (i < s.size() && (s[i] == 'K' || s[i] == 'k')) n <<= 10;
  if (i < s.size() && (s[i] == 'M' || s[i] == 'm')) n <<= 20;
  return n;
}

size_t llc_from_sysfs() {
  size_t best = 0;
  for (int i = 0; i < 16; ++i) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
    std::ifstream type(dir + "type"), size(dir + "size");
    std::string t, s;
    if (!(type >> t) || !(size >> s)) continue;
    if (t != "Instruction") best = std::max(best, parse_size(s));
  }
  return best;
}

// Intel's leaf 4 and AMD's 0x8000001D describe each cache level (ways x partitions x line x
// sets); some hypervisors leave those empty, and AMD's 0x80000006 still gives the L3 size.
size_t llc_from_cpuid() {
  unsigned a, b, c, d;
  size_t best = 0;
  for (unsigned leaf : {4u, 0x8000001Du}) {
    if (!__get_cpuid(leaf & 0x80000000u, &a, &b, &c, &d) || a < leaf) continue;
    for (unsigned i = 0; i < 16; ++i) {
      __cpuid_count(leaf, i, a, b, c, d);
      const unsigned type = a & 31;
      if (type == 0) break;
      if (type == 2) continue;  // instruction cache
      const size_t bytes = size_t((b >> 22) + 1) * (((b >> 12) & 0x3ff) + 1) * ((b & 0xfff) + 1) * (size_t(c) + 1);
      best = std::max(best, bytes);
    }
  }
  if (__get_cpuid(0x80000000u, &a, &b, &c, &d) && a >= 0x80000006u) {
    __cpuid(0x80000006u, a, b, c, d);
    best = std::max({best, size_t(d >> 18) * (512 << 10), size_t(c >> 16) << 10});
  }
  return best;
}

// Thread ith's contiguous share of a region of `bytes` (a multiple of kUnit).
struct Chunk {
  size_t off, len;
};
Chunk chunk(size_t bytes, int ith, int nth) {
  const size_t units = bytes / kUnit;
  const size_t u0 = units * size_t(ith) / size_t(nth), u1 = units * size_t(ith + 1) / size_t(nth);
  return {u0 * kUnit, (u1 - u0) * kUnit};
}

const MembwLoops& active_loops() {
  switch (active_isa()) {
    case Isa::Avx512: return membw_loops_avx512();
    case Isa::Avx2: return membw_loops_avx2();
    default: return membw_detail::loops<16>();  // SSE2, the x86-64 baseline
  }
}

}  // namespace

size_t last_level_cache_bytes() {
  const size_t s = llc_from_sysfs();
  return s ? s : llc_from_cpuid();
}

size_t mem_available_bytes() {
  std::ifstream f("/proc/meminfo");
  std::string key, unit;
  size_t kb = 0;
  while (f >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb << 10;
  return 0;
}

size_t membw_buffer_bytes(size_t llc_bytes, size_t mem_available) {
  size_t want = std::max(8 * llc_bytes, size_t(512) << 20);
  if (mem_available) want = std::min(want, mem_available / 2);
  return std::max(want / kHugePage, size_t(1)) * kHugePage;
}

BandwidthProbe::BandwidthProbe(ThreadPool& pool, size_t bytes) : pool_(pool) {
  // Every region (the whole buffer, its halves, its thirds) must split into whole units.
  const size_t step = 6 * kUnit;
  bytes_ = std::max(bytes / step, size_t(1)) * step;
  map_bytes_ = bytes_ + kHugePage;
  map_ = ::mmap(nullptr, map_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (map_ == MAP_FAILED) throw std::bad_alloc();
  const uintptr_t p = reinterpret_cast<uintptr_t>(map_);
  buf_ = reinterpret_cast<char*>((p + kHugePage - 1) / kHugePage * kHugePage);
  // 4 KiB pages would cost a TLB miss every 64 cache lines; the probe wants the memory's
  // ceiling, not the page walker's.
  ::madvise(buf_, bytes_, MADV_HUGEPAGE);
  // Pre-fault with the read partition (first touch places pages near the thread that reads
  // them), with normal doubles so triad never meets a denormal or a NaN.
  pool_.run([&](int ith, int nth) {
    const Chunk c = chunk(bytes_, ith, nth);
    double* d = reinterpret_cast<double*>(buf_ + c.off);
    for (size_t i = 0, n = c.len / sizeof(double); i < n; ++i) d[i] = 1.0 + double((c.off / sizeof(double) + i) & 1023);
  });
}

BandwidthProbe::~BandwidthProbe() { ::munmap(map_, map_bytes_); }

template <class F>
MembwPass BandwidthProbe::timed(uint64_t bytes, F&& per_thread) {
  MembwPass r;
  r.bytes = bytes;
  const double t0 = now_seconds();
  pool_.run([&](int ith, int nth) { per_thread(ith, nth); });
  r.seconds = now_seconds() - t0;
  return r;
}

MembwPass BandwidthProbe::read(bool prefetched) {
  const MembwLoops& k = active_loops();
  auto* loop = prefetched ? k.read_prefetched : k.read;
  std::vector<uint64_t> sums(size_t(pool_.size()) * 8);  // a cache line per thread
  MembwPass r = timed(bytes_, [&](int ith, int nth) {
    const Chunk c = chunk(bytes_, ith, nth);
    sums[size_t(ith) * 8] = loop(buf_ + c.off, c.len);
  });
  checksum_ = 0;
  for (size_t i = 0; i < sums.size(); i += 8) checksum_ += sums[i];
  return r;
}

MembwPass BandwidthProbe::copy() {
  const MembwLoops& k = active_loops();
  const size_t half = bytes_ / 2;
  return timed(2 * half, [&](int ith, int nth) {
    const Chunk c = chunk(half, ith, nth);
    k.copy(buf_ + half + c.off, buf_ + c.off, c.len);
  });
}

MembwPass BandwidthProbe::triad() {
  const MembwLoops& k = active_loops();
  const size_t third = bytes_ / 3;
  double* a = reinterpret_cast<double*>(buf_);
  const double* b = reinterpret_cast<const double*>(buf_ + third);
  const double* c = reinterpret_cast<const double*>(buf_ + 2 * third);
  return timed(3 * third, [&](int ith, int nth) {
    const Chunk ch = chunk(third, ith, nth);
    const size_t i0 = ch.off / sizeof(double);
    k.triad(a + i0, b + i0, c + i0, 3.0, ch.len / sizeof(double));
  });
}

MembwResult BandwidthProbe::best_of(int passes) {
  MembwResult r;
  r.buffer_bytes = bytes_;
  for (int i = 0; i < passes; ++i) {  // interleaved, so drift on a shared machine hits both
    r.read_plain_gb_s = std::max(r.read_plain_gb_s, read(false).gb_s());
    r.read_prefetched_gb_s = std::max(r.read_prefetched_gb_s, read(true).gb_s());
  }
  r.read_gb_s = std::max(r.read_plain_gb_s, r.read_prefetched_gb_s);
  for (int i = 0; i < passes; ++i) r.copy_gb_s = std::max(r.copy_gb_s, copy().gb_s());
  for (int i = 0; i < passes; ++i) r.triad_gb_s = std::max(r.triad_gb_s, triad().gb_s());
  return r;
}

MembwResult measure_memory_bandwidth(ThreadPool& pool, int passes, size_t bytes) {
  if (bytes == 0) bytes = membw_buffer_bytes(last_level_cache_bytes(), mem_available_bytes());
  BandwidthProbe probe(pool, bytes);
  return probe.best_of(passes);
}

}  // namespace frugal::kernels
