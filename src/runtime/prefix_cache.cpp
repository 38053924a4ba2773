#include "runtime/prefix_cache.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <unordered_map>

#include "core/error.h"
#include "runtime/disk_cache.h"

namespace frugal {

struct PrefixCache::Node {
  Node* parent = nullptr;
  std::vector<int32_t> ids;  // this block's block_tokens tokens
  uint64_t key = 0;          // hash of ids: the key in the parent's child map
  uint64_t chain = 0;        // hash of every token through this block: the disk file's name
  std::unordered_multimap<uint64_t, std::unique_ptr<Node>> children;
  int32_t phys = -1;        // the pool block; the tree holds one reference to it
  int64_t refs = 0;         // children + pins: at 0 a node is an evictable leaf
  uint64_t born = 0;        // insertion order (key in unwritten_)
  uint64_t tick = 0;        // last use
};

namespace {

constexpr uint64_t kBlockSeed = 0x6a09e667f3bcc909ull;  // any constant: keys need not match chains

uint64_t block_key(const int32_t* ids, int64_t bt) { return hash_bytes(ids, 4 * size_t(bt), kBlockSeed); }
uint64_t chain_of(uint64_t parent_chain, uint64_t key) { return hash_bytes(&key, 8, parent_chain); }

}  // namespace

PrefixCache::PrefixCache(const PrefixCacheOptions& o, KvCache& cache)
    : cache_(cache), bt_(KvCache::kBlockTokens), n_layer_(cache.n_layer()), k_row_(cache.k_row_bytes()),
      v_row_(cache.v_row_bytes()), block_bytes_(n_layer_ * bt_ * (k_row_ + v_row_)), ram_budget_(o.ram_bytes),
      root_(std::make_unique<Node>()) {
  if (n_layer_ <= 0 || k_row_ <= 0 || v_row_ < 0)
    fail("prefix cache: bad shape: n_layer %lld, k row %lld bytes, v row %lld bytes", (long long)n_layer_,
         (long long)k_row_, (long long)v_row_);
  // Seeding every chain with the model and layout gives other models' blocks other file
  // names: two models can share a directory without ever opening each other's files.
  const int64_t layout_words[6] = {int64_t(o.model_fingerprint), bt_, n_layer_, k_row_, v_row_,
                                   int64_t(cache.type())};
  root_->chain = hash_bytes(layout_words, sizeof layout_words, 0);
  root_->refs = 1;  // never evicted
  if (!o.disk_dir.empty()) {
    disk_ = std::make_unique<DiskCache>(o.disk_dir, o.disk_bytes,
                                        BlockLayout{o.model_fingerprint ^ (uint64_t(cache.type()) << 56), bt_,
                                                    n_layer_, k_row_, v_row_});
    tick_ = disk_->last_tick();
  }
  publish();
}

PrefixCache::~PrefixCache() {
  // Iteratively: a chain of thousands of blocks would recurse as deep in ~Node.
  std::vector<std::unique_ptr<Node>> doomed;
  for (auto& [key, c] : root_->children) doomed.push_back(std::move(c));
  while (!doomed.empty()) {
    std::unique_ptr<Node> n = std::move(doomed.back());
    doomed.pop_back();
    cache_.release(n->phys);
    for (auto& [key, c] : n->children) doomed.push_back(std::move(c));
  }
}

PrefixCache::Node* PrefixCache::child(Node* parent, const int32_t* ids, uint64_t key) const {
  auto [it, end] = parent->children.equal_range(key);
  for (; it != end; ++it)
    if (std::equal(ids, ids + bt_, it->second->ids.begin())) return it->second.get();
  return nullptr;
}

PrefixCache::Node* PrefixCache::add_child(Node* parent, const int32_t* ids, uint64_t key, int32_t phys) {
  auto owned = std::make_unique<Node>();
  Node* n = owned.get();
  n->parent = parent;
  n->ids.assign(ids, ids + bt_);
  n->key = key;
  n->chain = chain_of(parent->chain, key);
  n->phys = phys;
  n->tick = ++tick_;
  n->born = ++births_;
  if (disk_) unwritten_.emplace(n->born, n);
  parent->children.emplace(key, std::move(owned));
  ref(parent);
  evictable_.emplace(n->tick, n);
  counters_.ram_blocks += 1;
  counters_.ram_bytes += block_bytes();
  return n;
}

void PrefixCache::ref(Node* n) {
  if (n->refs++ == 0) evictable_.erase(n->tick);
}

void PrefixCache::unref(Node* n) {
  if (--n->refs == 0) evictable_.emplace(n->tick, n);
}

void PrefixCache::touch(Node* n) {
  if (n->refs == 0) evictable_.erase(n->tick);
  n->tick = ++tick_;
  if (n->refs == 0) evictable_.emplace(n->tick, n);
}

std::string PrefixCache::write_to_disk(const Node* n) {
  std::vector<const Node*> path;
  for (const Node* p = n; p != root_.get(); p = p->parent) path.push_back(p);
  std::vector<int32_t> prefix;
  prefix.reserve(path.size() * size_t(bt_));
  for (auto it = path.rbegin(); it != path.rend(); ++it) prefix.insert(prefix.end(), (*it)->ids.begin(), (*it)->ids.end());
  std::vector<uint8_t> rows;
  rows_of(n->phys, rows);
  std::string err = disk_->write(n->chain, prefix.data(), int64_t(prefix.size()), rows.data(), n->tick);
  unwritten_.erase(n->born);  // written, or lost for good: not retried
  (err.empty() ? counters_.written_blocks : counters_.disk_write_errors) += 1;
  // A full disk must not flood the log: the first failure of a run of them, then every 1000th.
  if (!err.empty() && (!last_write_failed_ || counters_.disk_write_errors % 1000 == 0))
    std::fprintf(stderr, "prefix cache: disk tier degraded (%lld blocks not written so far; RAM tier only for them): %s\n",
                 (long long)counters_.disk_write_errors, err.c_str());
  if (err.empty() && last_write_failed_) std::fprintf(stderr, "prefix cache: disk tier writing again\n");
  last_write_failed_ = !err.empty();
  return err;
}

void PrefixCache::rows_of(int32_t phys, std::vector<uint8_t>& rows) const {
  rows.resize(size_t(block_bytes_));
  cache_.copy_block_out(phys, rows.data());
}

void PrefixCache::evict(Node* n) {
  evictable_.erase(n->tick);
  unwritten_.erase(n->born);
  if (disk_) {
    if (disk_->contains(n->chain))
      disk_->touch(n->chain, n->tick);
    else
      write_to_disk(n);  // on failure the block is simply lost; counted
  }
  cache_.release(n->phys);  // a sequence that maps the block keeps it
  Node* parent = n->parent;
  auto [it, end] = parent->children.equal_range(n->key);
  while (it->second.get() != n) ++it;
  parent->children.erase(it);  // n had no children (it was a leaf): no recursion
  unref(parent);
  counters_.ram_blocks -= 1;
  counters_.ram_bytes -= block_bytes();
  counters_.evicted_blocks += 1;
}

void PrefixCache::evict_to_budget() {
  while (counters_.ram_bytes > ram_budget_ && !evictable_.empty()) evict(evictable_.begin()->second);
}

int64_t PrefixCache::reclaim(int64_t want) {
  int64_t freed = 0;
  // Oldest first; a leaf that a running sequence maps would free nothing, so it stays. An
  // eviction can turn the parent into a leaf, hence the fresh scan each time.
  while (freed < want) {
    Node* victim = nullptr;
    for (auto& [tick, n] : evictable_)
      if (cache_.refs(n->phys) == 1) {
        victim = n;
        break;
      }
    if (!victim) break;
    evict(victim);
    ++freed;
  }
  if (freed) publish();
  return freed;
}

void PrefixCache::check_cache(const KvCache& cache, int64_t slot, const char* what) const {
  if (&cache != &cache_) fail("prefix cache: %s: not the KV cache whose pool holds the blocks", what);
  if (slot < 0 || slot >= cache.n_slot())
    fail("prefix cache: %s: slot %lld out of range (%lld slots)", what, (long long)slot, (long long)cache.n_slot());
}

PrefixCache::Hit PrefixCache::restore(const std::vector<int32_t>& tokens, int64_t max_tokens, KvCache& cache,
                                      int64_t slot) {
  check_cache(cache, slot, "restore");
  const int64_t limit = std::min({max_tokens, int64_t(tokens.size()), cache.n_ctx()});
  const int64_t n_blocks = std::max<int64_t>(limit, 0) / bt_;
  Hit hit;
  Node* cur = root_.get();
  ref(cur);
  std::vector<uint8_t> rows;
  for (int64_t b = 0; b < n_blocks; ++b) {
    const int32_t* ids = tokens.data() + b * bt_;
    const uint64_t key = block_key(ids, bt_);
    Node* next = child(cur, ids, key);
    bool from_disk = false;
    if (!next && disk_ && disk_->contains(chain_of(cur->chain, key))) {
      int32_t phys = cache_.alloc();
      if (phys < 0 && reclaim(1) == 1) phys = cache_.alloc();
      if (phys >= 0 && disk_->read(chain_of(cur->chain, key), tokens.data(), (b + 1) * bt_, rows, tick_)) {
        cache_.copy_block_in(phys, rows.data());
        next = add_child(cur, ids, key, phys);
        unwritten_.erase(next->born);  // its file is where it came from
        from_disk = true;
      } else if (phys >= 0) {
        cache_.release(phys);
      }
    }
    if (!next) break;
    ref(next);  // pinned until the next block is in place (or the loop ends)
    unref(cur);
    cur = next;
    touch(cur);
    cache_.retain(cur->phys);
    cache_.map(slot, b, cur->phys);
    hit.tokens += bt_;
    if (from_disk) {
      hit.from_disk += bt_;
      evict_to_budget();  // a long prefix read from disk must not overrun the budget by its length
    }
  }
  unref(cur);
  evict_to_budget();
  counters_.lookups += 1;
  counters_.hit_tokens += hit.tokens;
  counters_.disk_hit_tokens += hit.from_disk;
  publish();
  return hit;
}

void PrefixCache::store(const std::vector<int32_t>& tokens, int64_t n, KvCache& cache, int64_t slot) {
  check_cache(cache, slot, "store");
  if (n < 0 || n > int64_t(tokens.size()) || n > cache.n_ctx())
    fail("prefix cache: store: %lld tokens asked, %zu given, n_ctx %lld", (long long)n, tokens.size(),
         (long long)cache.n_ctx());
  Node* cur = root_.get();
  ref(cur);
  for (int64_t b = 0; b < n / bt_; ++b) {
    const int32_t* ids = tokens.data() + b * bt_;
    const uint64_t key = block_key(ids, bt_);
    Node* next = child(cur, ids, key);
    if (!next) {
      const int32_t phys = cache.block(slot, b);
      if (phys < 0) {
        // Blocks adopted so far stay (their rows are sound), but must not stay pinned.
        unref(cur);
        evict_to_budget();
        publish();
        fail("prefix cache: store: block %lld of slot %lld is not mapped", (long long)b, (long long)slot);
      }
      cache.retain(phys);
      next = add_child(cur, ids, key, phys);
    }
    ref(next);
    unref(cur);
    cur = next;
    touch(cur);
  }
  unref(cur);
  evict_to_budget();
  publish();
}

int64_t PrefixCache::write_behind(int64_t n) {
  int64_t written = 0;
  while (written < n && !unwritten_.empty()) {
    Node* node = unwritten_.begin()->second;
    if (disk_->contains(node->chain)) unwritten_.erase(unwritten_.begin());  // e.g. read back from disk
    else write_to_disk(node);
    ++written;
  }
  if (written) publish();
  return written;
}

void PrefixCache::flush() {
  if (!disk_) return;
  std::vector<Node*> nodes, todo{root_.get()};
  while (!todo.empty()) {
    Node* n = todo.back();
    todo.pop_back();
    if (n != root_.get()) nodes.push_back(n);
    for (auto& [key, c] : n->children) todo.push_back(c.get());
  }
  // Oldest first: when the disk budget cannot hold them all, the newest stay.
  std::sort(nodes.begin(), nodes.end(), [](const Node* a, const Node* b) { return a->tick < b->tick; });
  std::string first_error;
  int64_t failed = 0;
  for (Node* n : nodes) {
    if (disk_->contains(n->chain)) {
      disk_->touch(n->chain, n->tick);  // its mtime orders it after a restart
      unwritten_.erase(n->born);
      continue;
    }
    std::string err = write_to_disk(n);
    if (!err.empty() && failed++ == 0) first_error = err;
  }
  publish();
  if (failed) fail("prefix cache: %lld blocks not written; first: %s", (long long)failed, first_error.c_str());
}

std::string PrefixCache::disk_path(const std::vector<int32_t>& tokens, int64_t n_blocks) const {
  if (!disk_ || n_blocks < 1 || n_blocks * bt_ > int64_t(tokens.size())) return "";
  uint64_t chain = root_->chain;
  for (int64_t b = 0; b < n_blocks; ++b) chain = chain_of(chain, block_key(tokens.data() + b * bt_, bt_));
  return disk_->path_of(chain);
}

void PrefixCache::publish() {
  std::lock_guard<std::mutex> lock(stats_mu_);
  published_ = counters_;
  if (disk_) {
    published_.disk_blocks = disk_->blocks();
    published_.disk_bytes = disk_->bytes();
    published_.disk_rejected_blocks = disk_->rejected();
  }
}

PrefixCacheStats PrefixCache::stats() const {
  std::lock_guard<std::mutex> lock(stats_mu_);
  return published_;
}

}  // namespace frugal
