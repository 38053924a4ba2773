// The dialect decoders: each API's chat body decoded into the one typed ChatSpec, every error
// an ApiError (4xx) whose param is the field's path in that dialect's body. The decoders run
// before a model is held, so none of this needs a model.
#include <gtest/gtest.h>

#include <functional>

#include "server/chat_spec.h"

using namespace frugal::server;
using frugal::chat::Role;

namespace {

json J(const char* s) { return json::parse(s); }

struct Failure {
  int status = 0;
  std::string param, message;
};

// The ApiError decoding `body` throws (status 0 when it decodes).
Failure failure(const std::function<ChatSpec(const json&)>& decode, const json& body) {
  try {
    decode(body);
  } catch (const ApiError& e) {
    return {e.status, e.param, e.what()};
  }
  return {};
}

void expect_field_error(const std::function<ChatSpec(const json&)>& decode, const char* body, const char* param, int status = 400) {
  const Failure f = failure(decode, J(body));
  EXPECT_EQ(f.status, status) << body << " -> " << f.message;
  EXPECT_EQ(f.param, param) << body << " -> " << f.message;
}

TEST(ChatSpec, OpenAiChatCompletion) {
  ChatSpec s = decode_chat_completion(J(R"({
    "model": "m", "temperature": 0.5, "top_k": 7, "max_tokens": 20, "n": 2, "stop": "END", "seed": 9,
    "messages": [{"role": "developer", "content": "Be brief."},
                 {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
                 {"role": "assistant", "content": "The answer", "prefix": true}],
    "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
    "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
    "thinking": {"type": "disabled"}, "reasoning_effort": "low", "logprobs": true, "top_logprobs": 3,
    "chat_template_kwargs": {"x": 1}})"));
  ASSERT_EQ(s.messages.size(), 2u);
  EXPECT_EQ(s.messages[0].role, Role::system);
  EXPECT_EQ(*s.messages[1].content, "a\nb");
  EXPECT_EQ(s.assistant_prefix, "The answer");
  ASSERT_EQ(s.tools.size(), 1u);
  EXPECT_EQ(s.tools[0].name, "get_weather");
  EXPECT_EQ(s.tool_choice.kind, ToolChoice::Kind::function);
  EXPECT_EQ(s.tool_choice.name, "get_weather");
  EXPECT_EQ(s.thinking, false);
  EXPECT_EQ(s.reasoning_effort, "low");
  EXPECT_EQ(s.top_logprobs, 3);
  EXPECT_EQ(s.template_kwargs, J(R"({"x": 1})"));
  EXPECT_FLOAT_EQ(s.common.sampling.temperature, 0.5f);
  EXPECT_EQ(s.common.sampling.top_k, 7);
  EXPECT_EQ(s.common.max_tokens, 20);
  EXPECT_EQ(s.common.n, 2);
  EXPECT_EQ(s.common.stop, std::vector<std::string>{"END"});
  EXPECT_TRUE(s.common.seeded);
  EXPECT_EQ(s.common.sampling.seed, 9u);
}

TEST(ChatSpec, OpenAiErrorsNameTheField) {
  auto d = decode_chat_completion;
  expect_field_error(d, R"({"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": [{"type": "image_url"}]}]})",
                     "messages[1].content[0].type");
  expect_field_error(d, R"({"messages": [{"role": "robot", "content": "a"}]})", "messages[0].role");
  expect_field_error(d, R"({"messages": [{"role": "user", "content": "a"}], "tools": [{"type": "function", "function": {"name": "f", "parameters": 3}}]})",
                     "tools[0].function.parameters");
  expect_field_error(d, R"({"messages": [{"role": "user", "content": "a"}], "tool_choice": "required"})", "tool_choice");
  expect_field_error(d, R"({"messages": [{"role": "user", "content": "a"}], "tools": [{"type": "function", "function": {"name": "f"}}],
                           "tool_choice": {"type": "function", "function": {"name": "g"}}})", "tool_choice");
  expect_field_error(d, R"({"messages": [{"role": "user", "content": "a"}], "temperature": "hot"})", "temperature");
  expect_field_error(d, R"({"messages": [{"role": "user", "content": "a"}], "temperature": 3})", "temperature", 422);
  expect_field_error(d, R"({"messages": [{"role": "user", "content": "a"}], "n": "2"})", "n");
  expect_field_error(d, R"({"messages": [{"role": "user", "content": "a"}], "stream_options": {"include_usage": 1}})",
                     "stream_options.include_usage");
  expect_field_error(d, R"({"messages": [{"role": "user", "content": "a"}], "response_format": {"type": "json_schema", "json_schema": {}}})",
                     "response_format.json_schema.schema");
  expect_field_error(d, R"({"messages": [{"role": "user", "content": "a"}], "reasoning_effort": "max"})", "reasoning_effort", 422);
  expect_field_error(d, R"({"messages": [{"role": "user", "content": "a"}], "top_logprobs": 2})", "top_logprobs");
  expect_field_error(d, R"({"messages": [{"role": "user", "content": "a"}], "logprobs": true, "top_logprobs": 21})", "top_logprobs", 422);
  expect_field_error(d, R"({"messages": [{"role": "tool", "content": "a"}]})", "messages[0].tool_call_id");
}

TEST(ChatSpec, Ollama) {
  ChatSpec s = decode_ollama_chat(J(R"({
    "model": "m", "think": "high", "format": {"type": "object"},
    "options": {"temperature": 0.2, "num_predict": 30, "repeat_penalty": 1.2, "stop": ["x"], "num_ctx": 4096},
    "messages": [{"role": "user", "content": "Weather?"},
                 {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}]},
                 {"role": "tool", "content": "3C", "tool_name": "get_weather"}]})"));
  EXPECT_TRUE(s.common.stream);  // Ollama streams unless told not to
  EXPECT_FLOAT_EQ(s.common.sampling.temperature, 0.2f);
  EXPECT_FLOAT_EQ(s.common.sampling.repeat_penalty, 1.2f);
  EXPECT_EQ(s.common.max_tokens, 30);
  EXPECT_EQ(s.common.stop, std::vector<std::string>{"x"});
  EXPECT_EQ(s.thinking, true);
  EXPECT_EQ(s.reasoning_effort, "high");
  EXPECT_EQ(s.format.kind, OutputFormat::Kind::json_schema);
  ASSERT_EQ(s.messages.size(), 3u);
  EXPECT_FALSE(s.messages[1].content);  // a turn of calls alone: null content, as templates expect
  ASSERT_EQ(s.messages[1].tool_calls.size(), 1u);
  EXPECT_EQ(s.messages[1].tool_calls[0].arguments, J(R"({"city": "Oslo"})"));
  EXPECT_EQ(s.messages[2].tool_call_id, s.messages[1].tool_calls[0].id);  // paired by name

  ChatSpec g = decode_ollama_generate(J(R"({"prompt": "Once", "raw": true, "stream": false})"));
  EXPECT_EQ(g.raw_prompt, "Once");
  EXPECT_FALSE(g.common.stream);
  g = decode_ollama_generate(J(R"({"prompt": "Hi", "system": "Be kind."})"));
  ASSERT_EQ(g.messages.size(), 2u);
  EXPECT_EQ(g.messages[0].role, Role::system);
}

