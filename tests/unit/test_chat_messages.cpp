// Chat messages: OpenAI-shaped messages decoded into typed ones and rendered into a
// chat-template context, and the errors untrusted requests get (each a FieldError whose path
// names the message index and the field).
#include <gtest/gtest.h>

#include "chat/messages.h"
#include "core/error.h"

using namespace frugal::chat;
using json = nlohmann::ordered_json;

namespace {

// The messages decoded and rendered back into the template context's shape.
json normalize_messages(const json& messages, bool arguments_as_text = false) {
  return template_messages(decode_messages(messages), arguments_as_text);
}

// The error decoding `messages` throws (empty when it does not throw); the FieldError's path
// must begin its message.
std::string error_of(const json& messages) {
  try {
    decode_messages(messages);
  } catch (const FieldError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(e.path + ": ", 0), 0u) << e.what();
    return e.what();
  }
  return {};
}

void expect_error(const json& messages, std::initializer_list<const char*> parts) {
  std::string e = error_of(messages);
  ASSERT_FALSE(e.empty()) << "no error for " << messages.dump();
  for (const char* p : parts) EXPECT_NE(e.find(p), std::string::npos) << "'" << e << "' lacks '" << p << "'";
}

TEST(ChatMessages, NormalizesRolesAndContentParts) {
  json in = json::parse(R"([
    {"role": "developer", "content": "Be brief."},
    {"role": "user", "content": [{"type": "text", "text": "Line one"}, {"type": "text", "text": "Line two"}],
     "name": "ann", "unknown_field": 1}
  ])");
  json out = normalize_messages(in);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], json::parse(R"({"role": "system", "content": "Be brief."})"));
  EXPECT_EQ(out[1], json::parse(R"({"role": "user", "content": "Line one\nLine two", "name": "ann"})"));
}

TEST(ChatMessages, AssistantToolCallsAndToolResults) {
  json in = json::parse(R"([
    {"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "content": null, "reasoning_content": "Need the tool.",
     "tool_calls": [
       {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}},
       {"id": "call_2", "type": "function", "function": {"name": "echo", "arguments": "not json"}},
       {"function": {"name": "noargs"}}
     ]},
    {"role": "tool", "tool_call_id": "call_1", "content": "18C"}
  ])");
  json out = normalize_messages(in);
  const json& a = out[1];
  EXPECT_TRUE(a["content"].is_null());
  EXPECT_EQ(a["reasoning_content"], "Need the tool.");
  ASSERT_EQ(a["tool_calls"].size(), 3u);
  EXPECT_EQ(a["tool_calls"][0]["function"]["arguments"], json::parse(R"({"city": "Paris"})"));
  EXPECT_EQ(a["tool_calls"][0]["id"], "call_1");
  EXPECT_EQ(a["tool_calls"][1]["function"]["arguments"], "not json");  // kept as given
  EXPECT_EQ(a["tool_calls"][2]["type"], "function");
  EXPECT_EQ(a["tool_calls"][2]["function"]["arguments"], json::object());
  EXPECT_FALSE(a["tool_calls"][2].contains("id"));
  EXPECT_EQ(out[2], json::parse(R"({"role": "tool", "content": "18C", "tool_call_id": "call_1"})"));
}

TEST(ChatMessages, ArgumentsKeptAsStringsForDeepSeekTemplates) {
  json in = json::parse(R"([{"role": "assistant", "tool_calls": [
    {"type": "function", "function": {"name": "f", "arguments": "{\"a\": 1}"}},
    {"type": "function", "function": {"name": "g", "arguments": {"b": 2}}}]}])");
  json out = normalize_messages(in, /*arguments_as_text=*/true);
  EXPECT_EQ(out[0]["tool_calls"][0]["function"]["arguments"], "{\"a\": 1}");
  EXPECT_EQ(out[0]["tool_calls"][1]["function"]["arguments"], "{\"b\":2}");
}

// Arguments nested deeper than kMaxJsonDepth stay text: parsed, the template context's copy
// (recursive in the JSON library) of a 100 KB string nested 50,000 deep overflowed the stack.
TEST(ChatMessages, DeeplyNestedArgumentsStayText) {
  const std::string deep = "{\"a\": " + std::string(50000, '[') + std::string(50000, ']') + "}";
  const json in = {{{"role", "assistant"},
                    {"tool_calls", {{{"type", "function"}, {"function", {{"name", "f"}, {"arguments", deep}}}}}}}};
  const json out = normalize_messages(in);
  EXPECT_TRUE(out[0]["tool_calls"][0]["function"]["arguments"] == deep);  // (not printed: 100 KB)
  EXPECT_NO_THROW(build_template_context(decode_messages(in), {}, {}));
  // Within the bound, arguments are still an object.
  const std::string ok = "{\"a\": " + std::string(100, '[') + std::string(100, ']') + "}";
  const json in2 = {{{"role", "assistant"},
                     {"tool_calls", {{{"type", "function"}, {"function", {{"name", "f"}, {"arguments", ok}}}}}}}};
  EXPECT_TRUE(normalize_messages(in2)[0]["tool_calls"][0]["function"]["arguments"].is_object());
}

