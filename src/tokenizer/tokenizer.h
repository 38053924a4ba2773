// Byte-level BPE tokenizer (GPT-2 family: Llama-3, Qwen2/3, DeepSeek), loaded from a Hugging
// Face tokenizer.json or from GGUF metadata (tokenizer.ggml.*), giving the same ids as the
// Hugging Face reference.
//
// encode(): added tokens are cut out of the raw text first (longest match, left to right);
// the text between them is normalized (Qwen: NFC), pre-tokenized (regex splits) and each
// pre-token is BPE-encoded from its bytes.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/pipeline.h"

namespace frugal {

// What GGUF stores (tokenizer.ggml.*): the neutral form both loaders produce.
struct Vocab {
  std::string model = "gpt2";        // tokenizer.ggml.model
  std::string pre;                   // tokenizer.ggml.pre ("" if the pipeline is not a known one)
  std::vector<std::string> tokens;   // byte-level BPE strings as in tokenizer.json (GPT-2 byte map)
  std::vector<int32_t> token_types;  // 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte
  std::vector<std::string> merges;   // "a b", priority order
  int32_t bos_id = -1, eos_id = -1, eot_id = -1, eom_id = -1, pad_id = -1, unk_id = -1;
  bool add_bos = false, add_eos = false;
  std::string chat_template;         // tokenizer.chat_template
};

enum TokenType : int32_t {
  kTokenNormal = 1, kTokenUnknown = 2, kTokenControl = 3, kTokenUserDefined = 4,
  kTokenUnused = 5, kTokenByte = 6,
};

// The files of a Hugging Face tokenizer folder, as text (nullopt: the folder lacks it).
struct HfTokenizerFiles {
  std::string dir;  // names the files in error messages
  std::string tokenizer_json;
  std::optional<std::string> tokenizer_config_json;
  std::optional<std::string> config_json;          // bos_token_id / eos_token_id fallbacks
  std::optional<std::string> chat_template_jinja;  // used when tokenizer_config.json has none
};

struct EncodeOptions {
  bool add_special = false;   // BOS/EOS as the tokenizer's configuration says
  bool parse_special = true;  // false: special (control) token text is plain text
};

class Tokenizer {
 public:
  // tokenizer.json + tokenizer_config.json (optional; add_bos_token, bos/eos/pad, chat_template).
  static Tokenizer from_hf_dir(const std::string& dir);
  // The same from the files' text (from_hf_dir reads them and calls this). Throws Error naming
  // the file for anything it cannot use.
  static Tokenizer from_hf_files(const HfTokenizerFiles& files);
  // From GGUF metadata; the text pipeline comes from vocab.pre. Throws Error for an unknown
  // pre name or a model other than "gpt2"; an empty pre is read as "default" (GPT-2).
  static Tokenizer from_vocab(const Vocab& v);

  const Vocab& vocab() const;
  const TextPipeline& pipeline() const;

  // Invalid UTF-8 in text is read as U+FFFD.
  std::vector<int32_t> encode(std::string_view text, const EncodeOptions& o = {}) const;
  // Raw bytes of one token: byte-level decoded, or an added token's text as is. Empty for an
  // id out of range.
  const std::string& token_bytes(int32_t id) const;
  // Concatenated bytes of the tokens (special tokens included, no space clean-up), which may
  // end inside a UTF-8 character; StreamDecoder for text shown incrementally.
  std::string decode(const std::vector<int32_t>& ids) const;

  int32_t n_vocab() const;
  int32_t bos_id() const;
  int32_t eos_id() const;
  // eos, eot, eom and control tokens that end a turn (<|im_end|>, <|eot_id|>, <|endoftext|>,
  // <｜end▁of▁sentence｜>, ...).
  bool is_end_of_generation(int32_t id) const;
  // Control tokens (Hugging Face "special" added tokens).
  bool is_special(int32_t id) const;

  struct Impl;

 private:
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;  // immutable, so copies are cheap and thread-safe
};

// Turns ids into text as they are generated, holding back the bytes of a character that is
// not complete yet.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& t) : tok_(t) {}
  std::string push(int32_t id);  // never returns half a UTF-8 character
  std::string flush();           // what is left (invalid bytes as U+FFFD)

 private:
  Tokenizer tok_;  // a handle: copying shares the immutable tokenizer
  std::string pending_;
};

}  // namespace frugal
