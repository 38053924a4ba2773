// The endpoints, independent of the HTTP library: a parsed request body in, a Reply out. A
// streaming reply carries a function that writes the server-sent events once the headers are
// out; `write` returns false when the client has gone, and the generation is then cancelled.
#pragma once
#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "server/api_common.h"
#include "server/chat_spec.h"
#include "server/model_shelf.h"

namespace frugal::server {

struct ReplyLog {  // what the request log line reports once the reply is complete
  std::atomic<int64_t> prompt_tokens{0}, completion_tokens{0}, cached_tokens{0};
};

struct Reply {
  int status = 200;
  // A non-streaming reply is computed once the headers are out, so that `alive` (false once
  // the client has gone) can cancel the generation: returns the JSON body.
  std::function<std::string(const std::function<bool()>& alive)> body;
  std::function<void(const std::function<bool(const std::string&)>& write)> stream;
  std::string content_type;  // of a stream (default text/event-stream) or a body (default application/json)
  std::shared_ptr<ReplyLog> log = std::make_shared<ReplyLog>();
};

// An endpoint works in two steps. The body is decoded first, before its model is held: a
// malformed request is refused without loading (or waiting for) anything, and what runs on the
// model reads the decoded request only (chat_spec.h). The Runner then computes the reply.
using Runner = std::function<Reply(ServedModel&)>;
using Endpoint = Runner (*)(const json& body);

// /v1/chat/completions (api_chat.cpp).
Runner chat_endpoint(const json& body);
Reply handle_chat(ServedModel& m, const ChatSpec& spec);
// /v1/completions and /beta/completions: `prompt` (a string, one string in an array, or token
// ids), `suffix` for fill-in-the-middle, `logprobs` (an integer), `echo` not supported (422).
// Token ids and FIM need the model's vocabulary: checked once it is held.
Runner completion_endpoint(const json& body);
// /v1/messages and /anthropic/v1/messages: Anthropic's Messages API (api_anthropic.cpp).
Runner messages_endpoint(const json& body);
// An error in Anthropic's shape: {"type": "error", "error": {"type", "message"}}.
json anthropic_error_body(const ApiError& e);
// /v1/embeddings (OpenAI's shape), Ollama's /api/embed and /api/embeddings (api_embeddings.cpp).
Runner embeddings_endpoint(const json& body);
Runner ollama_embed_endpoint(const json& body);
// /v1/responses: OpenAI's Responses API (api_responses.cpp).
Runner responses_endpoint(const json& body);
// Ollama's /api/chat and /api/generate (api_ollama.cpp); an empty request answers "load".
Runner ollama_chat_endpoint(const json& body);
Runner ollama_generate_endpoint(const json& body);
// Ollama's reply to an empty request (no messages, no prompt): load, or unload with keep_alive 0.
bool ollama_load_request(const json& body);
json ollama_load_body(const std::string& model, bool chat, bool unload);
// /api/tags (running = false: every model of the shelf) and /api/ps (running = true: the loaded
// ones, with their expiry); /api/show.
json ollama_tags(const std::vector<ModelStatus>& models, bool running);
json ollama_show(const ServedModel& m);

}  // namespace frugal::server
