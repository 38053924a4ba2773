#include "server/model_registry.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <string_view>

#include <toml++/toml.h>

#include "core/error.h"
#include "formats/json_file.h"

namespace frugal::server {

namespace fs = std::filesystem;

std::optional<int64_t> parse_byte_size(const std::string& text) {
  std::string s;
  for (char c : text)
    if (c != ' ' && c != '_') s += char(std::tolower(uint8_t(c)));
  size_t i = 0;
  while (i < s.size() && (std::isdigit(uint8_t(s[i])) || s[i] == '.')) ++i;
  if (i == 0) return std::nullopt;
  double v = 0;
  try {
    v = std::stod(s.substr(0, i));
  } catch (...) {
    return std::nullopt;
  }
  const std::string unit = s.substr(i);
  double scale = 0;
  if (unit.empty() || unit == "b") scale = 1;
  else if (unit == "k" || unit == "kb") scale = 1e3;
  else if (unit == "kib") scale = 1024.0;
  else if (unit == "m" || unit == "mb") scale = 1e6;
  else if (unit == "mib") scale = 1024.0 * 1024;
  else if (unit == "g" || unit == "gb") scale = 1e9;
  else if (unit == "gib") scale = 1024.0 * 1024 * 1024;
  else if (unit == "t" || unit == "tb") scale = 1e12;
  else if (unit == "tib") scale = 1024.0 * 1024 * 1024 * 1024;
  else return std::nullopt;
  const double b = v * scale;
  if (!std::isfinite(b) || b > 9e18) return std::nullopt;
  return int64_t(b);
}

std::vector<AliasSpec> deepseek_aliases(const std::string& model) {
  return {{"deepseek-reasoner", model, true}, {"deepseek-chat", model, false}};
}

namespace {

struct Reader {
  std::string file;

  [[noreturn]] void bad(const toml::node& n, const std::string& key, const std::string& what) const {
    fail("%s:%u: '%s' %s", file.c_str(), unsigned(n.source().begin.line), key.c_str(), what.c_str());
  }
  std::string str(const toml::node& n, const std::string& key) const {
    if (!n.is_string()) bad(n, key, "must be a string");
    return *n.value<std::string>();
  }
  int64_t integer(const toml::node& n, const std::string& key, int64_t lo, int64_t hi) const {
    if (!n.is_integer()) bad(n, key, "must be an integer");
    const int64_t v = *n.value<int64_t>();
    if (v < lo || v > hi) bad(n, key, strfmt("must be in [%lld, %lld]", (long long)lo, (long long)hi));
    return v;
  }
  bool boolean(const toml::node& n, const std::string& key) const {
    if (!n.is_boolean()) bad(n, key, "must be true or false");
    return *n.value<bool>();
  }
  KeepAlive keep_alive(const toml::node& n, const std::string& key) const {
    if (n.is_integer()) {
      KeepAlive k;
      const int64_t v = *n.value<int64_t>();
      k.ms = std::chrono::milliseconds(v < 0 ? -1 : v * 1000);
      return k;
    }
    if (n.is_string())
      if (auto k = parse_keep_alive_text(*n.value<std::string>())) return *k;
    bad(n, key, "must be a duration (\"10m\", \"1h\"), seconds, 0 or -1");
  }
  int64_t bytes(const toml::node& n, const std::string& key) const {
    if (n.is_integer()) return integer(n, key, 0, INT64_MAX);
    if (n.is_string())
      if (auto b = parse_byte_size(*n.value<std::string>())) return *b;
    bad(n, key, "must be a size (\"16GiB\", \"512MiB\") or a number of bytes");
  }
  std::string path(const toml::node& n, const std::string& key) const {
    fs::path p = str(n, key);
    if (p.is_relative()) p = fs::path(file).parent_path() / p;
    return p.lexically_normal().string();
  }
};

ModelSpec read_model(const Reader& r, const std::string& name, const toml::table& t) {
  ModelSpec s;
  s.name = name;
  for (auto&& [k, v] : t) {
    const std::string key = "models." + name + "." + std::string(k.str());
    const std::string_view kk = k.str();
    if (kk == "path") s.path = r.path(v, key);
    else if (kk == "chat_template") s.chat_template = r.path(v, key);
    else if (kk == "aliases") {
      const toml::array* a = v.as_array();
      if (!a) r.bad(v, key, "must be an array of names");
      for (auto& x : *a) s.aliases.push_back(r.str(x, key));
    } else if (kk == "ctx") s.ctx = r.integer(v, key, 2, int64_t(1) << 24);
    else if (kk == "max_seqs") s.max_seqs = r.integer(v, key, 1, 256);
    else if (kk == "keep_alive") s.keep_alive = r.keep_alive(v, key);
    else if (kk == "pin") s.pin = r.boolean(v, key);
    else if (kk == "preload") s.preload = r.boolean(v, key);
    else if (kk == "thinking") s.thinking = r.boolean(v, key);
    else if (kk == "pooling") {
      s.pooling = r.str(v, key);
      if (s.pooling != "mean" && s.pooling != "last") r.bad(v, key, "must be \"mean\" or \"last\"");
    }
    else if (kk == "sampling") {
      const toml::table* st = v.as_table();
      if (!st) r.bad(v, key, "must be a table");
      for (auto&& [sk, sv] : *st) {
        const std::string sname(sk.str());  // (a plain copy: lambdas cannot capture structured bindings in clang 14)
        const std::string skey = key + "." + sname;
        static const char* known[] = {"temperature", "top_p", "top_k", "min_p", "presence_penalty", "frequency_penalty",
                                      "repetition_penalty", "max_tokens", "seed"};
        if (std::find_if(std::begin(known), std::end(known), [&](const char* x) { return sname == x; }) == std::end(known))
          r.bad(sv, skey, "is not a sampling setting (temperature, top_p, top_k, min_p, presence_penalty, frequency_penalty, "
                          "repetition_penalty, max_tokens, seed)");
        if (sv.is_integer()) s.sampling[sname] = *sv.value<int64_t>();
        else if (sv.is_floating_point()) s.sampling[sname] = *sv.value<double>();
        else r.bad(sv, skey, "must be a number");
      }
    } else {
      r.bad(v, key, "is not a model setting (path, aliases, ctx, max_seqs, keep_alive, pin, preload, thinking, pooling, chat_template, sampling)");
    }
  }
  if (s.path.empty()) fail("%s: model '%s' has no path", r.file.c_str(), name.c_str());
  return s;
}

// See parse_registry_config.
void check_toml_text(std::string_view t, const std::string& path) {
  unsigned line = 1;
  bool line_start = true;
  for (size_t i = 0; i < t.size(); ++i) {
    const auto c = uint8_t(t[i]);
    if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f)
      fail("%s:%u: control character 0x%02x (TOML allows none but tab)", path.c_str(), line, unsigned(c));
    if (c >= 0x80)
      fail("%s:%u: non-ASCII text: write it as \\uXXXX inside a \"string\" (toml++ 3.3 misreads it elsewhere)", path.c_str(), line);
    if (c == '\n') {
      ++line;
      line_start = true;
      continue;
    }
    if (line_start && c == '[') {
      size_t j = i + 1;
      if (j < t.size() && t[j] == '[') ++j;  // [[array of tables]]
      while (j < t.size() && (t[j] == ' ' || t[j] == '\t')) ++j;
      const char k = j < t.size() ? t[j] : '\n';
      if (!(std::isalnum(uint8_t(k)) || k == '_' || k == '-' || k == '"' || k == '\'' || k == ']'))
        fail("%s:%u: a table header needs a name ([models.NAME])", path.c_str(), line);
    }
    if (c != ' ' && c != '\t' && c != '\r') line_start = false;
  }
}

}  // namespace