TEST(ChatSpec, OllamaErrorsNameTheField) {
  auto d = decode_ollama_chat;
  const char* msgs = R"("messages": [{"role": "user", "content": "a"}])";
  auto with = [&](const char* extra) { return std::string("{") + msgs + ", " + extra + "}"; };
  expect_field_error(d, with(R"("options": {"temperature": "hot"})").c_str(), "options.temperature");
  expect_field_error(d, with(R"("options": {"top_p": 5})").c_str(), "options.top_p", 422);
  expect_field_error(d, with(R"("options": {"num_predict": "10"})").c_str(), "options.num_predict");
  expect_field_error(d, with(R"("options": {"stop": [1]})").c_str(), "options.stop");
  expect_field_error(d, with(R"("options": [])").c_str(), "options");
  expect_field_error(d, with(R"("think": "max")").c_str(), "think");
  expect_field_error(d, with(R"("format": 3)").c_str(), "format");
  expect_field_error(d, with(R"("stream": "yes")").c_str(), "stream");
  expect_field_error(d, R"({"messages": [{"role": "user", "content": 5}]})", "messages[0].content");
  expect_field_error(d, R"({"messages": [{"role": "user", "content": "a", "images": ["iVBOR"]}]})", "messages[0].images");
  expect_field_error(d, R"({"messages": [{"role": "tool", "content": "a"}]})", "messages[0]");
  expect_field_error(decode_ollama_generate, R"({"prompt": 3})", "prompt");
  expect_field_error(decode_ollama_generate, R"({"prompt": "a", "raw": true, "format": "json"})", "format");
}

