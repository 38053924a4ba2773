#include "train/rewards.h"

#include "core/text.h"
#include "train/arith.h"
#include "train/byte_vocab.h"

namespace frugal::train {

Graded grade(const std::string& text, bool ended, int64_t expected) {
  Graded g;
  const size_t e = text.find(kEndThink);
  if (e == std::string::npos) {
    g.reasoning = text;
    return g;
  }
  g.reasoning = text.substr(0, e);
  while (!g.reasoning.empty() && (g.reasoning.back() == '\n' || g.reasoning.back() == ' ')) g.reasoning.pop_back();
  const std::string rest = text.substr(e + std::string(kEndThink).size());
  int64_t v = 0;
  const bool parsed = parse_answer(rest, &v);
  g.answer = rest;
  while (!g.answer.empty() && std::isspace(static_cast<unsigned char>(g.answer.front()))) g.answer.erase(0, 1);
  while (!g.answer.empty() && std::isspace(static_cast<unsigned char>(g.answer.back()))) g.answer.pop_back();
  g.correct = parsed && v == expected;
  g.format = ended && parsed && valid_utf8(text) && rest.size() > 2 && rest.compare(0, 2, "\n\n") == 0 && rest.substr(2) == g.answer &&
             text.find(kEndThink, e + 1) == std::string::npos && text.find(kThink) == std::string::npos &&
             (g.reasoning.empty() || text.compare(g.reasoning.size(), 1, "\n") == 0);
  return g;
}

}  // namespace frugal::train
