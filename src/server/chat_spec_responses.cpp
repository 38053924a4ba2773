// OpenAI's Responses body (/v1/responses) decoded into a ChatSpec: instructions, input as text
// or items (messages, function_call, function_call_output, reasoning), function tools,
// tool_choice, text.format, reasoning.effort. frugal stores no responses.
#include "server/chat_spec.h"

namespace frugal::server {

namespace {

// A message's content: a string, or input_text / output_text parts (joined).
std::string content_text(const json& c, const std::string& path) {
  if (c.is_string()) return c.get<std::string>();
  if (!c.is_array()) bad_field(path, std::string("expected a string or an array of content parts, got ") + c.type_name());
  std::string out;
  for (size_t i = 0; i < c.size(); ++i) {
    const std::string p = path + "[" + std::to_string(i) + "]";
    if (!c[i].is_object()) bad_field(p, std::string("expected a content part object, got ") + c[i].type_name());
    const std::string& type = required_string(c[i], "type", p);
    if (type == "input_text" || type == "output_text" || type == "text") out += required_string(c[i], "text", p);
    else if (type == "refusal") out += required_string(c[i], "refusal", p);
    else bad_field(p + ".type", "'" + type + "' parts are not supported: this server runs text-only models");
  }
  return out;
}

// The input items as messages. Consecutive function_call items are one assistant turn's tool
// calls; a function_call_output is a tool message.
std::vector<chat::Message> decode_input(const json& input) {
  using chat::Role;
  std::vector<chat::Message> msgs;
  if (input.is_string()) {
    msgs.push_back(chat::Message::of(Role::user, input.get<std::string>()));
    return msgs;
  }
  if (!input.is_array()) bad_field("input", std::string("expected a string or an array of items, got ") + input.type_name());
  for (size_t i = 0; i < input.size(); ++i) {
    const json& it = input[i];
    const std::string p = "input[" + std::to_string(i) + "]";
    if (!it.is_object()) bad_field(p, std::string("expected an item object, got ") + it.type_name());
    const std::string type = it.contains("type") ? required_string(it, "type", p) : "message";
    if (type == "message") {
      const std::string& role = required_string(it, "role", p);
      const std::optional<Role> r = chat::parse_role(role);
      if (!r || *r == Role::tool) bad_field(p + ".role", "expected user, assistant, system or developer, got \"" + role + "\"");
      auto c = it.find("content");
      if (c == it.end()) bad_field(p + ".content", "required");
      msgs.push_back(chat::Message::of(*r, content_text(*c, p + ".content")));
    } else if (type == "function_call") {
      chat::PastToolCall call{.id = required_id(it, "call_id", p), .name = required_string(it, "name", p),
                              .arguments = required_string(it, "arguments", p)};
      // Joins the assistant turn before it (its text, or earlier calls of the same turn); a
      // turn of calls alone has null content, as chat templates expect.
      if (msgs.empty() || msgs.back().role != Role::assistant) msgs.push_back(chat::Message::of(Role::assistant));
      chat::Message& last = msgs.back();
      if (last.content && last.content->empty()) last.content.reset();
      last.tool_calls.push_back(std::move(call));
    } else if (type == "function_call_output") {
      const json* out = it.contains("output") ? &it["output"] : nullptr;
      if (!out) bad_field(p + ".output", "required");
      chat::Message tool = chat::Message::of(Role::tool, out->is_string() ? out->get<std::string>() : content_text(*out, p + ".output"));
      tool.tool_call_id = required_id(it, "call_id", p);
      msgs.push_back(std::move(tool));
    } else if (type == "reasoning") {
      // The model's earlier reasoning: templates drop it from past turns anyway.
    } else {
      bad_field(p + ".type", "'" + type + "' items are not supported (message, function_call, function_call_output, reasoning)");
    }
  }
  if (msgs.empty()) bad_field("input", "no messages");
  return msgs;
}

}  // namespace

ChatSpec decode_responses(const json& body) {
  ChatSpec s;
  if (auto prev = body.find("previous_response_id"); prev != body.end() && !prev->is_null())
    bad_field("previous_response_id", "not supported: this server stores no responses; send the conversation as input items");
  auto in = body.find("input");
  if (in == body.end() || in->is_null()) bad_field("input", "required");
  s.messages = decode_input(*in);
  if (auto ins = body.find("instructions"); ins != body.end() && !ins->is_null()) {
    if (!ins->is_string()) bad_field("instructions", "expected a string");
    s.messages.insert(s.messages.begin(), chat::Message::of(chat::Role::system, ins->get<std::string>()));
  }
  s.common = default_common();
  read_sampling(json{{"temperature", body.value("temperature", json())}, {"top_p", body.value("top_p", json())},
                     {"top_k", body.value("top_k", json())}, {"min_p", body.value("min_p", json())},
                     {"seed", body.value("seed", json())}},
                "", s.common, "repetition_penalty");
  if (field(body, "max_output_tokens")) s.common.max_tokens = integer_at(body, "max_output_tokens", "max_output_tokens", 1, INT64_MAX, 1);
  s.common.stream = boolean_at(body, "stream", "stream", false);
  s.thinking = thinking_switch(body);
  if (auto t = body.find("tools"); t != body.end() && !t->is_null()) {
    if (!t->is_array()) bad_field("tools", "expected an array");
    for (size_t i = 0; i < t->size(); ++i) {
      const json& tool = (*t)[i];
      const std::string p = "tools[" + std::to_string(i) + "]";
      if (!tool.is_object()) bad_field(p, "expected an object");
      const std::string& type = required_string(tool, "type", p);
      if (type != "function") bad_field(p + ".type", "'" + type + "' tools are not supported; define function tools");
      chat::ToolDef d;
      d.name = required_string(tool, "name", p);
      if (auto desc = tool.find("description"); desc != tool.end() && !desc->is_null()) d.description = required_string(tool, "description", p);
      if (auto ps = tool.find("parameters"); ps != tool.end() && !ps->is_null()) {
        if (!ps->is_object()) bad_field(p + ".parameters", "expected an object (JSON Schema)");
        d.parameters = *ps;
      }
      s.tools.push_back(std::move(d));
    }
  }
  if (auto tc = body.find("tool_choice"); tc != body.end() && !tc->is_null()) {
    if (*tc == "auto") s.tool_choice.kind = ToolChoice::Kind::auto_;
    else if (*tc == "none") s.tool_choice.kind = ToolChoice::Kind::none;
    else if (*tc == "required") s.tool_choice.kind = ToolChoice::Kind::required;
    else if (tc->is_object() && tc->value("type", json()) == "function")
      s.tool_choice = {ToolChoice::Kind::function, required_string(*tc, "name", "tool_choice")};
    else bad_field("tool_choice", "expected auto, none, required or {\"type\": \"function\", \"name\": ...}");
  }
  if (auto tx = body.find("text"); tx != body.end() && !tx->is_null()) {
    if (!tx->is_object()) bad_field("text", "expected an object");
    if (auto f = tx->find("format"); f != tx->end() && !f->is_null()) {
      if (!f->is_object()) bad_field("text.format", "expected an object");
      const std::string& type = required_string(*f, "type", "text.format");
      if (type == "json_object") {
        s.format.kind = OutputFormat::Kind::json_object;
      } else if (type == "json_schema") {
        auto sc = f->find("schema");
        if (sc == f->end() || !sc->is_object()) bad_field("text.format.schema", "required, an object");
        s.format = {OutputFormat::Kind::json_schema, *sc};
      } else if (type != "text") {
        bad_field("text.format.type", "expected text, json_object or json_schema");
      }
    }
  }
  if (auto r = body.find("reasoning"); r != body.end() && !r->is_null()) {
    if (!r->is_object()) bad_field("reasoning", "expected an object");
    if (auto e = r->find("effort"); e != r->end() && !e->is_null()) {
      if (*e == "none") s.thinking = false;
      else s.reasoning_effort = reasoning_effort_at(*e, "reasoning.effort");
    }
  }
  check_chat_spec(s);
  return s;
}

}  // namespace frugal::server
