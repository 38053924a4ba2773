// Ollama's /api/chat and /api/generate bodies decoded into a ChatSpec: messages (thinking,
// tool calls with object arguments, tool results paired with the calls they answer),
// options, format, think, stream (on unless turned off), raw prompts.
#include <algorithm>

#include "server/chat_spec.h"

namespace frugal::server {

namespace {

// options {temperature, top_p, top_k, min_p, seed, num_predict, stop, repeat_penalty,
// presence_penalty, frequency_penalty, ...}; options frugal has no use for (num_ctx,
// num_thread, mirostat, ...) are ignored, as Ollama ignores unknown ones. stream defaults to true.
CommonParams decode_common(const json& body) {
  CommonParams p = default_common();
  if (auto o = body.find("options"); o != body.end() && !o->is_null()) {
    if (!o->is_object()) bad_field("options", "expected an object");
    read_sampling(*o, "options.", p, "repeat_penalty");
    // -1 (no limit) and -2 (fill the context): up to the context.
    const int64_t n = integer_at(*o, "num_predict", "options.num_predict", INT64_MIN, INT64_MAX, -1);
    if (n >= 0) p.max_tokens = std::max<int64_t>(n, 1);
  }
  p.stream = boolean_at(body, "stream", "stream", true);
  return p;
}

// format: "json" or a JSON schema object; think: a boolean or "low" / "medium" / "high".
void decode_format_think(const json& body, ChatSpec& s) {
  if (auto f = body.find("format"); f != body.end() && !f->is_null()) {
    if (f->is_string() && f->get<std::string>() == "json") s.format.kind = OutputFormat::Kind::json_object;
    else if (f->is_string() && f->get<std::string>().empty()) {
    } else if (f->is_object()) {
      s.format.kind = OutputFormat::Kind::json_schema;
      s.format.schema = *f;
    } else bad_field("format", "expected \"json\" or a JSON schema object");
  }
  if (auto t = body.find("think"); t != body.end() && !t->is_null()) {
    if (t->is_boolean()) {
      s.thinking = t->get<bool>();
    } else if (t->is_string() && (*t == "low" || *t == "medium" || *t == "high")) {
      s.thinking = true;
      s.reasoning_effort = t->get<std::string>();
    } else {
      bad_field("think", "expected true, false, \"low\", \"medium\" or \"high\"");
    }
  }
}

// Ollama messages: assistant tool calls get ids, and each tool result is paired with the first
// unanswered call (of its tool_name, when given), as Ollama's results carry no call id.
std::vector<chat::Message> decode_messages(const json& msgs) {
  if (!msgs.is_array()) bad_field("messages", "expected an array");
  std::vector<chat::Message> out;
  std::vector<std::pair<std::string, std::string>> pending;  // (id, name) of unanswered calls
  for (size_t i = 0; i < msgs.size(); ++i) {
    const json& m = msgs[i];
    const std::string p = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) bad_field(p, "expected an object");
    const std::string& role = required_string(m, "role", p);
    chat::Message msg;
    if (auto r = chat::parse_role(role)) msg.role = *r;
    else bad_field(p + ".role", "unknown role '" + role + "' (system, user, assistant, tool)");
    if (auto im = m.find("images"); im != m.end() && !im->is_null() && !(im->is_array() && im->empty()))
      bad_field(p + ".images", "images are not supported: this server runs text-only models");
    if (auto c = m.find("content"); c != m.end() && !c->is_null()) {
      if (!c->is_string()) bad_field(p + ".content", std::string("expected a string, got ") + c->type_name());
      msg.content = c->get<std::string>();
    } else {
      msg.content = "";
    }
    if (auto th = m.find("thinking"); th != m.end() && !th->is_null()) {
      if (!th->is_string()) bad_field(p + ".thinking", "expected a string");
      if (!th->get<std::string>().empty() && msg.role == chat::Role::assistant) msg.reasoning = th->get<std::string>();
    }
    if (auto tc = m.find("tool_calls"); tc != m.end() && !tc->is_null()) {
      if (msg.role != chat::Role::assistant) bad_field(p + ".tool_calls", "only assistant messages carry tool calls");
      if (!tc->is_array()) bad_field(p + ".tool_calls", "expected an array");
      for (size_t k = 0; k < tc->size(); ++k) {
        const json& c = (*tc)[k];
        const std::string q = p + ".tool_calls[" + std::to_string(k) + "]";
        auto fn = c.is_object() ? c.find("function") : c.end();
        if (!c.is_object() || fn == c.end() || !fn->is_object()) bad_field(q + ".function", "expected an object");
        chat::PastToolCall call;
        call.name = required_string(*fn, "name", q + ".function");
        if (auto args = fn->find("arguments"); args == fn->end() || args->is_null()) call.arguments = json::object();
        else if (args->is_object() || args->is_string()) call.arguments = *args;
        else bad_field(q + ".function.arguments", "expected an object");
        call.id = c.contains("id") && c["id"].is_string() ? c["id"].get<std::string>() : "call_" + std::to_string(i) + "_" + std::to_string(k);
        pending.emplace_back(call.id, call.name);
        msg.tool_calls.push_back(std::move(call));
      }
      if (msg.content == "") msg.content.reset();
    }
    if (msg.role == chat::Role::tool) {
      const std::string want = m.contains("tool_name") && m["tool_name"].is_string() ? m["tool_name"].get<std::string>() : "";
      auto it = pending.begin();
      while (it != pending.end() && !want.empty() && it->second != want) ++it;
      if (it == pending.end()) bad_field(p, "a tool result with no earlier tool call" + (want.empty() ? std::string() : " of '" + want + "'") + " to answer");
      msg.tool_call_id = it->first;
      pending.erase(it);
    }
    out.push_back(std::move(msg));
  }
  return out;
}

}  // namespace

