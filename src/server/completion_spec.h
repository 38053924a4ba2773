// The body of POST /v1/completions decoded: the prompt (text or token ids), the FIM suffix,
// logprobs and the sampling fields every endpoint shares. A stranger's body either decodes or
// is refused with a 4xx naming the field (tests/fuzz/fuzz_request.cpp).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "server/request_fields.h"

namespace frugal::server {

struct CompletionSpec {
  CommonParams common;
  std::string text, suffix;
  std::vector<int64_t> ids;  // non-empty: the prompt is these token ids
  int32_t top_logprobs = -1;
};

CompletionSpec decode_completion(const json& body);

}  // namespace frugal::server
