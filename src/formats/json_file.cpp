#include "formats/json_file.h"

#include <fstream>
#include <sstream>

#include "core/error.h"

namespace frugal {

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("%s: cannot open", path.c_str());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {
template <class Json>
Json parse_json(const std::string& text, const std::string& path) {
  try {
    return Json::parse(text, [&path](int depth, typename Json::parse_event_t, Json&) {
      if (depth > kMaxJsonDepth) fail("%s: invalid JSON: nested deeper than %d levels", path.c_str(), kMaxJsonDepth);
      return true;
    });
  } catch (const nlohmann::json::exception& e) {
    fail("%s: invalid JSON: %s", path.c_str(), e.what());
  }
}
}  // namespace

nlohmann::json parse_json_text(const std::string& text, const std::string& path) {
  return parse_json<nlohmann::json>(text, path);
}

nlohmann::json read_json_file(const std::string& path) {
  return parse_json<nlohmann::json>(read_text_file(path), path);
}

nlohmann::ordered_json read_ordered_json_file(const std::string& path) {
  return parse_json<nlohmann::ordered_json>(read_text_file(path), path);
}

}  // namespace frugal
