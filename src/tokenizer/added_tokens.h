// Finds added tokens (specials such as "<|im_end|>", and user-defined ones such as "<think>")
// in text before any normalization or pre-tokenization: at each position the longest token
// that starts there wins, scanning left to right, as the reference tokenizers do.
#pragma once
#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace frugal {

class AddedTokenMatcher {
 public:
  void add(std::string_view content, int32_t id);
  bool empty() const { return n_tokens_ == 0; }

  struct Piece {
    std::string_view text;
    int32_t id;  // -1: plain text between tokens
  };
  // Cuts text into plain-text pieces and token matches, in order; no empty plain pieces.
  void split(std::string_view text, std::vector<Piece>* out) const;

 private:
  // Trie over bytes: node 0 is the root; edges in one hash map keyed by (node, byte).
  std::unordered_map<uint64_t, int32_t> edges_;
  std::vector<int32_t> node_token_{-1};  // token id ending at each node, -1 if none
  std::bitset<256> first_byte_;
  size_t n_tokens_ = 0;
};

}  // namespace frugal
