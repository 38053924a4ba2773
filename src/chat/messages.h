// A conversation as frugal holds it, typed, and the chat-template context it renders into.
// Every API dialect decodes its own message shape into these types once, at the edge; the
// OpenAI / DeepSeek shape is decoded here (it is also what `frugal chat` saves). Requests are
// untrusted: every error is a FieldError carrying the field's path ("messages[3].content").
// The template context is the shape Hugging Face chat templates read:
//   - roles system / user / assistant / tool ("developer" is decoded as system);
//   - content a string; null only on an assistant turn that carries tool_calls;
//   - tool_calls [{id?, type:"function", function:{name, arguments}}], arguments an object for
//     templates that `tojson` them (Qwen, Llama), the JSON text for DeepSeek's, which
//     concatenate it; arguments that are not a JSON object stay the string they were sent as;
//   - reasoning_content on assistant turns (the template decides whether to show it), name,
//     tool_call_id on tool turns.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace frugal::chat {

using json = nlohmann::ordered_json;

// A request field that is wrong: what() is "path: message".
struct FieldError : Error {
  FieldError(std::string path, const std::string& msg) : Error(path + ": " + msg), path(std::move(path)) {}
  std::string path;
};

enum class Role { system, user, assistant, tool };
const char* role_name(Role r);
// "system" (or "developer"), "user", "assistant", "tool"; nothing for any other name.
std::optional<Role> parse_role(const std::string& name);

// A tool call of an earlier assistant turn.
struct PastToolCall {
  std::string id;      // "" when the client gave none
  std::string name;
  json arguments;      // an object, or a string (as sent: JSON text or not)
};

struct Message {
  Role role = Role::user;
  std::optional<std::string> content;    // absent only on an assistant turn with tool_calls
  std::optional<std::string> reasoning;  // assistant turns only
  std::vector<PastToolCall> tool_calls;  // assistant turns only
  std::optional<std::string> name;
  std::string tool_call_id;              // tool turns: the call answered (required there)

  static Message of(Role role, std::optional<std::string> content = std::nullopt) {
    Message m;
    m.role = role;
    m.content = std::move(content);
    return m;
  }
};

// A function the model may call (OpenAI's {type:"function", function:{...}}).
struct ToolDef {
  std::string name;
  std::optional<std::string> description;
  json parameters;  // a JSON Schema object, or null
  json to_json() const;  // the OpenAI shape, which chat templates read
};

// OpenAI / DeepSeek messages: an array of message objects (unknown fields are dropped; content
// as a string or text parts, joined with "\n" as vLLM's "string" content format does).
std::vector<Message> decode_messages(const json& messages, const std::string& path = "messages");
// OpenAI tools: null or an array of {type:"function", function:{name, description?, parameters?}}.
std::vector<ToolDef> decode_tools(const json& tools, const std::string& path = "tools");
// The checks every dialect's messages must pass (roles carry only what they may carry).
void check_messages(const std::vector<Message>& messages, const std::string& path = "messages");

struct TemplateContextOptions {
  bool add_generation_prompt = true;
  std::string bos_token, eos_token;
  std::optional<bool> thinking;        // sets both `enable_thinking` (Qwen3) and `thinking` (DeepSeek V3.1)
  json extra = json::object();         // further template variables (chat_template_kwargs), set last
  // DeepSeek's own templates concatenate `arguments` as a string ('```json\n' + arguments);
  // Qwen / Llama templates `tojson` an object.
  bool tool_arguments_as_text = false;
};

// The messages in the template context's shape.
json template_messages(const std::vector<Message>& messages, bool tool_arguments_as_text);

// The variables a chat template is rendered with: messages, tools (only when non-empty:
// templates test `if tools`), add_generation_prompt, bos_token, eos_token, the thinking switches
// and `extra`.
json build_template_context(const std::vector<Message>& messages, const std::vector<ToolDef>& tools,
                            const TemplateContextOptions& opts);

}  // namespace frugal::chat
