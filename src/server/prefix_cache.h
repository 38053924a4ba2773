// The server's prefix cache: copies of KV rows in blocks of block_tokens tokens, so that a
// request whose prompt starts with a prefix seen before gets those rows copied into its slot
// (a memcpy of megabytes) instead of recomputing them (a prefill).
//
// Blocks form a radix tree over token ids at block granularity: the node of block i is its
// parent (blocks 0..i-1) plus its block_tokens ids, so a block shared by many prompts is stored
// once. A node is referenced by its children and pinned while it is being copied; only
// unreferenced leaves are evicted, least recently used first, so a cached prefix never loses a
// block in its middle. With a disk tier (disk_cache.h), evicted blocks are written to disk and
// read back when a prefix needs them again, also after a restart.
//
// The engine calls restore/store/flush from its scheduler thread only; stats() may be called
// from any thread. Disk I/O errors after start-up never fail restore or store (a cache must not
// fail a request): the block is dropped and counted in stats().
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "model/kv_cache.h"

namespace frugal::server {

class DiskCache;

struct PrefixCacheOptions {
  int64_t block_tokens = 64;
  int64_t ram_bytes = 1ll << 30;   // budget for block data in memory; LRU leaves evicted beyond it
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
  // Widths are floats per token and layer, as in KvCache (v_width may be 0: MLA keeps its
  // latent in k). With a disk_dir, Error if it cannot be created or written.
  PrefixCache(const PrefixCacheOptions& o, int64_t n_layer, int64_t k_width, int64_t v_width);
  ~PrefixCache();  // does NOT flush; call flush() explicitly (graceful shutdown)
  PrefixCache(const PrefixCache&) = delete;
  PrefixCache& operator=(const PrefixCache&) = delete;

  struct Hit {
    int64_t tokens = 0;     // positions 0..tokens-1 of the slot now hold the prefix's rows
    int64_t from_disk = 0;  // of those, tokens whose blocks were read from disk
  };
  // Copies the rows of the longest cached prefix of tokens[0..max_tokens), whole blocks only,
  // into positions 0.. of `slot` (max_tokens is also capped by the cache's n_ctx). A caller
  // that needs logits for the last prompt token passes max_tokens = prompt size - 1. Blocks
  // found on disk are verified before use; a bad file is deleted and the prefix ends there.
  // Error only if `cache` does not have this cache's shapes or `slot` is out of range.
  Hit restore(const std::vector<int32_t>& tokens, int64_t max_tokens, KvCache& cache, int64_t slot);
  // Adds the whole blocks of tokens[0..n), whose rows are at positions 0..n-1 of `slot`, that
  // are not stored yet, then evicts least recently used leaves beyond ram_bytes (writing
  // them to disk first when there is a disk tier).
  void store(const std::vector<int32_t>& tokens, int64_t n, const KvCache& cache, int64_t slot);
  // Writes every in-memory block not yet on disk (graceful shutdown). No-op without a disk
  // tier. Error naming the first file that could not be written, after trying all.
  void flush();

  PrefixCacheStats stats() const;
  int64_t block_tokens() const { return bt_; }
  int64_t block_bytes() const { return block_floats_ * int64_t(sizeof(float)); }
  // The file of the last of the first n_blocks blocks of `tokens` (for tests and tools); "" without
  // a disk tier.
  std::string disk_path(const std::vector<int32_t>& tokens, int64_t n_blocks) const;

 private:
  struct Node;
  Node* child(Node* parent, const int32_t* ids, uint64_t key) const;
  Node* add_child(Node* parent, const int32_t* ids, uint64_t key, std::vector<float> rows);
  void ref(Node* n);
  void unref(Node* n);
  void touch(Node* n);
  void evict_to_budget();
  std::string write_to_disk(const Node* n);
  void check_cache(const KvCache& cache, int64_t slot, const char* what) const;
  void publish();

  int64_t bt_, n_layer_, k_width_, v_width_, block_floats_, ram_budget_;
  std::unique_ptr<Node> root_;           // holds no block; its chain hash seeds every other
  std::unique_ptr<DiskCache> disk_;      // null without a disk tier
  std::map<uint64_t, Node*> evictable_;  // unreferenced leaves by last use (ticks are unique)
  uint64_t tick_ = 0;
  PrefixCacheStats counters_;  // scheduler thread only

  mutable std::mutex stats_mu_;
  PrefixCacheStats published_;  // what stats() returns, under stats_mu_
};

}  // namespace frugal::server
