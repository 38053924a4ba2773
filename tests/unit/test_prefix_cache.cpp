#include "server/prefix_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>
#include <vector>

#include "server/disk_cache.h"
#include "test_util.h"

using frugal::KvCache;
using frugal::server::hash_bytes;
using frugal::server::PrefixCache;
using frugal::server::PrefixCacheOptions;
using frugal::test::error_of;
using frugal::test::TempDir;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kLayer = 2, kSlot = 3, kCtx = 64, kK = 8, kV = 4, kBt = 4;

// A value unique to (sequence seed, layer, position, column, k or v), exact in fp32 (< 2^24).
float value(int seed, int64_t il, int64_t pos, int64_t j, bool is_v) {
  return float(seed * 100000 + il * 10000 + pos * 100 + j * 2 + (is_v ? 1 : 0));
}

void fill(KvCache& c, int64_t slot, int seed, int64_t n) {
  for (int64_t il = 0; il < c.n_layer(); ++il)
    for (int64_t pos = 0; pos < n; ++pos) {
      for (int64_t j = 0; j < c.k_width(); ++j) c.k(il, slot, pos)[j] = value(seed, il, pos, j, false);
      for (int64_t j = 0; j < c.v_width(); ++j) c.v(il, slot, pos)[j] = value(seed, il, pos, j, true);
    }
}

// Positions [from, to) of `slot` hold sequence `seed`'s rows exactly (seed -1: still zero).
void expect_rows(KvCache& c, int64_t slot, int seed, int64_t from, int64_t to) {
  for (int64_t il = 0; il < c.n_layer(); ++il)
    for (int64_t pos = from; pos < to; ++pos) {
      for (int64_t j = 0; j < c.k_width(); ++j)
        ASSERT_EQ(c.k(il, slot, pos)[j], seed < 0 ? 0.0f : value(seed, il, pos, j, false))
            << "layer " << il << " pos " << pos << " k col " << j;
      for (int64_t j = 0; j < c.v_width(); ++j)
        ASSERT_EQ(c.v(il, slot, pos)[j], seed < 0 ? 0.0f : value(seed, il, pos, j, true))
            << "layer " << il << " pos " << pos << " v col " << j;
    }
}

std::vector<int32_t> seq(int32_t first, int64_t n) {
  std::vector<int32_t> t(size_t(n), 0);
  for (int64_t i = 0; i < n; ++i) t[size_t(i)] = first + int32_t(i);
  return t;
}

PrefixCacheOptions opts(int64_t ram_blocks = 1000) {
  PrefixCacheOptions o;
  o.block_tokens = kBt;
  o.ram_bytes = ram_blocks * kLayer * kBt * (kK + kV) * 4;
  o.model_fingerprint = 42;
  return o;
}

PrefixCacheOptions disk_opts(const TempDir& d, int64_t ram_blocks = 1000) {
  PrefixCacheOptions o = opts(ram_blocks);
  o.disk_dir = d.path("kv");
  return o;
}

// Stores `tokens` (rows of sequence `seed`) from slot 0 of a scratch cache.
void store(PrefixCache& pc, const std::vector<int32_t>& tokens, int seed, int64_t v_width = kV) {
  KvCache c(kLayer, kSlot, kCtx, kK, v_width);
  fill(c, 0, seed, int64_t(tokens.size()));
  pc.store(tokens, int64_t(tokens.size()), c, 0);
}

// Restores `tokens` into slot 1 of a fresh cache; checks the rows (sequence `seed`) and that
// nothing beyond the hit was written.
PrefixCache::Hit restore(PrefixCache& pc, const std::vector<int32_t>& tokens, int seed, int64_t max_tokens = 1 << 30,
                         int64_t v_width = kV) {
  KvCache c(kLayer, kSlot, kCtx, kK, v_width);
  PrefixCache::Hit hit = pc.restore(tokens, max_tokens, c, 1);
  expect_rows(c, 1, seed, 0, hit.tokens);
  expect_rows(c, 1, -1, hit.tokens, kCtx);
  expect_rows(c, 0, -1, 0, kCtx);
  return hit;
}

