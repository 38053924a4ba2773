// PCRE2 regexes with the semantics the reference tokenizers give tokenizer.json patterns.
// Patterns are written for Oniguruma / Rust regex; two constructs differ in PCRE2 and are
// rewritten before compiling:
//   \s, \S   -> \p{White_Space}, \P{White_Space} (PCRE2's \s also takes U+180E)
//   (?i:...) -> ASCII letters become [xX] (PCRE2 would also fold U+017F to s, U+212A to k)
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace frugal {

std::string translate_hf_regex(std::string_view pattern);

class Regex {
 public:
  // Throws Error naming the pattern and the offset if PCRE2 rejects it.
  explicit Regex(std::string_view hf_pattern);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Non-empty matches [begin, end) in valid UTF-8 `text`, left to right.
  void find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>* out) const;

 private:
  void* code_ = nullptr;  // pcre2_code_8
};

}  // namespace frugal
