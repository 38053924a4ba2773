// A model's own chat template and the special-token strings templates use (bos_token,
// eos_token, ...), from a GGUF file (tokenizer.chat_template) or a Hugging Face folder
// (chat_template.jinja, or tokenizer_config.json's chat_template: a string or a list of named
// templates, where Hugging Face takes "tool_use" when tools are given).
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace frugal::chat {

struct ModelTemplate {
  std::string source;               // Jinja text
  std::string name;                 // where it came from, for error messages
  nlohmann::ordered_json special;   // {"bos_token": "<｜begin▁of▁sentence｜>", ...}
  // special[name] as a string; "" when absent.
  std::string special_token(const char* name) const {
    return special.contains(name) && special[name].is_string() ? special[name].get<std::string>() : "";
  }
};

// Throws Error naming the file when the model has no chat template.
ModelTemplate load_model_template(const std::string& model_path, bool has_tools = false);

}  // namespace frugal::chat
