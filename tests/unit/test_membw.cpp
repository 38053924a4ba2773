// The bandwidth probe's arithmetic, not the machine's speed: each kernel touches exactly the
// bytes it counts, on every ISA path, and its figure lands in a range no real memory system
// leaves (a miscounted size or a timer around the wrong region does).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/matmul.h"
#include "kernels/membw.h"

using namespace frugal;
using namespace frugal::kernels;

namespace {

constexpr size_t kMiB = size_t(1) << 20;

struct IsaGuard {
  Isa saved = active_isa();
  ~IsaGuard() { set_isa(saved); }
};

uint64_t word_sum(const BandwidthProbe& p) {
  uint64_t s = 0;
  for (size_t i = 0, n = p.bytes() / 8; i < n; ++i) s += p.words()[i];
  return s;
}

double seconds_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

TEST(Membw, BufferIsBeyondTheCacheAndWithinMemory) {
  EXPECT_EQ(membw_buffer_bytes(32 * kMiB, 64 * 1024 * kMiB), 512 * kMiB);
  EXPECT_EQ(membw_buffer_bytes(256 * kMiB, 64 * 1024 * kMiB), 2048 * kMiB);
  EXPECT_EQ(membw_buffer_bytes(0, 0), 512 * kMiB);
  // Half of what is available, in whole 2 MiB pages, even when that is below the floor.
  EXPECT_EQ(membw_buffer_bytes(508 * kMiB, 4096 * kMiB), 2048 * kMiB);
  EXPECT_EQ(membw_buffer_bytes(32 * kMiB, 301 * kMiB), 150 * kMiB);
}

TEST(Membw, EachKernelTouchesExactlyWhatItCounts) {
  IsaGuard guard;
  ThreadPool pool(3);  // uneven chunks
  BandwidthProbe probe(pool, 24 * kMiB + 12345);
  const size_t n = probe.bytes();
  ASSERT_EQ(n % (6 * 4096), 0u);
  ASSERT_GE(n, 24 * kMiB);
  for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
    if (int(isa) > int(detected_isa())) continue;
    set_isa(isa);
    SCOPED_TRACE(isa_name(isa));

    const uint64_t want = word_sum(probe);
    MembwPass r = probe.read();
    EXPECT_EQ(r.bytes, n);
    EXPECT_EQ(probe.checksum(), want);  // every word loaded once, none twice
    MembwPass rp = probe.read(/*prefetched=*/true);
    EXPECT_EQ(rp.bytes, n);
    EXPECT_EQ(probe.checksum(), want);  // the prefetching loop too

    MembwPass c = probe.copy();
    EXPECT_EQ(c.bytes, n);  // n/2 read + n/2 written
    EXPECT_EQ(std::memcmp(probe.words(), probe.words() + n / 16, n / 2), 0);

    MembwPass t = probe.triad();
    EXPECT_EQ(t.bytes, n / 3 * 3);
    const double* d = reinterpret_cast<const double*>(probe.words());
    const size_t third = n / 3 / sizeof(double);
    for (size_t k = 0; k < third; k += 997) ASSERT_EQ(d[k], d[third + k] + 3.0 * d[2 * third + k]) << k;
    for (const MembwPass& p : {r, rp, c, t}) EXPECT_GT(p.seconds, 0);
  }
}

// A read of a known-size buffer against a plain memcpy of the same buffer, timed here: a
// multi-threaded read moves bytes at least about as fast as one thread's copy, so a probe far
// below it counts bytes wrong or times more than its loop; far above any memory system, its
// loop did not run.
TEST(Membw, ReadMeasuresWithinASaneRangeOfMemcpy) {
  ThreadPool pool(2);
  BandwidthProbe probe(pool, 64 * kMiB);
  const size_t n = probe.bytes();
  std::vector<char> src(n, 1), dst(n, 2);
  double read_best = 0, memcpy_best = 0;
  for (int pass = 0; pass < 5; ++pass) {
    read_best = std::max({read_best, probe.read().gb_s(), probe.read(true).gb_s()});
    const double t0 = seconds_now();
    std::memcpy(dst.data(), src.data(), n);
    const double dt = seconds_now() - t0;
    memcpy_best = std::max(memcpy_best, 2.0 * double(n) / dt / 1e9);
    ASSERT_EQ(dst[size_t(pass) * 4096], 1);
  }
  EXPECT_GT(read_best, 0.5);
  EXPECT_LT(read_best, 1000);
  EXPECT_GT(read_best, 0.25 * memcpy_best) << "read " << read_best << " GB/s, memcpy " << memcpy_best;
  MembwResult all = probe.best_of(2);
  for (double g : {all.read_plain_gb_s, all.read_prefetched_gb_s, all.copy_gb_s, all.triad_gb_s}) {
    EXPECT_GT(g, 0.5);
    EXPECT_LT(g, 1000);
  }
  EXPECT_EQ(all.read_gb_s, std::max(all.read_plain_gb_s, all.read_prefetched_gb_s));
  EXPECT_EQ(all.buffer_bytes, n);
}
