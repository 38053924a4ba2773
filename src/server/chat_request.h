// A decoded chat request (chat_spec.h) turned into what the engine and the output parser need
// for one model: the prompt rendered with the model's own template (tools, thinking switches,
// prefix completion), and the output constraint (the format, or a forced tool call in the
// model's tool-call syntax). What can still fail here depends on the model (no template, a
// template that rejects the conversation, no tool-call syntax to force).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "server/api_common.h"
#include "server/chat_spec.h"

namespace frugal::server {

struct ChatRequest {
  std::vector<int32_t> prompt;
  chat::ParserConfig parser;
  CommonParams common;
  int32_t top_logprobs = -1;
  std::optional<json> schema;  // response_format: json_object (null schema) or json_schema
  bool json_mode = false;
  // tool_choice "required" / a named function: the call's opening is written into the prompt,
  // its JSON is generated under the tool's parameter schema, its closing appended after.
  std::string forced_prefix, forced_suffix;
  bool schema_from_tools = false;
};

ChatRequest prepare_chat(ServedModel& m, const ChatSpec& spec);

}  // namespace frugal::server
