#include "server/chat_request.h"

#include "chat/messages.h"

namespace frugal::server {

namespace {

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

// msg is an object whose "role" is the string `role` (a role of another type is reported by
// chat::normalize_messages, with its field path; here it must only not throw).
bool has_role(const json& msg, const char* role) {
  if (!msg.is_object()) return false;
  auto it = msg.find("role");
  return it != msg.end() && it->is_string() && it->get_ref<const std::string&>() == role;
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
      if (has_role(msg, "assistant") && msg.contains("content") && msg["content"].is_null()) {
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

}  // namespace

ChatRequest prepare_chat(ServedModel& m, const json& body) {
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
  if (has_role(last, "assistant") && last.contains("prefix") && last["prefix"] == true) {
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
  co.bos_token = m.mt->special_token("bos_token");
  co.eos_token = m.mt->special_token("eos_token");

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
    // A forced call skips the reasoning (as a model answering a tool call directly does); so
    // does thinking turned off where the template always opens it (R1 and its distills): the
    // think block is closed empty, as V3.1's template does for its non-thinking mode.
    if ((force || co.thinking == std::optional<bool>(false)) && chat::prompt_opens_reasoning(text)) text += "\n</think>\n\n";
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

}  // namespace frugal::server
