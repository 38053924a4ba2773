#include "chat/messages.h"

#include "core/text.h"
#include "formats/json_file.h"

namespace frugal::chat {

namespace {

[[noreturn]] void bad(const std::string& path, const std::string& msg) { throw FieldError(path, msg); }

std::string got(const json& v) { return std::string("got ") + v.type_name(); }

std::string text_content(const json& content, const std::string& path) {
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) bad(path, "expected a string or an array of text parts, " + got(content));
  std::string out;
  for (size_t k = 0; k < content.size(); ++k) {
    const json& part = content[k];
    const std::string p = strfmt("%s[%zu]", path.c_str(), k);
    if (!part.is_object()) bad(p, "expected an object, " + got(part));
    auto type = part.find("type");
    if (type == part.end() || !type->is_string()) bad(p + ".type", "missing or not a string");
    if (*type != "text")
      bad(p + ".type", "unsupported content part type '" + printable(type->get<std::string>()) + "' (only text)");
    auto text = part.find("text");
    if (text == part.end() || !text->is_string()) bad(p + ".text", "missing or not a string");
    if (k > 0) out += '\n';
    out += text->get<std::string>();
  }
  return out;
}

std::optional<std::string> optional_string(const json& o, const char* key, const std::string& path) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) bad(path + "." + key, "expected a string, " + got(*it));
  return it->get<std::string>();
}

PastToolCall decode_tool_call(const json& call, const std::string& p) {
  if (!call.is_object()) bad(p, "expected an object, " + got(call));
  PastToolCall out;
  if (auto id = optional_string(call, "id", p)) out.id = *id;
  if (auto type = call.find("type"); type != call.end() && !type->is_null() && *type != "function")
    bad(p + ".type", "expected \"function\"");
  auto fn = call.find("function");
  if (fn == call.end() || !fn->is_object()) bad(p + ".function", "missing or not an object");
  auto name = fn->find("name");
  if (name == fn->end() || !name->is_string() || name->get<std::string>().empty())
    bad(p + ".function.name", "missing, empty or not a string");
  out.name = name->get<std::string>();
  auto a = fn->find("arguments");
  if (a == fn->end() || a->is_null()) out.arguments = json::object();
  else if (a->is_string() || a->is_object()) out.arguments = *a;
  else bad(p + ".function.arguments", "expected a JSON string or an object, " + got(*a));
  return out;
}

Message decode_message(const json& msg, const std::string& p) {
  if (!msg.is_object()) bad(p, "expected an object, " + got(msg));
  auto role_it = msg.find("role");
  if (role_it == msg.end() || !role_it->is_string()) bad(p + ".role", "missing or not a string");
  const std::string role = role_it->get<std::string>();
  Message out;
  const std::optional<Role> r = parse_role(role);
  if (!r) bad(p + ".role", "unknown role '" + printable(role) + "' (system, developer, user, assistant, tool)");
  out.role = *r;

  if (auto tc = msg.find("tool_calls"); tc != msg.end() && !tc->is_null()) {
    if (out.role != Role::assistant) bad(p + ".tool_calls", "only assistant messages carry tool calls");
    if (!tc->is_array()) bad(p + ".tool_calls", "expected an array, " + got(*tc));
    for (size_t k = 0; k < tc->size(); ++k) out.tool_calls.push_back(decode_tool_call((*tc)[k], strfmt("%s.tool_calls[%zu]", p.c_str(), k)));
  }
  if (auto content = msg.find("content"); content != msg.end() && !content->is_null())
    out.content = text_content(*content, p + ".content");
  out.reasoning = optional_string(msg, "reasoning_content", p);
  out.name = optional_string(msg, "name", p);
  if (auto id = optional_string(msg, "tool_call_id", p)) out.tool_call_id = *id;
  return out;
}

}  // namespace

const char* role_name(Role r) {
  switch (r) {
    case Role::system: return "system";
    case Role::user: return "user";
    case Role::assistant: return "assistant";
    case Role::tool: return "tool";
  }
  return "user";
}

std::optional<Role> parse_role(const std::string& name) {
  if (name == "system" || name == "developer") return Role::system;
  if (name == "user") return Role::user;
  if (name == "assistant") return Role::assistant;
  if (name == "tool") return Role::tool;
  return std::nullopt;
}

void check_messages(const std::vector<Message>& messages, const std::string& path) {
  if (messages.empty()) bad(path, "empty: a conversation needs at least one message");
  for (size_t i = 0; i < messages.size(); ++i) {
    const Message& m = messages[i];
    const std::string p = strfmt("%s[%zu]", path.c_str(), i);
    if (!m.content && (m.role != Role::assistant || m.tool_calls.empty()))
      bad(p + ".content", "missing or null (only an assistant turn with tool_calls may omit it)");
    if (m.reasoning && m.role != Role::assistant) bad(p + ".reasoning_content", "only assistant messages carry reasoning");
    if (m.role == Role::tool && m.tool_call_id.empty())
      bad(p + ".tool_call_id", "a tool message needs the id of the call it answers");
  }
}

