// OpenAI / DeepSeek chat completions (/v1/chat/completions, /beta/chat/completions) decoded
// into a ChatSpec: messages (with DeepSeek's prefix completion), tools, tool_choice,
// response_format, thinking, reasoning_effort, chat_template_kwargs, logprobs, sampling.
#include "server/chat_spec.h"

namespace frugal::server {

namespace {

ToolChoice tool_choice(const json& body) {
  ToolChoice c;
  const json* tc = field(body, "tool_choice");
  if (!tc) return c;
  if (tc->is_string()) {
    const std::string s = tc->get<std::string>();
    if (s == "none") c.kind = ToolChoice::Kind::none;
    else if (s == "required") c.kind = ToolChoice::Kind::required;
    else if (s != "auto")
      throw ApiError(422, "'tool_choice' must be none, auto, required or a function", "tool_choice", "invalid_value");
    return c;
  }
  if (!tc->is_object() || !tc->contains("function") || !(*tc)["function"].is_object() ||
      !(*tc)["function"].contains("name") || !(*tc)["function"]["name"].is_string())
    throw ApiError(400, "'tool_choice' must be a string or {\"type\": \"function\", \"function\": {\"name\": ...}}",
                   "tool_choice", "invalid_type");
  c.kind = ToolChoice::Kind::function;
  c.name = (*tc)["function"]["name"].get<std::string>();
  return c;
}

OutputFormat response_format(const json& body) {
  OutputFormat f;
  const json* rf = field(body, "response_format");
  if (!rf) return f;
  if (!rf->is_object() || !rf->contains("type") || !(*rf)["type"].is_string())
    throw ApiError(400, "'response_format' must be an object with a 'type'", "response_format", "invalid_type");
  const std::string ty = (*rf)["type"].get<std::string>();
  if (ty == "json_object") {
    f.kind = OutputFormat::Kind::json_object;
  } else if (ty == "json_schema") {
    const json* js = field(*rf, "json_schema");
    if (!js || !js->is_object() || !js->contains("schema") || !(*js)["schema"].is_object())
      throw ApiError(400, "'response_format.json_schema.schema' must be an object", "response_format.json_schema.schema",
                     "invalid_type");
    f.kind = OutputFormat::Kind::json_schema;
    f.schema = (*js)["schema"];
  } else if (ty != "text") {
    throw ApiError(422, "'response_format.type' must be text, json_object or json_schema", "response_format.type",
                   "invalid_value");
  }
  return f;
}

}  // namespace

ChatSpec decode_chat_completion(const json& body) {
  ChatSpec s;
  s.common = parse_common(body);
  const json* msgs = field(body, "messages");
  if (!msgs) throw ApiError(400, "'messages' is required", "messages", "missing_required_parameter");
  if (!msgs->is_array() || msgs->empty())
    throw ApiError(400, "'messages' must be a non-empty array", "messages", "invalid_type");
  // Chat prefix completion (DeepSeek beta): the last assistant message is the start of the answer.
  json messages = *msgs;
  const json& last = messages.back();
  if (last.is_object() && last.value("role", json()) == "assistant" && last.value("prefix", json()) == true) {
    if (!last.contains("content") || !last["content"].is_string())
      throw ApiError(400, "the prefix message needs a string 'content'", strfmt("messages[%zu].content", messages.size() - 1),
                     "invalid_type");
    s.assistant_prefix = last["content"].get<std::string>();
    messages.erase(messages.end() - 1);
    if (messages.empty()) throw ApiError(400, "a prefix message needs a message before it", "messages");
  }
  field_errors_as_400([&] {
    s.messages = chat::decode_messages(messages);
    if (const json* tools = field(body, "tools")) s.tools = chat::decode_tools(*tools);
  });
  s.tool_choice = tool_choice(body);
  s.format = response_format(body);
  s.thinking = thinking_switch(body);
  if (const json* e = field(body, "reasoning_effort")) s.reasoning_effort = reasoning_effort_at(*e, "reasoning_effort");
  if (const json* k = field(body, "chat_template_kwargs")) {
    if (!k->is_object()) throw ApiError(400, "'chat_template_kwargs' must be an object", "chat_template_kwargs", "invalid_type");
    s.template_kwargs = *k;
  }
  if (boolean_at(body, "logprobs", "logprobs", false)) s.top_logprobs = 0;
  if (field(body, "top_logprobs")) {
    if (s.top_logprobs < 0) throw ApiError(400, "'top_logprobs' needs 'logprobs': true", "top_logprobs");
    s.top_logprobs = int32_t(integer_at(body, "top_logprobs", "top_logprobs", 0, 20, 0));
  }
  check_chat_spec(s);
  return s;
}

}  // namespace frugal::server
