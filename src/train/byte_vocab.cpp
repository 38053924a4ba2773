#include "train/byte_vocab.h"

#include "tokenizer/byte_level.h"

namespace frugal::train {

Vocab byte_vocab() {
  Vocab v;
  v.model = "gpt2";
  v.pre = "gpt2";
  for (int b = 0; b < 256; ++b) {
    v.tokens.push_back(bytelevel::encode(std::string(1, char(b))));
    v.token_types.push_back(kTokenNormal);
  }
  for (const char* s : {kBos, kEos, kPad, kThink, kEndThink, kAnswer, kEndAnswer, kSystem, kUser, kAssistant}) {
    v.tokens.push_back(s);
    v.token_types.push_back(kTokenControl);
  }
  v.bos_id = 256;
  v.eos_id = 257;
  v.pad_id = 258;
  v.add_bos = false;  // the template writes it
  v.chat_template = byte_chat_template();
  return v;
}

const std::string& byte_chat_template() {
  // Earlier assistant turns keep only their answer (the text after </think>), as R1's does.
  static const std::string t =
      "{{- bos_token }}"
      "{%- for m in messages %}"
      "{%- if m['role'] == 'system' %}{{ '<|system|>' + m['content'] }}"
      "{%- elif m['role'] == 'user' %}{{ '<|user|>' + m['content'] }}"
      "{%- elif m['role'] == 'assistant' %}"
      "{%- set c = m['content'] if m['content'] else '' %}"
      "{%- if '</think>' in c %}{%- set c = c.split('</think>')[-1] | trim %}{%- endif %}"
      "{{- '<|assistant|>' + c + eos_token }}"
      "{%- endif %}"
      "{%- endfor %}"
      "{%- if add_generation_prompt %}{{ '<|assistant|><think>\\n' }}{%- endif %}";
  return t;
}

std::string chat_prompt(const std::string& user, const std::string& system) {
  std::string s = kBos;
  if (!system.empty()) s += std::string(kSystem) + system;
  return s + kUser + user + kAssistant + kThink + "\n";
}

std::string chat_response(const std::string& reasoning, const std::string& answer) {
  return (reasoning.empty() ? std::string() : reasoning + "\n") + kEndThink + "\n\n" + answer + kEos;
}

}  // namespace frugal::train