int64_t files_in(const std::string& dir) {
  int64_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += e.path().extension() == ".kv";
  return n;
}

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void write_all(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

void flip_byte(const std::string& path, int64_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(offset);
  char c = 0;
  f.read(&c, 1);
  c = char(c ^ 0x10);
  f.seekp(offset);
  f.write(&c, 1);
}

}  // namespace

TEST(PrefixCache, StoreThenRestoreCopiesRowsExactly) {
  PrefixCache pc(opts(), kLayer, kK, kV);
  auto t = seq(100, 12);
  store(pc, t, 1);
  auto hit = restore(pc, t, 1);
  EXPECT_EQ(hit.tokens, 12);
  EXPECT_EQ(hit.from_disk, 0);
  auto s = pc.stats();
  EXPECT_EQ(s.ram_blocks, 3);
  EXPECT_EQ(s.ram_bytes, 3 * pc.block_bytes());
  EXPECT_EQ(s.lookups, 1);
  EXPECT_EQ(s.hit_tokens, 12);
}

TEST(PrefixCache, PartialBlocksAreNeitherStoredNorRestored) {
  PrefixCache pc(opts(), kLayer, kK, kV);
  auto t = seq(100, 10);  // two whole blocks and half of a third
  store(pc, t, 1);
  EXPECT_EQ(pc.stats().ram_blocks, 2);
  EXPECT_EQ(restore(pc, t, 1).tokens, 8);
  EXPECT_EQ(restore(pc, seq(100, 3), 1).tokens, 0);
}

TEST(PrefixCache, DivergenceStopsAtLastCommonWholeBlock) {
  PrefixCache pc(opts(), kLayer, kK, kV);
  auto a = seq(100, 16);
  store(pc, a, 1);
  auto b = a;
  b[9] = 7;  // inside block 2
  EXPECT_EQ(restore(pc, b, 1).tokens, 8);
  b = a;
  b[8] = 7;  // first token of block 2
  EXPECT_EQ(restore(pc, b, 1).tokens, 8);
  b = a;
  b[0] = 7;
  EXPECT_EQ(restore(pc, b, 1).tokens, 0);
}

TEST(PrefixCache, MaxTokensIsRespected) {
  PrefixCache pc(opts(), kLayer, kK, kV);
  auto t = seq(100, 16);
  store(pc, t, 1);
  EXPECT_EQ(restore(pc, t, 1, 15).tokens, 12);  // the caller keeps the last token to compute
  EXPECT_EQ(restore(pc, t, 1, 8).tokens, 8);
  EXPECT_EQ(restore(pc, t, 1, 3).tokens, 0);
  EXPECT_EQ(restore(pc, t, 1, 0).tokens, 0);
  EXPECT_EQ(restore(pc, t, 1, -5).tokens, 0);
}

TEST(PrefixCache, CappedByContextLength) {
  PrefixCache pc(opts(), kLayer, kK, kV);
  KvCache c(kLayer, kSlot, kCtx, kK, kV), r(kLayer, kSlot, kCtx, kK, kV);
  fill(c, 0, 1, kCtx);
  auto t = seq(100, kCtx + 10);
  pc.store(t, kCtx, c, 0);
  EXPECT_EQ(pc.restore(t, 1 << 30, r, 1).tokens, kCtx);
  expect_rows(r, 1, 1, 0, kCtx);
  EXPECT_NE(error_of([&] { pc.store(t, kCtx + 1, c, 0); }).find("n_ctx 64"), std::string::npos);
}

