// Model output in, assistant message out: an incremental parser over the decoded text pieces a
// token-by-token detokenizer produces. It splits the text into reasoning_content, content and
// tool_calls, and emits deltas as soon as it is safe to say where text belongs.
//
// Main idea: the unconsumed text sits in one buffer; a state machine (start, reasoning,
// content, one state per tool-call syntax) consumes it as far as the text decides. What it
// holds back is only a suffix that may still become a tag (`</thi` could be `</think>`), a stop
// string's prefix, a tool call until its end tag (so a malformed one can still turn into plain
// content), trailing whitespace (fields are trimmed) and an incomplete UTF-8 sequence. Every
// decision depends on the text only, never on where the pieces were cut: any cutting of the
// same text gives the same deltas concatenated and the same result (the tests check every cut).
//
// Reasoning: `<think>...</think>` at the start of the output. With starts_in_reasoning (the
// rendered prompt already ends with an open `<think>`, as DeepSeek-R1's template does) the output
// is reasoning up to `</think>`. A model that skips thinking then never writes `</think>`:
// finish() moves what was streamed as reasoning into content and says so with a
// reasoning_to_content delta and ParsedMessage::reasoning_reclassified (a streaming client has
// shown it as reasoning meanwhile: that is the trade-off; vLLM leaves it as reasoning). A stream
// cut by the length limit (finish(truncated=true)) keeps its reasoning, and so does an explicit
// `<think>` written by the model and never closed. DeepSeek's <｜tool▁calls▁begin｜> also ends
// the reasoning (R1 calling a tool without thinking).
//
// Tool calls are emitted whole, one delta per call with the complete arguments, once the call's
// end is seen and its JSON is valid: arguments are not streamed piecewise. Malformed calls (bad
// JSON, no end tag, no name) become plain content, tags included. The price: text after an
// opening tag is held until its end tag or finish(); Llama output that starts with `{` is held
// until its JSON value closes. Qwen and Llama tool tags inside the reasoning are reasoning.
//
// Fields are trimmed: reasoning_content without the tags and surrounding whitespace, content
// without leading and trailing whitespace (as DeepSeek's API returns them).
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace frugal::chat {

enum class ToolFormat {
  none,
  deepseek,  // <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\n{..}\n```<｜tool▁call▁end｜>...
             // or (V3.1-style) <｜tool▁call▁begin｜>NAME<｜tool▁sep｜>{..}<｜tool▁call▁end｜>
  qwen,      // <tool_call>\n{"name": .., "arguments": {..}}\n</tool_call> (Hermes style), repeated
  llama3,    // output starting with {"name": .., "parameters": {..}} or <|python_tag|>{..}; several
             // separated by ';'
};

const char* tool_format_name(ToolFormat f);

struct ParserConfig {
  ToolFormat tool_format = ToolFormat::none;
  bool parse_reasoning = true;       // recognise <think>...</think> at the start
  bool starts_in_reasoning = false;  // the prompt ends with an open <think> (prompt_opens_reasoning)
  std::vector<std::string> stop;     // stop strings, matched on the raw text; empty ones ignored
  std::optional<uint64_t> id_seed;   // tool call ids; unset: a random seed
};

// The tool-call format from template features (the syntax the template renders past tool calls
// in), falling back on the model name: DeepSeek `<｜tool▁calls▁begin｜>`, Qwen `<tool_call>`,
// Llama 3 `<|python_tag|>` or `"parameters"`. starts_in_reasoning is left false: it depends on the
// rendered prompt (prompt_opens_reasoning).
ParserConfig parser_config_for(const std::string& chat_template, const std::string& model_name);

// True when the rendered prompt ends with an opened, unclosed `<think>` (trailing whitespace
// allowed): the model's output then starts inside its reasoning.
bool prompt_opens_reasoning(std::string_view rendered_prompt);

struct ToolCall {
  std::string id;         // "call_" + 24 alphanumerics
  std::string name;
  std::string arguments;  // a JSON object, serialized (OpenAI style)
};

struct ParsedMessage {
  std::string reasoning_content;
  std::string content;
  std::vector<ToolCall> tool_calls;
  bool reasoning_reclassified = false;  // see the file comment
  bool stopped = false;                 // a stop string ended the output
  std::string stop_string;              // which one
  // OpenAI assistant message: role, content (null when empty and there are tool calls),
  // reasoning_content (when non-empty), tool_calls (when any).
  nlohmann::ordered_json to_json() const;
};

enum class DeltaKind {
  reasoning,             // text appended to reasoning_content
  content,               // text appended to content
  tool_call,             // tool_calls[tool_index] = call, complete
  reasoning_to_content,  // everything sent as reasoning so far is content (finish() only)
};

struct Delta {
  DeltaKind kind = DeltaKind::content;
  std::string text;
  size_t tool_index = 0;
  ToolCall call;
};

struct PushResult {
  std::vector<Delta> deltas;
  bool stopped = false;  // a stop string was hit: stop generating, then call finish()
};

class OutputParser {
 public:
  explicit OutputParser(const ParserConfig& cfg);
  ~OutputParser();
  OutputParser(const OutputParser&) = delete;
  OutputParser& operator=(const OutputParser&) = delete;

  // One decoded piece of output. Pieces after a stop are ignored.
  PushResult push(std::string_view piece);
  // End of output: flushes what was held back. truncated: generation hit the length limit.
  std::vector<Delta> finish(bool truncated = false);
  // The message so far (complete after finish()).
  const ParsedMessage& result() const;
  bool stopped() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace frugal::chat
