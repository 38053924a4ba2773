// Small files read whole (config.json, index files, templates); errors name the file. And JSON
// text from strangers, its nesting bounded.
#pragma once
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace frugal {

// The deepest nesting a JSON file may have. The JSON library copies and compares trees
// recursively (and so do some readers), so a planted file nested a million deep, a few MB,
// would overflow the stack; real ones are a few levels deep.
constexpr int kMaxJsonDepth = 256;

std::string read_text_file(const std::string& path);
// Error "PATH: invalid JSON: ..." for a syntax error or nesting deeper than kMaxJsonDepth.
nlohmann::json read_json_file(const std::string& path);
// The same for a file's text already read.
nlohmann::json parse_json_text(const std::string& text, const std::string& path);

// Keeps object keys in file order (chat messages and template variables, as Python dicts do).
nlohmann::ordered_json read_ordered_json_file(const std::string& path);

// JSON a stranger wrote (a request body, tool-call arguments, model output), its nesting bounded
// by kMaxJsonDepth: discarded (is_discarded()) when the text is not JSON or is nested deeper.
template <class Json = nlohmann::json>
Json parse_untrusted_json(std::string_view text) {
  bool deep = false;
  Json j = Json::parse(
      text.begin(), text.end(),
      [&deep](int depth, typename Json::parse_event_t, Json&) {
        deep = deep || depth > kMaxJsonDepth;
        return !deep;  // nothing more is kept once too deep; the parser itself does not recurse
      },
      /*allow_exceptions=*/false);
  return deep ? Json(Json::value_t::discarded) : j;
}

}  // namespace frugal
