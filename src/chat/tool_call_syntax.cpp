#include "chat/tool_call_syntax.h"

#include "formats/json_file.h"

namespace frugal::chat::detail {

using json = nlohmann::ordered_json;

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

size_t json_value_end(std::string_view s, size_t pos) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (size_t k = pos; k < s.size(); ++k) {
    char c = s[k];
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) return k + 1;
    }
  }
  return std::string_view::npos;
}

namespace {

bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (is_space(c) || c == '{' || c == '"' || c == '<') return false;
  }
  return true;
}

// ARGS must be one JSON object; serialized compactly.
std::optional<std::string> parse_arguments(std::string_view args) {
  json v = parse_untrusted_json<json>(trim(args));  // dump() recurses: the depth is bounded
  if (!v.is_object()) return std::nullopt;
  return v.dump();
}

}  // namespace

std::optional<ToolCall> parse_deepseek_call(std::string_view body) {
  size_t sep = body.find(kDsSep);
  if (sep == std::string_view::npos) return std::nullopt;
  std::string_view head = trim(body.substr(0, sep));
  std::string_view rest = body.substr(sep + kDsSep.size());
  ToolCall call;
  std::string_view args;
  size_t nl = rest.find('\n');
  if (head == "function" && nl != std::string_view::npos && rest.find('{') > nl) {
    // R1 / V3: the type, then NAME on its own line and the arguments in a json fence.
    call.name = std::string(trim(rest.substr(0, nl)));
    args = trim(rest.substr(nl + 1));
    if (args.starts_with("```json")) args.remove_prefix(7);
    else if (args.starts_with("```")) args.remove_prefix(3);
    args = trim(args);
    if (args.ends_with("```")) args.remove_suffix(3);
  } else {
    call.name = std::string(head);
    args = rest;
  }
  if (!valid_name(call.name)) return std::nullopt;
  auto a = parse_arguments(args);
  if (!a) return std::nullopt;
  call.arguments = std::move(*a);
  return call;
}

std::optional<ToolCall> parse_json_call(std::string_view text) {
  json v = parse_untrusted_json<json>(trim(text));
  if (!v.is_object()) return std::nullopt;
  auto name = v.find("name");
  if (name == v.end() || !name->is_string() || !valid_name(name->get<std::string>())) return std::nullopt;
  auto args = v.find("arguments");
  if (args == v.end()) args = v.find("parameters");
  ToolCall call;
  call.name = name->get<std::string>();
  if (args == v.end() || args->is_null()) {
    call.arguments = "{}";
  } else if (args->is_object()) {
    call.arguments = args->dump();
  } else if (args->is_string()) {  // some fine-tunes write the arguments as a JSON string
    auto a = parse_arguments(args->get<std::string>());
    if (!a) return std::nullopt;
    call.arguments = std::move(*a);
  } else {
    return std::nullopt;
  }
  return call;
}

std::string make_call_id(uint64_t seed, size_t index) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  uint64_t s = seed ^ (0x9E3779B97F4A7C15ull * (index + 1));
  std::string id = "call_";
  for (int k = 0; k < 24; ++k) {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);  // splitmix64
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    id += kAlphabet[z % 62];
  }
  return id;
}

}  // namespace frugal::chat::detail