TEST(PrefixCache, SharedPrefixIsStoredOnce) {
  PrefixCache pc(opts(), kLayer, kK, kV);
  auto a = seq(100, 12), b = a;
  b[8] = 5;  // shares blocks 0 and 1 with a
  store(pc, a, 1);
  store(pc, b, 1);
  store(pc, a, 1);  // again: nothing new
  EXPECT_EQ(pc.stats().ram_blocks, 4);
  EXPECT_EQ(pc.stats().ram_bytes, 4 * pc.block_bytes());
  EXPECT_EQ(restore(pc, a, 1).tokens, 12);
  EXPECT_EQ(restore(pc, b, 1).tokens, 12);
}

TEST(PrefixCache, LruEvictsOldestLeavesNeverInteriorBlocks) {
  PrefixCache pc(opts(3), kLayer, kK, kV);  // room for 3 blocks
  auto x = seq(100, 8), y = seq(200, 4), z = seq(300, 4), w = seq(400, 4);
  store(pc, x, 1);  // x0 (oldest) <- x1
  store(pc, y, 2);
  store(pc, z, 3);  // 4 blocks: the oldest leaf is x1; x0 is older but interior
  auto s = pc.stats();
  EXPECT_EQ(s.ram_blocks, 3);
  EXPECT_EQ(s.evicted_blocks, 1);
  EXPECT_EQ(restore(pc, x, 1).tokens, 4);  // x0 kept, x1 gone; x0 is now the newest
  EXPECT_EQ(restore(pc, y, 2).tokens, 4);
  EXPECT_EQ(restore(pc, z, 3).tokens, 4);
  restore(pc, x, 1);
  restore(pc, z, 3);  // order of use now: y, x0, z
  store(pc, w, 4);    // evicts y
  EXPECT_EQ(restore(pc, y, 2).tokens, 0);
  EXPECT_EQ(restore(pc, x, 1).tokens, 4);
  EXPECT_EQ(restore(pc, z, 3).tokens, 4);
  EXPECT_EQ(restore(pc, w, 4).tokens, 4);
  EXPECT_EQ(pc.stats().ram_blocks, 3);
}

TEST(PrefixCache, ChainLongerThanBudgetKeepsItsHead) {
  PrefixCache pc(opts(2), kLayer, kK, kV);
  auto t = seq(100, 20);  // 5 blocks, room for 2: the tail goes, leaf by leaf
  store(pc, t, 1);
  EXPECT_EQ(pc.stats().ram_blocks, 2);
  EXPECT_EQ(pc.stats().evicted_blocks, 3);
  EXPECT_EQ(restore(pc, t, 1).tokens, 8);
}

TEST(PrefixCache, ZeroVWidth) {  // MLA: the latent lives in k
  TempDir d;
  auto t = seq(100, 12);
  {
    PrefixCache pc(disk_opts(d, 1), kLayer, kK, 0);
    store(pc, t, 1, 0);
    EXPECT_EQ(pc.block_bytes(), kLayer * kBt * kK * 4);
    auto hit = restore(pc, t, 1, 1 << 30, 0);
    EXPECT_EQ(hit.tokens, 12);
    EXPECT_GT(hit.from_disk, 0);
    pc.flush();
  }
  PrefixCache pc(disk_opts(d), kLayer, kK, 0);
  EXPECT_EQ(restore(pc, t, 1, 1 << 30, 0).from_disk, 12);
}

TEST(PrefixCache, ShapeMismatchIsAnError) {
  PrefixCache pc(opts(), kLayer, kK, kV);
  KvCache other(kLayer, kSlot, kCtx, kK + 1, kV), ok(kLayer, kSlot, kCtx, kK, kV);
  auto t = seq(100, 8);
  EXPECT_NE(error_of([&] { pc.restore(t, 8, other, 0); }).find("k_width 9"), std::string::npos);
  EXPECT_NE(error_of([&] { pc.store(t, 8, ok, kSlot); }).find("slot 3 out of range"), std::string::npos);
  EXPECT_NE(error_of([&] { pc.store(t, 9, ok, 0); }).find("9 tokens asked"), std::string::npos);
  PrefixCacheOptions o = opts();
  o.block_tokens = 0;
  EXPECT_NE(error_of([&] { PrefixCache bad(o, kLayer, kK, kV); }).find("block_tokens 0"), std::string::npos);
}