ChatSpec decode_ollama_chat(const json& body) {
  ChatSpec s;
  auto msgs = body.find("messages");
  if (msgs == body.end() || msgs->is_null()) bad_field("messages", "required");
  s.messages = decode_messages(*msgs);
  if (auto t = body.find("tools"); t != body.end() && !t->is_null()) field_errors_as_400([&] { s.tools = chat::decode_tools(*t); });
  s.common = decode_common(body);
  decode_format_think(body, s);
  check_chat_spec(s);
  return s;
}

ChatSpec decode_ollama_generate(const json& body) {
  auto pr = body.find("prompt");
  if (pr != body.end() && !pr->is_null() && !pr->is_string()) bad_field("prompt", "expected a string");
  const std::string prompt = pr == body.end() || pr->is_null() ? "" : pr->get<std::string>();
  if (prompt.empty()) bad_field("prompt", "required (an empty prompt only loads the model)");
  if (auto s = body.find("suffix"); s != body.end() && s->is_string() && !s->get<std::string>().empty())
    bad_field("suffix", "fill-in-the-middle is served at /v1/completions ('suffix')");
  if (auto t = body.find("template"); t != body.end() && t->is_string() && !t->get<std::string>().empty())
    bad_field("template", "Go templates are not supported; the model's own chat template is used");
  if (auto im = body.find("images"); im != body.end() && im->is_array() && !im->empty())
    bad_field("images", "images are not supported: this server runs text-only models");
  ChatSpec s;
  s.common = decode_common(body);
  decode_format_think(body, s);
  if (boolean_at(body, "raw", "raw", false)) {
    if (s.format.kind != OutputFormat::Kind::text) bad_field("format", "a JSON format needs the chat template (raw: false)");
    s.raw_prompt = prompt;
    return s;
  }
  if (auto sys = body.find("system"); sys != body.end() && !sys->is_null()) {
    if (!sys->is_string()) bad_field("system", "expected a string");
    if (!sys->get<std::string>().empty()) s.messages.push_back(chat::Message::of(chat::Role::system, sys->get<std::string>()));
  }
  s.messages.push_back(chat::Message::of(chat::Role::user, prompt));
  check_chat_spec(s);
  return s;
}

}  // namespace frugal::server
