// POST /v1/messages and /anthropic/v1/messages: Anthropic's Messages API. The request is
// decoded into the chat-completions shape the rest of the server validates and renders (system,
// text blocks, tool_use / tool_result turns, thinking blocks, tools, tool_choice, stop
// sequences), and the output parser's deltas are encoded as Anthropic's content blocks and
// stream events (message_start, content_block_start / _delta / _stop, message_delta,
// message_stop). Field errors name the Anthropic path (messages[1].content[0].type).
#include "server/api.h"
#include "server/chat_stream.h"

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

// One Anthropic message as chat-completions messages: a user turn's tool_result blocks become
// tool messages (before its text, as Anthropic requires them first), an assistant turn's
// thinking / text / tool_use blocks one assistant message.
void decode_message(const json& m, const std::string& path, json& out) {
  if (!m.is_object()) bad_field(path, std::string("expected a message object, got ") + m.type_name());
  const std::string& role = required_string(m, "role", path);
  if (role != "user" && role != "assistant") bad_field(path + ".role", "expected \"user\" or \"assistant\", got \"" + role + "\"");
  auto c = m.find("content");
  if (c == m.end()) bad_field(path + ".content", "required");
  if (c->is_string()) {
    out.push_back({{"role", role}, {"content", *c}});
    return;
  }
  if (!c->is_array()) bad_field(path + ".content", std::string("expected a string or an array of content blocks, got ") + c->type_name());
  std::string text, thinking;
  json calls = json::array();
  for (size_t i = 0; i < c->size(); ++i) {
    const json& b = (*c)[i];
    const std::string p = path + ".content[" + std::to_string(i) + "]";
    if (!b.is_object()) bad_field(p, std::string("expected a content block object, got ") + b.type_name());
    const std::string& type = required_string(b, "type", p);
    if (type == "text") {
      text += required_string(b, "text", p);
    } else if (type == "image" || type == "document" || type == "search_result" || type == "container_upload") {
      bad_field(p + ".type", "'" + type + "' blocks are not supported: this server runs text-only models");
    } else if (role == "user" && type == "tool_result") {
      const std::string& id = required_string(b, "tool_use_id", p);
      std::string result;
      if (auto rc = b.find("content"); rc != b.end() && !rc->is_null()) result = text_blocks(*rc, p + ".content");
      if (auto e = b.find("is_error"); e != b.end() && e->is_boolean() && e->get<bool>()) result = "Error: " + result;
      out.push_back({{"role", "tool"}, {"tool_call_id", id}, {"content", result}});
    } else if (role == "assistant" && type == "thinking") {
      thinking += required_string(b, "thinking", p);
    } else if (role == "assistant" && type == "redacted_thinking") {
      // Opaque to every model but the one that wrote it: dropped.
    } else if (role == "assistant" && type == "tool_use") {
      auto in = b.find("input");
      if (in == b.end() || !in->is_object()) bad_field(p + ".input", "expected an object");
      calls.push_back({{"id", required_string(b, "id", p)},
                       {"type", "function"},
                       {"function", {{"name", required_string(b, "name", p)}, {"arguments", dump(*in)}}}});
    } else {
      bad_field(p + ".type", "unsupported content block type '" + type + "' in a" + (role == "user" ? " user" : "n assistant") + " message");
    }
  }
  if (role == "user") {
    if (!text.empty() || out.empty() || out.back()["role"] != "tool") out.push_back({{"role", "user"}, {"content", text}});
    return;
  }
  json msg = {{"role", "assistant"}, {"content", text.empty() && !calls.empty() ? json(nullptr) : json(text)}};
  if (!thinking.empty()) msg["reasoning_content"] = thinking;
  if (!calls.empty()) msg["tool_calls"] = calls;
  out.push_back(std::move(msg));
}