RegistryConfig load_registry_config(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) fail("--config %s: no such file", path.c_str());
  return parse_registry_config(read_text_file(path), path);
}

RegistryConfig parse_registry_config(std::string_view text, const std::string& path) {
  // toml++ 3.3 has reachable assertions (undefined behaviour in release builds, where they
  // become assumptions): a table header whose name starts with another character ("[\0",
  // "[\\", "[[[") and non-ASCII text where a key, a value or whitespace may be (its Unicode
  // whitespace table hits "unreachable"). tests/fuzz/fuzz_models_toml.cpp found them. So the
  // text is screened first: ASCII only (\uXXXX escapes in strings carry the rest), no control
  // characters (TOML forbids them but tab), a key character after a header's '['.
  check_toml_text(text, path);
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    fail("%s:%u: %s", path.c_str(), unsigned(e.source().begin.line), std::string(e.description()).c_str());
  }
  Reader r{path};
  RegistryConfig c;
  std::string ds_model;
  for (auto&& [k, v] : root) {
    const std::string key(k.str());
    if (key == "models_dir") c.models_dir = r.path(v, key);
    else if (key == "max_memory") c.max_memory = r.bytes(v, key);
    else if (key == "max_loaded") c.max_loaded = r.integer(v, key, 0, 1 << 20);
    else if (key == "keep_alive") c.keep_alive = r.keep_alive(v, key);
    else if (key == "deepseek_aliases") ds_model = r.str(v, key);
    else if (key == "models") {
      const toml::table* t = v.as_table();
      if (!t) r.bad(v, key, "must be a table of models ([models.NAME])");
      for (auto&& [name, mv] : *t) {
        const toml::table* mt = mv.as_table();
        if (!mt) r.bad(mv, "models." + std::string(name.str()), "must be a table ([models.NAME] with a path)");
        c.models.push_back(read_model(r, std::string(name.str()), *mt));
      }
    } else {
      r.bad(v, key, "is not a setting (models_dir, max_memory, max_loaded, keep_alive, deepseek_aliases, models)");
    }
  }
  if (!ds_model.empty()) c.aliases = deepseek_aliases(ds_model);
  return c;
}

}  // namespace frugal::server
