// What the endpoints share once a model is held: the served model, the context check, and the
// loop that drives a request's n choices (streams) to the end; usage and the response envelope.
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
#include "server/request_fields.h"
#include "core/error.h"
#include "chat/output_parser.h"
#include "model/model.h"
#include "runtime/engine.h"
#include "template/template.h"
#include "tokenizer/tokenizer.h"

namespace frugal::server {

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
