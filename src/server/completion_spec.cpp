#include "server/completion_spec.h"

#include <algorithm>
#include <cstdint>


namespace frugal::server {

CompletionSpec decode_completion(const json& body) {
  CompletionSpec s;
  s.common = parse_common(body);
  const json* pf = field(body, "prompt");
  if (!pf) throw ApiError(400, "'prompt' is required", "prompt", "missing_required_parameter");
  if (pf->is_string()) {
    s.text = pf->get<std::string>();
  } else if (pf->is_array() && pf->size() == 1 && (*pf)[0].is_string()) {
    s.text = (*pf)[0].get<std::string>();
  } else if (pf->is_array() && !pf->empty() && std::all_of(pf->begin(), pf->end(), [](const json& x) { return x.is_number_integer(); })) {
    for (const auto& x : *pf) s.ids.push_back(x.is_number_unsigned() && x.get<uint64_t>() > uint64_t(INT64_MAX) ? INT64_MAX : x.get<int64_t>());
  } else {
    throw ApiError(400, "'prompt' must be a string, an array of one string, or an array of token ids", "prompt", "invalid_type");
  }
  if (const json* e = field(body, "echo"); e && *e == true) throw ApiError(422, "'echo' is not supported", "echo", "unsupported_value");
  s.suffix = string_field(body, "suffix");
  if (!s.suffix.empty() && !s.ids.empty()) throw ApiError(400, "'suffix' needs a text prompt", "suffix");
  if (field(body, "logprobs")) s.top_logprobs = int32_t(integer_at(body, "logprobs", "logprobs", 0, 20, 0));
  return s;
}

}  // namespace frugal::server
