// POST /v1/chat/completions: messages rendered with the model's own chat template, the output
// split by the chat output parser into reasoning_content / content / tool_calls as it streams.
#include <cmath>

#include "chat/messages.h"
#include "server/api.h"

namespace frugal::server {

namespace {

struct ChatRequest {
  std::vector<int32_t> prompt;
  chat::ParserConfig parser;
  CommonParams common;
  int32_t top_logprobs = -1;
  std::optional<json> schema;  // response_format: json_object (null schema) or json_schema
  bool json_mode = false;
  // tool_choice "required" / a named function: the call's opening is written into the prompt,
  // its JSON is generated under the tool's parameter schema, its closing appended after.
  std::string forced_prefix, forced_suffix;
  bool schema_from_tools = false;
};

// The forced tool call for this model's tool-call syntax: what precedes the JSON, what follows
// it, and the JSON's schema. `only`: the named function, or "" for any of the tools.
void force_tool_call(ChatRequest& r, chat::ToolFormat fmt, const json& tools, const std::string& only) {
  std::vector<const json*> fns;
  for (const auto& t : tools)
    if (only.empty() || t["function"]["name"] == only) fns.push_back(&t["function"]);
  if (fns.empty()) throw ApiError(400, "'tool_choice' names a function that is not in 'tools'", "tool_choice", "invalid_value");
  auto params = [](const json* f) { return f->contains("parameters") ? (*f)["parameters"] : json{{"type", "object"}}; };
  auto call_schema = [&](const char* args_key) {
    json any = json::array();
    for (const json* f : fns)
      any.push_back({{"type", "object"},
                     {"properties", {{"name", {{"const", (*f)["name"]}}}, {args_key, params(f)}}},
                     {"required", {"name", args_key}},
                     {"additionalProperties", false}});
    return any.size() == 1 ? any[0] : json{{"anyOf", any}};
  };
  switch (fmt) {
    case chat::ToolFormat::qwen:
      r.forced_prefix = "<tool_call>\n";
      r.forced_suffix = "\n</tool_call>";
      r.schema = call_schema("arguments");
      break;
    case chat::ToolFormat::llama3:
      r.schema = call_schema("parameters");
      break;
    case chat::ToolFormat::deepseek:
      if (fns.size() != 1)
        throw ApiError(400, "with several tools, this model's tool-call syntax needs 'tool_choice' to name the function",
                       "tool_choice", "unsupported_value");
      r.forced_prefix = "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>" +
                        (*fns[0])["name"].get<std::string>() + "\n```json\n";
      r.forced_suffix = "\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>";
      r.schema = params(fns[0]);
      break;
    case chat::ToolFormat::none:
      throw ApiError(400, "this model's chat template has no tool-call syntax to force", "tool_choice", "unsupported_value");
  }
  r.json_mode = true;
  r.schema_from_tools = true;
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

// OpenAI clients send an assistant turn that only calls tools with "content": null. DeepSeek's
// templates test for that null; the original Qwen3 template evaluates `'</think>' in
// message.content` and fails on it (in Python too). So a template that fails on the null gets
// one more try with "" in its place.
std::string render(const tmpl::Template& t, const json& messages, const chat::TemplateContextOptions& co) {
  try {
    return t.render(chat::build_template_context(messages, co));
  } catch (const Error&) {
    json fixed = messages;
    bool changed = false;
    for (auto& msg : fixed)
      if (msg.is_object() && msg.value("role", "") == "assistant" && msg.contains("content") && msg["content"].is_null()) {
        msg["content"] = "";
        changed = true;
      }
    if (!changed) throw;
    try {
      return t.render(chat::build_template_context(fixed, co));
    } catch (const Error&) {
    }
    throw;
  }
}

ChatRequest prepare(ServedModel& m, const json& body) {
  if (!m.tmpl) throw ApiError(400, "model '" + m.name + "' has no chat template; use /v1/completions", "model");
  ChatRequest r;
  r.common = parse_common(body);
  const json* msgs = field(body, "messages");
  if (!msgs) throw ApiError(400, "'messages' is required", "messages", "missing_required_parameter");
  if (!msgs->is_array() || msgs->empty())
    throw ApiError(400, "'messages' must be a non-empty array", "messages", "invalid_type");
  json messages = *msgs;
  // Chat prefix completion (DeepSeek beta): the last assistant message is the start of the answer.
  std::string prefix;
  const json& last = messages.back();
  if (last.is_object() && last.value("role", "") == "assistant" && last.contains("prefix") && last["prefix"] == true) {
    if (!last.contains("content") || !last["content"].is_string())
      throw ApiError(400, "the prefix message needs a string 'content'", "messages", "invalid_type");
    prefix = last["content"].get<std::string>();
    messages.erase(messages.end() - 1);
    if (messages.empty()) throw ApiError(400, "a prefix message needs a message before it", "messages");
  }

  chat::TemplateContextOptions co;
  co.add_generation_prompt = true;
  co.normalize.parse_tool_arguments = m.parser.tool_format != chat::ToolFormat::deepseek;
  co.thinking = thinking_switch(body);
  const std::string effort = string_field(body, "reasoning_effort");
  if (!effort.empty()) {
    if (effort != "minimal" && effort != "low" && effort != "medium" && effort != "high")
      throw ApiError(422, "'reasoning_effort' must be minimal, low, medium or high", "reasoning_effort", "invalid_value");
    co.extra["reasoning_effort"] = effort;
  }
  if (const json* k = field(body, "chat_template_kwargs")) {
    if (!k->is_object()) throw ApiError(400, "'chat_template_kwargs' must be an object", "chat_template_kwargs");
    for (auto it = k->begin(); it != k->end(); ++it) co.extra[it.key()] = it.value();
  }
  if (m.mt->special.contains("bos_token")) co.bos_token = m.mt->special["bos_token"].get<std::string>();
  if (m.mt->special.contains("eos_token")) co.eos_token = m.mt->special["eos_token"].get<std::string>();

  // tool_choice "none" hides the tools, "auto" lets the model decide, "required" and a named
  // function force a call (force_tool_call).
  bool offer_tools = true, force = false;
  std::string forced_name;
  if (const json* tc = field(body, "tool_choice")) {
    if (tc->is_string()) {
      const std::string s = tc->get<std::string>();
      if (s == "none") offer_tools = false;
      else if (s == "required") force = true;
      else if (s != "auto")
        throw ApiError(422, "'tool_choice' must be none, auto, required or a function", "tool_choice", "invalid_value");
    } else if (!tc->is_object() || !tc->contains("function") || !(*tc)["function"].is_object() ||
               !(*tc)["function"].contains("name")) {
      throw ApiError(400, "'tool_choice' must be a string or {\"type\": \"function\", \"function\": {\"name\": ...}}",
                     "tool_choice", "invalid_type");
    } else {
      force = true;
      forced_name = (*tc)["function"]["name"].is_string() ? (*tc)["function"]["name"].get<std::string>() : "";
    }
  }
  try {
    if (const json* tools = field(body, "tools"); tools && offer_tools) co.tools = chat::normalize_tools(*tools);
    if (force) {
      if (!co.tools.is_array() || co.tools.empty()) throw ApiError(400, "'tool_choice' needs 'tools'", "tool_choice");
      force_tool_call(r, m.parser.tool_format, co.tools, forced_name);
    }
    std::string text = render(*m.tmpl, messages, co) + prefix;
    // A forced call skips the reasoning (as a model answering a tool call directly does).
    if (force && chat::prompt_opens_reasoning(text)) text += "\n</think>\n\n";
    const bool opens_reasoning = chat::prompt_opens_reasoning(text);
    text += r.forced_prefix;
    EncodeOptions eo;
    eo.add_special = false;  // the template writes BOS itself
    r.prompt = m.tok->encode(text, eo);
    r.parser = m.parser;
    r.parser.starts_in_reasoning = opens_reasoning;
  } catch (const ApiError&) {
    throw;
  } catch (const Error& e) {
    throw ApiError(400, e.what(), "messages", "invalid_request");
  }
  r.parser.stop = r.common.stop;
  if (r.common.seeded) r.parser.id_seed = r.common.sampling.seed;

  if (const json* lp = field(body, "logprobs")) {
    if (!lp->is_boolean()) throw ApiError(400, "'logprobs' must be a boolean", "logprobs", "invalid_type");
    if (lp->get<bool>()) r.top_logprobs = 0;
  }
  if (const json* tl = field(body, "top_logprobs")) {
    if (!tl->is_number_integer()) throw ApiError(400, "'top_logprobs' must be an integer", "top_logprobs", "invalid_type");
    const int64_t v = tl->get<int64_t>();
    if (v < 0 || v > 20) throw ApiError(422, "'top_logprobs' must be in [0, 20]", "top_logprobs", "invalid_value");
    if (r.top_logprobs < 0) throw ApiError(400, "'top_logprobs' needs 'logprobs': true", "top_logprobs");
    r.top_logprobs = int32_t(v);
  }
  if (const json* rf = field(body, "response_format"); rf && !force) {
    if (!rf->is_object() || !rf->contains("type") || !(*rf)["type"].is_string())
      throw ApiError(400, "'response_format' must be an object with a 'type'", "response_format", "invalid_type");
    const std::string ty = (*rf)["type"].get<std::string>();
    if (ty == "json_object") {
      r.json_mode = true;
    } else if (ty == "json_schema") {
      const json* js = field(*rf, "json_schema");
      if (!js || !js->is_object() || !js->contains("schema") || !(*js)["schema"].is_object())
        throw ApiError(400, "'response_format.json_schema.schema' must be an object", "response_format.json_schema",
                       "invalid_type");
      r.json_mode = true;
      r.schema = (*js)["schema"];
    } else if (ty != "text") {
      throw ApiError(422, "'response_format.type' must be text, json_object or json_schema", "response_format.type",
                     "invalid_value");
    }
  }
  return r;
}

// Per choice: detokenizer and output parser.
struct ChoiceState {
  ChoiceState(const Tokenizer& t, const chat::ParserConfig& pc, std::string prefix, std::string suffix)
      : dec(t), parser(pc), suffix(std::move(suffix)) {
    if (!prefix.empty()) absorb(parser.push(prefix));
  }
  StreamDecoder dec;
  chat::OutputParser parser;
  int64_t tokens = 0, reasoning_tokens = 0;
  bool answering = false, ended = false;
  Finish finish = Finish::none;
  json logprobs = json::array();
  std::vector<chat::Delta> deltas;  // since the last event
  std::string suffix;               // closes a forced tool call

  void absorb(chat::PushResult r) {
    for (auto& d : r.deltas) deltas.push_back(std::move(d));
  }

  // Consumes a chunk; returns false once the output is complete (stop string hit).
  void take(const Tokenizer& tok, GenChunk& c, GenStream& s) {
    for (size_t i = 0; i < c.tokens.size() && !parser.stopped(); ++i) {
      ++tokens;
      if (i < c.logprobs.size()) logprobs.push_back(token_logprob_json(tok, c.logprobs[i]));
      auto r = parser.push(dec.push(c.tokens[i]));
      for (auto& d : r.deltas) {
        if (d.kind != chat::DeltaKind::reasoning) answering = true;
        deltas.push_back(std::move(d));
      }
      if (!answering) ++reasoning_tokens;
      if (r.stopped) {
        s.cancel();  // the scheduler frees the slot at its next step
        finish = Finish::stop;
      }
    }
    if (c.done) {
      if (finish == Finish::none) finish = c.finish;
      absorb(parser.push(dec.flush()));
      if (finish == Finish::stop && !suffix.empty()) absorb(parser.push(suffix));
      for (auto& d : parser.finish(finish == Finish::length)) deltas.push_back(std::move(d));
      if (parser.result().reasoning_content.empty()) reasoning_tokens = 0;
      ended = true;
    }
  }
  std::string finish_reason() const {
    if (finish == Finish::length || finish == Finish::resource) return finish_reason_name(finish);
    return parser.result().tool_calls.empty() ? "stop" : "tool_calls";
  }
};

json delta_json(const chat::Delta& d) {
  switch (d.kind) {
    case chat::DeltaKind::reasoning: return {{"reasoning_content", d.text}};
    case chat::DeltaKind::content: return {{"content", d.text}};
    case chat::DeltaKind::tool_call:
      return {{"tool_calls",
               json::array({{{"index", d.tool_index},
                             {"id", d.call.id},
                             {"type", "function"},
                             {"function", {{"name", d.call.name}, {"arguments", d.call.arguments}}}}})}};
    case chat::DeltaKind::reasoning_to_content:
      // A model that did not think: what streamed as reasoning was the answer. Streamed again as
      // content so that a client concatenating content has it; the final message moves it.
      return {{"content", d.text}};
  }
  return json::object();
}

}  // namespace

Reply handle_chat(ServedModel& m, const json& body) {
  ChatRequest req = prepare(m, body);
  const int64_t budget = completion_budget(m, int64_t(req.prompt.size()), req.common);
  std::function<GenRequest()> extra;
  if (req.json_mode) {
    // Built once here so that a bad schema is a 400 before anything is queued.
    std::shared_ptr<JsonConstraint> proto;
    try {
      proto = std::make_shared<JsonConstraint>(req.schema ? &*req.schema : nullptr, req.schema_from_tools ? "tools[].function.parameters" : "response_format.json_schema.schema");
    } catch (const Error& e) {
      throw ApiError(400, e.what(), "response_format", "invalid_schema");
    }
    const std::string after = req.parser.starts_in_reasoning ? "</think>" : "";
    extra = [proto, after] {
      GenRequest g;
      g.constraint = std::make_unique<JsonConstraint>(*proto);
      g.constraint_after = after;
      return g;
    };
  }
  auto streams = submit_all(m, req.prompt, req.common, budget, req.top_logprobs, extra);
  const std::string id = make_id("chatcmpl-");
  const int64_t created = unix_now();
  const std::string model = m.name;
  Reply reply;
  auto log = reply.log;
  log->prompt_tokens = int64_t(req.prompt.size());

  auto states = std::make_shared<std::vector<std::unique_ptr<ChoiceState>>>();
  for (size_t i = 0; i < streams.size(); ++i) states->push_back(std::make_unique<ChoiceState>(*m.tok, req.parser, req.forced_prefix, req.forced_suffix));
  const Tokenizer* tok = m.tok.get();
  auto usage = std::make_shared<Usage>();
  usage->prompt = int64_t(req.prompt.size());
  auto account = [usage, log](GenChunk& c, size_t i) {
    if (c.started && i == 0) usage->cached = c.cached_tokens;
  };
  auto totals = [states, usage, log] {
    usage->completion = usage->reasoning = 0;
    for (auto& s : *states) {
      usage->completion += s->tokens;
      usage->reasoning += s->reasoning_tokens;
    }
    log->completion_tokens = usage->completion;
    log->cached_tokens = usage->cached;
  };
  const bool want_logprobs = req.top_logprobs >= 0;

  if (!req.common.stream) {
    auto shared = std::make_shared<std::vector<std::shared_ptr<GenStream>>>(std::move(streams));
    reply.body = [=](const std::function<bool()>& alive) {
      drive(
          *shared,
          [&](size_t i, GenChunk& c) {
            account(c, i);
            (*states)[i]->take(*tok, c, *(*shared)[i]);
            (*states)[i]->deltas.clear();
          },
          alive, [] { return true; });
      totals();
      json choices = json::array();
      for (size_t i = 0; i < states->size(); ++i) {
        auto& s = *(*states)[i];
        choices.push_back({{"index", i},
                           {"message", s.parser.result().to_json()},
                           {"logprobs", want_logprobs ? json{{"content", s.logprobs}} : json(nullptr)},
                           {"finish_reason", s.finish_reason()}});
      }
      return dump({{"id", id},          {"object", "chat.completion"}, {"created", created}, {"model", model},
                   {"choices", choices}, {"usage", usage->to_json()},   {"system_fingerprint", "fp_frugal"}});
    };
    return reply;
  }

  const bool include_usage = req.common.include_usage;
  auto shared_streams = std::make_shared<std::vector<std::shared_ptr<GenStream>>>(std::move(streams));
  reply.stream = [=](const std::function<bool(const std::string&)>& write) {
    auto chunk = [&](json choices) {
      json j = {{"id", id},           {"object", "chat.completion.chunk"}, {"created", created}, {"model", model},
                {"system_fingerprint", "fp_frugal"}, {"choices", std::move(choices)}};
      return write("data: " + dump(j) + "\n\n");
    };
    bool alive = true;
    for (size_t i = 0; i < states->size() && alive; ++i)
      alive = chunk(json::array({{{"index", i},
                                  {"delta", {{"role", "assistant"}, {"content", ""}}},
                                  {"logprobs", nullptr},
                                  {"finish_reason", nullptr}}}));
    drive(
        *shared_streams,
        [&](size_t i, GenChunk& c) {
          account(c, i);
          auto& s = *(*states)[i];
          const size_t lp0 = s.logprobs.size();
          s.take(*tok, c, *(*shared_streams)[i]);
          json lps = json::array();
          for (size_t k = lp0; k < s.logprobs.size(); ++k) lps.push_back(s.logprobs[k]);
          bool first = true;
          auto lp_field = [&]() -> json {
            if (!want_logprobs || !first || lps.empty()) return nullptr;
            return json{{"content", lps}};
          };
          for (const auto& d : s.deltas) {
            if (!alive) break;
            alive = chunk(json::array({{{"index", i}, {"delta", delta_json(d)}, {"logprobs", lp_field()}, {"finish_reason", nullptr}}}));
            first = false;
          }
          if (alive && first && want_logprobs && !lps.empty())
            alive = chunk(json::array({{{"index", i}, {"delta", json::object()}, {"logprobs", lp_field()}, {"finish_reason", nullptr}}}));
          s.deltas.clear();
          if (alive && s.ended)
            alive = chunk(json::array({{{"index", i}, {"delta", json::object()}, {"logprobs", nullptr}, {"finish_reason", s.finish_reason()}}}));
        },
        [&] { return alive; }, [&] { return alive = alive && write(": keep-alive\n\n"); });
    totals();
    if (!alive) return;
    if (include_usage) {
      json j = {{"id", id},           {"object", "chat.completion.chunk"}, {"created", created}, {"model", model},
                {"system_fingerprint", "fp_frugal"}, {"choices", json::array()}, {"usage", usage->to_json()}};
      if (!write("data: " + dump(j) + "\n\n")) return;
    }
    write("data: [DONE]\n\n");
  };
  return reply;
}

}  // namespace frugal::server
