// libFuzzer target for the request bodies a stranger sends to `frugal serve`: any bytes after
// a dialect byte, parsed as JSON the way the server parses them (depth-bounded), then decoded
// by that dialect's decoder (OpenAI / DeepSeek chat, Ollama chat and generate, Anthropic
// Messages, OpenAI Responses, and the raw-text completions of /v1/completions). A chat body must
// decode into a ChatSpec whose template context builds, a completions body into a prompt, or
// be refused with a 4xx ApiError that names the field; any other exception (a JSON library
// type_error, an out_of_range) would have been a 500 and is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "formats/json_file.h"
#include "server/chat_spec.h"
#include "server/completion_spec.h"

using namespace frugal::server;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  ChatSpec (*const decoders[])(const json&) = {decode_chat_completion, decode_ollama_chat, decode_ollama_generate,
                                               decode_anthropic_messages, decode_responses};
  const int dialect = data[0] % 6;
  const json body = frugal::parse_untrusted_json(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  if (body.is_discarded() || !body.is_object()) return 0;  // the server's own 400, before any decoder
  if (dialect == 5) {
    try {
      const CompletionSpec c = decode_completion(body);
      if (!c.text.empty() && !c.ids.empty()) std::abort();  // text or token ids, never both
      if (c.top_logprobs < -1 || c.top_logprobs > 20) std::abort();
    } catch (const ApiError& e) {
      if (e.status < 400 || e.status >= 500 || e.param.empty()) std::abort();
    }
    return 0;
  }
  const auto decode = decoders[dialect];
  try {
    const ChatSpec s = decode(body);
    if (s.messages.empty() && !s.raw_prompt) std::abort();
    for (bool as_text : {false, true}) {
      frugal::chat::TemplateContextOptions co;
      co.tool_arguments_as_text = as_text;
      co.thinking = s.thinking;
      co.extra = s.template_kwargs;
      (void)dump(frugal::chat::build_template_context(s.messages, s.tools, co));
    }
  } catch (const ApiError& e) {
    if (e.status < 400 || e.status >= 500 || e.param.empty()) std::abort();
  }
  return 0;
}
