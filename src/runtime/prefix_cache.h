// The server's prefix cache: KV blocks of finished and prefilled prompts kept in the KV cache's
// own block pool, so that a request whose prompt starts with a prefix seen before maps those
// blocks into its slot (no copy, no prefill): sequences sharing a prefix share its blocks.
//
// Blocks form a radix tree over token ids at block granularity (KvCache::kBlockTokens tokens):
// the node of block i is its parent (blocks 0..i-1) plus its ids, so a block shared by many
// prompts is stored once. The tree holds one pool reference per node; a running sequence that
// maps the block holds another. A node is referenced by its children and pinned while in use;
// only leaves are evicted, least recently used first, so a cached prefix never loses a block
// in its middle. Eviction happens beyond the memory budget and when the engine needs free
// blocks (reclaim: only blocks no sequence uses free memory). With a disk tier
// (disk_cache.h), evicted blocks are written to disk and read back into the pool when a prefix
// needs them again, also after a restart.
//
// The engine calls everything from its scheduler thread; stats() may be called from any
// thread. Disk I/O errors after start-up never fail restore or store (a cache must not fail a
// request): the block is dropped and counted in stats().
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "model/kv_cache.h"

namespace frugal {

class DiskCache;

struct PrefixCacheOptions {
  int64_t ram_bytes = 1ll << 30;   // budget for blocks the tree holds; LRU leaves evicted beyond it
  std::string disk_dir;            // empty: no disk tier
  int64_t disk_bytes = 8ll << 30;  // budget on disk; oldest (by last use) files removed beyond it
  uint64_t model_fingerprint = 0;  // files of another model (or another KV layout) are ignored
};

struct PrefixCacheStats {
  int64_t ram_blocks = 0, ram_bytes = 0, disk_blocks = 0, disk_bytes = 0;
  int64_t lookups = 0, hit_tokens = 0, disk_hit_tokens = 0, evicted_blocks = 0, written_blocks = 0;
  int64_t disk_rejected_blocks = 0;  // bad or foreign files found at a block's name, deleted
  int64_t disk_write_errors = 0;     // evicted blocks lost because their file could not be written
};

class PrefixCache {
 public:
  // Blocks live in `cache`'s pool, which every call must pass again (checked). With a
  // disk_dir, Error if it cannot be created or written.
  PrefixCache(const PrefixCacheOptions& o, KvCache& cache);
  ~PrefixCache();  // releases the tree's blocks; does NOT flush (call flush() for that)
  PrefixCache(const PrefixCache&) = delete;
  PrefixCache& operator=(const PrefixCache&) = delete;

  struct Hit {
    int64_t tokens = 0;     // positions 0..tokens-1 of the slot now hold the prefix's rows
    int64_t from_disk = 0;  // of those, tokens whose blocks were read from disk
  };
  // Maps the blocks of the longest cached prefix of tokens[0..max_tokens), whole blocks only,
  // at block indices 0.. of `slot` (max_tokens is also capped by the cache's n_ctx); whatever
  // the slot had there is released. A caller that needs logits for the last prompt token
  // passes max_tokens = prompt size - 1. Blocks found on disk are read into free pool blocks
  // and verified first; a bad file is deleted and the prefix ends there. Error only if `cache`
  // is not this cache's pool or `slot` is out of range.
  Hit restore(const std::vector<int32_t>& tokens, int64_t max_tokens, KvCache& cache, int64_t slot);
  // Adopts the whole blocks of tokens[0..n), whose rows are at positions 0..n-1 of `slot`,
  // that are not stored yet (the tree takes a reference: the slot must never write those
  // positions again), then evicts least recently used leaves beyond ram_bytes.
  void store(const std::vector<int32_t>& tokens, int64_t n, KvCache& cache, int64_t slot);
  // Frees up to n pool blocks by evicting least recently used leaves that no sequence maps
  // (written to disk first with a disk tier). Returns how many were freed.
  int64_t reclaim(int64_t n);
  // Writes up to n blocks that are only in memory, oldest first (a parent before its children),
  // and returns how many: the engine calls it when it has nothing else to do, so that finished
  // prompts reach the disk soon and a crash loses little. No-op without a disk tier.
  int64_t write_behind(int64_t n);
  bool has_unwritten() const { return !unwritten_.empty(); }
  // Writes every in-memory block not yet on disk (graceful shutdown). No-op without a disk
  // tier. Error naming the first file that could not be written, after trying all.
  void flush();

  PrefixCacheStats stats() const;
  int64_t block_tokens() const { return bt_; }
  int64_t block_bytes() const { return block_bytes_; }
  // The file of the last of the first n_blocks blocks of `tokens` (for tests and tools); "" without
  // a disk tier.
  std::string disk_path(const std::vector<int32_t>& tokens, int64_t n_blocks) const;

 private:
  struct Node;
  Node* child(Node* parent, const int32_t* ids, uint64_t key) const;
  Node* add_child(Node* parent, const int32_t* ids, uint64_t key, int32_t phys);
  void ref(Node* n);
  void unref(Node* n);
  void touch(Node* n);
  void evict_to_budget();
  void evict(Node* n);
  std::string write_to_disk(const Node* n);
  bool last_write_failed_ = false;  // the log names the first failure of a run, not each
  void check_cache(const KvCache& cache, int64_t slot, const char* what) const;
  void rows_of(int32_t phys, std::vector<uint8_t>& rows) const;  // disk layout: k rows, then v rows
  void publish();

  KvCache& cache_;
  int64_t bt_, n_layer_, k_row_, v_row_, block_bytes_, ram_budget_;  // k_row_, v_row_: bytes per row
  std::unique_ptr<Node> root_;           // holds no block; its chain hash seeds every other
  std::unique_ptr<DiskCache> disk_;      // null without a disk tier
  std::map<uint64_t, Node*> evictable_;  // unreferenced leaves by last use (ticks are unique)
  std::map<uint64_t, Node*> unwritten_;  // with a disk tier: blocks only in memory, by birth
  uint64_t births_ = 0;
  uint64_t tick_ = 0;
  PrefixCacheStats counters_;  // scheduler thread only

  mutable std::mutex stats_mu_;
  PrefixCacheStats published_;  // what stats() returns, under stats_mu_
};

}  // namespace frugal
