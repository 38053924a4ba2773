// Request fields, read at the edge before any model is involved: API errors with DeepSeek's
// status codes, field readers that name the field by its path in the request, the sampling
// and limit fields the dialects share, and small wire helpers. No engine, no model: the
// dialect decoders (chat_spec_*.cpp) and their fuzz target link only this.
#pragma once
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/sampler.h"

namespace frugal::server {

using json = nlohmann::ordered_json;

// An error answered as {"error": {"message", "type", "param", "code"}}: 400 malformed request
// or wrong type, 401 authentication, 422 a value out of range, 429 too many requests, 500 our
// fault, 503 not enough resources.
struct ApiError : std::runtime_error {
  ApiError(int status, std::string message, std::string param = "", std::string code = "")
      : std::runtime_error(message), status(status), param(std::move(param)), code(std::move(code)) {}
  int status;
  std::string param, code;
  json body() const;
};

// The fields /v1/chat/completions and /v1/completions share, validated.
struct CommonParams {
  SamplerParams sampling;
  std::optional<int64_t> max_tokens;  // absent: up to the context
  int64_t n = 1;
  std::vector<std::string> stop;
  bool stream = false, include_usage = false;
  bool seeded = false;
  bool ignore_eos = false;  // vLLM / llama.cpp extension (benchmarks)
};
// temperature, top_p, top_k, min_p, presence/frequency/repetition penalties, seed, max_tokens /
// max_completion_tokens, n, stop, stream, stream_options. Throws ApiError naming the field.
CommonParams parse_common(const json& body);
// OpenAI's defaults (temperature 1, no top-k / min-p / penalties) and a fresh random seed.
CommonParams default_common();
// The sampling fields present in `o` (temperature, top_p, top_k, min_p, presence_penalty,
// frequency_penalty, the repetition penalty under `repetition_key`, seed, stop) over p's;
// errors name prefix + key ("options.temperature").
void read_sampling(const json& o, const std::string& prefix, CommonParams& p, const char* repetition_key);

// Field readers: o[key] (absent or null: dflt), a 400 (wrong type) or 422 (out of range) naming
// `path`, the field's full path in the request.
double number_at(const json& o, const char* key, const std::string& path, double lo, double hi, double dflt,
                 bool lo_open = false);
int64_t integer_at(const json& o, const char* key, const std::string& path, int64_t lo, int64_t hi, int64_t dflt);
bool boolean_at(const json& o, const char* key, const std::string& path, bool dflt);
// A string or an array of at most 16 strings.
std::vector<std::string> stop_at(const json& o, const char* key, const std::string& path);

// A 400 naming the field by its path in the request ("messages[1].content[0].type"): the
// dialect decoders' errors.
[[noreturn]] void bad_field(const std::string& path, const std::string& msg);
// o[key] as a string; a 400 naming path.key when it is absent or not a string.
const std::string& required_string(const json& o, const char* key, const std::string& path);
// The same, and not empty (ids that pair a tool result with its call).
const std::string& required_id(const json& o, const char* key, const std::string& path);

// Field access that names the field in its error.
const json* field(const json& body, const char* name);  // nullptr when absent or null
std::string string_field(const json& body, const char* name, const std::string& dflt = "");

// "chatcmpl-..." / "cmpl-..." ids.
std::string make_id(const char* prefix);
int64_t unix_now();
// JSON text for the wire: invalid UTF-8 (a token cut inside a character) is replaced, never thrown.
std::string dump(const json& j);

}  // namespace frugal::server
