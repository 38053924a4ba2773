#include "runtime/prefix_cache.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>
#include <vector>

#include "runtime/disk_cache.h"
#include "test_util.h"

using frugal::KvCache;
using frugal::hash_bytes;
using frugal::PrefixCache;
using frugal::PrefixCacheOptions;
using frugal::test::error_of;
using frugal::test::TempDir;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kLayer = 2, kSlot = 3, kCtx = 256, kK = 8, kV = 4, kPool = 64;
constexpr int64_t kBt = KvCache::kBlockTokens;
constexpr int64_t kSlotBlocks = kCtx / kBt;

// A row value of (token, layer, position, column, k or v): a block mapped at the wrong index,
// or one of another prefix, reads back different values. 24 bits, so exact in fp32.
float value(int32_t token, int64_t il, int64_t pos, int64_t j, bool is_v) {
  uint64_t h = uint64_t(uint32_t(token)) * 0x9e3779b97f4a7c15ull;
  h ^= uint64_t(il << 24 | pos << 8 | j << 1 | int64_t(is_v)) * 0xc2b2ae3d27d4eb4full;
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 32;
  return float(h >> 40);
}

// Writes the rows of tokens[0..n) at positions [0, n) of `slot` (their blocks must be mapped).
void fill(KvCache& c, int64_t slot, const std::vector<int32_t>& tokens, int64_t n) {
  for (int64_t il = 0; il < c.n_layer(); ++il)
    for (int64_t pos = 0; pos < n; ++pos) {
      const int32_t t = tokens[size_t(pos)];
      for (int64_t j = 0; j < c.k_width(); ++j) reinterpret_cast<float*>(c.k(il, slot, pos))[j] = value(t, il, pos, j, false);
      for (int64_t j = 0; j < c.v_width(); ++j) reinterpret_cast<float*>(c.v(il, slot, pos))[j] = value(t, il, pos, j, true);
    }
}

// Positions [from, to) of `slot` hold the rows of `tokens` exactly.
void expect_rows(const KvCache& c, int64_t slot, const std::vector<int32_t>& tokens, int64_t from, int64_t to) {
  for (int64_t il = 0; il < c.n_layer(); ++il)
    for (int64_t pos = from; pos < to; ++pos) {
      const int32_t t = tokens[size_t(pos)];
      for (int64_t j = 0; j < c.k_width(); ++j)
        ASSERT_EQ(reinterpret_cast<const float*>(c.k(il, slot, pos))[j], value(t, il, pos, j, false)) << "layer " << il << " pos " << pos << " k col " << j;
      for (int64_t j = 0; j < c.v_width(); ++j)
        ASSERT_EQ(reinterpret_cast<const float*>(c.v(il, slot, pos))[j], value(t, il, pos, j, true)) << "layer " << il << " pos " << pos << " v col " << j;
    }
}

std::vector<int32_t> seq(int32_t first, int64_t n) {
  std::vector<int32_t> t(size_t(n), 0);
  for (int64_t i = 0; i < n; ++i) t[size_t(i)] = first + int32_t(i);
  return t;
}

// On demand, as the server runs it: blocks the tree drops go back to the free list.
KvCache pool(int64_t blocks = kPool, int64_t v_width = kV) { return KvCache(kLayer, kSlot, kCtx, kK, v_width, blocks); }

std::vector<int32_t> table_of(const KvCache& c, int64_t slot) {
  std::vector<int32_t> t;
  for (int64_t b = 0; b < kSlotBlocks; ++b) t.push_back(c.block(slot, b));
  return t;
}

int64_t block_bytes() { return kLayer * kBt * (kK + kV) * 4; }

PrefixCacheOptions opts(int64_t ram_blocks = 1000) {
  PrefixCacheOptions o;
  o.ram_bytes = ram_blocks * block_bytes();
  o.model_fingerprint = 42;
  return o;
}

PrefixCacheOptions disk_opts(const TempDir& d, int64_t ram_blocks = 1000) {
  PrefixCacheOptions o = opts(ram_blocks);
  o.disk_dir = d.path("kv");
  return o;
}

// What the engine does for a new sequence: fresh blocks of its own over [0, n), then prefill.
void prefill(KvCache& c, int64_t slot, const std::vector<int32_t>& tokens, int64_t n) {
  c.clear_slot(slot);
  for (int64_t b = 0; b < KvCache::blocks_for(n); ++b) {
    const int32_t phys = c.alloc();
    ASSERT_GE(phys, 0) << "pool exhausted";
    c.map(slot, b, phys);
  }
  fill(c, slot, tokens, n);
}

// A sequence that prefilled `tokens` in `slot` and finished: afterwards only the tree holds
// the blocks it adopted.
void store(PrefixCache& pc, KvCache& c, const std::vector<int32_t>& tokens, int64_t slot = 0) {
  prefill(c, slot, tokens, int64_t(tokens.size()));
  pc.store(tokens, int64_t(tokens.size()), c, slot);
  c.clear_slot(slot);
}

