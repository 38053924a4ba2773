// Tokenizer::from_hf_dir / from_hf_files: reads a Hugging Face tokenizer.json (+
// tokenizer_config.json) into the neutral Vocab and the text pipeline, and names the pipeline
// for GGUF (tokenizer.ggml.pre) when it is one of the known ones.
#include <nlohmann/json.hpp>

#include <fstream>
#include <optional>
#include <sstream>
#include <unordered_map>

#include "core/error.h"
#include "formats/json_file.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_impl.h"

namespace frugal {
namespace {

using json = nlohmann::json;

bool read_file(const std::string& path, std::string* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::stringstream ss;
  ss << f.rdbuf();
  *out = ss.str();
  return true;
}

json parse_json(const std::string& path, const std::string& text) {
  try {
    return json::parse(text, [&path](int depth, json::parse_event_t, json&) {
      // Bounded before anything walks the tree: the readers below and the JSON library's
      // copies recurse, and a file nested a million deep would overflow the stack.
      if (depth > kMaxJsonDepth) fail("tokenizer: %s: nested deeper than %d levels", path.c_str(), kMaxJsonDepth);
      return true;
    });
  } catch (const json::exception& e) {
    fail("tokenizer: %s: %s", path.c_str(), e.what());
  }
}

std::vector<Normalizer> parse_normalizer(const json& n, const std::string& path) {
  if (n.is_null()) return {};
  std::string type = n.value("type", "");
  if (type == "Sequence") {
    std::vector<Normalizer> out;
    for (auto& sub : n.at("normalizers")) {
      auto v = parse_normalizer(sub, path);
      out.insert(out.end(), v.begin(), v.end());
    }
    return out;
  }
  if (type == "NFC") return {Normalizer::NFC};
  if (type == "NFD") return {Normalizer::NFD};
  if (type == "NFKC") return {Normalizer::NFKC};
  if (type == "NFKD") return {Normalizer::NFKD};
  if (type == "Lowercase") return {Normalizer::Lowercase};
  fail("tokenizer: %s: normalizer '%s' is not supported", path.c_str(), type.c_str());
}

SplitBehavior parse_behavior(const std::string& b, const std::string& path) {
  if (b == "Removed") return SplitBehavior::Removed;
  if (b == "Isolated") return SplitBehavior::Isolated;
  if (b == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
  if (b == "MergedWithNext") return SplitBehavior::MergedWithNext;
  if (b == "Contiguous") return SplitBehavior::Contiguous;
  fail("tokenizer: %s: unknown Split behavior '%s'", path.c_str(), b.c_str());
}

void parse_pre_tokenizer(const json& p, const std::string& path, std::vector<PreTokStep>* out) {
  if (p.is_null()) return;
  std::string type = p.value("type", "");
  PreTokStep s;
  if (type == "Sequence") {
    for (auto& sub : p.at("pretokenizers")) parse_pre_tokenizer(sub, path, out);
    return;
  }
  if (type == "Split") {
    s.kind = PreTokStep::Split;
    const json& pat = p.at("pattern");
    if (pat.contains("Regex")) {
      s.pattern = pat["Regex"].get<std::string>();
    } else {
      s.pattern = pat.at("String").get<std::string>();
      s.is_regex = false;
    }
    s.behavior = parse_behavior(p.value("behavior", "Isolated"), path);
    s.invert = p.value("invert", false);
  } else if (type == "ByteLevel") {
    s.kind = PreTokStep::ByteLevel;
    s.add_prefix_space = p.value("add_prefix_space", true);
    s.use_regex = p.value("use_regex", true);
  } else {
    fail("tokenizer: %s: pre-tokenizer '%s' is not supported", path.c_str(), type.c_str());
  }
  out->push_back(std::move(s));
}

// "content" of a tokenizer_config.json token entry: a string or an AddedToken object.
std::string token_content(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content")) return v["content"].get<std::string>();
  return "";
}

// BOS/EOS from a TemplateProcessing post-processor (possibly inside a Sequence): a SpecialToken
// before / after sequence A.
void template_specials(const json& pp, int32_t* bos, int32_t* eos) {
  if (!pp.is_object()) return;
  std::string type = pp.value("type", "");
  if (type == "Sequence") {
    for (auto& sub : pp.value("processors", json::array())) template_specials(sub, bos, eos);
    return;
  }
  if (type != "TemplateProcessing" || !pp.contains("single")) return;
  auto id_of = [&](const json& item) -> int32_t {
    std::string name = item["SpecialToken"].value("id", "");
    json st = pp.value("special_tokens", json::object());
    if (!st.contains(name) || st[name].value("ids", json::array()).empty()) return -1;
    const json& id = st[name]["ids"][0];  // an int32 id, or none (a float 1e67 would not convert)
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX) return -1;
    return int32_t(id.get<int64_t>());
  };
  const json& single = pp["single"];
  if (!single.empty() && single.front().contains("SpecialToken")) *bos = id_of(single.front());
  if (single.size() > 1 && single.back().contains("SpecialToken")) *eos = id_of(single.back());
}

// Some tokenizers mark control tokens such as DeepSeek's "<｜User｜>" as non-special; the GGUF
// convention (llama.cpp's converter) types anything spelled <|...|> or <｜...｜> as control.
// Only the token type follows it: matching still uses the tokenizer.json flags.
bool looks_like_control(const std::string& t) {
  auto wrapped = [&](std::string_view open, std::string_view close) {
    return t.size() >= open.size() + close.size() && t.compare(0, open.size(), open) == 0 &&
           t.compare(t.size() - close.size(), close.size(), close) == 0;
  };
  return wrapped("<|", "|>") || wrapped("<\xEF\xBD\x9C", "\xEF\xBD\x9C>");  // U+FF5C
}

// An id from the model's config.json (bos_token_id, eos_token_id), which the GGUF converter
// falls back to when tokenizer_config.json names no token.
int32_t config_id(const std::optional<std::string>& config_json, const char* key) {
  if (!config_json) return -1;
  json c = parse_untrusted_json(*config_json);  // depth-bounded, as every stranger's JSON
  if (c.is_discarded() || !c.contains(key) || !c[key].is_number_integer()) return -1;
  return c[key].get<int32_t>();
}

// The whole folder read into a TokenizerSpec. The JSON library's own exceptions (a key missing,
// a value of another type) are turned into Error by from_hf_files.
TokenizerSpec read_hf_spec(const HfTokenizerFiles& files) {
  const std::string& dir = files.dir;
  std::string path = dir + "/tokenizer.json";
  json tj = parse_json(path, files.tokenizer_json);
  json cfg = json::object();
  std::string cfg_path = dir + "/tokenizer_config.json";
  if (files.tokenizer_config_json) cfg = parse_json(cfg_path, *files.tokenizer_config_json);

  TokenizerSpec spec;
  Vocab& v = spec.vocab;
  const json& model = tj.at("model");
  if (model.value("type", "BPE") != "BPE")
    fail("tokenizer: %s: model '%s' is not supported (only BPE)", path.c_str(),
         model.value("type", "").c_str());

  // Ids: the BPE vocab and the added tokens, which may lie past it. Holes get placeholders, but
  // a few only: an id must be >= 0 and below twice the tokens listed + 1024 (a planted id of
  // 2^31 - 1 would otherwise ask for billions of placeholders).
  const json& vocab = model.at("vocab");
  const json& added = tj.value("added_tokens", json::array());
  const int64_t id_end = 2 * int64_t(vocab.size() + added.size()) + 1024;
  auto token_id = [&](const json& id) -> int32_t {
    if (!id.is_number_integer()) fail("tokenizer: %s: token id is a %s, not an integer", path.c_str(), id.type_name());
    if (id.get<int64_t>() < 0 || id.get<int64_t>() >= id_end)
      fail("tokenizer: %s: token id %s out of range (0 .. %lld for %zu tokens)", path.c_str(), id.dump().c_str(),
           (long long)(id_end - 1), vocab.size() + added.size());
    return int32_t(id.get<int64_t>());
  };
  int32_t n = 0;
  for (auto& [tok, id] : vocab.items()) n = std::max(n, token_id(id) + 1);
  for (auto& a : added) n = std::max(n, token_id(a.at("id")) + 1);
  v.tokens.assign(size_t(n), "");
  v.token_types.assign(size_t(n), kTokenUnused);
  for (auto& [tok, id] : vocab.items()) {
    v.tokens[size_t(token_id(id))] = tok;
    v.token_types[size_t(token_id(id))] = kTokenNormal;
  }
  std::unordered_map<std::string, int32_t> added_ids;
  for (auto& a : added) {
    AddedTokenSpec s;
    s.id = token_id(a.at("id"));
    s.special = a.value("special", false);
    s.normalized = a.value("normalized", !s.special);
    s.lstrip = a.value("lstrip", false);
    s.rstrip = a.value("rstrip", false);
    v.tokens[size_t(s.id)] = a.at("content").get<std::string>();
    v.token_types[size_t(s.id)] = s.special || looks_like_control(v.tokens[size_t(s.id)])
                                      ? kTokenControl : kTokenUserDefined;
    added_ids[v.tokens[size_t(s.id)]] = s.id;
    spec.added.push_back(s);
  }
  for (int32_t i = 0; i < n; ++i)
    if (v.token_types[size_t(i)] == kTokenUnused) v.tokens[size_t(i)] = strfmt("[PAD%d]", i);

  for (auto& m : model.value("merges", json::array())) {
    if (m.is_string()) {
      v.merges.push_back(m.get<std::string>());
    } else {  // newer format: ["left", "right"]
      std::string l = m.at(0).get<std::string>(), r = m.at(1).get<std::string>();
      if (l.find(' ') != std::string::npos || r.find(' ') != std::string::npos)
        fail("tokenizer: %s: merge part with a space is not byte-level BPE", path.c_str());
      v.merges.push_back(l + " " + r);
    }
  }

  spec.pipeline.normalizers = parse_normalizer(tj.value("normalizer", json()), path);
  parse_pre_tokenizer(tj.value("pre_tokenizer", json()), path, &spec.pipeline.steps);
  if (spec.pipeline.steps.empty() || spec.pipeline.steps.back().kind != PreTokStep::ByteLevel)
    fail("tokenizer: %s: no ByteLevel pre-tokenizer (only byte-level BPE is supported)", path.c_str());
  spec.pipeline.ignore_merges = model.value("ignore_merges", false);
  v.pre = pre_for_pipeline(spec.pipeline);

  auto id_of = [&](const std::string& content) -> int32_t {
    if (content.empty()) return -1;
    auto it = added_ids.find(content);
    if (it != added_ids.end()) return it->second;
    for (int32_t i = 0; i < n; ++i)
      if (v.tokens[size_t(i)] == content) return i;
    return -1;
  };
  v.bos_id = id_of(token_content(cfg.value("bos_token", json())));
  v.eos_id = id_of(token_content(cfg.value("eos_token", json())));
  v.pad_id = id_of(token_content(cfg.value("pad_token", json())));
  if (v.bos_id < 0) v.bos_id = config_id(files.config_json, "bos_token_id");
  if (v.eos_id < 0) v.eos_id = config_id(files.config_json, "eos_token_id");
  if (v.bos_id >= n) v.bos_id = -1;
  if (v.eos_id >= n) v.eos_id = -1;
  std::string unk = model.value("unk_token", json()).is_string() ? model["unk_token"].get<std::string>()
                                                                  : token_content(cfg.value("unk_token", json()));
  v.unk_id = id_of(unk);
  for (const char* t : {"<|eot_id|>", "<|im_end|>", "<|EOT|>", "<end_of_turn>", "<|end|>"})
    if (v.eot_id < 0) v.eot_id = id_of(t);
  v.eom_id = id_of("<|eom_id|>");

  // BOS/EOS: tokenizer_config's add_bos_token/add_eos_token when present (LlamaTokenizerFast
  // rebuilds its post-processor from them), else the tokenizer.json TemplateProcessing.
  int32_t tp_bos = -1, tp_eos = -1;
  template_specials(tj.value("post_processor", json()), &tp_bos, &tp_eos);
  if (cfg.contains("add_bos_token") && cfg["add_bos_token"].is_boolean()) {
    v.add_bos = cfg["add_bos_token"].get<bool>();
  } else if (tp_bos >= 0 && tp_bos < n) {
    v.add_bos = true;
    v.bos_id = tp_bos;
  }
  if (cfg.contains("add_eos_token") && cfg["add_eos_token"].is_boolean()) {
    v.add_eos = cfg["add_eos_token"].get<bool>();
  } else if (tp_eos >= 0 && tp_eos < n) {
    v.add_eos = true;
    v.eos_id = tp_eos;
  }

  const json& ct = cfg.value("chat_template", json());
  if (ct.is_string()) {
    v.chat_template = ct.get<std::string>();
  } else if (ct.is_array()) {  // [{"name": ..., "template": ...}]: the default one, else the first
    for (auto& e : ct)
      if (v.chat_template.empty() || e.value("name", "") == "default")
        v.chat_template = e.value("template", "");
  } else if (files.chat_template_jinja) {
    v.chat_template = *files.chat_template_jinja;
  }
  return spec;
}

}  // namespace

Tokenizer Tokenizer::from_hf_dir(const std::string& dir) {
  HfTokenizerFiles files;
  files.dir = dir;
  std::string text;
  if (!read_file(dir + "/tokenizer.json", &files.tokenizer_json))
    fail("tokenizer: cannot read %s/tokenizer.json", dir.c_str());
  if (read_file(dir + "/tokenizer_config.json", &text)) files.tokenizer_config_json = std::move(text);
  if (read_file(dir + "/config.json", &text)) files.config_json = std::move(text);
  if (read_file(dir + "/chat_template.jinja", &text)) files.chat_template_jinja = std::move(text);
  return from_hf_files(files);
}

Tokenizer Tokenizer::from_hf_files(const HfTokenizerFiles& files) {
  TokenizerSpec spec;
  try {
    spec = read_hf_spec(files);
  } catch (const json::exception& e) {
    fail("tokenizer: %s: tokenizer.json or tokenizer_config.json is not as expected: %s", files.dir.c_str(), e.what());
  }
  return Tokenizer(std::make_shared<const Impl>(std::move(spec)));
}

}  // namespace frugal