TEST(PrefixCache, EvictedBlocksComeBackFromDisk) {
  TempDir d;
  PrefixCache pc(disk_opts(d, 2), kLayer, kK, kV);
  auto a = seq(100, 12), b = seq(500, 12);
  store(pc, a, 1);  // a2 evicted at once: a0, a1 stay
  store(pc, b, 2);  // all of a older than b: a1, a0, then b2 go
  auto s = pc.stats();
  EXPECT_EQ(s.ram_blocks, 2);
  EXPECT_EQ(s.evicted_blocks, 4);
  EXPECT_EQ(s.written_blocks, 4);
  EXPECT_EQ(s.disk_blocks, 4);
  EXPECT_EQ(files_in(d.path("kv")), 4);
  auto hit = restore(pc, a, 1);
  EXPECT_EQ(hit.tokens, 12);
  EXPECT_EQ(hit.from_disk, 12);
  EXPECT_EQ(pc.stats().disk_hit_tokens, 12);
  EXPECT_LE(pc.stats().ram_blocks, 2);
  EXPECT_EQ(pc.stats().written_blocks, 6);  // b0, b1 made room; a's blocks were already on disk
  hit = restore(pc, b, 2);
  EXPECT_EQ(hit.tokens, 12);
}

TEST(PrefixCache, FlushThenRestartRestoresFromDisk) {
  TempDir d;
  auto a = seq(100, 12), b = a;
  b[10] = 1;
  {
    PrefixCache pc(disk_opts(d), kLayer, kK, kV);
    store(pc, a, 1);
    store(pc, b, 1);
    EXPECT_EQ(pc.stats().disk_blocks, 0);
    pc.flush();
    EXPECT_EQ(pc.stats().disk_blocks, 4);
    EXPECT_EQ(pc.stats().written_blocks, 4);
    pc.flush();  // nothing new
    EXPECT_EQ(pc.stats().written_blocks, 4);
  }
  PrefixCache pc(disk_opts(d), kLayer, kK, kV);
  auto s = pc.stats();
  EXPECT_EQ(s.disk_blocks, 4);
  int64_t bytes = 0;  // a file holds its whole token prefix: later blocks' files are larger
  for (const auto& p : {pc.disk_path(a, 1), pc.disk_path(a, 2), pc.disk_path(a, 3), pc.disk_path(b, 3)})
    bytes += int64_t(fs::file_size(p));
  EXPECT_EQ(s.disk_bytes, bytes);
  EXPECT_EQ(s.ram_blocks, 0);
  auto hit = restore(pc, a, 1);
  EXPECT_EQ(hit.tokens, 12);
  EXPECT_EQ(hit.from_disk, 12);
  hit = restore(pc, b, 1, 11);
  EXPECT_EQ(hit.tokens, 8);
  EXPECT_EQ(hit.from_disk, 0);  // blocks 0 and 1 are in memory now
}

TEST(PrefixCache, DestructorDoesNotFlush) {
  TempDir d;
  auto a = seq(100, 8);
  { PrefixCache pc(disk_opts(d), kLayer, kK, kV); store(pc, a, 1); }
  PrefixCache pc(disk_opts(d), kLayer, kK, kV);
  EXPECT_EQ(pc.stats().disk_blocks, 0);
  EXPECT_EQ(restore(pc, a, 1).tokens, 0);
}

