// Anthropic's Messages body (/v1/messages, /anthropic/v1/messages) decoded into a ChatSpec:
// system, text / thinking / tool_use / tool_result blocks, tools with input_schema,
// tool_choice, stop_sequences, thinking. Errors name the Anthropic path.
#include "server/chat_spec.h"

namespace frugal::server {

namespace {

// A string, or an array of text blocks (system prompts, tool results): their text joined.
std::string text_blocks(const json& v, const std::string& path) {
  if (v.is_string()) return v.get<std::string>();
  if (!v.is_array()) bad_field(path, std::string("expected a string or an array of text blocks, got ") + v.type_name());
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string p = path + "[" + std::to_string(i) + "]";
    if (!v[i].is_object()) bad_field(p, std::string("expected a content block object, got ") + v[i].type_name());
    const std::string& type = required_string(v[i], "type", p);
    if (type != "text") bad_field(p + ".type", "'" + type + "' blocks are not supported here (text only)");
    if (!out.empty()) out += "\n";
    out += required_string(v[i], "text", p);
  }
  return out;
}

// One Anthropic message as frugal's: a user turn's tool_result blocks become tool messages
// (before its text, as Anthropic requires them first), an assistant turn's thinking / text /
// tool_use blocks one assistant message.
void decode_message(const json& m, const std::string& path, std::vector<chat::Message>& out) {
  using chat::Role;
  if (!m.is_object()) bad_field(path, std::string("expected a message object, got ") + m.type_name());
  const std::string& role = required_string(m, "role", path);
  if (role != "user" && role != "assistant") bad_field(path + ".role", "expected \"user\" or \"assistant\", got \"" + role + "\"");
  const Role r = role == "user" ? Role::user : Role::assistant;
  auto c = m.find("content");
  if (c == m.end()) bad_field(path + ".content", "required");
  if (c->is_string()) {
    out.push_back(chat::Message::of(r, c->get<std::string>()));
    return;
  }
  if (!c->is_array()) bad_field(path + ".content", std::string("expected a string or an array of content blocks, got ") + c->type_name());
  std::string text, thinking;
  std::vector<chat::PastToolCall> calls;
  bool results = false;
  for (size_t i = 0; i < c->size(); ++i) {
    const json& b = (*c)[i];
    const std::string p = path + ".content[" + std::to_string(i) + "]";
    if (!b.is_object()) bad_field(p, std::string("expected a content block object, got ") + b.type_name());
    const std::string& type = required_string(b, "type", p);
    if (type == "text") {
      text += required_string(b, "text", p);
    } else if (type == "image" || type == "document" || type == "search_result" || type == "container_upload") {
      bad_field(p + ".type", "'" + type + "' blocks are not supported: this server runs text-only models");
    } else if (r == Role::user && type == "tool_result") {
      chat::Message tool = chat::Message::of(Role::tool, "");
      tool.tool_call_id = required_id(b, "tool_use_id", p);
      if (auto rc = b.find("content"); rc != b.end() && !rc->is_null()) tool.content = text_blocks(*rc, p + ".content");
      if (auto e = b.find("is_error"); e != b.end() && e->is_boolean() && e->get<bool>()) tool.content = "Error: " + *tool.content;
      out.push_back(std::move(tool));
      results = true;
    } else if (r == Role::assistant && type == "thinking") {
      thinking += required_string(b, "thinking", p);
    } else if (r == Role::assistant && type == "redacted_thinking") {
      // Opaque to every model but the one that wrote it: dropped.
    } else if (r == Role::assistant && type == "tool_use") {
      auto in = b.find("input");
      if (in == b.end() || !in->is_object()) bad_field(p + ".input", "expected an object");
      calls.push_back({.id = required_id(b, "id", p), .name = required_string(b, "name", p), .arguments = *in});
    } else {
      bad_field(p + ".type", "unsupported content block type '" + type + "' in a" + (r == Role::user ? " user" : "n assistant") + " message");
    }
  }
  if (r == Role::user) {
    if (!text.empty() || !results) out.push_back(chat::Message::of(Role::user, text));
    return;
  }
  chat::Message msg = chat::Message::of(Role::assistant);
  if (!text.empty() || calls.empty()) msg.content = text;
  if (!thinking.empty()) msg.reasoning = thinking;
  msg.tool_calls = std::move(calls);
  out.push_back(std::move(msg));
}

}  // namespace