// The request in the chat-completions shape prepare_chat() validates.
json decode_request(const json& body) {
  json out = json::object();
  if (auto m = body.find("model"); m != body.end()) out["model"] = *m;
  auto mt = body.find("max_tokens");
  if (mt == body.end()) bad_field("max_tokens", "required");
  if (!mt->is_number_integer() || mt->get<int64_t>() < 1) bad_field("max_tokens", "expected an integer >= 1");
  out["max_tokens"] = *mt;
  auto ms = body.find("messages");
  if (ms == body.end()) bad_field("messages", "required");
  if (!ms->is_array() || ms->empty()) bad_field("messages", "expected a non-empty array of messages");
  json msgs = json::array();
  if (auto s = body.find("system"); s != body.end() && !s->is_null()) msgs.push_back({{"role", "system"}, {"content", text_blocks(*s, "system")}});
  for (size_t i = 0; i < ms->size(); ++i) decode_message((*ms)[i], "messages[" + std::to_string(i) + "]", msgs);
  out["messages"] = std::move(msgs);
  for (const char* k : {"temperature", "top_p", "top_k", "stream"})
    if (auto v = body.find(k); v != body.end()) out[k] = *v;
  if (auto st = body.find("stop_sequences"); st != body.end() && !st->is_null()) {
    if (!st->is_array()) bad_field("stop_sequences", "expected an array of strings");
    out["stop"] = *st;
  }
  if (auto t = body.find("tools"); t != body.end() && !t->is_null()) {
    if (!t->is_array()) bad_field("tools", "expected an array");
    json tools = json::array();
    for (size_t i = 0; i < t->size(); ++i) {
      const json& tool = (*t)[i];
      const std::string p = "tools[" + std::to_string(i) + "]";
      if (!tool.is_object()) bad_field(p, "expected an object");
      if (tool.contains("type") && tool["type"] != "custom")
        bad_field(p + ".type", "server tools (" + dump(tool["type"]) + ") are not supported; define client tools with input_schema");
      json fn = {{"name", required_string(tool, "name", p)}};
      if (auto d = tool.find("description"); d != tool.end()) fn["description"] = *d;
      auto schema = tool.find("input_schema");
      if (schema == tool.end() || !schema->is_object()) bad_field(p + ".input_schema", "required, an object");
      fn["parameters"] = *schema;
      tools.push_back({{"type", "function"}, {"function", std::move(fn)}});
    }
    out["tools"] = std::move(tools);
  }
  if (auto tc = body.find("tool_choice"); tc != body.end() && !tc->is_null()) {
    if (!tc->is_object()) bad_field("tool_choice", "expected an object with a 'type'");
    const std::string& type = required_string(*tc, "type", "tool_choice");
    if (type == "auto") out["tool_choice"] = "auto";
    else if (type == "any") out["tool_choice"] = "required";
    else if (type == "none") out["tool_choice"] = "none";
    else if (type == "tool") out["tool_choice"] = {{"type", "function"}, {"function", {{"name", required_string(*tc, "name", "tool_choice")}}}};
    else bad_field("tool_choice.type", "expected auto, any, tool or none");
  }
  if (auto th = body.find("thinking"); th != body.end() && !th->is_null()) {
    if (!th->is_object()) bad_field("thinking", "expected {\"type\": \"enabled\" | \"disabled\"}");
    const std::string& type = required_string(*th, "type", "thinking");
    if (type != "enabled" && type != "disabled") bad_field("thinking.type", "expected \"enabled\" or \"disabled\"");
    out["thinking"] = {{"type", type}};
  }
  return out;
}

std::string stop_reason(const ChoiceState& s) {
  if (s.finish == Finish::length || s.finish == Finish::resource) return "max_tokens";
  if (!s.parser.result().tool_calls.empty()) return "tool_use";
  if (s.parser.result().stopped) return "stop_sequence";
  return "end_turn";
}

json stop_sequence(const ChoiceState& s) {
  const auto& r = s.parser.result();
  return r.stopped && s.finish != Finish::length ? json(r.stop_string) : json(nullptr);
}

json usage_json(const OneChoice& r) {
  return {{"input_tokens", r.prompt_tokens - r.cached_tokens},
          {"cache_creation_input_tokens", 0},
          {"cache_read_input_tokens", r.cached_tokens},
          {"output_tokens", r.state.tokens}};
}

std::string event(const char* name, const json& data) { return std::string("event: ") + name + "\ndata: " + dump(data) + "\n\n"; }

