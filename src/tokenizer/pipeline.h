// What a byte-level BPE tokenizer does to text between added tokens, before the BPE model:
// normalizers, then a sequence of pre-tokenizers (regex Splits, then ByteLevel). This is the
// data form of a tokenizer.json "normalizer" + "pre_tokenizer"; GGUF files only name it
// (tokenizer.ggml.pre), so a table maps the known names to the same pipelines.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace frugal {

enum class Normalizer { NFC, NFD, NFKC, NFKD, Lowercase };

// How the pieces a Split regex finds are kept (tokenizer.json "behavior").
enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

struct PreTokStep {
  enum Kind { Split, ByteLevel };
  Kind kind = Split;
  // Split: the pattern in tokenizer.json's regex dialect (Oniguruma-like), or a literal string.
  std::string pattern;
  bool is_regex = true;
  SplitBehavior behavior = SplitBehavior::Isolated;
  bool invert = false;
  // ByteLevel: prefix a space to each piece that lacks one; split with the GPT-2 pattern.
  bool add_prefix_space = false;
  bool use_regex = true;
  bool operator==(const PreTokStep&) const = default;
};

struct TextPipeline {
  std::vector<Normalizer> normalizers;
  std::vector<PreTokStep> steps;   // ByteLevel, if present, is the last step
  bool ignore_merges = false;      // BPE: a pre-token that is itself in the vocab is kept whole
  bool operator==(const TextPipeline&) const = default;
};

// The pipeline a GGUF tokenizer.ggml.pre names; nullopt for an unknown name.
std::optional<TextPipeline> pipeline_for_pre(std::string_view pre);
// The canonical tokenizer.ggml.pre name of a pipeline; "" if it is none of the known ones.
std::string pre_for_pipeline(const TextPipeline& p);
// Comma-separated list of the accepted names, for error messages.
std::string known_pre_names();

}  // namespace frugal
