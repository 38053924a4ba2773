// MappedFile: the file's bytes in place, and to_memory's copy over the mapping (same address,
// same bytes, the file no longer read).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <random>
#include <vector>

#include "core/mmap_file.h"
#include "test_util.h"

using namespace frugal;
using frugal::test::TempDir;

namespace {

std::vector<uint8_t> write_random(const std::string& path, size_t n) {
  std::vector<uint8_t> b(n);
  std::mt19937 rng(3);
  for (auto& x : b) x = uint8_t(rng());
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), std::streamsize(n));
  return b;
}

}  // namespace

// A size that is not a multiple of the 2 MiB pages (the last one partial), several copy chunks.
TEST(MappedFile, ToMemoryKeepsAddressAndBytes) {
  TempDir d;
  const std::string p = d.path("w.bin");
  const size_t n = (size_t(130) << 20) + 12345;
  const std::vector<uint8_t> want = write_random(p, n);
  MappedFile m(p);
  ASSERT_EQ(m.size(), n);
  const uint8_t* before = m.data();
  EXPECT_EQ(reinterpret_cast<uintptr_t>(before) % (size_t(2) << 20), 0u) << "the file maps at a 2 MiB boundary";
  std::atomic<size_t> last{0};
  const bool moved = m.to_memory(2, [&](size_t done, size_t total) {
    EXPECT_EQ(total, n);
    last = std::max(last.load(), done);
  });
  if (!moved) GTEST_SKIP() << "not enough available memory for the copy here";
  EXPECT_TRUE(m.in_memory());
  EXPECT_EQ(last.load(), n) << "progress reaches the whole file";
  EXPECT_EQ(m.data(), before) << "pointers into the map stay valid";
  ASSERT_EQ(std::memcmp(m.data(), want.data(), n), 0);
  // The file is no longer read: cut on disk, every byte is still there (a mapping would
  // SIGBUS past the new end).
  ASSERT_EQ(::truncate(p.c_str(), 4096), 0);
  EXPECT_EQ(std::memcmp(m.data(), want.data(), n), 0);
  EXPECT_TRUE(m.to_memory(1)) << "a second call is a no-op that reports the copy";
  MappedFile moved_to(std::move(m));
  EXPECT_TRUE(moved_to.in_memory());
  EXPECT_EQ(moved_to.data(), before);
}

TEST(MappedFile, SmallFileToMemory) {
  TempDir d;
  const std::string p = d.path("s.bin");
  const std::vector<uint8_t> want = write_random(p, 1000);
  MappedFile m(p);
  if (!m.to_memory(1)) GTEST_SKIP() << "not enough available memory for the copy here";
  EXPECT_EQ(std::memcmp(m.data(), want.data(), want.size()), 0);
}
