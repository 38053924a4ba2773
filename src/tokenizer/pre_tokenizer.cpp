#include "tokenizer/pre_tokenizer.h"

#include <utf8proc.h>

#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "tokenizer/byte_level.h"

namespace frugal {
namespace {

// The pattern ByteLevel(use_regex: true) splits with (GPT-2's).
constexpr const char* kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

std::string escape_literal(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::strchr("\\^$.|?*+()[]{}-", c) && c != '\0') out += '\\';
    out += c;
  }
  return out;
}

bool all_ascii(std::string_view s) {
  for (char c : s)
    if (uint8_t(c) >= 0x80) return false;
  return true;
}

std::string utf8proc_apply(std::string_view s, int options) {
  utf8proc_uint8_t* dst = nullptr;
  auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()), utf8proc_ssize_t(s.size()),
                        &dst, utf8proc_option_t(options));
  if (n < 0) fail("tokenizer: normalization failed: %s", utf8proc_errmsg(n));
  std::string out(reinterpret_cast<char*>(dst), size_t(n));
  std::free(dst);
  return out;
}

std::string lowercase(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    uint32_t cp;
    int n = utf8::decode(s, i, &cp);
    if (n == 0) {
      out += s[i++];
      continue;
    }
    utf8::append(out, uint32_t(utf8proc_tolower(utf8proc_int32_t(cp))));
    i += size_t(n);
  }
  return out;
}

using Ranges = std::vector<std::pair<size_t, size_t>>;

// Cuts `piece` by the matches of `re` as the behaviour says (HF tokenizers' semantics).
void split_piece(const Regex& re, const PreTokStep& spec, std::string_view piece,
                 std::vector<std::string>* out) {
  thread_local Ranges matches;
  matches.clear();
  re.find_all(piece, &matches);
  // Segments covering the piece, each flagged as "matched" (after inversion).
  struct Seg {
    size_t b, e;
    bool hit;
  };
  thread_local std::vector<Seg> segs;
  segs.clear();
  size_t prev = 0;
  for (auto [b, e] : matches) {
    if (b > prev) segs.push_back({prev, b, spec.invert});
    segs.push_back({b, e, !spec.invert});
    prev = e;
  }
  if (prev < piece.size()) segs.push_back({prev, piece.size(), spec.invert});

  // Merged*/Contiguous glue a segment onto the piece before it; HF merges a hit only into a
  // neighbour that is not a hit itself (MergedWith*), or runs of hits (Contiguous).
  std::vector<std::string> pieces;
  for (size_t k = 0; k < segs.size(); ++k) {
    const Seg& s = segs[k];
    std::string_view text = piece.substr(s.b, s.e - s.b);
    bool prev_hit = k > 0 && segs[k - 1].hit;
    bool glue = false;
    switch (spec.behavior) {
      case SplitBehavior::Removed:
        if (!s.hit) out->emplace_back(text);
        continue;
      case SplitBehavior::Isolated:
        out->emplace_back(text);
        continue;
      case SplitBehavior::MergedWithPrevious: glue = s.hit && k > 0 && !prev_hit; break;
      case SplitBehavior::MergedWithNext: glue = prev_hit && !s.hit; break;
      case SplitBehavior::Contiguous: glue = s.hit && prev_hit; break;
    }
    if (glue) pieces.back() += text;
    else pieces.emplace_back(text);
  }
  for (auto& p : pieces) out->push_back(std::move(p));
}

}  // namespace

PreTokenizer::PreTokenizer(const TextPipeline& p) : normalizers_(p.normalizers) {
  for (size_t i = 0; i < p.steps.size(); ++i) {
    const PreTokStep& s = p.steps[i];
    Step st{s, nullptr};
    if (s.kind == PreTokStep::Split) {
      st.re = std::make_unique<Regex>(s.is_regex ? s.pattern : escape_literal(s.pattern));
    } else {
      if (i + 1 != p.steps.size())
        fail("tokenizer: a pre-tokenizer after ByteLevel is not supported");
      if (s.use_regex) st.re = std::make_unique<Regex>(kGpt2Pattern);
    }
    steps_.push_back(std::move(st));
  }
}

std::string PreTokenizer::normalize(std::string_view text) const {
  std::string s(text);
  for (Normalizer n : normalizers_) {
    if (n == Normalizer::Lowercase) {
      s = lowercase(s);
      continue;
    }
    if (all_ascii(s)) continue;  // every Unicode normal form leaves ASCII unchanged
    int opt = UTF8PROC_STABLE;
    switch (n) {
      case Normalizer::NFC: opt |= UTF8PROC_COMPOSE; break;
      case Normalizer::NFD: opt |= UTF8PROC_DECOMPOSE; break;
      case Normalizer::NFKC: opt |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT; break;
      case Normalizer::NFKD: opt |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT; break;
      case Normalizer::Lowercase: break;
    }
    s = utf8proc_apply(s, opt);
  }
  return s;
}

void PreTokenizer::split(std::string_view text, std::vector<std::string>* out) const {
  std::vector<std::string> cur{std::string(text)}, next;
  for (const Step& st : steps_) {
    next.clear();
    for (auto& piece : cur) {
      if (st.spec.kind == PreTokStep::ByteLevel) {
        if (st.spec.add_prefix_space && piece.compare(0, 1, " ") != 0) piece = " " + piece;
        if (!st.re) {
          next.push_back(std::move(piece));
          continue;
        }
        PreTokStep isolated;
        split_piece(*st.re, isolated, piece, &next);
      } else {
        split_piece(*st.re, st.spec, piece, &next);
      }
    }
    cur.swap(next);
  }
  for (auto& p : cur)
    if (!p.empty()) out->push_back(std::move(p));
}

}  // namespace frugal