class PrefixCacheCorrupt : public ::testing::Test {
 protected:
  // Three blocks of `a_` on disk; returns a new instance on the directory.
  std::unique_ptr<PrefixCache> reopen() { return std::make_unique<PrefixCache>(disk_opts(d_), kLayer, kK, kV); }
  void SetUp() override {
    auto pc = reopen();
    store(*pc, a_, 1);
    pc->flush();
    for (int64_t b = 1; b <= 3; ++b) path_[b] = pc->disk_path(a_, b);
  }
  TempDir d_;
  std::vector<int32_t> a_ = seq(100, 12);
  std::string path_[4];
};

TEST_F(PrefixCacheCorrupt, FlippedByteInRows) {
  flip_byte(path_[2], int64_t(fs::file_size(path_[2])) / 2);
  auto pc = reopen();
  auto hit = restore(*pc, a_, 1);
  EXPECT_EQ(hit.tokens, 4);
  EXPECT_FALSE(fs::exists(path_[2]));
  EXPECT_TRUE(fs::exists(path_[3]));  // unreachable until block 2 is stored again, but sound
  EXPECT_EQ(pc->stats().disk_rejected_blocks, 1);
  EXPECT_EQ(pc->stats().disk_blocks, 2);
}

TEST_F(PrefixCacheCorrupt, FlippedByteInEveryRegion) {
  const int64_t size = int64_t(fs::file_size(path_[1]));
  // magic, version, fingerprint, shapes, prefix length, chain, tokens, rows, checksum
  for (int64_t offset : {int64_t(0), int64_t(6), int64_t(9), int64_t(20), int64_t(50), int64_t(60), int64_t(64),
                         int64_t(70), size / 2, size - 1}) {
    SCOPED_TRACE(offset);
    flip_byte(path_[1], offset);
    auto pc = reopen();
    EXPECT_EQ(restore(*pc, a_, 1).tokens, 0);
    EXPECT_FALSE(fs::exists(path_[1]));
    store(*pc, a_, 1);
    pc->flush();  // rewrites block 1 for the next round
    ASSERT_TRUE(fs::exists(path_[1]));
  }
}

TEST_F(PrefixCacheCorrupt, TruncatedExtendedOrEmptyFiles) {
  const auto size = fs::file_size(path_[1]);
  for (uintmax_t new_size : {uintmax_t(0), uintmax_t(10), size - 1, size + 1}) {
    SCOPED_TRACE(new_size);
    fs::resize_file(path_[1], new_size);
    auto pc = reopen();
    EXPECT_EQ(restore(*pc, a_, 1).tokens, 0);
    EXPECT_FALSE(fs::exists(path_[1]));
    store(*pc, a_, 1);
    pc->flush();
  }
}

TEST_F(PrefixCacheCorrupt, ChainHashCollision) {
  // What a 64-bit collision would leave: a sound file of another prefix, under this block's name
  // and with this block's chain hash in its header. Only the stored tokens tell.
  auto b = a_;
  b[5] = 9;  // block 1 differs
  std::string other;
  {
    auto pc = reopen();
    store(*pc, b, 1);
    pc->flush();
    other = read_all(pc->disk_path(b, 2));
  }
  const std::string mine = read_all(path_[2]);
  ASSERT_EQ(other.size(), mine.size());
  other.replace(56, 8, mine, 56, 8);
  const size_t head = 64 + 4 * 8;
  const uint64_t sum = hash_bytes(other.data() + head, other.size() - head - 8, hash_bytes(other.data(), head, 0));
  other.replace(other.size() - 8, 8, reinterpret_cast<const char*>(&sum), 8);
  write_all(path_[2], other);
  auto pc = reopen();
  EXPECT_EQ(restore(*pc, a_, 1).tokens, 4);
  EXPECT_FALSE(fs::exists(path_[2]));
  EXPECT_EQ(pc->stats().disk_rejected_blocks, 1);
}

TEST_F(PrefixCacheCorrupt, FileRemovedBehindOurBack) {
  auto pc = reopen();
  fs::remove(path_[2]);
  EXPECT_EQ(restore(*pc, a_, 1).tokens, 4);
  EXPECT_EQ(pc->stats().disk_rejected_blocks, 0);
  EXPECT_EQ(pc->stats().disk_blocks, 2);
}

