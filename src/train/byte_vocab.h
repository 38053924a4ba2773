// The tokenizer of the models frugal trains: the 256 bytes as tokens (no merges: digits stay
// one token each, which arithmetic needs) plus special tokens, stored as an ordinary GGUF
// vocabulary (byte-level BPE with an empty merge list) so the engine's tokenizer reads it
// unchanged. The chat template has DeepSeek-R1's shape: the generation prompt opens <think>,
// so the server returns the scratchpad as reasoning_content and the rest as content.
#pragma once
#include <string>

#include "tokenizer/tokenizer.h"

namespace frugal::train {

inline constexpr const char* kBos = "<|bos|>";
inline constexpr const char* kEos = "<|eos|>";
inline constexpr const char* kPad = "<|pad|>";
inline constexpr const char* kThink = "<think>";
inline constexpr const char* kEndThink = "</think>";
inline constexpr const char* kAnswer = "<answer>";
inline constexpr const char* kEndAnswer = "</answer>";
inline constexpr const char* kSystem = "<|system|>";
inline constexpr const char* kUser = "<|user|>";
inline constexpr const char* kAssistant = "<|assistant|>";

// 256 byte tokens (ids 0..255) then the specials above in that order (ids 256..265).
Vocab byte_vocab();
const std::string& byte_chat_template();

// The text the template renders for one user turn (optionally after a system message) with
// the generation prompt: "<|bos|>[<|system|>S]<|user|>U<|assistant|><think>\n". A test renders
// the template itself and compares.
std::string chat_prompt(const std::string& user, const std::string& system = "");
// What the model writes after that prompt: "REASONING\n</think>\n\nANSWER<|eos|>"; an empty
// reasoning gives "</think>\n\nANSWER<|eos|>".
std::string chat_response(const std::string& reasoning, const std::string& answer);

}  // namespace frugal::train
