// What the chat and completion endpoints share: the served model, API errors with DeepSeek's
// status codes, validation of the request fields they both take, and the loop that drives a
// request's n choices (streams) to the end.
#pragma once
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/model_template.h"
#include "core/error.h"
#include "chat/output_parser.h"
#include "model/model.h"
#include "runtime/engine.h"
#include "template/template.h"
#include "tokenizer/tokenizer.h"

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

struct ServedModel {
  std::string name, path;
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tok;
  std::optional<chat::ModelTemplate> mt;   // absent: the model has no chat template (completions only)
  std::optional<tmpl::Template> tmpl;
  chat::ParserConfig parser;
  std::unique_ptr<Engine> engine;
  int64_t created = 0;
  bool random_weights = false;
  // Memory the model may take once started: mapped weights, the KV pool (slots and prefix
  // cache), logits; what the shelf's budget counts.
  int64_t bytes = 0;
  Pooling pooling = Pooling::mean;  // how /v1/embeddings pools the final hidden states
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

// A 400 naming the field by its path in the request ("messages[1].content[0].type"): the
// dialect decoders' errors.
[[noreturn]] void bad_field(const std::string& path, const std::string& msg);
// o[key] as a string; a 400 naming path.key when it is absent or not a string.
const std::string& required_string(const json& o, const char* key, const std::string& path);

// Field access that names the field in its error.
const json* field(const json& body, const char* name);  // nullptr when absent or null
std::string string_field(const json& body, const char* name, const std::string& dflt = "");

// Checks the prompt and the completion fit the context: 400 with the token counts when not.
// Returns the completion budget.
int64_t completion_budget(const ServedModel& m, int64_t prompt_tokens, const CommonParams& p);

// Queues the n generations (seed + i for choice i); QueueFull -> 429; n > max_seqs -> 503.
std::vector<std::shared_ptr<GenStream>> submit_all(ServedModel& m, const std::vector<int32_t>& prompt,
                                                   const CommonParams& p, int64_t budget, int32_t top_logprobs,
                                                   const std::function<GenRequest()>& extra = {});

// Drives the streams to the end: on_news(i, chunk) for every chunk of choice i; `alive()` is
// asked between waits (false: the client is gone; every stream is cancelled). keep_alive() is
// called when nothing happened for a while (SSE comment). Returns false when cancelled.
bool drive(std::vector<std::shared_ptr<GenStream>>& streams, const std::function<void(size_t, GenChunk&)>& on_news,
           const std::function<bool()>& alive, const std::function<bool()>& keep_alive);

// logprobs entry of one token in OpenAI's chat format.
json token_logprob_json(const Tokenizer& tok, const TokenLogprob& lp);
// "chatcmpl-..." / "cmpl-..." ids.
std::string make_id(const char* prefix);
int64_t unix_now();
// JSON text for the wire: invalid UTF-8 (a token cut inside a character) is replaced, never thrown.
std::string dump(const json& j);

struct Usage {
  int64_t prompt = 0, cached = 0, completion = 0, reasoning = 0;
  json to_json() const;
};

// What every response object and stream event of one request repeats.
struct Envelope {
  std::string id, model;
  int64_t created = 0;
  // {id, object, created, model, system_fingerprint, choices[, usage]}
  json body(const char* object, json choices, const Usage* usage = nullptr) const;
  // The same as one server-sent event.
  std::string event(const char* object, json choices, const Usage* usage = nullptr) const {
    return "data: " + dump(body(object, std::move(choices), usage)) + "\n\n";
  }
  // The end of a stream: the usage event (stream_options.include_usage), then [DONE].
  void end_stream(const char* object, bool include_usage, const Usage& usage,
                  const std::function<bool(const std::string&)>& write) const;
};

}  // namespace frugal::server
