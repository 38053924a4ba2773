#include "tokenizer/pipeline.h"

namespace frugal {
namespace {

// Patterns exactly as the tokenizer.json files spell them (after JSON decoding), so that an
// HF pre-tokenizer can be recognised by comparing strings. Note the deepseek-v3 pattern holds
// literal CR/LF characters where the others hold the escapes \r \n.
constexpr const char* kLlama3 =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+"
    "[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr const char* kQwen2 =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+"
    "[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr const char* kDsv3Digits = "\\p{N}{1,3}";
constexpr const char* kDsv3Cjk = "[\u4E00-\u9FA5\u3040-\u309F\u30A0-\u30FF]+";
constexpr const char* kDsv3Main =
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+|"
    " ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+";
// DeepSeek-LLM / -Coder (V1, V2). Three Greek Extended range ends must stay the original
// U+1F7D, U+1FD3, U+1FDB (escaped here): their NFC forms are other code points that would
// make the ranges descend.
constexpr const char* kDsLlmLetters =
    "\\s?[A-Za-z\u00B5\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BA\u01BC-\u01BF\u01C4-\u0293"
    "\u0295-\u02AF\u0370-\u0373\u0376\u0377\u037B-\u037D\u037F\u0386\u0388-\u038A\u038C"
    "\u038E-\u03A1\u03A3-\u03F5\u03F7-\u0481\u048A-\u052F\u0531-\u0556\u10A0-\u10C5"
    "\u13A0-\u13F5\u13F8-\u13FD\u1C90-\u1CBA\u1CBD-\u1CBF\u1D00-\u1D2B\u1D6B-\u1D77"
    "\u1D79-\u1D9A\u1E00-\u1F15\u1F18-\u1F1D\u1F20-\u1F45\u1F48-\u1F4D\u1F50-\u1F57\u1F59"
    "\u1F5B\u1F5D\u1F5F-\u1F7D\u1F80-\u1FB4\u1FB6-\u1FBC\u1FBE\u1FC2-\u1FC4\u1FC6-\u1FCC"
    "\u1FD0-\u1FD3\u1FD6-\u1FDB\u1FE0-\u1FEC\u1FF2-\u1FF4\u1FF6-\u1FFC\u2102\u2107"
    "\u210A-\u2113\u2115\u2119-\u211D\u2124\u2126\u2128\u212A-\u212D\u212F-\u2134\u2139"
    "\u213C-\u213F\u2145-\u2149\u214E\u2183\u2184\u2C00-\u2C7B\u2C7E-\u2CE4\u2CEB-\u2CEE"
    "\u2CF2\u2CF3\uA640-\uA66D\uA680-\uA69B\uA722-\uA76F\uA771-\uA787\uA78B-\uA78E"
    "\uAB70-\uABBF\uFB00-\uFB06\uFB13-\uFB17\uFF21-\uFF3A\uFF41-\uFF5A\U00010400-\U0001044F"
    "\U000104B0-\U000104D3\U000104D8-\U000104FB\U00010C80-\U00010CB2\U00010CC0-\U00010CF2"
    "\U000118A0-\U000118DF\U0001E900-\U0001E943]+";
constexpr const char* kDsLlmPunct =
    "\\s?[!-/:-~\uFF01-\uFF0F\uFF1A-\uFF5E\u2018-\u201F\u3000-\u3002]+";
constexpr const char* kDsCjkHangul = "[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+";

PreTokStep split(const char* pattern) {
  PreTokStep s;
  s.kind = PreTokStep::Split;
  s.pattern = pattern;
  return s;
}

PreTokStep byte_level(bool use_regex) {
  PreTokStep s;
  s.kind = PreTokStep::ByteLevel;
  s.add_prefix_space = false;
  s.use_regex = use_regex;
  return s;
}

struct Named {
  const char* name;  // canonical (what llama.cpp's converter writes)
  std::vector<const char*> aliases;
  TextPipeline pipeline;
};

const std::vector<Named>& table() {
  static const std::vector<Named> t = {
      {"llama-bpe", {"llama3", "llama-v3", "smaug-bpe"},
       {{}, {split(kLlama3), byte_level(false)}, true}},
      {"qwen2", {"qwen3", "deepseek-r1-qwen"}, {{Normalizer::NFC}, {split(kQwen2), byte_level(false)}, false}},
      {"deepseek-v3", {"deepseek3-llm"},
       {{}, {split(kDsv3Digits), split(kDsv3Cjk), split(kDsv3Main), byte_level(false)}, false}},
      {"deepseek-llm", {},
       {{},
        {split("[\r\n]"), split(kDsLlmLetters), split(kDsLlmPunct), split("\\s+$"),
         split(kDsCjkHangul), split("\\p{N}+"), byte_level(false)},
        false}},
      {"deepseek-coder", {},
       {{},
        {split("[\r\n]"), split("\\s?\\p{L}+"), split("\\s?\\p{P}+"), split(kDsCjkHangul),
         split("\\p{N}"), byte_level(false)},
        false}},
      // GPT-2 style: the ByteLevel pre-tokenizer's own regex, nothing else.
      {"gpt2", {"default"}, {{}, {byte_level(true)}, false}},
  };
  return t;
}

}  // namespace

std::optional<TextPipeline> pipeline_for_pre(std::string_view pre) {
  for (auto& n : table()) {
    if (pre == n.name) return n.pipeline;
    for (auto a : n.aliases)
      if (pre == a) return n.pipeline;
  }
  return std::nullopt;
}

std::string pre_for_pipeline(const TextPipeline& p) {
  for (auto& n : table())
    if (n.pipeline == p) return n.name;
  return "";
}

std::string known_pre_names() {
  std::string s;
  for (auto& n : table()) {
    s += s.empty() ? "" : ", ";
    s += n.name;
    for (auto a : n.aliases) s += std::string(", ") + a;
  }
  return s;
}

}  // namespace frugal