TEST(ChatSpec, Anthropic) {
  ChatSpec s = decode_anthropic_messages(J(R"({
    "model": "m", "max_tokens": 64, "system": [{"type": "text", "text": "Be brief."}], "stop_sequences": ["Z"],
    "thinking": {"type": "enabled", "budget_tokens": 1024},
    "tools": [{"name": "get_weather", "input_schema": {"type": "object"}}], "tool_choice": {"type": "any"},
    "messages": [{"role": "user", "content": "Weather?"},
                 {"role": "assistant", "content": [{"type": "thinking", "thinking": "hm", "signature": "s"},
                                                   {"type": "tool_use", "id": "tu_1", "name": "get_weather", "input": {"city": "Oslo"}}]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "tu_1", "content": "3C"},
                                              {"type": "text", "text": "And tomorrow?"}]}]})"));
  EXPECT_EQ(s.common.max_tokens, 64);
  EXPECT_EQ(s.common.stop, std::vector<std::string>{"Z"});
  EXPECT_EQ(s.thinking, true);
  EXPECT_EQ(s.tool_choice.kind, ToolChoice::Kind::required);
  ASSERT_EQ(s.messages.size(), 5u);
  EXPECT_EQ(s.messages[0].role, Role::system);
  EXPECT_EQ(s.messages[2].reasoning, "hm");
  EXPECT_FALSE(s.messages[2].content);
  EXPECT_EQ(s.messages[2].tool_calls[0].id, "tu_1");
  EXPECT_EQ(s.messages[3].role, Role::tool);
  EXPECT_EQ(s.messages[3].tool_call_id, "tu_1");
  EXPECT_EQ(*s.messages[4].content, "And tomorrow?");
}

TEST(ChatSpec, AnthropicErrorsNameTheField) {
  auto d = decode_anthropic_messages;
  expect_field_error(d, R"({"messages": [{"role": "user", "content": "a"}]})", "max_tokens");
  expect_field_error(d, R"({"max_tokens": 0, "messages": [{"role": "user", "content": "a"}]})", "max_tokens", 422);
  expect_field_error(d, R"({"max_tokens": 5, "messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": [{"type": "image"}]}]})",
                     "messages[1].content[0].type");
  expect_field_error(d, R"({"max_tokens": 5, "messages": [{"role": "user", "content": "a"}], "stop_sequences": [1]})", "stop_sequences");
  expect_field_error(d, R"({"max_tokens": 5, "messages": [{"role": "user", "content": "a"}], "temperature": "x"})", "temperature");
  expect_field_error(d, R"({"max_tokens": 5, "messages": [{"role": "user", "content": "a"}], "tools": [{"name": "f", "input_schema": {}}],
                           "tool_choice": {"type": "tool", "name": "g"}})", "tool_choice");
  expect_field_error(d, R"({"max_tokens": 5, "messages": [{"role": "user", "content": "a"}], "tools": [{"name": "f"}]})", "tools[0].input_schema");
  // An empty id would pair the result with nothing: named where the client wrote it.
  expect_field_error(d, R"({"max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": ""}]}]})",
                     "messages[0].content[0].tool_use_id");
}

TEST(ChatSpec, Responses) {
  ChatSpec s = decode_responses(J(R"({
    "instructions": "Be brief.", "max_output_tokens": 40, "reasoning": {"effort": "medium"},
    "text": {"format": {"type": "json_schema", "name": "x", "schema": {"type": "object"}}},
    "tools": [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}],
    "input": [{"role": "user", "content": [{"type": "input_text", "text": "Weather?"}]},
              {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{\"city\": \"Oslo\"}"},
              {"type": "function_call_output", "call_id": "c1", "output": "3C"}]})"));
  ASSERT_EQ(s.messages.size(), 4u);
  EXPECT_EQ(s.messages[0].role, Role::system);
  EXPECT_EQ(s.messages[2].role, Role::assistant);
  EXPECT_EQ(s.messages[2].tool_calls[0].id, "c1");
  EXPECT_EQ(s.messages[3].tool_call_id, "c1");
  EXPECT_EQ(s.common.max_tokens, 40);
  EXPECT_EQ(s.reasoning_effort, "medium");
  EXPECT_EQ(s.format.kind, OutputFormat::Kind::json_schema);

  expect_field_error(decode_responses, R"({"input": [{"role": "user", "content": [{"type": "input_image"}]}]})", "input[0].content[0].type");
  expect_field_error(decode_responses, R"({"input": "a", "reasoning": {"effort": "extreme"}})", "reasoning.effort", 422);
  expect_field_error(decode_responses, R"({"input": "a", "max_output_tokens": "9"})", "max_output_tokens");
  expect_field_error(decode_responses, R"({"input": "a", "text": {"format": {"type": "json_schema"}}})", "text.format.schema");
  expect_field_error(decode_responses, R"({"input": "a", "previous_response_id": "resp_1"})", "previous_response_id");
  expect_field_error(decode_responses, R"({"input": [{"type": "function_call_output", "call_id": "", "output": "x"}]})",
                     "input[0].call_id");
}

