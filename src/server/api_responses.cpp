// POST /v1/responses: OpenAI's Responses API, which newer OpenAI clients and agent SDKs call
// instead of chat completions. The request (instructions, input as text or items: messages,
// function_call, function_call_output) is decoded into the chat-completions shape the rest of
// the server validates, and the output parser's deltas are encoded as output items (reasoning,
// message, function_call) and the Responses stream events (response.created, output_item.added,
// content_part.added, output_text.delta, ..., response.completed), each numbered. frugal stores
// no responses: previous_response_id is a 400 (send the conversation as input items).
#include "server/api.h"
#include "server/chat_stream.h"

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

// The input items as chat-completions messages. Consecutive function_call items are one
// assistant turn's tool calls; a function_call_output is a tool message.
json decode_input(const json& input) {
  json msgs = json::array();
  if (input.is_string()) {
    msgs.push_back({{"role", "user"}, {"content", input}});
    return msgs;
  }
  if (!input.is_array()) bad_field("input", std::string("expected a string or an array of items, got ") + input.type_name());
  for (size_t i = 0; i < input.size(); ++i) {
    const json& it = input[i];
    const std::string p = "input[" + std::to_string(i) + "]";
    if (!it.is_object()) bad_field(p, std::string("expected an item object, got ") + it.type_name());
    const std::string type = it.contains("type") && it["type"].is_string() ? it["type"].get<std::string>() : "message";
    if (type == "message") {
      std::string role = required_string(it, "role", p);
      if (role == "developer") role = "system";
      if (role != "user" && role != "assistant" && role != "system")
        bad_field(p + ".role", "expected user, assistant, system or developer, got \"" + role + "\"");
      auto c = it.find("content");
      if (c == it.end()) bad_field(p + ".content", "required");
      msgs.push_back({{"role", role}, {"content", content_text(*c, p + ".content")}});
    } else if (type == "function_call") {
      json call = {{"id", required_string(it, "call_id", p)}, {"type", "function"},
                   {"function", {{"name", required_string(it, "name", p)}, {"arguments", required_string(it, "arguments", p)}}}};
      // Joins the assistant turn before it (its text, or earlier calls of the same turn); a
      // turn of calls alone has null content, as chat templates expect.
      if (msgs.empty() || msgs.back()["role"] != "assistant") msgs.push_back({{"role", "assistant"}, {"content", nullptr}});
      json& last = msgs.back();
      if (last["content"].is_string() && last["content"].get<std::string>().empty()) last["content"] = nullptr;
      if (!last.contains("tool_calls")) last["tool_calls"] = json::array();
      last["tool_calls"].push_back(std::move(call));
    } else if (type == "function_call_output") {
      const json* out = it.contains("output") ? &it["output"] : nullptr;
      if (!out) bad_field(p + ".output", "required");
      msgs.push_back({{"role", "tool"}, {"tool_call_id", required_string(it, "call_id", p)},
                      {"content", out->is_string() ? out->get<std::string>() : content_text(*out, p + ".output")}});
    } else if (type == "reasoning") {
      // The model's earlier reasoning: templates drop it from past turns anyway.
    } else {
      bad_field(p + ".type", "'" + type + "' items are not supported (message, function_call, function_call_output, reasoning)");
    }
  }
  if (msgs.empty()) bad_field("input", "no messages");
  return msgs;
}

json decode_request(const json& body) {
  json out = json::object();
  if (auto prev = body.find("previous_response_id"); prev != body.end() && !prev->is_null())
    bad_field("previous_response_id", "not supported: this server stores no responses; send the conversation as input items");
  auto in = body.find("input");
  if (in == body.end() || in->is_null()) bad_field("input", "required");
  json msgs = decode_input(*in);
  if (auto ins = body.find("instructions"); ins != body.end() && !ins->is_null()) {
    if (!ins->is_string()) bad_field("instructions", "expected a string");
    msgs.insert(msgs.begin(), json{{"role", "system"}, {"content", *ins}});
  }
  out["messages"] = std::move(msgs);
  if (auto mt = body.find("max_output_tokens"); mt != body.end() && !mt->is_null()) out["max_tokens"] = *mt;
  for (const char* k : {"temperature", "top_p", "stream", "seed", "top_k", "min_p", "thinking", "keep_alive"})
    if (auto v = body.find(k); v != body.end()) out[k] = *v;
  if (auto t = body.find("tools"); t != body.end() && !t->is_null()) {
    if (!t->is_array()) bad_field("tools", "expected an array");
    json tools = json::array();
    for (size_t i = 0; i < t->size(); ++i) {
      const json& tool = (*t)[i];
      const std::string p = "tools[" + std::to_string(i) + "]";
      if (!tool.is_object()) bad_field(p, "expected an object");
      const std::string& type = required_string(tool, "type", p);
      if (type != "function") bad_field(p + ".type", "'" + type + "' tools are not supported; define function tools");
      json fn = {{"name", required_string(tool, "name", p)}};
      if (auto d = tool.find("description"); d != tool.end() && !d->is_null()) fn["description"] = *d;
      if (auto s = tool.find("parameters"); s != tool.end() && !s->is_null()) fn["parameters"] = *s;
      tools.push_back({{"type", "function"}, {"function", std::move(fn)}});
    }
    out["tools"] = std::move(tools);
  }
  if (auto tc = body.find("tool_choice"); tc != body.end() && !tc->is_null()) {
    if (tc->is_string()) out["tool_choice"] = *tc;
    else if (tc->is_object() && tc->value("type", "") == "function")
      out["tool_choice"] = {{"type", "function"}, {"function", {{"name", required_string(*tc, "name", "tool_choice")}}}};
    else bad_field("tool_choice", "expected auto, none, required or {\"type\": \"function\", \"name\": ...}");
  }
  if (auto tx = body.find("text"); tx != body.end() && tx->is_object()) {
    if (auto f = tx->find("format"); f != tx->end() && f->is_object()) {
      const std::string& type = required_string(*f, "type", "text.format");
      if (type == "json_object") out["response_format"] = {{"type", "json_object"}};
      else if (type == "json_schema") {
        auto s = f->find("schema");
        if (s == f->end() || !s->is_object()) bad_field("text.format.schema", "required, an object");
        out["response_format"] = {{"type", "json_schema"}, {"json_schema", {{"name", f->value("name", "output")}, {"schema", *s}}}};
      } else if (type != "text") bad_field("text.format.type", "expected text, json_object or json_schema");
    }
  }
  if (auto r = body.find("reasoning"); r != body.end() && r->is_object())
    if (auto e = r->find("effort"); e != r->end() && e->is_string()) {
      if (*e == "none") out["thinking"] = {{"type", "disabled"}};
      else out["reasoning_effort"] = *e;
    }
  return out;
}

