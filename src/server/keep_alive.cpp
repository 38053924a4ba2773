#include "server/keep_alive.h"

#include <cctype>
#include <cmath>

#include "server/api_common.h"

namespace frugal::server {

std::optional<KeepAlive> parse_keep_alive_text(const std::string& s) {
  // Go's time.ParseDuration units, as Ollama reads keep_alive; a bare number is seconds.
  if (s.empty()) return std::nullopt;
  size_t i = 0;
  bool neg = false;
  if (s[0] == '-' || s[0] == '+') neg = s[i++] == '-';
  if (i == s.size()) return std::nullopt;
  double total_ms = 0;
  bool any = false;
  while (i < s.size()) {
    size_t j = i;
    while (j < s.size() && (std::isdigit(uint8_t(s[j])) || s[j] == '.')) ++j;
    if (j == i) return std::nullopt;
    double v = 0;
    try {
      size_t used = 0;
      v = std::stod(s.substr(i, j - i), &used);
      if (used != j - i) return std::nullopt;
    } catch (...) {
      return std::nullopt;
    }
    size_t k = j;
    while (k < s.size() && std::isalpha(uint8_t(s[k]))) ++k;
    const std::string unit = s.substr(j, k - j);
    double scale = 0;
    if (unit.empty()) {
      if (any || k != s.size()) return std::nullopt;  // "5" alone is seconds; "5m3" is not
      scale = 1000;
    } else if (unit == "ms") scale = 1;
    else if (unit == "s") scale = 1000;
    else if (unit == "m") scale = 60e3;
    else if (unit == "h") scale = 3600e3;
    else return std::nullopt;
    total_ms += v * scale;
    any = true;
    i = k;
  }
  if (!std::isfinite(total_ms) || total_ms > 1e15) return std::nullopt;
  KeepAlive k;
  k.ms = std::chrono::milliseconds(neg ? -1 : int64_t(std::llround(total_ms)));
  if (neg && total_ms == 0) k.ms = std::chrono::milliseconds(0);
  return k;
}

KeepAlive parse_keep_alive(const json& v, const char* field) {
  if (v.is_number()) {
    const double s = v.get<double>();
    if (!std::isfinite(s) || std::fabs(s) > 1e12) throw ApiError(400, std::string("'") + field + "' is out of range", field, "invalid_value");
    KeepAlive k;
    k.ms = std::chrono::milliseconds(s < 0 ? -1 : int64_t(std::llround(s * 1000)));
    return k;
  }
  if (v.is_string())
    if (auto k = parse_keep_alive_text(v.get<std::string>())) return *k;
  throw ApiError(400, std::string("'") + field + "' must be a duration (\"5m\", \"1h\", \"30s\"), seconds, 0 (unload now) or negative (keep)",
                 field, "invalid_value");
}

}  // namespace frugal::server
