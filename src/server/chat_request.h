// A chat completion request turned into what the engine and the output parser need: the
// prompt rendered with the model's own template (tools, thinking switches, prefix completion),
// the sampling fields, logprobs, and the output constraint (response_format, or a forced tool
// call). Every error is an ApiError naming the field.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "server/api_common.h"

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

ChatRequest prepare_chat(ServedModel& m, const json& body);

}  // namespace frugal::server
