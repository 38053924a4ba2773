// Ollama's keep_alive: how long a model stays loaded after its last request.
#pragma once
#include <chrono>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace frugal::server {

// How long a model stays loaded after its last request, as Ollama's keep_alive: a duration
// ("5m", "1h30m", "300ms"; a bare number is seconds), 0 = unload as soon as the request ends,
// negative = never unload for idleness.
struct KeepAlive {
  std::chrono::milliseconds ms{-1};
  bool forever() const { return ms.count() < 0; }
};
// Parses a keep_alive value (a JSON number of seconds or a duration string); throws ApiError
// naming `field` when it is neither.
KeepAlive parse_keep_alive(const nlohmann::ordered_json& v, const char* field = "keep_alive");
std::optional<KeepAlive> parse_keep_alive_text(const std::string& s);  // "5m", "-1", "0"

}  // namespace frugal::server
