#include "server/chat_spec.h"

namespace frugal::server {

void check_chat_spec(const ChatSpec& s, const std::string& tool_choice_path) {
  field_errors_as_400([&] { chat::check_messages(s.messages); });
  if (s.tool_choice.kind == ToolChoice::Kind::required || s.tool_choice.kind == ToolChoice::Kind::function) {
    if (s.tools.empty()) throw ApiError(400, "'" + tool_choice_path + "' forces a tool call, but there are no tools", tool_choice_path);
    if (s.tool_choice.kind == ToolChoice::Kind::function) {
      bool found = false;
      for (const auto& t : s.tools) found |= t.name == s.tool_choice.name;
      if (!found)
        throw ApiError(400, "'" + tool_choice_path + "' names '" + s.tool_choice.name + "', which is not among the tools",
                       tool_choice_path, "invalid_value");
    }
  }
  if (s.format.kind == OutputFormat::Kind::json_schema && !s.format.schema.is_object())
    throw ApiError(400, "the output format's JSON schema must be an object", "response_format", "invalid_type");
}

std::string reasoning_effort_at(const json& v, const std::string& path) {
  if (v.is_string()) {
    const std::string e = v.get<std::string>();
    if (e == "minimal" || e == "low" || e == "medium" || e == "high") return e;
  }
  throw ApiError(422, "'" + path + "' must be minimal, low, medium or high", path, "invalid_value");
}

std::optional<bool> thinking_switch(const json& body) {
  const json* t = field(body, "thinking");
  if (!t) return std::nullopt;
  if (t->is_boolean()) return t->get<bool>();
  if (!t->is_object() || !t->contains("type") || !(*t)["type"].is_string())
    throw ApiError(400, "'thinking' must be {\"type\": \"enabled\" | \"disabled\"}", "thinking", "invalid_type");
  const std::string ty = (*t)["type"].get<std::string>();
  if (ty == "enabled") return true;
  if (ty == "disabled") return false;
  throw ApiError(422, "'thinking.type' must be \"enabled\" or \"disabled\"", "thinking.type", "invalid_value");
}

}  // namespace frugal::server
