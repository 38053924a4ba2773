// Internal: the built state behind Tokenizer, and the loader-neutral description it is built
// from. Both loaders (tokenizer.json, GGUF vocab) fill a TokenizerSpec.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace frugal {

struct AddedTokenSpec {
  int32_t id = -1;
  bool special = false;     // control token: not matched when parse_special is off
  bool normalized = false;  // matched in normalized text (second pass) instead of raw text
  bool lstrip = false, rstrip = false;  // absorb whitespace on that side
};

struct TokenizerSpec {
  Vocab vocab;
  TextPipeline pipeline;
  std::vector<AddedTokenSpec> added;
};

struct Tokenizer::Impl {
  explicit Impl(TokenizerSpec spec);

  Vocab vocab;
  TextPipeline pipeline;
  PreTokenizer pretok;
  Bpe bpe;
  std::vector<AddedTokenSpec> added;  // by position; added_index maps id -> position or -1
  std::vector<int32_t> added_index;
  // [normalized pass][parse_special]
  AddedTokenMatcher matcher[2][2];
  std::vector<std::string> bytes;   // token_bytes() per id
  std::vector<uint8_t> eog, special;

  void encode_section(std::string_view raw, bool parse_special, std::vector<int32_t>* out) const;
  void encode_plain(std::string_view normalized, std::vector<int32_t>* out) const;
};

}  // namespace frugal