ChatSpec decode_anthropic_messages(const json& body) {
  ChatSpec s;
  s.common = default_common();
  auto mt = body.find("max_tokens");
  if (mt == body.end()) bad_field("max_tokens", "required");
  s.common.max_tokens = integer_at(body, "max_tokens", "max_tokens", 1, INT64_MAX, 1);
  auto ms = body.find("messages");
  if (ms == body.end()) bad_field("messages", "required");
  if (!ms->is_array() || ms->empty()) bad_field("messages", "expected a non-empty array of messages");
  if (auto sys = body.find("system"); sys != body.end() && !sys->is_null())
    s.messages.push_back(chat::Message::of(chat::Role::system, text_blocks(*sys, "system")));
  for (size_t i = 0; i < ms->size(); ++i) decode_message((*ms)[i], "messages[" + std::to_string(i) + "]", s.messages);
  read_sampling(json{{"temperature", body.value("temperature", json())}, {"top_p", body.value("top_p", json())},
                     {"top_k", body.value("top_k", json())}},
                "", s.common, "repetition_penalty");
  s.common.stream = boolean_at(body, "stream", "stream", false);
  if (auto st = body.find("stop_sequences"); st != body.end() && !st->is_null()) {
    if (!st->is_array()) bad_field("stop_sequences", "expected an array of strings");
    s.common.stop = stop_at(body, "stop_sequences", "stop_sequences");
  }
  if (auto t = body.find("tools"); t != body.end() && !t->is_null()) {
    if (!t->is_array()) bad_field("tools", "expected an array");
    for (size_t i = 0; i < t->size(); ++i) {
      const json& tool = (*t)[i];
      const std::string p = "tools[" + std::to_string(i) + "]";
      if (!tool.is_object()) bad_field(p, "expected an object");
      if (tool.contains("type") && tool["type"] != "custom")
        bad_field(p + ".type", "server tools (" + dump(tool["type"]) + ") are not supported; define client tools with input_schema");
      chat::ToolDef d;
      d.name = required_string(tool, "name", p);
      if (auto desc = tool.find("description"); desc != tool.end() && !desc->is_null()) d.description = required_string(tool, "description", p);
      auto schema = tool.find("input_schema");
      if (schema == tool.end() || !schema->is_object()) bad_field(p + ".input_schema", "required, an object");
      d.parameters = *schema;
      s.tools.push_back(std::move(d));
    }
  }
  if (auto tc = body.find("tool_choice"); tc != body.end() && !tc->is_null()) {
    if (!tc->is_object()) bad_field("tool_choice", "expected an object with a 'type'");
    const std::string& type = required_string(*tc, "type", "tool_choice");
    if (type == "auto") s.tool_choice.kind = ToolChoice::Kind::auto_;
    else if (type == "any") s.tool_choice.kind = ToolChoice::Kind::required;
    else if (type == "none") s.tool_choice.kind = ToolChoice::Kind::none;
    else if (type == "tool") s.tool_choice = {ToolChoice::Kind::function, required_string(*tc, "name", "tool_choice")};
    else bad_field("tool_choice.type", "expected auto, any, tool or none");
  }
  if (auto th = body.find("thinking"); th != body.end() && !th->is_null()) {
    if (!th->is_object()) bad_field("thinking", "expected {\"type\": \"enabled\" | \"disabled\"}");
    const std::string& type = required_string(*th, "type", "thinking");
    if (type != "enabled" && type != "disabled") bad_field("thinking.type", "expected \"enabled\" or \"disabled\"");
    s.thinking = type == "enabled";
  }
  check_chat_spec(s);
  return s;
}

}  // namespace frugal::server
