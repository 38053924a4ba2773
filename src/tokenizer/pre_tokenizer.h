// A TextPipeline made executable: normalizes text and cuts it into pre-tokens, the units the
// BPE model encodes independently. Thread-safe after construction.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/pipeline.h"
#include "tokenizer/regex.h"

namespace frugal {

class PreTokenizer {
 public:
  explicit PreTokenizer(const TextPipeline& p);  // throws Error on an unusable pipeline

  // Applies the normalizers to valid UTF-8 text.
  std::string normalize(std::string_view text) const;
  bool has_normalizers() const { return !normalizers_.empty(); }
  // Appends the pre-tokens of (normalized) text, as raw UTF-8 bytes (not byte-mapped).
  void split(std::string_view text, std::vector<std::string>* out) const;

 private:
  struct Step {
    PreTokStep spec;
    std::unique_ptr<Regex> re;  // Split pattern, or the GPT-2 pattern of ByteLevel(use_regex)
  };
  std::vector<Normalizer> normalizers_;
  std::vector<Step> steps_;
};

}  // namespace frugal