// The response object, as it stands (status in_progress while streaming).
struct ResponseShape {
  std::string id, model;
  int64_t created = 0;
  json request;  // echoed fields
  json object(const char* status, json output, const json& usage) const {
    json r = {{"id", id},
              {"object", "response"},
              {"created_at", created},
              {"status", status},
              {"error", nullptr},
              {"incomplete_details", nullptr},
              {"instructions", request.value("instructions", json(nullptr))},
              {"max_output_tokens", request.value("max_output_tokens", json(nullptr))},
              {"model", model},
              {"output", std::move(output)},
              {"parallel_tool_calls", request.value("parallel_tool_calls", true)},
              {"previous_response_id", nullptr},
              {"reasoning", {{"effort", request.contains("reasoning") ? request["reasoning"].value("effort", json(nullptr)) : json(nullptr)},
                             {"summary", nullptr}}},
              {"store", false},
              {"temperature", request.value("temperature", json(1.0))},
              {"text", request.value("text", json{{"format", {{"type", "text"}}}})},
              {"tool_choice", request.value("tool_choice", json("auto"))},
              {"tools", request.value("tools", json::array())},
              {"top_p", request.value("top_p", json(1.0))},
              {"truncation", "disabled"},
              {"usage", usage},
              {"user", nullptr},
              {"metadata", request.value("metadata", json::object())}};
    if (std::string(status) == "incomplete") r["incomplete_details"] = {{"reason", "max_output_tokens"}};
    return r;
  }
};

json usage_json(const OneChoice& r) {
  return {{"input_tokens", r.prompt_tokens},
          {"input_tokens_details", {{"cached_tokens", r.cached_tokens}}},
          {"output_tokens", r.state.tokens},
          {"output_tokens_details", {{"reasoning_tokens", r.state.reasoning_tokens}}},
          {"total_tokens", r.prompt_tokens + r.state.tokens}};
}

const char* status_of(const ChoiceState& s) {
  return s.finish == Finish::length || s.finish == Finish::resource ? "incomplete" : "completed";
}

json reasoning_item(const std::string& id, const std::string& text) {
  return {{"id", id}, {"type", "reasoning"}, {"summary", json::array()}, {"content", json::array({{{"type", "reasoning_text"}, {"text", text}}})}};
}
json message_item(const std::string& id, const std::string& text, const char* status) {
  return {{"id", id}, {"type", "message"}, {"status", status}, {"role", "assistant"},
          {"content", json::array({{{"type", "output_text"}, {"text", text}, {"annotations", json::array()}}})}};
}
json call_item(const chat::ToolCall& c, const char* status) {
  return {{"id", "fc_" + c.id.substr(c.id.rfind('_') + 1)}, {"type", "function_call"}, {"status", status},
          {"call_id", c.id}, {"name", c.name}, {"arguments", c.arguments}};
}

