#include "tokenizer/tokenizer.h"

#include "core/error.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/tokenizer_impl.h"

namespace frugal {
namespace {

// Control tokens that end a turn in the families we know, besides eos/eot/eom.
const char* const kEndOfTurnTexts[] = {
    "<|eot_id|>", "<|eom_id|>", "<|im_end|>", "<|endoftext|>", "<|end_of_text|>", "<|end|>",
    "<end_of_turn>", "<|EOT|>", "<EOT>", "<|return|>", "<|call|>",
    "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",  // <｜end▁of▁sentence｜>
};

// What String.trim() removes in the reference for lstrip/rstrip: White_Space without U+0085,
// plus U+FEFF.
bool is_space(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000 || cp == 0xFEFF;
}

std::string_view trim_start(std::string_view s) {
  size_t i = 0;
  uint32_t cp;
  for (int n; i < s.size() && (n = utf8::decode(s, i, &cp)) > 0 && is_space(cp);) i += size_t(n);
  return s.substr(i);
}

std::string_view trim_end(std::string_view s) {
  size_t e = s.size();
  while (e > 0) {
    size_t b = e - 1;
    while (b > 0 && (uint8_t(s[b]) & 0xC0) == 0x80) --b;
    uint32_t cp;
    if (utf8::decode(s, b, &cp) != int(e - b) || !is_space(cp)) break;
    e = b;
  }
  return s.substr(0, e);
}

}  // namespace

Tokenizer::Impl::Impl(TokenizerSpec spec)
    : vocab(std::move(spec.vocab)),
      pipeline(std::move(spec.pipeline)),
      pretok(pipeline),
      bpe(vocab.tokens, vocab.merges, pipeline.ignore_merges, vocab.unk_id),
      added(std::move(spec.added)) {
  const size_t n = vocab.tokens.size();
  added_index.assign(n, -1);
  for (size_t k = 0; k < added.size(); ++k) {
    const AddedTokenSpec& a = added[k];
    if (a.id < 0 || size_t(a.id) >= n) fail("tokenizer: added token id %d out of range", a.id);
    added_index[size_t(a.id)] = int32_t(k);
    const std::string& text = vocab.tokens[size_t(a.id)];
    for (int parse_special = 0; parse_special < 2; ++parse_special)
      if (parse_special || !a.special) matcher[a.normalized][parse_special].add(text, a.id);
  }
  bytes.resize(n);
  eog.assign(n, 0);
  special.assign(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const std::string& t = vocab.tokens[i];
    bytes[i] = added_index[i] >= 0 ? t : bytelevel::decode(t);
    int32_t type = i < vocab.token_types.size() ? vocab.token_types[i] : kTokenNormal;
    special[i] = type == kTokenControl;
    if (type == kTokenControl)
      for (const char* s : kEndOfTurnTexts)
        if (t == s) eog[i] = 1;
  }
  for (int32_t id : {vocab.eos_id, vocab.eot_id, vocab.eom_id})
    if (id >= 0 && size_t(id) < n) eog[size_t(id)] = 1;
}

void Tokenizer::Impl::encode_plain(std::string_view text, std::vector<int32_t>* out) const {
  thread_local std::vector<std::string> words;
  words.clear();
  pretok.split(text, &words);
  for (auto& w : words) bpe.encode(w, out);
}

// Cuts added tokens out of `text` with one matcher, applying lstrip/rstrip; calls
// on_text for the text between them and pushes the tokens' ids.
template <class OnText>
static void split_added(const Tokenizer::Impl& im, const AddedTokenMatcher& m,
                        std::string_view text, std::vector<int32_t>* out, OnText on_text) {
  if (m.empty()) {
    on_text(text);
    return;
  }
  std::vector<AddedTokenMatcher::Piece> pieces;  // per call: on_text may recurse into split_added
  m.split(text, &pieces);
  for (size_t k = 0; k < pieces.size(); ++k) {
    if (pieces[k].id < 0) continue;
    const AddedTokenSpec& a = im.added[size_t(im.added_index[size_t(pieces[k].id)])];
    if (a.lstrip && k > 0 && pieces[k - 1].id < 0) pieces[k - 1].text = trim_end(pieces[k - 1].text);
    if (a.rstrip && k + 1 < pieces.size() && pieces[k + 1].id < 0)
      pieces[k + 1].text = trim_start(pieces[k + 1].text);
  }
  for (auto& p : pieces) {
    if (p.id >= 0) out->push_back(p.id);
    else if (!p.text.empty()) on_text(p.text);
  }
}

void Tokenizer::Impl::encode_section(std::string_view raw, bool parse_special,
                                     std::vector<int32_t>* out) const {
  split_added(*this, matcher[0][parse_special], raw, out, [&](std::string_view gap) {
    std::string norm = pretok.has_normalizers() ? pretok.normalize(gap) : std::string(gap);
    split_added(*this, matcher[1][parse_special], norm, out,
                [&](std::string_view plain) { encode_plain(plain, out); });
  });
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, const EncodeOptions& o) const {
  const Impl& im = *impl_;
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 2);
  if (o.add_special && im.vocab.add_bos && im.vocab.bos_id >= 0) ids.push_back(im.vocab.bos_id);
  if (utf8::is_valid(text)) {
    im.encode_section(text, o.parse_special, &ids);
  } else {
    std::string clean = utf8::sanitize(text);
    im.encode_section(clean, o.parse_special, &ids);
  }
  if (o.add_special && im.vocab.add_eos && im.vocab.eos_id >= 0) ids.push_back(im.vocab.eos_id);
  return ids;
}

