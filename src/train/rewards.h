// DeepSeek-R1's rule-based rewards for what the model wrote after "<think>\n":
//   format:   "REASONING\n</think>\n\nANSWER" ended by the end-of-sequence token, one
//             </think>, no second <think>, ANSWER exactly one integer, valid UTF-8 throughout
//             (byte tokens can spell half a character);
//   accuracy: the text after </think> states the right integer.
#pragma once
#include <cstdint>
#include <string>

namespace frugal::train {

struct Graded {
  bool format = false, correct = false;
  std::string reasoning, answer;  // split at </think> (answer trimmed); reasoning = all when no </think>
};

Graded grade(const std::string& generated, bool ended, int64_t expected);

}  // namespace frugal::train