// The stream: output items in order, at most one reasoning or message item open at a time; a
// function call is one whole item (the parser emits calls complete).
class ItemWriter {
 public:
  ItemWriter(const std::function<bool(const std::string&)>& write) : write_(write) {}
  bool ok() const { return ok_; }
  json& output() { return output_; }
  void send(const char* type, json data) {
    data["type"] = type;
    data["sequence_number"] = seq_++;
    ok_ = ok_ && write_(std::string("event: ") + type + "\ndata: " + dump(data) + "\n\n");
  }
  void delta(const chat::Delta& d) {
    switch (d.kind) {
      case chat::DeltaKind::reasoning:
        open("reasoning");
        text_ += d.text;
        send("response.reasoning_text.delta", {{"item_id", id_}, {"output_index", index()}, {"content_index", 0}, {"delta", d.text}});
        break;
      case chat::DeltaKind::content:
      case chat::DeltaKind::reasoning_to_content:  // streamed as reasoning already; the answer again as text
        open("message");
        text_ += d.text;
        send("response.output_text.delta", {{"item_id", id_}, {"output_index", index()}, {"content_index", 0}, {"delta", d.text}, {"logprobs", json::array()}});
        break;
      case chat::DeltaKind::tool_call: {
        close();
        json item = call_item(d.call, "in_progress");
        item["arguments"] = "";
        output_.push_back(item);
        send("response.output_item.added", {{"output_index", index()}, {"item", item}});
        const std::string id = item["id"];
        send("response.function_call_arguments.delta", {{"item_id", id}, {"output_index", index()}, {"delta", d.call.arguments}});
        send("response.function_call_arguments.done", {{"item_id", id}, {"output_index", index()}, {"arguments", d.call.arguments}});
        output_.back() = call_item(d.call, "completed");
        send("response.output_item.done", {{"output_index", index()}, {"item", output_.back()}});
        break;
      }
    }
  }
  void close() {
    if (open_.empty()) return;
    const bool msg = open_ == "message";
    const json part = msg ? json{{"type", "output_text"}, {"text", text_}, {"annotations", json::array()}}
                          : json{{"type", "reasoning_text"}, {"text", text_}};
    if (msg) send("response.output_text.done", {{"item_id", id_}, {"output_index", index()}, {"content_index", 0}, {"text", text_}, {"logprobs", json::array()}});
    else send("response.reasoning_text.done", {{"item_id", id_}, {"output_index", index()}, {"content_index", 0}, {"text", text_}});
    send("response.content_part.done", {{"item_id", id_}, {"output_index", index()}, {"content_index", 0}, {"part", part}});
    output_.back() = msg ? message_item(id_, text_, "completed") : reasoning_item(id_, text_);
    send("response.output_item.done", {{"output_index", index()}, {"item", output_.back()}});
    open_.clear();
  }

 private:
  int64_t index() const { return int64_t(output_.size()) - 1; }
  void open(const std::string& type) {
    if (open_ == type) return;
    close();
    open_ = type;
    text_.clear();
    const bool msg = type == "message";
    id_ = make_id(msg ? "msg_" : "rs_");
    json item = msg ? json{{"id", id_}, {"type", "message"}, {"status", "in_progress"}, {"role", "assistant"}, {"content", json::array()}}
                    : json{{"id", id_}, {"type", "reasoning"}, {"summary", json::array()}, {"content", json::array()}};
    output_.push_back(item);
    send("response.output_item.added", {{"output_index", index()}, {"item", item}});
    const json part = msg ? json{{"type", "output_text"}, {"text", ""}, {"annotations", json::array()}} : json{{"type", "reasoning_text"}, {"text", ""}};
    send("response.content_part.added", {{"item_id", id_}, {"output_index", index()}, {"content_index", 0}, {"part", part}});
  }
  const std::function<bool(const std::string&)>& write_;
  json output_ = json::array();
  std::string open_, id_, text_;
  int64_t seq_ = 0;
  bool ok_ = true;
};

}  // namespace

Reply handle_responses(ServedModel& m, const json& body) {
  const ChatRequest req = prepare_chat(m, decode_request(body));
  Reply reply;
  auto run = std::make_shared<OneChoice>(m, req, reply.log);
  ResponseShape shape{make_id("resp_"), m.name, unix_now(), body};
  if (!req.common.stream) {
    reply.body = [run, shape](const std::function<bool()>& alive) {
      run->drain(alive);
      const auto& r = run->state.parser.result();
      json output = json::array();
      if (!r.reasoning_content.empty()) output.push_back(reasoning_item(make_id("rs_"), r.reasoning_content));
      if (!r.content.empty() || (r.tool_calls.empty() && r.reasoning_content.empty()))
        output.push_back(message_item(make_id("msg_"), r.content, "completed"));
      for (const auto& call : r.tool_calls) output.push_back(call_item(call, "completed"));
      return dump(shape.object(status_of(run->state), std::move(output), usage_json(*run)));
    };
    return reply;
  }
  reply.stream = [run, shape](const std::function<bool(const std::string&)>& write) {
    ItemWriter w(write);
    w.send("response.created", {{"response", shape.object("in_progress", json::array(), nullptr)}});
    w.send("response.in_progress", {{"response", shape.object("in_progress", json::array(), nullptr)}});
    run->run([&](GenChunk&) {
      for (const auto& d : run->state.deltas) w.delta(d);
    },
             [&] { return w.ok(); }, [&] { return w.ok() && write(": keep-alive\n\n"); });
    w.close();
    const char* status = status_of(run->state);
    w.send(std::string(status) == "completed" ? "response.completed" : "response.incomplete",
           {{"response", shape.object(status, w.output(), usage_json(*run))}});
  };
  return reply;
}

}  // namespace frugal::server
