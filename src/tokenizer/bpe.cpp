#include "tokenizer/bpe.h"

#include <queue>

#include "tokenizer/byte_level.h"

namespace frugal {
namespace {

uint64_t pair_key(int32_t a, int32_t b) { return uint64_t(uint32_t(a)) << 32 | uint32_t(b); }

}  // namespace

Bpe::Bpe(const std::vector<std::string>& tokens, const std::vector<std::string>& merges,
         bool ignore_merges, int32_t unk_id)
    : ignore_merges_(ignore_merges), unk_id_(unk_id) {
  token_to_id_.reserve(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) token_to_id_.emplace(tokens[i], int32_t(i));
  for (int b = 0; b < 256; ++b) byte_id_[size_t(b)] = find(bytelevel::encode(std::string(1, char(b))));
  merges_.reserve(merges.size());
  for (size_t r = 0; r < merges.size(); ++r) {
    const std::string& m = merges[r];
    auto sp = m.find(' ', 1);  // a part is never empty: "  x" would be " " + "x"
    if (sp == std::string::npos) continue;
    std::string_view left(m.data(), sp), right(m.data() + sp + 1, m.size() - sp - 1);
    int32_t l = find(left), rt = find(right);
    int32_t merged = find(std::string(left) + std::string(right));
    if (l < 0 || rt < 0 || merged < 0) continue;
    merges_.emplace(pair_key(l, rt), Merge{int32_t(r), merged});  // first (lowest) rank wins
  }
}

int32_t Bpe::find(std::string_view token) const {
  auto it = token_to_id_.find(std::string(token));
  return it == token_to_id_.end() ? -1 : it->second;
}

void Bpe::encode(std::string_view word, std::vector<int32_t>* out) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    int32_t id = find(bytelevel::encode(word));
    if (id >= 0) {
      out->push_back(id);
      return;
    }
  }
  if (word.size() > kMaxCachedWord) {
    merge_word(word, out);
    return;
  }
  std::string key(word);
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      out->insert(out->end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> ids;
  merge_word(word, &ids);
  out->insert(out->end(), ids.begin(), ids.end());
  std::lock_guard<std::mutex> lock(cache_mu_);
  if (cache_.size() >= kCacheEntries) cache_.clear();  // crude bound; words repeat in bursts
  cache_.emplace(std::move(key), std::move(ids));
}

void Bpe::merge_word(std::string_view word, std::vector<int32_t>* out) const {
  const int32_t n = int32_t(word.size());
  // Symbol i starts at byte i; merged-away symbols keep id -2. Byte tokens missing from the
  // vocabulary are -1 and take part in no merge.
  struct Sym {
    int32_t id, prev, next;
  };
  std::vector<Sym> sym(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) sym[size_t(i)] = {byte_id_[uint8_t(word[size_t(i)])], i - 1, i + 1 < n ? i + 1 : -1};

  struct Cand {
    int32_t rank, left, left_id, right_id;
    bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
  };
  std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> heap;
  auto try_push = [&](int32_t left) {
    if (left < 0) return;
    int32_t right = sym[size_t(left)].next;
    if (right < 0) return;
    int32_t a = sym[size_t(left)].id, b = sym[size_t(right)].id;
    if (a < 0 || b < 0) return;
    auto it = merges_.find(pair_key(a, b));
    if (it != merges_.end()) heap.push({it->second.rank, left, a, b});
  };
  for (int32_t i = 0; i + 1 < n; ++i) try_push(i);

  while (!heap.empty()) {
    Cand c = heap.top();
    heap.pop();
    Sym& l = sym[size_t(c.left)];
    // Stale candidates: ids only ever grow into longer tokens, so a changed id on either side
    // means this pair no longer exists.
    if (l.id != c.left_id || l.next < 0 || sym[size_t(l.next)].id != c.right_id) continue;
    Sym& r = sym[size_t(l.next)];
    l.id = merges_.find(pair_key(c.left_id, c.right_id))->second.id;
    r.id = -2;
    l.next = r.next;
    if (r.next >= 0) sym[size_t(r.next)].prev = c.left;
    try_push(l.prev);
    try_push(c.left);
  }
  for (int32_t i = 0; i >= 0 && i < n; i = sym[size_t(i)].next) {
    int32_t id = sym[size_t(i)].id;
    if (id >= 0) out->push_back(id);
    else if (unk_id_ >= 0) out->push_back(unk_id_);
  }
}

}  // namespace frugal