// The blocks of a stream: at most one text or thinking block open at a time; a tool call is
// one whole block (its arguments in one input_json_delta: the parser emits calls complete).
class BlockWriter {
 public:
  explicit BlockWriter(const std::function<bool(const std::string&)>& write) : write_(write) {}
  bool ok() const { return ok_; }
  void delta(const chat::Delta& d) {
    switch (d.kind) {
      case chat::DeltaKind::reasoning:
        open("thinking", {{"type", "thinking"}, {"thinking", ""}, {"signature", ""}});
        send("content_block_delta", {{"type", "content_block_delta"}, {"index", index_}, {"delta", {{"type", "thinking_delta"}, {"thinking", d.text}}}});
        break;
      case chat::DeltaKind::content:
      case chat::DeltaKind::reasoning_to_content:  // streamed as thinking already; the answer again as text
        open("text", {{"type", "text"}, {"text", ""}});
        send("content_block_delta", {{"type", "content_block_delta"}, {"index", index_}, {"delta", {{"type", "text_delta"}, {"text", d.text}}}});
        break;
      case chat::DeltaKind::tool_call:
        close();
        open("tool_use", {{"type", "tool_use"}, {"id", d.call.id}, {"name", d.call.name}, {"input", json::object()}});
        send("content_block_delta",
             {{"type", "content_block_delta"}, {"index", index_}, {"delta", {{"type", "input_json_delta"}, {"partial_json", d.call.arguments}}}});
        close();
        break;
    }
  }
  void close() {
    if (open_.empty()) return;
    if (open_ == "thinking")  // Anthropic's thinking blocks end with a signature; frugal has none to give
      send("content_block_delta", {{"type", "content_block_delta"}, {"index", index_}, {"delta", {{"type", "signature_delta"}, {"signature", ""}}}});
    send("content_block_stop", {{"type", "content_block_stop"}, {"index", index_}});
    open_.clear();
    ++index_;
  }
  void send(const char* name, const json& data) { ok_ = ok_ && write_(event(name, data)); }

 private:
  void open(const std::string& type, json block) {
    if (open_ == type) return;
    close();
    open_ = type;
    send("content_block_start", {{"type", "content_block_start"}, {"index", index_}, {"content_block", std::move(block)}});
  }
  const std::function<bool(const std::string&)>& write_;
  std::string open_;
  int64_t index_ = 0;
  bool ok_ = true;
};

}  // namespace

json anthropic_error_body(const ApiError& e) {
  const char* type = "api_error";
  switch (e.code == "model_not_found" ? 404 : e.status) {
    case 400: case 413: case 422: type = e.status == 413 ? "request_too_large" : "invalid_request_error"; break;
    case 401: type = "authentication_error"; break;
    case 403: type = "permission_error"; break;
    case 404: type = "not_found_error"; break;
    case 429: type = "rate_limit_error"; break;
    case 503: type = "overloaded_error"; break;
    default: break;
  }
  return {{"type", "error"}, {"error", {{"type", type}, {"message", e.what()}}}};
}

Reply handle_messages(ServedModel& m, const json& body) {
  const ChatRequest req = prepare_chat(m, decode_request(body));
  if (req.common.n != 1) throw ApiError(400, "n: not part of the Messages API", "n", "invalid_request_error");
  Reply reply;
  auto run = std::make_shared<OneChoice>(m, req, reply.log);
  const std::string id = make_id("msg_"), model = m.name;
  auto message = [run, id, model](json content, json stop_reason, json stop_sequence) {
    return json{{"id", id},
                {"type", "message"},
                {"role", "assistant"},
                {"model", model},
                {"content", std::move(content)},
                {"stop_reason", std::move(stop_reason)},
                {"stop_sequence", std::move(stop_sequence)},
                {"usage", usage_json(*run)}};
  };
  if (!req.common.stream) {
    reply.body = [run, message](const std::function<bool()>& alive) {
      run->drain(alive);
      const auto& r = run->state.parser.result();
      json content = json::array();
      if (!r.reasoning_content.empty()) content.push_back({{"type", "thinking"}, {"thinking", r.reasoning_content}, {"signature", ""}});
      if (!r.content.empty()) content.push_back({{"type", "text"}, {"text", r.content}});
      for (const auto& call : r.tool_calls)
        content.push_back({{"type", "tool_use"}, {"id", call.id}, {"name", call.name}, {"input", tool_arguments(call)}});
      return dump(message(std::move(content), stop_reason(run->state), stop_sequence(run->state)));
    };
    return reply;
  }
  reply.stream = [run, message](const std::function<bool(const std::string&)>& write) {
    BlockWriter w(write);
    w.send("message_start", {{"type", "message_start"}, {"message", message(json::array(), nullptr, nullptr)}});
    run->run([&](GenChunk&) {
      for (const auto& d : run->state.deltas) w.delta(d);
    },
             [&] { return w.ok(); },
             [&] {
               w.send("ping", {{"type", "ping"}});
               return w.ok();
             });
    w.close();
    w.send("message_delta", {{"type", "message_delta"},
                             {"delta", {{"stop_reason", stop_reason(run->state)}, {"stop_sequence", stop_sequence(run->state)}}},
                             {"usage", usage_json(*run)}});
    w.send("message_stop", {{"type", "message_stop"}});
  };
  return reply;
}

}  // namespace frugal::server
