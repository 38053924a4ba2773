// libFuzzer target for the JSON-schema compiler and recognizer (response_format schemas come
// from requests; what is checked against them comes from the model). The input is a schema,
// a NUL byte, then text: the schema must compile or throw frugal::Error, and the text is fed in
// pieces: accept() must succeed exactly when allows() said so. The same text also goes through
// the json_object mode (no schema).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "core/error.h"
#include "runtime/json_constraint.h"

namespace {
void feed(frugal::JsonConstraint& jc, std::string_view text) {
  size_t at = 0, step = 1;
  while (at < text.size()) {
    const auto piece = text.substr(at, std::min(step, text.size() - at));
    const bool ok = jc.allows(piece);
    bool accepted = true;
    try {
      jc.accept(piece);
    } catch (const frugal::Error&) {
      accepted = false;
    }
    if (ok != accepted) std::abort();  // allows() and accept() must agree
    if (!ok) return;
    (void)jc.complete();
    (void)jc.can_continue();
    at += piece.size();
    step = step % 5 + 1;
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const char* s = reinterpret_cast<const char*>(data);
  const char* nul = static_cast<const char*>(std::memchr(s, 0, size));
  const std::string_view schema_text(s, nul ? size_t(nul - s) : size);
  const std::string_view text = nul ? std::string_view(nul + 1, size - schema_text.size() - 1) : std::string_view();
  frugal::JsonConstraint any(nullptr);
  feed(any, text);
  const auto schema = nlohmann::ordered_json::parse(schema_text, nullptr, false);
  if (schema.is_discarded() || !schema.is_object()) return 0;
  std::optional<frugal::JsonConstraint> jc;
  try {
    jc.emplace(&schema, "schema");
  } catch (const frugal::Error&) {
    return 0;  // an unsupported or malformed schema: a clear error is the right answer
  }
  feed(*jc, text);
  return 0;
}