TEST_F(PrefixCacheCorrupt, StrayFilesAtStartUp) {
  const std::string dir = d_.path("kv");
  std::ofstream(dir + "/0123456789abcdef.kv.tmp") << "torn";  // crash between write and rename
  std::ofstream(dir + "/notes.txt") << "not ours";
  std::ofstream(dir + "/0123456789abcdeZ.kv") << "not ours either";
  auto pc = reopen();
  EXPECT_FALSE(fs::exists(dir + "/0123456789abcdef.kv.tmp"));
  EXPECT_TRUE(fs::exists(dir + "/notes.txt"));
  EXPECT_TRUE(fs::exists(dir + "/0123456789abcdeZ.kv"));
  EXPECT_EQ(pc->stats().disk_blocks, 3);
  EXPECT_EQ(restore(*pc, a_, 1).tokens, 12);
}

TEST(PrefixCache, ForeignModelFilesAreIgnored) {
  TempDir d;
  auto a = seq(100, 8);
  {
    PrefixCache pc(disk_opts(d), kLayer, kK, kV);
    store(pc, a, 1);
    pc.flush();
  }
  PrefixCacheOptions o = disk_opts(d);
  o.model_fingerprint = 43;
  {
    PrefixCache other(o, kLayer, kK, kV);
    EXPECT_EQ(other.stats().disk_blocks, 2);  // its files count against the directory's budget
    EXPECT_EQ(restore(other, a, 1).tokens, 0);
    // Even a file renamed to this model's name is refused (the header is compared, not the name).
    PrefixCache mine(disk_opts(d), kLayer, kK, kV);
    fs::copy_file(mine.disk_path(a, 1), other.disk_path(a, 1));
  }
  PrefixCache other(o, kLayer, kK, kV);
  EXPECT_EQ(restore(other, a, 1).tokens, 0);
  EXPECT_EQ(other.stats().disk_rejected_blocks, 1);
  EXPECT_FALSE(fs::exists(other.disk_path(a, 1)));
  PrefixCache mine(disk_opts(d), kLayer, kK, kV);  // the first model's own files are untouched
  EXPECT_EQ(restore(mine, a, 1).tokens, 8);
  // Another layout (block size) does not see them either.
  PrefixCacheOptions o2 = disk_opts(d);
  o2.block_tokens = 2;
  PrefixCache halves(o2, kLayer, kK, kV);
  EXPECT_EQ(restore(halves, a, 1).tokens, 0);
}

TEST(PrefixCache, DiskBudgetRemovesLeastRecentlyUsedFiles) {
  TempDir d;
  int64_t file_bytes;
  {
    PrefixCache probe(disk_opts(d), kLayer, kK, kV);
    store(probe, seq(0, 4), 0);
    probe.flush();
    file_bytes = probe.stats().disk_bytes;
  }
  fs::remove_all(d.path("kv"));
  PrefixCacheOptions o = disk_opts(d, 1);
  o.disk_bytes = 3 * file_bytes;  // one-block prefixes: every file is the same size
  PrefixCache pc(o, kLayer, kK, kV);
  std::vector<std::vector<int32_t>> t;
  for (int i = 0; i < 6; ++i) t.push_back(seq(1000 * (i + 1), 4));
  for (int i = 0; i < 4; ++i) store(pc, t[size_t(i)], i + 1);  // t0..t2 to disk; t3 in memory
  EXPECT_EQ(pc.stats().disk_blocks, 3);
  EXPECT_EQ(restore(pc, t[0], 1).from_disk, 4);  // t0 is now the most recent use; t3 goes to disk
  EXPECT_EQ(pc.stats().disk_blocks, 3);          // t1, the least recent, removed
  EXPECT_EQ(pc.stats().disk_bytes, 3 * file_bytes);
  EXPECT_EQ(files_in(d.path("kv")), 3);
  EXPECT_EQ(restore(pc, t[1], 2).tokens, 0);
  EXPECT_EQ(restore(pc, t[2], 3).tokens, 4);
  EXPECT_EQ(restore(pc, t[3], 4).tokens, 4);
  EXPECT_LE(pc.stats().disk_bytes, o.disk_bytes);
}

