// The one chat request every dialect decodes into. OpenAI / DeepSeek chat completions, Ollama's
// /api/chat and /api/generate, Anthropic's Messages and OpenAI's Responses each decode their
// body once, at the edge and before any model is loaded, into a ChatSpec: typed, validated, each
// error an ApiError naming the field by its path in that dialect's body ("options.temperature",
// "messages[1].content[0].type"). Everything below (prepare_chat, the engine, the output
// parser) reads only this type; each dialect is then a decoder and an encoder of events.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "chat/messages.h"
#include "server/request_fields.h"

namespace frugal::server {

struct ToolChoice {
  enum class Kind { auto_, none, required, function } kind = Kind::auto_;
  std::string name;  // Kind::function
};

struct OutputFormat {
  enum class Kind { text, json_object, json_schema } kind = Kind::text;
  json schema;  // Kind::json_schema: an object
};

struct ChatSpec {
  std::vector<chat::Message> messages;
  // DeepSeek's chat prefix completion: the start of the answer, continued by the model.
  std::optional<std::string> assistant_prefix;
  std::vector<chat::ToolDef> tools;
  ToolChoice tool_choice;
  OutputFormat format;
  std::optional<bool> thinking;   // absent: the template's default
  std::string reasoning_effort;   // "" or minimal / low / medium / high
  json template_kwargs = json::object();
  CommonParams common;
  int32_t top_logprobs = -1;      // -1: no logprobs; 0..20: the chosen token and that many others
  // Ollama's raw /api/generate: this text is the whole prompt (no template, no reasoning split).
  std::optional<std::string> raw_prompt;
};

// The checks that do not depend on the dialect (a forced tool must be among the tools, the
// messages must be well formed): every decoder ends with it. `tool_choice_path` names the
// dialect's field.
void check_chat_spec(const ChatSpec& s, const std::string& tool_choice_path = "tool_choice");
// "minimal" / "low" / "medium" / "high", else a 422 naming `path`.
std::string reasoning_effort_at(const json& v, const std::string& path);
// DeepSeek's `thinking`: {"type": "enabled" | "disabled"} (or a boolean); absent: nothing.
std::optional<bool> thinking_switch(const json& body);
// A dialect decoder's chat::FieldError (messages, tools) as the 400 its endpoint answers.
template <typename F>
auto field_errors_as_400(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const chat::FieldError& e) {
    throw ApiError(400, e.what(), e.path, "invalid_request_error");
  }
}

// POST /v1/chat/completions (chat_spec_openai.cpp).
ChatSpec decode_chat_completion(const json& body);
// Ollama's /api/chat and /api/generate bodies (chat_spec_ollama.cpp).
ChatSpec decode_ollama_chat(const json& body);
ChatSpec decode_ollama_generate(const json& body);
// Anthropic's /v1/messages (chat_spec_anthropic.cpp).
ChatSpec decode_anthropic_messages(const json& body);
// OpenAI's /v1/responses (chat_spec_responses.cpp).
ChatSpec decode_responses(const json& body);

}  // namespace frugal::server
