#include "tokenizer/added_tokens.h"

namespace frugal {

namespace {
uint64_t edge_key(int32_t node, uint8_t b) { return uint64_t(uint32_t(node)) << 8 | b; }
}  // namespace

void AddedTokenMatcher::add(std::string_view content, int32_t id) {
  if (content.empty()) return;
  int32_t node = 0;
  for (char c : content) {
    auto [it, inserted] = edges_.try_emplace(edge_key(node, uint8_t(c)), int32_t(node_token_.size()));
    if (inserted) node_token_.push_back(-1);
    node = it->second;
  }
  if (node_token_[size_t(node)] < 0) ++n_tokens_;
  node_token_[size_t(node)] = id;  // a later duplicate content replaces the earlier id
  first_byte_.set(uint8_t(content[0]));
}

void AddedTokenMatcher::split(std::string_view text, std::vector<Piece>* out) const {
  size_t start = 0, i = 0;
  while (i < text.size()) {
    if (!first_byte_.test(uint8_t(text[i]))) {
      ++i;
      continue;
    }
    int32_t node = 0, best_id = -1;
    size_t best_end = 0;
    for (size_t j = i; j < text.size(); ++j) {
      auto it = edges_.find(edge_key(node, uint8_t(text[j])));
      if (it == edges_.end()) break;
      node = it->second;
      if (node_token_[size_t(node)] >= 0) {
        best_id = node_token_[size_t(node)];
        best_end = j + 1;
      }
    }
    if (best_id < 0) {
      ++i;
      continue;
    }
    if (i > start) out->push_back({text.substr(start, i - start), -1});
    out->push_back({text.substr(i, best_end - i), best_id});
    i = start = best_end;
  }
  if (start < text.size()) out->push_back({text.substr(start), -1});
}

}  // namespace frugal
