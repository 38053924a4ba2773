// POST /v1/responses: OpenAI's Responses API, which newer OpenAI clients and agent SDKs call
// instead of chat completions. The body is decoded into a ChatSpec (chat_spec_responses.cpp);
// here the output parser's deltas are encoded as output items (reasoning, message,
// function_call) and the Responses stream events (response.created, output_item.added,
// content_part.added, output_text.delta, ..., response.completed), each numbered. frugal stores
// no responses: previous_response_id is a 400 (send the conversation as input items).
#include "server/api.h"
#include "server/chat_stream.h"

namespace frugal::server {

namespace {

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

static Reply handle_responses(ServedModel& m, const ChatSpec& spec, const json& body) {
  const ChatRequest req = prepare_chat(m, spec);
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

Runner responses_endpoint(const json& body) {
  auto spec = std::make_shared<const ChatSpec>(decode_responses(body));
  return [spec, body](ServedModel& m) { return handle_responses(m, *spec, body); };
}

}  // namespace frugal::server