TEST(PrefixCache, DiskBudgetAppliesAtStartUpByMtime) {
  TempDir d;
  std::vector<std::vector<int32_t>> t;
  for (int i = 0; i < 4; ++i) t.push_back(seq(1000 * (i + 1), 4));
  int64_t file_bytes;
  {
    PrefixCache pc(disk_opts(d), kLayer, kK, kV);
    for (int i = 0; i < 4; ++i) store(pc, t[size_t(i)], i + 1);
    pc.flush();
    file_bytes = pc.stats().disk_bytes / 4;
    // Ages set explicitly: file mtimes are too coarse to order writes made in a row.
    auto now = fs::file_time_type::clock::now();
    for (int i = 0; i < 4; ++i) fs::last_write_time(pc.disk_path(t[size_t(i)], 1), now - std::chrono::hours(i == 2 ? 9 : 4 - i));
  }
  PrefixCacheOptions o = disk_opts(d);
  o.disk_bytes = 2 * file_bytes;
  PrefixCache pc(o, kLayer, kK, kV);  // t2 (9 h) and t0 (4 h) are the oldest
  EXPECT_EQ(pc.stats().disk_blocks, 2);
  EXPECT_EQ(restore(pc, t[0], 1).tokens, 0);
  EXPECT_EQ(restore(pc, t[1], 2).tokens, 4);
  EXPECT_EQ(restore(pc, t[2], 3).tokens, 0);
  EXPECT_EQ(restore(pc, t[3], 4).tokens, 4);
}

TEST(PrefixCache, UnusableDiskDirIsAnError) {
  TempDir d;
  std::ofstream(d.path("file")) << "x";
  PrefixCacheOptions o = opts();
  o.disk_dir = d.path("file") + "/kv";
  std::string err = error_of([&] { PrefixCache pc(o, kLayer, kK, kV); });
  EXPECT_NE(err.find("cannot create directory " + o.disk_dir), std::string::npos) << err;
  o.disk_dir = d.path("file");
  err = error_of([&] { PrefixCache pc(o, kLayer, kK, kV); });
  EXPECT_NE(err.find(o.disk_dir), std::string::npos) << err;
}

TEST(PrefixCache, DiskWriteFailureLosesBlockButDoesNotThrow) {
  TempDir d;
  PrefixCache pc(disk_opts(d, 1), kLayer, kK, kV);
  fs::remove_all(d.path("kv"));  // the directory vanishes under a running server
  auto t = seq(100, 8);
  store(pc, t, 1);
  EXPECT_EQ(pc.stats().disk_write_errors, 1);
  EXPECT_EQ(pc.stats().written_blocks, 0);
  EXPECT_EQ(restore(pc, t, 1).tokens, 4);
  std::string err = error_of([&] { pc.flush(); });
  EXPECT_NE(err.find("cannot write"), std::string::npos) << err;
}

TEST(PrefixCache, StatsFromAnotherThread) {
  PrefixCache pc(opts(4), kLayer, kK, kV);
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done) {
      auto s = pc.stats();
      ASSERT_EQ(s.ram_bytes, s.ram_blocks * pc.block_bytes());
      ASSERT_LE(s.ram_blocks, 4);
    }
  });
  for (int i = 0; i < 200; ++i) store(pc, seq(i * 10, 8), 1);
  done = true;
  reader.join();
  EXPECT_EQ(pc.stats().ram_blocks, 4);
}
