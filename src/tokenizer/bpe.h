// Byte-level BPE model: turns one pre-token (raw bytes) into token ids.
//
// Merges are looked up by the pair of ids they join (a hash map from (left, right) to
// (rank, merged id)); a word is merged with a min-heap of candidate pairs ordered by
// (rank, position) over a linked list of symbols, so each merge costs O(log n) and the
// result equals the textbook "repeatedly merge the lowest-ranked pair, leftmost first".
// Results for short words are cached.
#pragma once
#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace frugal {

class Bpe {
 public:
  // `tokens` are byte-level strings indexed by id; `merges` are "left right" in rank order.
  // Merges whose parts or result are not in the vocabulary are ignored.
  Bpe(const std::vector<std::string>& tokens, const std::vector<std::string>& merges,
      bool ignore_merges, int32_t unk_id);

  // Appends the ids of one pre-token. Bytes with no token of their own become unk_id, or are
  // dropped when there is none (as the reference does).
  void encode(std::string_view word, std::vector<int32_t>* out) const;

  // Id of a byte-level string, -1 if absent.
  int32_t find(std::string_view token) const;

 private:
  void merge_word(std::string_view word, std::vector<int32_t>* out) const;

  struct Merge {
    int32_t rank;
    int32_t id;
  };
  std::unordered_map<std::string, int32_t> token_to_id_;
  std::unordered_map<uint64_t, Merge> merges_;
  std::array<int32_t, 256> byte_id_;
  bool ignore_merges_;
  int32_t unk_id_;

  static constexpr size_t kMaxCachedWord = 256;
  static constexpr size_t kCacheEntries = 1 << 16;
  mutable std::mutex cache_mu_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

}  // namespace frugal
