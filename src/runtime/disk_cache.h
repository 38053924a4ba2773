// The prefix cache's disk tier: one file per KV block, named by the chain hash of the token
// prefix that ends with the block, so that blocks survive a restart. Nothing read back is
// trusted: a file is used only when its header matches this model and layout, its token prefix
// equals the one asked for (the name is only a hash) and its checksum holds; anything else is
// deleted. Files are written to a temporary name and renamed, without fsync: a file torn by a
// crash fails its checksum and is dropped, which costs one recomputation, not a wrong answer.
// Least recently used files are removed beyond the byte budget; at start-up the files' mtimes
// give the order, and a read refreshes the mtime so that the order survives restarts.
// The directory must be private: created 0700, made 0700 when it is ours but open to others,
// refused when it belongs to another user; files are written 0600, and a file of another
// owner is never read.
//
// File (little-endian, as the host): 64-byte header {"FRGKV1", u16 version, u64 fingerprint,
// i64 block_tokens, n_layer, k_row_bytes, v_row_bytes, prefix_tokens, u64 chain}, int32
// tokens[prefix_tokens], the rows (see BlockLayout), u64 checksum of all bytes before it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace frugal {

// The shape of one block: k rows [n_layer][block_tokens] of k_row_bytes, then v rows
// [n_layer][block_tokens] of v_row_bytes, in the KV cache's element type (the fingerprint
// covers the type), each layer's rows split by KV head as the cache holds them (version 3).
struct BlockLayout {
  uint64_t fingerprint = 0;
  int64_t block_tokens = 0, n_layer = 0, k_row_bytes = 0, v_row_bytes = 0;
  int64_t bytes() const { return n_layer * block_tokens * (k_row_bytes + v_row_bytes); }
};

// A 64-bit hash of n bytes, chained through `seed`: hash_bytes(b, hash_bytes(a, s)) covers a
// followed by b. Every step is a bijection of the state for a fixed input word, so any change
// confined to one 8-byte word (a flipped byte) always changes the result.
uint64_t hash_bytes(const void* data, size_t n, uint64_t seed);

// What a block file must start with for this layout, chain and token prefix: the header and
// the tokens, compared byte for byte on a read.
std::vector<uint8_t> block_file_head(const BlockLayout& layout, uint64_t chain, const int32_t* prefix,
                                     int64_t n_prefix);
// The checksum that ends a block file: of its head and its rows.
uint64_t block_file_checksum(const std::vector<uint8_t>& head, const uint8_t* rows, size_t row_bytes);
// Checks the whole bytes of one block file: exactly `head` (block_file_head of what was asked
// for), row_bytes of rows, their block_file_checksum, and nothing after. Returns the rows
// (inside `data`) or null for a file that is truncated, longer, of another model, layout,
// chain or prefix, or damaged. Nothing in the file is used as a size or an offset.
const uint8_t* parse_block_file(const uint8_t* data, size_t size, const std::vector<uint8_t>& head, size_t row_bytes);

class DiskCache {
 public:
  // Creates `dir` if needed and checks that a file can be written there (Error otherwise),
  // then indexes the block files already there (names, sizes and mtimes only). Every file
  // with a block file's name counts against `budget_bytes`, whichever model wrote it.
  // Ticks 1..n are given to those files, oldest first; later ticks must be larger.
  DiskCache(std::string dir, int64_t budget_bytes, const BlockLayout& layout);

  bool contains(uint64_t chain) const { return index_.count(chain) != 0; }
  // Reads the block named `chain` whose token prefix must be prefix[0..n_prefix) into `rows`
  // (layout.bytes()). False when it is missing or bad; a bad file is deleted.
  bool read(uint64_t chain, const int32_t* prefix, int64_t n_prefix, std::vector<uint8_t>& rows, uint64_t tick);
  // Writes a block last used at `tick`, then removes the least recently used files beyond
  // the budget (possibly this one). Returns "" or the error; never throws on I/O.
  std::string write(uint64_t chain, const int32_t* prefix, int64_t n_prefix, const uint8_t* rows, uint64_t tick);
  // Records a use of the file at `tick` if that is later than the last one known.
  void touch(uint64_t chain, uint64_t tick);

  std::string path_of(uint64_t chain) const;
  int64_t blocks() const { return int64_t(index_.size()); }
  int64_t bytes() const { return bytes_; }
  int64_t rejected() const { return rejected_; }  // bad files deleted so far
  uint64_t last_tick() const { return last_tick_; }  // the largest tick given at start-up

 private:
  struct Entry {
    int64_t bytes = 0;
    uint64_t tick = 0;
  };
  void scan();
  void set_tick(uint64_t chain, Entry& e, uint64_t tick);
  void remove(uint64_t chain);        // the file and its entry
  void remove_entry(uint64_t chain);  // the entry only
  void enforce_budget();
  int64_t file_bytes(int64_t n_prefix) const;

  std::string dir_;
  int64_t budget_;
  BlockLayout layout_;
  std::unordered_map<uint64_t, Entry> index_;
  std::set<std::pair<uint64_t, uint64_t>> lru_;  // (tick, chain), oldest first
  int64_t bytes_ = 0, rejected_ = 0;
  uint64_t last_tick_ = 0;
};

}  // namespace frugal