TEST(ChatMessages, Errors) {
  expect_error(json::object(), {"messages", "array"});
  expect_error(json::array(), {"messages", "empty"});
  expect_error(json::parse(R"([{"role": "user", "content": "a"}, {"role": "robot", "content": "b"}])"),
               {"messages[1].role", "robot"});
  expect_error(json::parse(R"([{"content": "a"}])"), {"messages[0].role"});
  expect_error(json::parse(R"([{"role": "user", "content": 5}])"), {"messages[0].content", "number"});
  expect_error(json::parse(R"([{"role": "user"}])"), {"messages[0].content"});
  expect_error(json::parse(R"([{"role": "assistant", "content": null}])"), {"messages[0].content", "tool_calls"});
  expect_error(json::parse(R"([{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}])"),
               {"messages[0].content[0].type", "image_url"});
  expect_error(json::parse(R"([{"role": "user", "content": [{"type": "text"}]}])"), {"messages[0].content[0].text"});
  expect_error(json::parse(R"([{"role": "tool", "content": "x"}])"), {"messages[0].tool_call_id"});
  expect_error(json::parse(R"([{"role": "tool", "content": "x", "tool_call_id": 3}])"), {"messages[0].tool_call_id", "string"});
  expect_error(json::parse(R"([{"role": "user", "content": "x", "tool_calls": []}])"), {"messages[0].tool_calls", "assistant"});
  expect_error(json::parse(R"([{"role": "assistant", "content": "x", "tool_calls": [{"type": "function", "function": {"arguments": "{}"}}]}])"),
               {"messages[0].tool_calls[0].function.name"});
  expect_error(json::parse(R"([{"role": "assistant", "content": "x", "tool_calls": [{"type": "code", "function": {"name": "f"}}]}])"),
               {"messages[0].tool_calls[0].type"});
  expect_error(json::parse(R"([{"role": "assistant", "content": "x", "tool_calls": [{"function": {"name": "f", "arguments": 3}}]}])"),
               {"messages[0].tool_calls[0].function.arguments"});
  expect_error(json::parse(R"([{"role": "user", "content": "x", "reasoning_content": "r"}])"), {"messages[0].reasoning_content"});
  expect_error(json::parse(R"([{"role": "assistant", "content": "x", "reasoning_content": 1}])"), {"messages[0].reasoning_content"});
  expect_error(json::parse(R"(["hello"])"), {"messages[0]", "object"});
}

TEST(ChatMessages, TemplateContext) {
  json messages = json::parse(R"([{"role": "user", "content": "Hi"}])");
  TemplateContextOptions opts;
  opts.bos_token = "<｜begin▁of▁sentence｜>";
  opts.eos_token = "<｜end▁of▁sentence｜>";
  opts.thinking = false;
  opts.extra = json::parse(R"({"custom": 1})");
  json ctx = build_template_context(decode_messages(messages), {}, opts);
  EXPECT_EQ(ctx["messages"], messages);
  EXPECT_FALSE(ctx.contains("tools"));  // none given: undefined, so `if tools` is false
  EXPECT_EQ(ctx["add_generation_prompt"], true);
  EXPECT_EQ(ctx["bos_token"], "<｜begin▁of▁sentence｜>");
  EXPECT_EQ(ctx["eos_token"], "<｜end▁of▁sentence｜>");
  EXPECT_EQ(ctx["enable_thinking"], false);
  EXPECT_EQ(ctx["thinking"], false);
  EXPECT_EQ(ctx["custom"], 1);

  const json tools = json::parse(R"([{"type": "function", "function": {"name": "get_weather", "description": "d",
                               "parameters": {"type": "object", "properties": {}}}}])");
  opts.thinking.reset();
  ctx = build_template_context(decode_messages(messages), decode_tools(tools), opts);
  EXPECT_EQ(ctx["tools"], tools);
  EXPECT_FALSE(ctx.contains("enable_thinking"));

  EXPECT_FALSE(build_template_context(decode_messages(messages), decode_tools(json::array()), opts).contains("tools"));
}

TEST(ChatMessages, ToolDefinitionErrors) {
  auto err = [](const char* tools) -> std::string {
    try {
      decode_tools(json::parse(tools));
    } catch (const FieldError& e) {
      return e.what();
    }
    return {};
  };
  EXPECT_NE(err(R"({"type": "function"})").find("tools: expected an array"), std::string::npos);
  EXPECT_NE(err(R"([{"function": {"name": "f"}}])").find("tools[0].type"), std::string::npos);
  EXPECT_NE(err(R"([{"type": "function", "function": {"name": "f"}}, {"type": "function", "function": {}}])")
                .find("tools[1].function.name"),
            std::string::npos);
  EXPECT_NE(err(R"([{"type": "function", "function": {"name": "f", "parameters": "x"}}])").find("tools[0].function.parameters"),
            std::string::npos);
  EXPECT_TRUE(err(R"([{"type": "function", "function": {"name": "f"}}])").empty());
}

}  // namespace