// Restores `tokens` into slot 1 (emptied first); checks the rows, that nothing is mapped
// beyond the hit and that no other slot changed, then lets the slot go again.
PrefixCache::Hit restore(PrefixCache& pc, KvCache& c, const std::vector<int32_t>& tokens,
                         int64_t max_tokens = 1 << 30) {
  c.clear_slot(1);
  const auto other0 = table_of(c, 0), other2 = table_of(c, 2);
  const PrefixCache::Hit hit = pc.restore(tokens, max_tokens, c, 1);
  EXPECT_EQ(hit.tokens % kBt, 0);
  expect_rows(c, 1, tokens, 0, hit.tokens);
  for (int64_t b = 0; b < kSlotBlocks; ++b) {
    if (b < hit.tokens / kBt)
      EXPECT_GE(c.refs(c.block(1, b)), 1) << "block " << b;
    else
      EXPECT_EQ(c.block(1, b), -1) << "block " << b << " mapped beyond the hit";
  }
  EXPECT_EQ(table_of(c, 0), other0);
  EXPECT_EQ(table_of(c, 2), other2);
  c.clear_slot(1);
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

TEST(PrefixCache, StoreThenRestoreMapsRowsExactly) {
  KvCache c = pool();
  PrefixCache pc(opts(), c);
  EXPECT_EQ(pc.block_tokens(), kBt);
  EXPECT_EQ(pc.block_bytes(), c.block_bytes());
  auto t = seq(100, 3 * kBt);
  store(pc, c, t);
  auto hit = restore(pc, c, t);
  EXPECT_EQ(hit.tokens, 3 * kBt);
  EXPECT_EQ(hit.from_disk, 0);
  auto s = pc.stats();
  EXPECT_EQ(s.ram_blocks, 3);
  EXPECT_EQ(s.ram_bytes, 3 * pc.block_bytes());
  EXPECT_EQ(s.lookups, 1);
  EXPECT_EQ(s.hit_tokens, 3 * kBt);
  EXPECT_EQ(c.free_blocks(), kPool - 3);
}

TEST(PrefixCache, PartialBlocksAreNeitherStoredNorRestored) {
  KvCache c = pool();
  PrefixCache pc(opts(), c);
  auto t = seq(100, 2 * kBt + kBt / 2);
  prefill(c, 0, t, int64_t(t.size()));
  pc.store(t, int64_t(t.size()), c, 0);
  EXPECT_EQ(pc.stats().ram_blocks, 2);
  EXPECT_EQ(c.refs(c.block(0, 0)), 2);
  EXPECT_EQ(c.refs(c.block(0, 1)), 2);
  EXPECT_EQ(c.refs(c.block(0, 2)), 1);  // still the sequence's own: it goes on writing there
  c.clear_slot(0);
  EXPECT_EQ(c.free_blocks(), kPool - 2);
  EXPECT_EQ(restore(pc, c, t).tokens, 2 * kBt);
  EXPECT_EQ(restore(pc, c, seq(100, kBt - 1)).tokens, 0);
}

TEST(PrefixCache, DivergenceStopsAtLastCommonWholeBlock) {
  KvCache c = pool();
  PrefixCache pc(opts(), c);
  auto a = seq(100, 4 * kBt);
  store(pc, c, a);
  auto b = a;
  b[2 * kBt + 3] = 7;  // inside block 2
  EXPECT_EQ(restore(pc, c, b).tokens, 2 * kBt);
  b = a;
  b[2 * kBt] = 7;  // first token of block 2
  EXPECT_EQ(restore(pc, c, b).tokens, 2 * kBt);
  b = a;
  b[0] = 7;
  EXPECT_EQ(restore(pc, c, b).tokens, 0);
}

TEST(PrefixCache, MaxTokensIsRespected) {
  KvCache c = pool();
  PrefixCache pc(opts(), c);
  auto t = seq(100, 4 * kBt);
  store(pc, c, t);
  EXPECT_EQ(restore(pc, c, t, 4 * kBt - 1).tokens, 3 * kBt);  // the caller keeps the last token to compute
  EXPECT_EQ(restore(pc, c, t, 2 * kBt).tokens, 2 * kBt);
  EXPECT_EQ(restore(pc, c, t, kBt - 1).tokens, 0);
  EXPECT_EQ(restore(pc, c, t, 0).tokens, 0);
  EXPECT_EQ(restore(pc, c, t, -5).tokens, 0);
}

TEST(PrefixCache, CappedByContextLength) {
  KvCache c = pool();
  PrefixCache pc(opts(), c);
  auto t = seq(100, kCtx + 40);
  prefill(c, 0, t, kCtx);
  pc.store(t, kCtx, c, 0);
  EXPECT_NE(error_of([&] { pc.store(t, kCtx + 1, c, 0); }).find("n_ctx 256"), std::string::npos);
  c.clear_slot(0);
  EXPECT_EQ(restore(pc, c, t).tokens, kCtx);  // mapping more would run past the block table
}

TEST(PrefixCache, SharedPrefixIsStoredOnce) {
  KvCache c = pool();
  PrefixCache pc(opts(), c);
  auto a = seq(100, 3 * kBt), b = a;
  b[2 * kBt] = 5;  // shares blocks 0 and 1 with a
  store(pc, c, a);
  store(pc, c, b);
  store(pc, c, a);  // again: nothing new
  EXPECT_EQ(pc.stats().ram_blocks, 4);
  EXPECT_EQ(pc.stats().ram_bytes, 4 * pc.block_bytes());
  EXPECT_EQ(c.free_blocks(), kPool - 4);  // the later copies of blocks 0 and 1 went back to the pool
  EXPECT_EQ(restore(pc, c, a).tokens, 3 * kBt);
  EXPECT_EQ(restore(pc, c, b).tokens, 3 * kBt);
}

TEST(PrefixCache, LruEvictsOldestLeavesNeverInteriorBlocks) {
  KvCache c = pool();
  PrefixCache pc(opts(3), c);  // room for 3 blocks
  auto x = seq(100, 2 * kBt), y = seq(200, kBt), z = seq(300, kBt), w = seq(400, kBt);
  store(pc, c, x);  // x0 (oldest) <- x1
  store(pc, c, y);
  store(pc, c, z);  // 4 blocks: the oldest leaf is x1; x0 is older but interior
  auto s = pc.stats();
  EXPECT_EQ(s.ram_blocks, 3);
  EXPECT_EQ(s.evicted_blocks, 1);
  EXPECT_EQ(c.free_blocks(), kPool - 3);
  EXPECT_EQ(restore(pc, c, x).tokens, kBt);  // x0 kept, x1 gone; x0 is now the newest
  EXPECT_EQ(restore(pc, c, y).tokens, kBt);
  EXPECT_EQ(restore(pc, c, z).tokens, kBt);
  restore(pc, c, x);
  restore(pc, c, z);  // order of use now: y, x0, z
  store(pc, c, w);    // evicts y
  EXPECT_EQ(restore(pc, c, y).tokens, 0);
  EXPECT_EQ(restore(pc, c, x).tokens, kBt);
  EXPECT_EQ(restore(pc, c, z).tokens, kBt);
  EXPECT_EQ(restore(pc, c, w).tokens, kBt);
  EXPECT_EQ(pc.stats().ram_blocks, 3);
}

TEST(PrefixCache, ChainLongerThanBudgetKeepsItsHead) {
  KvCache c = pool();
  PrefixCache pc(opts(2), c);
  auto t = seq(100, 5 * kBt);  // 5 blocks, room for 2: the tail goes, leaf by leaf
  store(pc, c, t);
  EXPECT_EQ(pc.stats().ram_blocks, 2);
  EXPECT_EQ(pc.stats().evicted_blocks, 3);
  EXPECT_EQ(c.free_blocks(), kPool - 2);
  EXPECT_EQ(restore(pc, c, t).tokens, 2 * kBt);
}

TEST(PrefixCache, EvictingAMappedLeafOnlyDropsTheTreesReference) {
  KvCache c = pool();
  PrefixCache pc(opts(1), c);
  auto t = seq(100, 2 * kBt);
  prefill(c, 0, t, int64_t(t.size()));
  pc.store(t, int64_t(t.size()), c, 0);  // block 1 is over the budget
  EXPECT_EQ(pc.stats().ram_blocks, 1);
  EXPECT_EQ(pc.stats().evicted_blocks, 1);
  EXPECT_EQ(c.refs(c.block(0, 0)), 2);
  EXPECT_EQ(c.refs(c.block(0, 1)), 1);  // the running sequence still reads it
  expect_rows(c, 0, t, 0, int64_t(t.size()));
  c.clear_slot(0);
  EXPECT_EQ(c.free_blocks(), kPool - 1);
}

TEST(PrefixCache, ZeroVWidth) {  // MLA: the latent lives in k
  TempDir d;
  auto t = seq(100, 3 * kBt);
  {
    KvCache c = pool(kPool, 0);
    PrefixCache pc(disk_opts(d, 1), c);
    store(pc, c, t);
    EXPECT_EQ(pc.block_bytes(), kLayer * kBt * kK * 4);
    auto hit = restore(pc, c, t);
    EXPECT_EQ(hit.tokens, 3 * kBt);
    EXPECT_GT(hit.from_disk, 0);
    pc.flush();
  }
  KvCache c = pool(kPool, 0);
  PrefixCache pc(disk_opts(d), c);
  EXPECT_EQ(restore(pc, c, t).from_disk, 3 * kBt);
}

TEST(PrefixCache, WrongCacheOrSlotIsAnError) {
  KvCache c = pool(), other = pool();
  PrefixCache pc(opts(), c);
  auto t = seq(100, 2 * kBt);
  prefill(other, 0, t, 2 * kBt);
  EXPECT_NE(error_of([&] { pc.restore(t, 2 * kBt, other, 0); }).find("not the KV cache"), std::string::npos);
  EXPECT_NE(error_of([&] { pc.store(t, 2 * kBt, other, 0); }).find("not the KV cache"), std::string::npos);
  EXPECT_NE(error_of([&] { pc.store(t, 2 * kBt, c, kSlot); }).find("slot 3 out of range"), std::string::npos);
  EXPECT_NE(error_of([&] { pc.restore(t, 2 * kBt, c, -1); }).find("slot -1 out of range"), std::string::npos);
  EXPECT_NE(error_of([&] { pc.store(t, 2 * kBt + 1, c, 0); }).find("33 tokens asked"), std::string::npos);
  EXPECT_NE(error_of([&] { pc.store(t, 2 * kBt, c, 0); }).find("block 0 of slot 0 is not mapped"), std::string::npos);
  EXPECT_EQ(pc.stats().ram_blocks, 0);
  EXPECT_EQ(c.free_blocks(), kPool);
  KvCache flat(kLayer, kSlot, kCtx, 0, kV, 4);
  EXPECT_NE(error_of([&] { PrefixCache bad(opts(), flat); }).find("k row 0 bytes"), std::string::npos);
}

TEST(PrefixCache, FailedStoreLeavesAdoptedBlocksEvictable) {
  KvCache c = pool();
  PrefixCache pc(opts(), c);
  auto t = seq(100, 2 * kBt);
  prefill(c, 2, t, kBt);  // block 1 never mapped: an engine bug, reported as an Error
  EXPECT_NE(error_of([&] { pc.store(t, 2 * kBt, c, 2); }).find("block 1 of slot 2 is not mapped"), std::string::npos);
  c.clear_slot(2);
  // Whatever the failed call adopted is reported, and must not stay pinned: the pool would
  // leak it for good.
  EXPECT_EQ(pc.stats().ram_blocks, kPool - c.free_blocks());
  pc.reclaim(kPool);
  EXPECT_EQ(pc.stats().ram_blocks, 0);
  EXPECT_EQ(c.free_blocks(), kPool);
}

TEST(PrefixCache, RestoreMapsTheSameBlocksWithoutCopying) {
  KvCache c(kLayer, kSlot, kCtx, kK, kV);  // fully mapped: every slot starts with blocks of its own
  PrefixCache pc(opts(), c);
  EXPECT_EQ(c.free_blocks(), 0);
  auto t = seq(100, 3 * kBt + 5);
  fill(c, 0, t, int64_t(t.size()));
  pc.store(t, int64_t(t.size()), c, 0);
  for (int64_t b = 0; b < 3; ++b) EXPECT_EQ(c.refs(c.block(0, b)), 2) << b;  // slot + tree
  EXPECT_EQ(c.refs(c.block(0, 3)), 1);
  const auto own1 = table_of(c, 1);
  auto hit = pc.restore(t, int64_t(t.size()) - 1, c, 1);
  EXPECT_EQ(hit.tokens, 3 * kBt);
  for (int64_t b = 0; b < 3; ++b) {
    EXPECT_EQ(c.block(1, b), c.block(0, b)) << b;
    EXPECT_EQ(c.refs(c.block(0, b)), 3) << b;  // slot 0 + tree + slot 1
    EXPECT_EQ(c.k(1, 1, b * kBt), c.k(1, 0, b * kBt));
  }
  for (int64_t b = 3; b < kSlotBlocks; ++b) EXPECT_EQ(c.block(1, b), own1[size_t(b)]) << b;
  EXPECT_EQ(c.free_blocks(), 3);  // slot 1's own blocks under the prefix, released by the mapping
  expect_rows(c, 1, t, 0, hit.tokens);
  EXPECT_EQ(pc.restore(t, int64_t(t.size()), c, 2).tokens, 3 * kBt);
  EXPECT_EQ(c.refs(c.block(2, 0)), 4);
  EXPECT_EQ(pc.stats().ram_blocks, 3);  // sharing costs the tree nothing
}

TEST(PrefixCache, ClearedSlotsLeaveBlocksToTheTree) {
  KvCache c(kLayer, kSlot, kCtx, kK, kV);
  PrefixCache pc(opts(), c);
  auto t = seq(100, 3 * kBt);
  fill(c, 0, t, int64_t(t.size()));
  pc.store(t, int64_t(t.size()), c, 0);
  ASSERT_EQ(pc.restore(t, int64_t(t.size()), c, 1).tokens, 3 * kBt);
  const auto shared = table_of(c, 0);
  c.clear_slot(0);
  c.clear_slot(1);
  for (int64_t b = 0; b < 3; ++b) EXPECT_EQ(c.refs(shared[size_t(b)]), 1) << b;
  EXPECT_EQ(c.free_blocks(), 2 * kSlotBlocks - 3);
  EXPECT_EQ(pc.stats().ram_blocks, 3);
  EXPECT_EQ(restore(pc, c, t).tokens, 3 * kBt);
}

TEST(PrefixCache, ReclaimFreesOnlyBlocksNoSlotMaps) {
  KvCache c = pool();
  PrefixCache pc(opts(), c);
  auto a = seq(100, 3 * kBt), x = seq(200, kBt), z = seq(300, kBt);
  store(pc, c, a);
  store(pc, c, x);
  store(pc, c, z);
  ASSERT_EQ(pc.restore(a, int64_t(a.size()), c, 1).tokens, 3 * kBt);  // a is now the newest, and in use
  const int64_t free0 = c.free_blocks();
  EXPECT_EQ(free0, kPool - 5);
  EXPECT_EQ(pc.reclaim(1), 1);  // x: the least recently used
  EXPECT_EQ(c.free_blocks(), free0 + 1);
  EXPECT_EQ(pc.reclaim(10), 1);  // z; a2 is mapped and a0, a1 are interior
  EXPECT_EQ(c.free_blocks(), free0 + 2);
  EXPECT_EQ(pc.reclaim(10), 0);
  auto s = pc.stats();
  EXPECT_EQ(s.ram_blocks, 3);
  EXPECT_EQ(s.evicted_blocks, 2);
  expect_rows(c, 1, a, 0, 3 * kBt);
  c.clear_slot(1);
  EXPECT_EQ(c.free_blocks(), free0 + 2);  // the tree still holds a
  EXPECT_EQ(pc.reclaim(2), 2);            // a2, then a1, which that made a leaf
  EXPECT_EQ(c.free_blocks(), free0 + 4);
  EXPECT_EQ(pc.stats().ram_blocks, 1);
  EXPECT_EQ(restore(pc, c, a).tokens, kBt);
  EXPECT_EQ(restore(pc, c, x).tokens, 0);
  EXPECT_EQ(restore(pc, c, z).tokens, 0);
}

TEST(PrefixCache, DiskRestoreReclaimsWhenThePoolIsFull) {
  TempDir d;
  auto a = seq(100, 2 * kBt), x = seq(500, kBt), y = seq(600, kBt);
  {
    KvCache c = pool();
    PrefixCache pc(disk_opts(d), c);
    store(pc, c, a);
    pc.flush();
  }
  KvCache c = pool(4);
  PrefixCache pc(disk_opts(d), c);
  store(pc, c, x);
  store(pc, c, y);
  prefill(c, 2, seq(900, 2 * kBt), 2 * kBt);  // another sequence takes the rest
  ASSERT_EQ(c.free_blocks(), 0);
  auto hit = pc.restore(a, int64_t(a.size()), c, 1);
  EXPECT_EQ(hit.tokens, 2 * kBt);
  EXPECT_EQ(hit.from_disk, 2 * kBt);
  expect_rows(c, 1, a, 0, 2 * kBt);
  auto s = pc.stats();
  EXPECT_EQ(s.evicted_blocks, 2);  // x, then y
  EXPECT_EQ(s.written_blocks, 2);
  EXPECT_EQ(s.ram_blocks, 2);
  EXPECT_EQ(c.free_blocks(), 0);
  // Now every block is in use: no room, so no hit, but the file is not to blame.
  hit = pc.restore(x, kBt, c, 0);
  EXPECT_EQ(hit.tokens, 0);
  EXPECT_EQ(c.block(0, 0), -1);
  EXPECT_TRUE(fs::exists(pc.disk_path(x, 1)));
  EXPECT_EQ(pc.stats().disk_rejected_blocks, 0);
  c.clear_slot(2);
  EXPECT_EQ(restore(pc, c, x).from_disk, kBt);
}

TEST(PrefixCache, OnDemandSlotRoundTrip) {
  KvCache c = pool();
  PrefixCache pc(opts(), c);
  EXPECT_EQ(c.block(0, 0), -1);
  auto t = seq(100, 2 * kBt + 3);
  for (int64_t b = 0; b < 3; ++b) c.map(0, b, c.alloc());
  fill(c, 0, t, int64_t(t.size()));
  const auto written = table_of(c, 0);
  pc.store(t, int64_t(t.size()), c, 0);
  c.clear_slot(0);
  EXPECT_EQ(c.free_blocks(), kPool - 2);  // the partial third block was the sequence's alone
  auto hit = pc.restore(t, int64_t(t.size()), c, 2);
  EXPECT_EQ(hit.tokens, 2 * kBt);
  expect_rows(c, 2, t, 0, 2 * kBt);
  EXPECT_EQ(c.block(2, 0), written[0]);
  EXPECT_EQ(c.block(2, 1), written[1]);
  EXPECT_EQ(c.block(2, 2), -1);
  EXPECT_EQ(c.refs(written[0]), 2);
}

TEST(PrefixCache, EvictedBlocksComeBackFromDisk) {
  TempDir d;
  KvCache c = pool();
  PrefixCache pc(disk_opts(d, 2), c);
  auto a = seq(100, 3 * kBt), b = seq(500, 3 * kBt);
  store(pc, c, a);  // a2 evicted at once: a0, a1 stay
  store(pc, c, b);  // all of a older than b: a1, a0, then b2 go
  auto s = pc.stats();
  EXPECT_EQ(s.ram_blocks, 2);
  EXPECT_EQ(s.evicted_blocks, 4);
  EXPECT_EQ(s.written_blocks, 4);
  EXPECT_EQ(s.disk_blocks, 4);
  EXPECT_EQ(files_in(d.path("kv")), 4);
  EXPECT_EQ(c.free_blocks(), kPool - 2);
  auto hit = restore(pc, c, a);
  EXPECT_EQ(hit.tokens, 3 * kBt);
  EXPECT_EQ(hit.from_disk, 3 * kBt);
  EXPECT_EQ(pc.stats().disk_hit_tokens, 3 * kBt);
  EXPECT_LE(pc.stats().ram_blocks, 2);
  EXPECT_EQ(pc.stats().written_blocks, 6);  // b0, b1 made room; a's blocks were already on disk
  EXPECT_EQ(c.free_blocks(), kPool - pc.stats().ram_blocks);
  hit = restore(pc, c, b);
  EXPECT_EQ(hit.tokens, 3 * kBt);
}

// The engine writes finished blocks while idle: oldest first (parents before children), a few
// at a time, each once; a new instance (a restart after a crash: no flush) finds them.
TEST(PrefixCache, WriteBehindWritesParentsFirstAndOnce) {
  TempDir d;
  auto a = seq(300, 3 * kBt), b = a;
  b[2 * kBt + 1] = 7;
  {
    KvCache c = pool();
    PrefixCache pc(disk_opts(d), c);
    EXPECT_FALSE(pc.has_unwritten());
    store(pc, c, a);
    store(pc, c, b);
    EXPECT_TRUE(pc.has_unwritten());
    EXPECT_EQ(pc.write_behind(2), 2);
    EXPECT_TRUE(fs::exists(pc.disk_path(a, 1)));
    EXPECT_TRUE(fs::exists(pc.disk_path(a, 2)));
    EXPECT_FALSE(fs::exists(pc.disk_path(a, 3)));
    EXPECT_EQ(pc.write_behind(10), 2);
    EXPECT_FALSE(pc.has_unwritten());
    EXPECT_EQ(pc.write_behind(10), 0);
    EXPECT_EQ(pc.stats().written_blocks, 4);
    pc.flush();  // nothing left to write
    EXPECT_EQ(pc.stats().written_blocks, 4);
  }
  KvCache c = pool();
  PrefixCache pc(disk_opts(d), c);
  auto hit = restore(pc, c, b, 3 * kBt);
  EXPECT_EQ(hit.tokens, 3 * kBt);
  EXPECT_EQ(hit.from_disk, 3 * kBt);
  EXPECT_FALSE(pc.has_unwritten());  // blocks read from disk are already there
}

TEST(PrefixCache, WriteBehindWithoutDiskTierIsANoOp) {
  KvCache c = pool();
  PrefixCache pc(PrefixCacheOptions{}, c);
  store(pc, c, seq(5, 2 * kBt));
  EXPECT_FALSE(pc.has_unwritten());
  EXPECT_EQ(pc.write_behind(4), 0);
}

TEST(PrefixCache, FlushThenRestartRestoresFromDisk) {
  TempDir d;
  auto a = seq(100, 3 * kBt), b = a;
  b[2 * kBt + 2] = 1;
  {
    KvCache c = pool();
    PrefixCache pc(disk_opts(d), c);
    store(pc, c, a);
    store(pc, c, b);
    EXPECT_EQ(pc.stats().disk_blocks, 0);
    pc.flush();
    EXPECT_EQ(pc.stats().disk_blocks, 4);
    EXPECT_EQ(pc.stats().written_blocks, 4);
    EXPECT_EQ(pc.stats().ram_blocks, 4);  // flushing keeps them in memory too
    pc.flush();                           // nothing new
    EXPECT_EQ(pc.stats().written_blocks, 4);
  }
  KvCache c = pool();
  PrefixCache pc(disk_opts(d), c);
  auto s = pc.stats();
  EXPECT_EQ(s.disk_blocks, 4);
  int64_t bytes = 0;  // a file holds its whole token prefix: later blocks' files are larger
  for (const auto& p : {pc.disk_path(a, 1), pc.disk_path(a, 2), pc.disk_path(a, 3), pc.disk_path(b, 3)})
    bytes += int64_t(fs::file_size(p));
  EXPECT_EQ(s.disk_bytes, bytes);
  EXPECT_EQ(s.ram_blocks, 0);
  EXPECT_EQ(c.free_blocks(), kPool);
  auto hit = restore(pc, c, a);
  EXPECT_EQ(hit.tokens, 3 * kBt);
  EXPECT_EQ(hit.from_disk, 3 * kBt);
  EXPECT_EQ(c.free_blocks(), kPool - 3);  // read into pool blocks, which the tree now holds
  hit = restore(pc, c, b, 3 * kBt - 1);
  EXPECT_EQ(hit.tokens, 2 * kBt);
  EXPECT_EQ(hit.from_disk, 0);  // blocks 0 and 1 are in memory now
}

TEST(PrefixCache, DestructorDoesNotFlush) {
  TempDir d;
  KvCache c = pool();
  auto a = seq(100, 2 * kBt);
  {
    PrefixCache pc(disk_opts(d), c);
    store(pc, c, a);
  }
  EXPECT_EQ(c.free_blocks(), kPool);  // but it does give the tree's blocks back
  PrefixCache pc(disk_opts(d), c);
  EXPECT_EQ(pc.stats().disk_blocks, 0);
  EXPECT_EQ(restore(pc, c, a).tokens, 0);
}

class PrefixCacheCorrupt : public ::testing::Test {
 protected:
  // Three blocks of `a_` on disk; returns a new instance on the directory.
  std::unique_ptr<PrefixCache> reopen() { return std::make_unique<PrefixCache>(disk_opts(d_), c_); }
  void SetUp() override {
    auto pc = reopen();
    store(*pc, c_, a_);
    pc->flush();
    for (int64_t b = 1; b <= 3; ++b) path_[b] = pc->disk_path(a_, b);
  }
  TempDir d_;
  KvCache c_ = pool();
  std::vector<int32_t> a_ = seq(100, 3 * kBt);
  std::string path_[4];
};

// Another local user's block, sound in every byte but not ours: never read (as root, the test
// hands one of the files to "nobody").
TEST_F(PrefixCacheCorrupt, BlockOwnedByAnotherUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a file away";
  ASSERT_EQ(::chown(path_[2].c_str(), 65534, 65534), 0);
  auto pc = reopen();
  EXPECT_EQ(restore(*pc, c_, a_).tokens, kBt);
  EXPECT_EQ(pc->stats().disk_blocks, 2);
}

// The blocks hold prompts: the directory is made 0700 and the files 0600 whatever the umask;
// a directory of ours that others may write is closed at start-up, and one that belongs to
// another user (as root: handed to "nobody") is refused.
TEST_F(PrefixCacheCorrupt, PrivateDirectoryAndFiles) {
  const std::string dir = fs::path(path_[1]).parent_path().string();
  struct stat st {};
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat(path_[1].c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::chmod(dir.c_str(), 0777), 0);
  reopen();
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  if (::geteuid() != 0) return;
  ASSERT_EQ(::chown(dir.c_str(), 65534, 65534), 0);
  try {
    reopen();
    ADD_FAILURE() << "a cache directory of another user was accepted";
  } catch (const frugal::Error& e) {
    EXPECT_NE(std::string(e.what()).find("belongs to another user"), std::string::npos) << e.what();
  }
  ASSERT_EQ(::chown(dir.c_str(), 0, 0), 0);
}

TEST_F(PrefixCacheCorrupt, FlippedByteInRows) {
  flip_byte(path_[2], int64_t(fs::file_size(path_[2])) / 2);
  auto pc = reopen();
  auto hit = restore(*pc, c_, a_);
  EXPECT_EQ(hit.tokens, kBt);
  EXPECT_FALSE(fs::exists(path_[2]));
  EXPECT_TRUE(fs::exists(path_[3]));  // unreachable until block 2 is stored again, but sound
  EXPECT_EQ(pc->stats().disk_rejected_blocks, 1);
  EXPECT_EQ(pc->stats().disk_blocks, 2);
  EXPECT_EQ(c_.free_blocks(), kPool - 1);  // the block read for the bad file went back
}

TEST_F(PrefixCacheCorrupt, FlippedByteInEveryRegion) {
  const int64_t size = int64_t(fs::file_size(path_[1]));
  const int64_t rows = 64 + 4 * kBt;
  // magic, version, fingerprint, shapes, prefix length, chain, tokens, rows, checksum
  for (int64_t offset : {int64_t(0), int64_t(6), int64_t(9), int64_t(20), int64_t(50), int64_t(60), int64_t(64),
                         int64_t(70), rows, size / 2, size - 9, size - 1}) {
    SCOPED_TRACE(offset);
    flip_byte(path_[1], offset);
    auto pc = reopen();
    EXPECT_EQ(restore(*pc, c_, a_).tokens, 0);
    EXPECT_FALSE(fs::exists(path_[1]));
    store(*pc, c_, a_);
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
    EXPECT_EQ(restore(*pc, c_, a_).tokens, 0);
    EXPECT_FALSE(fs::exists(path_[1]));
    store(*pc, c_, a_);
    pc->flush();
  }
}

TEST_F(PrefixCacheCorrupt, ChainHashCollision) {
  // What a 64-bit collision would leave: a sound file of another prefix, under this block's name
  // and with this block's chain hash in its header. Only the stored tokens tell.
  auto b = a_;
  b[kBt + 5] = 9;  // block 1 differs
  std::string other;
  {
    auto pc = reopen();
    store(*pc, c_, b);
    pc->flush();
    other = read_all(pc->disk_path(b, 2));
  }
  const std::string mine = read_all(path_[2]);
  ASSERT_EQ(other.size(), mine.size());
  other.replace(56, 8, mine, 56, 8);
  const size_t head = 64 + 4 * 2 * size_t(kBt);
  const uint64_t sum = hash_bytes(other.data() + head, other.size() - head - 8, hash_bytes(other.data(), head, 0));
  other.replace(other.size() - 8, 8, reinterpret_cast<const char*>(&sum), 8);
  write_all(path_[2], other);
  auto pc = reopen();
  EXPECT_EQ(restore(*pc, c_, a_).tokens, kBt);
  EXPECT_FALSE(fs::exists(path_[2]));
  EXPECT_EQ(pc->stats().disk_rejected_blocks, 1);
}

TEST_F(PrefixCacheCorrupt, FileRemovedBehindOurBack) {
  auto pc = reopen();
  fs::remove(path_[2]);
  EXPECT_EQ(restore(*pc, c_, a_).tokens, kBt);
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
  EXPECT_EQ(restore(*pc, c_, a_).tokens, 3 * kBt);
}

TEST(PrefixCache, ForeignModelFilesAreIgnored) {
  TempDir d;
  KvCache c = pool();
  auto a = seq(100, 2 * kBt);
  {
    PrefixCache pc(disk_opts(d), c);
    store(pc, c, a);
    pc.flush();
  }
  PrefixCacheOptions o = disk_opts(d);
  o.model_fingerprint = 43;
  {
    PrefixCache other(o, c);
    EXPECT_EQ(other.stats().disk_blocks, 2);  // its files count against the directory's budget
    EXPECT_EQ(restore(other, c, a).tokens, 0);
    // Even a file renamed to this model's name is refused (the header is compared, not the name).
    PrefixCache mine(disk_opts(d), c);
    fs::copy_file(mine.disk_path(a, 1), other.disk_path(a, 1));
  }
  PrefixCache other(o, c);
  EXPECT_EQ(restore(other, c, a).tokens, 0);
  EXPECT_EQ(other.stats().disk_rejected_blocks, 1);
  EXPECT_FALSE(fs::exists(other.disk_path(a, 1)));
  PrefixCache mine(disk_opts(d), c);  // the first model's own files are untouched
  EXPECT_EQ(restore(mine, c, a).tokens, 2 * kBt);
  // Another layout (KV widths) does not see them either.
  KvCache wide(kLayer, kSlot, kCtx, kK + 4, kV, kPool);
  PrefixCache wider(disk_opts(d), wide);
  EXPECT_EQ(restore(wider, wide, a).tokens, 0);
  EXPECT_EQ(wider.stats().disk_rejected_blocks, 0);  // other names: never opened
}

TEST(PrefixCache, DiskBudgetRemovesLeastRecentlyUsedFiles) {
  TempDir d;
  int64_t file_bytes;
  {
    KvCache c = pool();
    PrefixCache probe(disk_opts(d), c);
    store(probe, c, seq(0, kBt));
    probe.flush();
    file_bytes = probe.stats().disk_bytes;
  }
  fs::remove_all(d.path("kv"));
  PrefixCacheOptions o = disk_opts(d, 1);
  o.disk_bytes = 3 * file_bytes;  // one-block prefixes: every file is the same size
  KvCache c = pool();
  PrefixCache pc(o, c);
  std::vector<std::vector<int32_t>> t;
  for (int i = 0; i < 6; ++i) t.push_back(seq(1000 * (i + 1), kBt));
  for (int i = 0; i < 4; ++i) store(pc, c, t[size_t(i)]);  // t0..t2 to disk; t3 in memory
  EXPECT_EQ(pc.stats().disk_blocks, 3);
  EXPECT_EQ(restore(pc, c, t[0]).from_disk, kBt);  // t0 is now the most recent use; t3 goes to disk
  EXPECT_EQ(pc.stats().disk_blocks, 3);            // t1, the least recent, removed
  EXPECT_EQ(pc.stats().disk_bytes, 3 * file_bytes);
  EXPECT_EQ(files_in(d.path("kv")), 3);
  EXPECT_EQ(restore(pc, c, t[1]).tokens, 0);
  EXPECT_EQ(restore(pc, c, t[2]).tokens, kBt);
  EXPECT_EQ(restore(pc, c, t[3]).tokens, kBt);
  EXPECT_LE(pc.stats().disk_bytes, o.disk_bytes);
}

TEST(PrefixCache, DiskBudgetAppliesAtStartUpByMtime) {
  TempDir d;
  std::vector<std::vector<int32_t>> t;
  for (int i = 0; i < 4; ++i) t.push_back(seq(1000 * (i + 1), kBt));
  int64_t file_bytes;
  {
    KvCache c = pool();
    PrefixCache pc(disk_opts(d), c);
    for (int i = 0; i < 4; ++i) store(pc, c, t[size_t(i)]);
    pc.flush();
    file_bytes = pc.stats().disk_bytes / 4;
    // Ages set explicitly: file mtimes are too coarse to order writes made in a row.
    auto now = fs::file_time_type::clock::now();
    for (int i = 0; i < 4; ++i)
      fs::last_write_time(pc.disk_path(t[size_t(i)], 1), now - std::chrono::hours(i == 2 ? 9 : 4 - i));
  }
  PrefixCacheOptions o = disk_opts(d);
  o.disk_bytes = 2 * file_bytes;
  KvCache c = pool();
  PrefixCache pc(o, c);  // t2 (9 h) and t0 (4 h) are the oldest
  EXPECT_EQ(pc.stats().disk_blocks, 2);
  EXPECT_EQ(restore(pc, c, t[0]).tokens, 0);
  EXPECT_EQ(restore(pc, c, t[1]).tokens, kBt);
  EXPECT_EQ(restore(pc, c, t[2]).tokens, 0);
  EXPECT_EQ(restore(pc, c, t[3]).tokens, kBt);
}

TEST(PrefixCache, UnusableDiskDirIsAnError) {
  TempDir d;
  KvCache c = pool();
  std::ofstream(d.path("file")) << "x";
  PrefixCacheOptions o = opts();
  o.disk_dir = d.path("file") + "/kv";
  std::string err = error_of([&] { PrefixCache pc(o, c); });
  EXPECT_NE(err.find("cannot create directory " + o.disk_dir), std::string::npos) << err;
  o.disk_dir = d.path("file");
  err = error_of([&] { PrefixCache pc(o, c); });
  EXPECT_NE(err.find(o.disk_dir), std::string::npos) << err;
}

TEST(PrefixCache, DiskWriteFailureLosesBlockButDoesNotThrow) {
  TempDir d;
  KvCache c = pool();
  PrefixCache pc(disk_opts(d, 1), c);
  fs::remove_all(d.path("kv"));  // the directory vanishes under a running server
  auto t = seq(100, 2 * kBt);
  store(pc, c, t);
  EXPECT_EQ(pc.stats().disk_write_errors, 1);
  EXPECT_EQ(pc.stats().written_blocks, 0);
  EXPECT_EQ(c.free_blocks(), kPool - 1);  // the lost block is not leaked either
  EXPECT_EQ(restore(pc, c, t).tokens, kBt);
  std::string err = error_of([&] { pc.flush(); });
  EXPECT_NE(err.find("cannot write"), std::string::npos) << err;
}

TEST(PrefixCache, StatsFromAnotherThread) {
  KvCache c = pool();
  PrefixCache pc(opts(4), c);
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done) {
      auto s = pc.stats();
      ASSERT_EQ(s.ram_bytes, s.ram_blocks * pc.block_bytes());
      ASSERT_LE(s.ram_blocks, 4);
    }
  });
  for (int i = 0; i < 200; ++i) store(pc, c, seq(i * 100, 2 * kBt));
  done = true;
  reader.join();
  EXPECT_EQ(pc.stats().ram_blocks, 4);
  EXPECT_EQ(c.free_blocks(), kPool - 4);
}