// Every field of a valid body, at every depth, replaced by a value of every JSON type: each
// decoder either accepts the body or answers a 4xx ApiError. Anything else (a JSON library
// type_error, a std::out_of_range) would have been a 500.
void mutate_everywhere(const std::function<ChatSpec(const json&)>& decode, const json& valid) {
  const json values[] = {nullptr, true, -1, 3.5, 1e300, "", "x", json::array(), json::array({1, "a"}), json::object(),
                         J(R"({"type": "text"})")};
  size_t n = 0;
  std::function<void(json&, json&)> walk = [&](json& root, json& node) {
    auto try_all = [&](json& slot) {
      const json saved = slot;
      for (const json& v : values) {
        slot = v;
        ++n;
        try {
          decode(root);
        } catch (const ApiError& e) {
          EXPECT_GE(e.status, 400);
          EXPECT_LT(e.status, 500);
        } catch (const std::exception& e) {
          ADD_FAILURE() << "not an ApiError: " << e.what() << " for " << root.dump();
        }
      }
      slot = saved;
    };
    if (node.is_object()) {
      for (auto it = node.begin(); it != node.end(); ++it) {
        try_all(it.value());
        walk(root, it.value());
      }
    } else if (node.is_array()) {
      for (auto& x : node) {
        try_all(x);
        walk(root, x);
      }
    }
  };
  json body = valid;
  ASSERT_NO_THROW(decode(body));
  walk(body, body);
  EXPECT_GT(n, 50u);
}

TEST(ChatSpec, NoFieldOfAnyTypeGetsPastTheDecodersAsA500) {
  mutate_everywhere(decode_chat_completion, J(R"({"model": "m", "temperature": 0.5, "stop": ["a"], "n": 1, "logprobs": true, "top_logprobs": 2,
    "stream_options": {"include_usage": true}, "response_format": {"type": "json_schema", "json_schema": {"schema": {"type": "object"}}},
    "thinking": {"type": "enabled"}, "tool_choice": {"type": "function", "function": {"name": "f"}},
    "tools": [{"type": "function", "function": {"name": "f", "description": "d", "parameters": {"type": "object"}}}],
    "messages": [{"role": "system", "content": [{"type": "text", "text": "s"}]}, {"role": "user", "content": "u", "name": "n"},
                 {"role": "assistant", "content": null, "reasoning_content": "r",
                  "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
                 {"role": "tool", "tool_call_id": "c", "content": "x"}, {"role": "assistant", "content": "p", "prefix": true}]})"));
  mutate_everywhere(decode_ollama_chat, J(R"({"model": "m", "stream": false, "think": true, "format": "json", "keep_alive": "5m",
    "options": {"temperature": 0.1, "top_k": 3, "num_predict": 5, "seed": 1, "stop": ["s"]},
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
    "messages": [{"role": "user", "content": "u", "images": []}, {"role": "assistant", "content": "", "thinking": "t",
                  "tool_calls": [{"function": {"name": "f", "arguments": {"a": 1}}}]},
                 {"role": "tool", "content": "r", "tool_name": "f"}]})"));
  mutate_everywhere(decode_ollama_generate, J(R"({"prompt": "p", "system": "s", "raw": false, "options": {"top_p": 0.5}, "think": "low"})"));
  mutate_everywhere(decode_anthropic_messages, J(R"({"model": "m", "max_tokens": 5, "system": "s", "temperature": 0.5, "stream": true,
    "stop_sequences": ["z"], "thinking": {"type": "enabled", "budget_tokens": 100},
    "tools": [{"name": "f", "description": "d", "input_schema": {"type": "object"}}], "tool_choice": {"type": "tool", "name": "f"},
    "messages": [{"role": "user", "content": [{"type": "text", "text": "u"}]},
                 {"role": "assistant", "content": [{"type": "thinking", "thinking": "t"}, {"type": "tool_use", "id": "i", "name": "f", "input": {}}]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "i", "content": [{"type": "text", "text": "r"}], "is_error": false}]}]})"));
  mutate_everywhere(decode_responses, J(R"({"model": "m", "instructions": "i", "max_output_tokens": 9, "temperature": 1, "stream": false,
    "reasoning": {"effort": "low"}, "text": {"format": {"type": "json_object"}}, "tool_choice": "auto",
    "tools": [{"type": "function", "name": "f", "description": "d", "parameters": {"type": "object"}}],
    "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "u"}]},
              {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
              {"type": "function_call_output", "call_id": "c", "output": "o"}]})"));
}

}  // namespace
