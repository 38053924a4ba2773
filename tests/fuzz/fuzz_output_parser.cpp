// libFuzzer target for the output parser (what a model generates is attacker-controlled text:
// a prompt can make it write any tags). The first byte picks the configuration (tool-call
// syntax, reasoning on/off, starting inside <think>, a stop string); the rest is pushed in
// pieces whose lengths come from the input itself, then finish(). Never a crash; and every
// tool_call delta is one of the result's tool calls, in order.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "chat/output_parser.h"
#include "core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  using namespace frugal::chat;
  ParserConfig cfg;
  const uint8_t c = data[0];
  cfg.tool_format = ToolFormat(c & 3);
  cfg.parse_reasoning = c & 4;
  cfg.starts_in_reasoning = c & 8;
  if (c & 16) cfg.stop = {"STOP", "\n\n\n"};
  cfg.id_seed = 1;
  OutputParser p(cfg);
  std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  size_t calls = 0, at = 0, step = 1 + (c >> 5);
  auto count = [&](const std::vector<Delta>& ds) {
    for (const auto& d : ds)
      if (d.kind == DeltaKind::tool_call) {
        if (d.tool_index != calls) std::abort();  // calls arrive complete and in order
        ++calls;
      }
  };
  while (at < text.size() && !p.stopped()) {
    const size_t n = std::min(step, text.size() - at);
    count(p.push(std::string_view(text).substr(at, n)).deltas);
    at += n;
    step = step % 7 + 1;  // pieces of 1..7 bytes, as tokens decode
  }
  count(p.finish(c & 128));
  if (calls != p.result().tool_calls.size()) std::abort();
  return 0;
}
