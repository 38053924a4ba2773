// libFuzzer target for the Hugging Face folder loaders (a model folder downloaded from a
// stranger): the first byte's low bit picks
//  0: config.json — the rest parsed as read_config does (parse_json_text: Error for a syntax
//     error or deep nesting), then hf::parse_config: architecture and hyper-parameters, or
//     Error naming the key;
//  1: the tokenizer — the rest cut at NUL bytes into tokenizer.json, tokenizer_config.json,
//     config.json and chat_template.jinja (the later ones absent when there are fewer parts),
//     loaded by Tokenizer::from_hf_files. A tokenizer that loads must encode and decode a probe
//     text, give its GGUF keys (vocab_to_gguf_kv, as open_hf_folder does) and load again from
//     that vocabulary (Tokenizer::from_vocab, the GGUF path), all without a crash.
// Anything other than a result or frugal::Error (a JSON library type_error, out_of_range, a
// bad_alloc from a size taken from the file) escapes and is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "formats/json_file.h"
#include "model/hf_folder_impl.h"
#include "model/vocab_gguf.h"
#include "tokenizer/tokenizer.h"

namespace {

void config(std::string_view text) {
  const std::string path = "/fuzz/config.json";
  const frugal::hf::ModelInfo m = frugal::hf::parse_config(frugal::parse_json_text(std::string(text), path), path);
  if (m.arch.empty() || m.kv.empty()) std::abort();
}

// Encodes and decodes the probe both ways, and asks every id's properties.
void exercise(const frugal::Tokenizer& t) {
  static const std::string probe =
      "Hello, world! It's 2024: 12345 <|im_start|>user\n<think>x</think>\t  caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC "
      "\xF0\x9F\x98\x80 <\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C> \xFF";
  for (int mode = 0; mode < 2; ++mode) {
    frugal::EncodeOptions o;
    o.add_special = mode;
    o.parse_special = !mode;
    const std::vector<int32_t> ids = t.encode(probe, o);
    for (int32_t id : ids)
      if (id < 0 || id >= t.n_vocab()) std::abort();
    (void)t.decode(ids);
    frugal::StreamDecoder sd(t);
    for (int32_t id : ids) (void)sd.push(id);
    (void)sd.flush();
  }
  for (int32_t id = -1; id <= t.n_vocab(); ++id) {
    (void)t.is_end_of_generation(id);
    (void)t.is_special(id);
    (void)t.token_bytes(id);
  }
}

void tokenizer(std::string_view text) {
  frugal::HfTokenizerFiles f;
  f.dir = "/fuzz";
  std::optional<std::string>* parts[] = {&f.tokenizer_config_json, &f.config_json, &f.chat_template_jinja};
  size_t cut = text.find('\0');
  f.tokenizer_json = std::string(text.substr(0, cut));
  for (auto* p : parts) {
    if (cut == std::string_view::npos) break;
    text.remove_prefix(cut + 1);
    cut = text.find('\0');
    *p = std::string(text.substr(0, cut));
  }
  const frugal::Tokenizer t = frugal::Tokenizer::from_hf_files(f);
  exercise(t);
  const frugal::Vocab& v = t.vocab();
  if (v.pre.empty()) return;  // no GGUF name for the pipeline: open_hf_folder writes no tokenizer keys
  (void)frugal::vocab_to_gguf_kv(v);
  exercise(frugal::Tokenizer::from_vocab(v));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    if (data[0] & 1) tokenizer(text);
    else config(text);
  } catch (const frugal::Error&) {
    // Refusing a malformed file with a message naming it is the correct outcome.
  }
  return 0;
}
