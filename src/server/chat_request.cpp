#include "server/chat_request.h"

#include "chat/messages.h"

namespace frugal::server {

namespace {

// The forced tool call for this model's tool-call syntax: what precedes the JSON, what follows
// it, and the JSON's schema. `only`: the named function, or "" for any of the tools.
void force_tool_call(ChatRequest& r, chat::ToolFormat fmt, const std::vector<chat::ToolDef>& tools, const std::string& only) {
  std::vector<const chat::ToolDef*> fns;
  for (const auto& t : tools)
    if (only.empty() || t.name == only) fns.push_back(&t);
  if (fns.empty()) throw ApiError(400, "'tool_choice' names a function that is not in 'tools'", "tool_choice", "invalid_value");
  auto params = [](const chat::ToolDef* f) { return f->parameters.is_object() ? f->parameters : json{{"type", "object"}}; };
  auto call_schema = [&](const char* args_key) {
    json any = json::array();
    for (const chat::ToolDef* f : fns)
      any.push_back({{"type", "object"},
                     {"properties", {{"name", {{"const", f->name}}}, {args_key, params(f)}}},
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
      r.forced_prefix = "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>" + fns[0]->name + "\n```json\n";
      r.forced_suffix = "\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>";
      r.schema = params(fns[0]);
      break;
    case chat::ToolFormat::none:
      throw ApiError(400, "this model's chat template has no tool-call syntax to force", "tool_choice", "unsupported_value");
  }
  r.json_mode = true;
  r.schema_from_tools = true;
}

// OpenAI clients send an assistant turn that only calls tools with "content": null. DeepSeek's
// templates test for that null; the original Qwen3 template evaluates `'</think>' in
// message.content` and fails on it (in Python too). So a template that fails on the null gets
// one more try with "" in its place.
std::string render(const tmpl::Template& t, const std::vector<chat::Message>& messages, const std::vector<chat::ToolDef>& tools,
                   const chat::TemplateContextOptions& co) {
  try {
    return t.render(chat::build_template_context(messages, tools, co));
  } catch (const Error&) {
    std::vector<chat::Message> fixed = messages;
    bool changed = false;
    for (auto& msg : fixed)
      if (msg.role == chat::Role::assistant && !msg.content) {
        msg.content = "";
        changed = true;
      }
    if (!changed) throw;
    try {
      return t.render(chat::build_template_context(fixed, tools, co));
    } catch (const Error&) {
    }
    throw;
  }
}

}  // namespace

ChatRequest prepare_chat(ServedModel& m, const ChatSpec& spec) {
  ChatRequest r;
  r.common = spec.common;
  r.top_logprobs = spec.top_logprobs;
  if (!spec.raw_prompt) r.parser = m.parser;
  r.parser.stop = r.common.stop;
  if (r.common.seeded) r.parser.id_seed = r.common.sampling.seed;
  if (spec.raw_prompt) {
    // The prompt as it is (with the BOS the model was trained with), no reasoning split.
    EncodeOptions eo;
    eo.add_special = true;
    r.prompt = m.tok->encode(*spec.raw_prompt, eo);
    r.parser.parse_reasoning = false;
    return r;
  }
  if (!m.tmpl) throw ApiError(400, "model '" + m.name + "' has no chat template; use /v1/completions", "model");

  chat::TemplateContextOptions co;
  co.add_generation_prompt = true;
  co.tool_arguments_as_text = m.parser.tool_format == chat::ToolFormat::deepseek;
  co.thinking = spec.thinking;
  if (!spec.reasoning_effort.empty()) co.extra["reasoning_effort"] = spec.reasoning_effort;
  for (const auto& [k, v] : spec.template_kwargs.items()) co.extra[k] = v;
  co.bos_token = m.mt->special_token("bos_token");
  co.eos_token = m.mt->special_token("eos_token");

  // tool_choice "none" hides the tools, "auto" lets the model decide, "required" and a named
  // function force a call (force_tool_call).
  using K = ToolChoice::Kind;
  const bool force = spec.tool_choice.kind == K::required || spec.tool_choice.kind == K::function;
  static const std::vector<chat::ToolDef> no_tools;
  const std::vector<chat::ToolDef>& tools = spec.tool_choice.kind == K::none ? no_tools : spec.tools;
  try {
    if (force) force_tool_call(r, m.parser.tool_format, tools, spec.tool_choice.kind == K::function ? spec.tool_choice.name : "");
    std::string text = render(*m.tmpl, spec.messages, tools, co) + spec.assistant_prefix.value_or("");
    // A forced call skips the reasoning (as a model answering a tool call directly does); so
    // does thinking turned off where the template always opens it (R1 and its distills): the
    // think block is closed empty, as V3.1's template does for its non-thinking mode.
    if ((force || spec.thinking == std::optional<bool>(false)) && chat::prompt_opens_reasoning(text)) text += "\n</think>\n\n";
    const bool opens_reasoning = chat::prompt_opens_reasoning(text);
    text += r.forced_prefix;
    EncodeOptions eo;
    eo.add_special = false;  // the template writes BOS itself
    r.prompt = m.tok->encode(text, eo);
    r.parser.starts_in_reasoning = opens_reasoning;
  } catch (const ApiError&) {
    throw;
  } catch (const Error& e) {
    // The model's template refused the conversation (raise_exception, a role order it does not take).
    throw ApiError(400, e.what(), "messages", "invalid_request");
  }
  if (!force && spec.format.kind != OutputFormat::Kind::text) {
    r.json_mode = true;
    if (spec.format.kind == OutputFormat::Kind::json_schema) r.schema = spec.format.schema;
  }
  return r;
}

}  // namespace frugal::server
