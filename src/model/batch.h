// A ragged batch: tokens of many sequences in one forward pass. Prefill chunks and decode
// steps of different sequences share the pass, so the weights are read once per step.
#pragma once
#include <cstdint>
#include <vector>

namespace frugal {

struct Batch {
  std::vector<int32_t> token;  // [n_tok] token ids
  std::vector<int32_t> pos;    // [n_tok] position of each token in its sequence
  std::vector<int32_t> seq;    // [n_tok] KV-cache slot of the sequence the token belongs to
  std::vector<uint8_t> logits; // [n_tok] 1 if the caller wants this token's logits

  size_t size() const { return token.size(); }
  void clear() { token.clear(); pos.clear(); seq.clear(); logits.clear(); }
  void add(int32_t tok, int32_t p, int32_t s, bool want_logits) {
    token.push_back(tok);
    pos.push_back(p);
    seq.push_back(s);
    logits.push_back(want_logits ? 1 : 0);
  }
  int64_t n_outputs() const {
    int64_t n = 0;
    for (auto l : logits) n += l;
    return n;
  }
};

}  // namespace frugal
