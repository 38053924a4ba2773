// POST /v1/messages and /anthropic/v1/messages: Anthropic's Messages API. The body is decoded
// into a ChatSpec (chat_spec_anthropic.cpp); here the output parser's deltas are encoded as
// Anthropic's content blocks and stream events (message_start, content_block_start / _delta /
// _stop, message_delta, message_stop).
#include "server/api.h"
#include "server/chat_stream.h"

namespace frugal::server {

namespace {

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

static Reply handle_messages(ServedModel& m, const ChatSpec& spec) {
  const ChatRequest req = prepare_chat(m, spec);
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

Runner messages_endpoint(const json& body) {
  auto spec = std::make_shared<const ChatSpec>(decode_anthropic_messages(body));
  return [spec](ServedModel& m) { return handle_messages(m, *spec); };
}

}  // namespace frugal::server