const std::string& Tokenizer::token_bytes(int32_t id) const {
  static const std::string empty;
  if (id < 0 || size_t(id) >= impl_->bytes.size()) return empty;
  return impl_->bytes[size_t(id)];
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string s;
  for (int32_t id : ids) s += token_bytes(id);
  return s;
}

Tokenizer Tokenizer::from_vocab(const Vocab& v) {
  if (v.model != "gpt2")
    fail("tokenizer: tokenizer model '%s' is not supported (only byte-level BPE, 'gpt2')", v.model.c_str());
  std::string pre = v.pre.empty() ? "default" : v.pre;
  auto pipeline = pipeline_for_pre(pre);
  if (!pipeline)
    fail("tokenizer: unknown pre-tokenizer '%s' (tokenizer.ggml.pre); known: %s", pre.c_str(),
         known_pre_names().c_str());
  if (!v.token_types.empty() && v.token_types.size() != v.tokens.size())
    fail("tokenizer: %zu token types for %zu tokens", v.token_types.size(), v.tokens.size());
  TokenizerSpec spec{v, *pipeline, {}};
  // GGUF keeps no per-token flags: control tokens are the specials, user-defined tokens the
  // other added tokens, all matched in the raw text.
  for (size_t i = 0; i < v.token_types.size(); ++i) {
    int32_t t = v.token_types[i];
    if (t == kTokenControl || t == kTokenUserDefined)
      spec.added.push_back({int32_t(i), t == kTokenControl, false, false, false});
  }
  return Tokenizer(std::make_shared<const Impl>(std::move(spec)));
}

const Vocab& Tokenizer::vocab() const { return impl_->vocab; }
const TextPipeline& Tokenizer::pipeline() const { return impl_->pipeline; }
int32_t Tokenizer::n_vocab() const { return int32_t(impl_->vocab.tokens.size()); }
int32_t Tokenizer::bos_id() const { return impl_->vocab.bos_id; }
int32_t Tokenizer::eos_id() const { return impl_->vocab.eos_id; }

bool Tokenizer::is_end_of_generation(int32_t id) const {
  return id >= 0 && size_t(id) < impl_->eog.size() && impl_->eog[size_t(id)];
}

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && size_t(id) < impl_->special.size() && impl_->special[size_t(id)];
}

std::string StreamDecoder::push(int32_t id) {
  pending_ += tok_.token_bytes(id);
  size_t hold = utf8::incomplete_tail(pending_);
  std::string ready = utf8::sanitize(std::string_view(pending_).substr(0, pending_.size() - hold));
  pending_.erase(0, pending_.size() - hold);
  return ready;
}

std::string StreamDecoder::flush() {
  std::string rest = utf8::sanitize(pending_);
  pending_.clear();
  return rest;
}

}  // namespace frugal