std::vector<Message> decode_messages(const json& messages, const std::string& path) {
  if (!messages.is_array()) bad(path, "expected an array, " + got(messages));
  std::vector<Message> out;
  for (size_t i = 0; i < messages.size(); ++i) out.push_back(decode_message(messages[i], strfmt("%s[%zu]", path.c_str(), i)));
  check_messages(out, path);
  return out;
}

std::vector<ToolDef> decode_tools(const json& tools, const std::string& path) {
  std::vector<ToolDef> out;
  if (tools.is_null()) return out;
  if (!tools.is_array()) bad(path, "expected an array, " + got(tools));
  for (size_t k = 0; k < tools.size(); ++k) {
    const json& t = tools[k];
    const std::string p = strfmt("%s[%zu]", path.c_str(), k);
    if (!t.is_object()) bad(p, "expected an object, " + got(t));
    if (auto type = t.find("type"); type == t.end() || *type != "function") bad(p + ".type", "expected \"function\"");
    auto fn = t.find("function");
    if (fn == t.end() || !fn->is_object()) bad(p + ".function", "missing or not an object");
    ToolDef d;
    auto name = fn->find("name");
    if (name == fn->end() || !name->is_string() || name->get<std::string>().empty())
      bad(p + ".function.name", "missing, empty or not a string");
    d.name = name->get<std::string>();
    d.description = optional_string(*fn, "description", p + ".function");
    if (auto pa = fn->find("parameters"); pa != fn->end() && !pa->is_null()) {
      if (!pa->is_object()) bad(p + ".function.parameters", "expected an object (JSON Schema), " + got(*pa));
      d.parameters = *pa;
    }
    out.push_back(std::move(d));
  }
  return out;
}

json ToolDef::to_json() const {
  json fn = {{"name", name}};
  if (description) fn["description"] = *description;
  if (!parameters.is_null()) fn["parameters"] = parameters;
  return {{"type", "function"}, {"function", std::move(fn)}};
}

json template_messages(const std::vector<Message>& messages, bool tool_arguments_as_text) {
  json out = json::array();
  for (const Message& m : messages) {
    json j = {{"role", role_name(m.role)}};
    j["content"] = m.content ? json(*m.content) : json(nullptr);
    if (m.reasoning) j["reasoning_content"] = *m.reasoning;
    if (!m.tool_calls.empty()) {
      json calls = json::array();
      for (const PastToolCall& c : m.tool_calls) {
        json args = c.arguments;
        if (tool_arguments_as_text) {
          if (args.is_object()) args = args.dump();
        } else if (args.is_string()) {
          // Bounded nesting: the template context copies it, recursively.
          json parsed = parse_untrusted_json<json>(args.get<std::string>());
          if (parsed.is_object()) args = std::move(parsed);
        }
        json call = json::object();
        if (!c.id.empty()) call["id"] = c.id;
        call["type"] = "function";
        call["function"] = {{"name", c.name}, {"arguments", std::move(args)}};
        calls.push_back(std::move(call));
      }
      j["tool_calls"] = std::move(calls);
    }
    if (m.name) j["name"] = *m.name;
    if (m.role == Role::tool) j["tool_call_id"] = m.tool_call_id;
    out.push_back(std::move(j));
  }
  return out;
}

json build_template_context(const std::vector<Message>& messages, const std::vector<ToolDef>& tools,
                            const TemplateContextOptions& opts) {
  json ctx = json::object();
  ctx["messages"] = template_messages(messages, opts.tool_arguments_as_text);
  if (!tools.empty()) {
    json t = json::array();
    for (const ToolDef& d : tools) t.push_back(d.to_json());
    ctx["tools"] = std::move(t);
  }
  ctx["add_generation_prompt"] = opts.add_generation_prompt;
  ctx["bos_token"] = opts.bos_token;
  ctx["eos_token"] = opts.eos_token;
  if (opts.thinking) {
    ctx["enable_thinking"] = *opts.thinking;
    ctx["thinking"] = *opts.thinking;
  }
  if (!opts.extra.is_null()) {
    if (!opts.extra.is_object()) fail("[chat] extra template variables: expected an object, got %s", opts.extra.type_name());
    for (const auto& [k, v] : opts.extra.items()) ctx[k] = v;
  }
  return ctx;
}

}  // namespace frugal::chat
